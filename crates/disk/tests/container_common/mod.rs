//! Shared by the container, volume and carving integration tests: finding
//! the system programs that build test images, benign test data.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of a system program (PATH, /usr/sbin, /sbin). When it is
/// missing: panics under CI=true, otherwise prints a one-line note and
/// returns `None` (the test then skips).
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path.split(':').chain(["/usr/sbin", "/sbin", "/usr/bin"]);
    for d in dirs {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{name} is missing, and CI=true requires it");
    }
    eprintln!("note: {name} not found; skipping this test");
    None
}

/// Runs a program, panicking with its output when it fails.
pub fn run(prog: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", prog.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed: {}{}",
        prog.display(),
        args,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deterministic benign bytes (xorshift), with runs of zeros so that
/// some E01 chunks compress and some do not.
pub fn benign_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (v.len() / 65536) % 3 == 2 {
            v.extend_from_slice(&[0u8; 8]);
        } else {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    v.truncate(len);
    v
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
