//! `nigehbaan match` on videos: a benign generated video's vPDQ (written in
//! the reference tool's file format) imported as a list; a re-encoded,
//! trimmed, half-size copy found through it with both percentages and
//! the matched time ranges; `--vpdq FILE` queries; an unrelated video not
//! matched; without ffmpeg the video is named in the row's error (exit 2).
//!
//! Runs when ffmpeg is present; fails under CI=true when it is missing;
//! otherwise skips with a one-line note.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
mod video_common;

use common::bin;
use video_common::rows;

fn ffmpeg() -> Option<PathBuf> {
    video_common::ffmpeg("the video match tests")
}

fn make(ff: &Path, source: &str, extra: &[&str], out: &Path) {
    let status = Command::new(ff)
        .args(["-v", "error", "-nostdin", "-y"])
        .args(["-f", "lavfi", "-i", source])
        .args(extra)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg {source}");
}

#[test]
fn a_reencoded_trimmed_copy_is_found_through_a_vpdq_list() {
    let Some(ff) = ffmpeg() else { return };
    let dir = common::tempdir("match-video", "clips");
    let lib = dir.join("lib");
    let original = dir.join("original.mp4");
    make(
        &ff,
        "testsrc2=size=320x240:rate=25:duration=8",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
        &original,
    );
    // Re-encoded with another codec and container, half size, trimmed.
    let copy = dir.join("copy.mkv");
    let status = Command::new(&ff)
        .args(["-v", "error", "-nostdin", "-y", "-ss", "2", "-i"])
        .arg(&original)
        .args([
            "-t",
            "5",
            "-vf",
            "scale=160:120",
            "-c:v",
            "mpeg4",
            "-q:v",
            "4",
        ])
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let unrelated = dir.join("unrelated.mp4");
    make(
        &ff,
        "mandelbrot=size=320x240:rate=25",
        &["-t", "6", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
        &unrelated,
    );

    // The original's vPDQ in the reference file format, as a list.
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .arg("hash")
        .arg(&original)
        .output()
        .unwrap();
    let r = &rows(&out)[0];
    let reference: String = video_common::reference_text(r);
    let vdir = dir.join("vpdq");
    std::fs::create_dir_all(&vdir).unwrap();
    let ref_file = vdir.join("original.mp4.vpdq.txt");
    std::fs::write(&ref_file, &reference).unwrap();
    let out = bin()
        .args([
            "lists",
            "import",
            "--format",
            "vpdq",
            "--name",
            "videos",
            "--library",
        ])
        .arg(&lib)
        .arg(&vdir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The copy matches, with both percentages and time ranges.
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .args(["match", "--library"])
        .arg(&lib)
        .arg(&copy)
        .arg(&unrelated)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rs = rows(&out);
    let c = rs
        .iter()
        .find(|r| r["input"].as_str().unwrap().ends_with("copy.mkv"))
        .unwrap();
    assert_eq!(c["media"], "video");
    assert!(c["error"].is_null(), "{c}");
    let m = &c["matches"][0];
    assert_eq!(m["match"], "vpdq");
    assert_eq!(m["list"], "videos");
    assert_eq!(m["record_name"], "original.mp4.vpdq.txt");
    assert!(m["query_match_percent"].as_f64().unwrap() >= 80.0, "{m}");
    let compared = m["compared_match_percent"].as_f64().unwrap();
    assert!(compared > 40.0 && compared < 100.0, "trimmed: {m}");
    assert!(m["matched_frames"].as_u64().unwrap() >= 4, "{m}");
    let ranges = m["time_ranges"].as_array().unwrap();
    assert!(!ranges.is_empty());
    let u = rs
        .iter()
        .find(|r| r["input"].as_str().unwrap().ends_with("unrelated.mp4"))
        .unwrap();
    assert_eq!(u["matches"], serde_json::json!([]), "{u}");

    // --vpdq FILE, with thresholds as options.
    let out = bin()
        .args(["match", "--library"])
        .arg(&lib)
        .arg("--vpdq")
        .arg(&ref_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let m = &rows(&out)[0]["matches"][0];
    assert_eq!(m["query_match_percent"], 100.0);
    assert_eq!(m["compared_match_percent"], 100.0);
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .args(["match", "--vpdq-compared-percent", "100", "--library"])
        .arg(&lib)
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a trimmed copy is not 100 % of the original"
    );

    // No ffmpeg: the video's row names why, and the run is incomplete.
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", dir.join("no-such-ffmpeg"))
        .args(["match", "--library"])
        .arg(&lib)
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let r = &rows(&out)[0];
    assert!(
        r["error"].as_str().unwrap().contains("ffmpeg not found"),
        "{r}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
