//! Helpers shared by the tests that run the ffmpeg program.

// Each test binary uses a part of these helpers.
#![allow(dead_code)]

use nigehbaan_video::Ffmpeg;
use std::path::PathBuf;
use std::process::Command;

/// The ffmpeg to test with (PATH plus /usr/sbin): panics under CI=true when
/// it is missing, otherwise prints a one-line note and gives None.
pub fn ffmpeg(what: &str) -> Option<Ffmpeg> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    if let Some(p) = dirs.iter().map(|d| d.join("ffmpeg")).find(|p| p.is_file()) {
        return Some(Ffmpeg::with_program(&p).expect("ffmpeg answers -version"));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the ffmpeg program is missing, and CI=true requires it");
    }
    eprintln!("note: ffmpeg not found; skipping {what}");
    None
}

/// A directory for one suite's generated videos.
pub fn dir(suite: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(suite);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Generates `suite/name` with `ffmpeg -y ARGS… OUT` from benign procedural
/// sources.
pub fn make(ff: &Ffmpeg, suite: &str, name: &str, args: &[&str]) -> PathBuf {
    let out = dir(suite).join(name);
    let status = Command::new(ff.program())
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "generating {name}");
    out
}
