//! `nigehbaan scan` on videos: a benign generated video's vPDQ imported as
//! a list; re-encoded copies in a folder (an MP4 with its index at the end,
//! a Matroska file) and inside a zip are found with `match_kind` `vpdq`,
//! both percentages, frame counts and time ranges; an unrelated video is
//! not matched; a truncated video is named with an error and makes the
//! scan incomplete (exit 2); without ffmpeg every video is an
//! `unexamined-video` exclusion saying so (exit 2). Two unmatched videos,
//! one a re-encoded, trimmed copy of the other, form one near-duplicate
//! video group (`kind` `vpdq`) with both percentages.
//!
//! Runs when ffmpeg is present; fails under CI=true when it is missing;
//! otherwise skips with a one-line note.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
mod video_common;

use common::bin;
use video_common::rows;

fn ffmpeg_run(ff: &Path, args: &[&str], out: &Path) {
    let status = Command::new(ff)
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg {args:?}");
}

/// Imports `original`'s vPDQ (reference file format) as the list `videos`.
fn video_list(ff: &Path, original: &Path, dir: &Path, lib: &Path) {
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", ff)
        .arg("hash")
        .arg(original)
        .output()
        .unwrap();
    let reference: String = video_common::reference_text(&rows(&out)[0]);
    let vdir = dir.join("vpdq");
    std::fs::create_dir_all(&vdir).unwrap();
    std::fs::write(vdir.join("original.mp4.vpdq.txt"), reference).unwrap();
    let out = bin()
        .args(["lists", "import", "--format", "vpdq", "--name", "videos"])
        .arg("--library")
        .arg(lib)
        .arg(&vdir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

fn text(out: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn scan(ff: &Path, lib: &Path, evidence: &Path, report: &Path) -> (Output, Value) {
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", ff)
        .arg("scan")
        .arg(evidence)
        .arg("--out")
        .arg(report)
        .args(["--quiet", "--library"])
        .arg(lib)
        .output()
        .unwrap();
    let rep = std::fs::read(report.join("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e}): {}", text(&out)));
    (out, serde_json::from_slice(&rep).unwrap())
}

fn item<'a>(rep: &'a Value, suffix: &str) -> &'a Value {
    rep["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no item {suffix}"))
}

fn assert_vpdq_hit(it: &Value) {
    assert_eq!(it["disposition"], "hit", "{it}");
    let h = &it["hits"][0];
    assert_eq!(h["match_kind"], "vpdq", "{h}");
    assert_eq!(h["list"], "videos");
    assert!(h["query_match_percent"].as_f64().unwrap() >= 80.0, "{h}");
    assert!(h["compared_match_percent"].as_f64().unwrap() > 0.0, "{h}");
    assert!(h["matched_frames"].as_u64().unwrap() >= 1);
    assert!(h["query_frames"].as_u64().unwrap() >= h["matched_frames"].as_u64().unwrap());
    assert!(h["listed_frames"].as_u64().unwrap() >= 1);
    assert!(!h["time_ranges"].as_array().unwrap().is_empty(), "{h}");
}

