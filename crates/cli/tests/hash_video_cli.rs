//! `nigehbaan hash` on a benign video generated with the ffmpeg program
//! from a procedural source, and with ffmpeg made unavailable.
//!
//! Runs when ffmpeg is present; fails under CI=true when it is missing;
//! otherwise skips with a one-line note.

use std::path::PathBuf;
use std::process::Command;

mod common;
mod video_common;

use common::bin;
use video_common::rows;

fn ffmpeg() -> Option<PathBuf> {
    video_common::ffmpeg("the video hash tests")
}

#[test]
fn a_video_row_has_its_vpdq_and_without_ffmpeg_says_so() {
    let Some(ff) = ffmpeg() else { return };
    let dir = common::tempdir("hash-video", "clip");
    let clip = dir.join("clip.bin");
    let status = Command::new(&ff)
        .args(["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=160x120:rate=30000/1001")
        .args(["-t", "3", "-c:v", "libx264", "-g", "15", "-f", "mp4"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .args(["hash"])
        .arg(&clip)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = &rows(&out)[0];
    assert_eq!(r["media"], "video");
    assert_eq!(r["format"], "mp4");
    assert_eq!(r["codec"], "h264");
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(160), Some(120))
    );
    assert_eq!(r["rotation"], 0);
    assert_eq!(r["vpdq_pipeline"], "exact");
    assert_eq!(r["vpdq_frames"], 4);
    let frames: Vec<u64> = r["vpdq"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(frames, vec![0, 29, 58, 87]);
    assert_eq!(r["vpdq"][1]["timestamp"], 0.968);
    assert_eq!(r["vpdq"][1]["pdq"].as_str().unwrap().len(), 64);
    assert!(r["error"].is_null());
    assert_eq!(r["md5"].as_str().unwrap().len(), 32);

    // Every frame, and key frames only.
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .args(["hash", "--seconds-per-hash", "0"])
        .arg(&clip)
        .output()
        .unwrap();
    assert_eq!(rows(&out)[0]["vpdq_frames"], 90);
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .args(["hash", "--fast"])
        .arg(&clip)
        .output()
        .unwrap();
    let r = &rows(&out)[0];
    assert_eq!(r["vpdq_pipeline"], "fast");
    assert_eq!(r["vpdq_frames"], 6);
    assert!(r["error"].is_null(), "{}", r["error"]);
    assert_eq!(out.status.code(), Some(0));

    // No ffmpeg: digests still, and the error says how to get it.
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", dir.join("no-such-ffmpeg"))
        .args(["hash"])
        .arg(&clip)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = &rows(&out)[0];
    assert_eq!(r["media"], "video");
    assert!(r["vpdq"].is_null());
    assert_eq!(r["md5"].as_str().unwrap().len(), 32);
    let err = r["error"].as_str().unwrap();
    assert!(
        err.starts_with("not perceptually hashed: ffmpeg not found"),
        "{err}"
    );
    assert!(
        err.contains("apt-get install ffmpeg")
            && err.contains("brew install ffmpeg")
            && err.contains("winget install ffmpeg")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--format vpdq --out DIR`: the reference tool's file per video, equal to
/// the row's frames; other files get none; evidence is never written to.
#[test]
fn format_vpdq_writes_the_reference_file_per_video() {
    let Some(ff) = ffmpeg() else { return };
    let dir = common::tempdir("hash-video", "vpdq");
    let ev = dir.join("evidence");
    std::fs::create_dir_all(&ev).unwrap();
    let clip = ev.join("clip one.mp4");
    let status = Command::new(&ff)
        .args(["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=160x120:rate=25")
        .args(["-t", "3", "-c:v", "libx264", "-g", "25"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(ev.join("notes.txt"), b"not a video").unwrap();
    let rows_out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .args(["hash"])
        .arg(&clip)
        .output()
        .unwrap();
    let row = &rows(&rows_out)[0];

    let out_dir = dir.join("out");
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .args(["hash", "--format", "vpdq", "--out"])
        .arg(&out_dir)
        .arg(&ev)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let file = out_dir.join("clip one.mp4.vpdq.txt");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        file.display().to_string()
    );
    assert!(stderr.contains("1 file(s) are not videos"), "{stderr}");
    let text = std::fs::read_to_string(&file).unwrap();
    let expected: String = video_common::reference_text(row);
    assert_eq!(text, expected);
    assert!(text.starts_with("0,") && text.lines().nth(1).unwrap().starts_with("25,"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Never inside an input; --out is required; a broken video is an error.
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .args(["hash", "--format", "vpdq", "--out"])
        .arg(ev.join("vpdq"))
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!ev.join("vpdq").exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside the input"));
    let out = bin()
        .args(["hash", "--format", "vpdq"])
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let bytes = std::fs::read(&clip).unwrap();
    let broken_dir = dir.join("broken");
    std::fs::create_dir_all(&broken_dir).unwrap();
    std::fs::write(broken_dir.join("cut.mp4"), &bytes[..bytes.len() / 3]).unwrap();
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .args(["hash", "--format", "vpdq", "--out"])
        .arg(dir.join("out2"))
        .arg(&broken_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut.mp4"));
    let _ = std::fs::remove_dir_all(&dir);
}
