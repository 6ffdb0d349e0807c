//! Helpers of the integration tests that need the `ffmpeg` program.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

/// The ffmpeg program: found on PATH (or /usr/sbin); a panic under CI=true
/// when missing; else `None` with a one-line note naming what is skipped.
pub fn ffmpeg(skipped: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    if let Some(p) = dirs.iter().map(|d| d.join("ffmpeg")).find(|p| p.is_file()) {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("the ffmpeg program is missing, and CI=true requires it");
    }
    eprintln!("note: ffmpeg not found; skipping {skipped}");
    None
}

/// The JSON Lines of a command's standard output.
pub fn rows(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

/// A `hash` row's `vpdq` frames in the reference tool's file format
/// (`frame,quality,pdq,timestamp` lines).
#[allow(dead_code)]
pub fn reference_text(row: &Value) -> String {
    row["vpdq"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{},{},{},{:.3}\n",
                f["frame"],
                f["quality"],
                f["pdq"].as_str().unwrap(),
                f["timestamp"].as_f64().unwrap()
            )
        })
        .collect()
}