#[test]
fn scan_finds_reencoded_videos_in_folders_and_zips() {
    let Some(ff) = video_common::ffmpeg("the video scan tests") else {
        return;
    };
    let dir = common::tempdir("scan-video", "clips");
    let (lib, ev) = (dir.join("lib"), dir.join("evidence"));
    std::fs::create_dir_all(&ev).unwrap();
    let original = dir.join("original.mp4");
    let src = "testsrc2=size=320x240:rate=25:duration=8";
    let x264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"];
    ffmpeg_run(
        &ff,
        &[&["-f", "lavfi", "-i", src][..], &x264].concat(),
        &original,
    );
    video_list(&ff, &original, &dir, &lib);

    // Re-encoded, trimmed, half size: an MP4 (index at the end) and MKV.
    let orig = original.to_str().unwrap();
    let trim = ["-ss", "2", "-i", orig, "-t", "5", "-vf", "scale=160:120"];
    let mp4 = ev.join("copy.mp4");
    ffmpeg_run(&ff, &[&trim[..], &x264].concat(), &mp4);
    let mkv = dir.join("copy.mkv");
    ffmpeg_run(
        &ff,
        &[&trim[..], &["-c:v", "mpeg4", "-q:v", "4"]].concat(),
        &mkv,
    );
    // Both inside a zip (the MP4 needs seeking: read from memory).
    let mut zip = zip::ZipWriter::new(std::fs::File::create(ev.join("clips.zip")).unwrap());
    for (name, path) in [("in/copy.mkv", &mkv), ("in/copy.mp4", &mp4)] {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&std::fs::read(path).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    std::fs::copy(&mkv, ev.join("copy.mkv")).unwrap();
    let unrelated = ev.join("unrelated.mp4");
    let mandel = [
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=320x240:rate=25",
        "-t",
        "6",
    ];
    ffmpeg_run(&ff, &[&mandel[..], &x264].concat(), &unrelated);

    // An old access time (relatime would update it on a read): kept, also
    // for unrelated.mp4, which cannot be read as a stream (it needs
    // seeking: copied through the scan's descriptor into memory).
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let set_old = std::fs::FileTimes::new().set_accessed(old);
    for f in [&mp4, &unrelated] {
        let file = std::fs::File::options().write(true).open(f).unwrap();
        file.set_times(set_old).unwrap();
    }
    let (out, rep) = scan(&ff, &lib, &ev, &dir.join("r1"));
    for f in [&mp4, &unrelated] {
        let atime = std::fs::metadata(f).unwrap().accessed().unwrap();
        assert_eq!(atime, old, "the scan changed the access time of {f:?}");
    }
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for name in ["/copy.mp4", "/copy.mkv", "!in/copy.mkv", "!in/copy.mp4"] {
        let it = item(&rep, name);
        assert_vpdq_hit(it);
        assert!(it["error"].is_null(), "{it}");
    }
    let v = &rep["settings"]["video"];
    assert!(v["ffmpeg"].is_string(), "{v}");
    assert_eq!(v["seconds_per_hash"], 1.0);
    assert_eq!(v["pipeline"], "exact");
    assert_eq!(v["query_match_percent"], 80.0);
    let it = item(&rep, "unrelated.mp4");
    assert_eq!(it["disposition"], "unmatched", "{it}");
    assert!(it["error"].is_null(), "{it}");
    let excluded = rep["exclusions"].as_array().unwrap();
    assert!(
        excluded.iter().all(|x| x["kind"] != "unexamined-video"),
        "{excluded:?}"
    );

    // A truncated video: named with an error, the scan incomplete.
    let bytes = std::fs::read(&mp4).unwrap();
    std::fs::write(ev.join("truncated.mp4"), &bytes[..bytes.len() / 2]).unwrap();
    // A truncated Matroska file decodes in part: named as partly decoded.
    let bytes = std::fs::read(&mkv).unwrap();
    std::fs::write(ev.join("cut.mkv"), &bytes[..bytes.len() * 6 / 10]).unwrap();
    let (out, rep) = scan(&ff, &lib, &ev, &dir.join("r2"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let it = item(&rep, "truncated.mp4");
    let err = it["error"].as_str().unwrap_or_else(|| panic!("{it}"));
    assert!(err.contains("video"), "{err}");
    let it = item(&rep, "cut.mkv");
    let err = it["error"].as_str().unwrap_or_else(|| panic!("{it}"));
    assert!(err.contains("video partly decoded"), "{err}");
    assert_vpdq_hit(item(&rep, "/copy.mkv"));

    // Without ffmpeg: every video named as unexamined, exit 2.
    std::fs::remove_file(ev.join("truncated.mp4")).unwrap();
    std::fs::remove_file(ev.join("cut.mkv")).unwrap();
    let none = PathBuf::from("/nonexistent/ffmpeg");
    let (out, rep) = scan(&none, &lib, &ev, &dir.join("r3"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(rep["settings"]["video"]["ffmpeg"].is_null());
    let excluded = rep["exclusions"].as_array().unwrap();
    for name in ["/copy.mp4", "/copy.mkv", "!in/copy.mkv", "unrelated.mp4"] {
        let x = excluded
            .iter()
            .find(|x| x["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no exclusion {name}: {excluded:?}"));
        assert_eq!(x["kind"], "unexamined-video");
        let reason = x["reason"].as_str().unwrap();
        assert!(
            reason.contains("not perceptually hashed: ffmpeg not found"),
            "{reason}"
        );
        assert!(reason.contains("apt-get install ffmpeg"), "{reason}");
    }
}

#[test]
fn an_unmatched_video_and_its_reencoded_trimmed_copy_form_a_near_duplicate_group() {
    let Some(ff) = video_common::ffmpeg("the video grouping test") else {
        return;
    };
    let dir = common::tempdir("scan-video", "groups");
    let (lib, ev) = (dir.join("lib"), dir.join("evidence"));
    std::fs::create_dir_all(&ev).unwrap();
    let x264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p"];
    // The list holds an unrelated video only: nothing in the evidence hits
    // it, so both clips stay unmatched.
    let listed = dir.join("listed.mp4");
    let life = [
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=320x240:rate=25",
        "-t",
        "6",
    ];
    ffmpeg_run(&ff, &[&life[..], &x264].concat(), &listed);
    video_list(&ff, &listed, &dir, &lib);
    // A 10-second clip and a copy without its first second, smaller and
    // re-encoded at another quality: 9 of 10 sampled frames of the clip,
    // and all 9 of the copy, are near-duplicates (90 % and 100 %).
    let clip = ev.join("clip.mp4");
    let src = "testsrc2=size=320x240:rate=25:duration=10";
    ffmpeg_run(
        &ff,
        &[&["-f", "lavfi", "-i", src][..], &x264].concat(),
        &clip,
    );
    let copy = ev.join("sub/copy.mkv");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let c = clip.to_str().unwrap();
    let trim = ["-ss", "1", "-i", c, "-vf", "scale=240:180", "-crf", "30"];
    ffmpeg_run(&ff, &[&trim[..], &x264].concat(), &copy);
    // An unrelated, unmatched video joins no group.
    let other = ev.join("other.mp4");
    let cells = [
        "-f",
        "lavfi",
        "-i",
        "cellauto=size=320x240:rate=25",
        "-t",
        "8",
    ];
    ffmpeg_run(&ff, &[&cells[..], &x264].concat(), &other);

    let (out, rep) = scan(&ff, &lib, &ev, &dir.join("r"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let groups = rep["near_duplicate_groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let g = &groups[0];
    assert_eq!(g["kind"], "vpdq", "{g}");
    let members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 2, "{g}");
    assert!(members[0].ends_with("/clip.mp4"), "{g}");
    assert!(members[1].ends_with("/sub/copy.mkv"), "{g}");
    let pairs = g["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{g}");
    assert_eq!(pairs[0]["members"], serde_json::json!([0, 1]));
    let pct: Vec<f64> = pairs[0]["match_percent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect();
    assert!(pct.iter().all(|&p| p >= 80.0), "{g}");
    assert_eq!(rep["summary"]["near_duplicate_groups"], 1);
    let id = &g["id"];
    for name in ["/clip.mp4", "/sub/copy.mkv"] {
        let it = item(&rep, name);
        assert_eq!(it["disposition"], "unmatched", "{it}");
        assert_eq!(&it["near_group"], id, "{it}");
    }
    assert!(item(&rep, "/other.mp4")["near_group"].is_null());
    // The frames carried for grouping never reach the report.
    let json = std::fs::read_to_string(dir.join("r/report.json")).unwrap();
    assert!(!json.contains("vpdq_frames"));
}

#[test]
fn the_demo_finds_its_video_and_without_ffmpeg_says_what_it_skipped() {
    let Some(ff) = video_common::ffmpeg("the video demo test") else {
        return;
    };
    let dir = common::tempdir("scan-video", "demo");
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", &ff)
        .arg("demo")
        .arg("--out")
        .arg(dir.join("d"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("VID_0001.mp4"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.contains("HIT") && line.contains("demo-videos"),
        "{line}"
    );
    assert!(line.contains("vpdq"), "{line}");

    let out = bin()
        .env("NIGEHBAAN_FFMPEG", "/nonexistent/ffmpeg")
        .arg("demo")
        .arg("--out")
        .arg(dir.join("d2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Skipped the demo video"), "{stdout}");
    assert!(stdout.contains("apt-get install ffmpeg"), "{stdout}");
    assert!(!stdout.contains("VID_0001"), "{stdout}");
}
