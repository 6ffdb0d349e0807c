//! Helpers of the integration tests that scan disk images built at test
//! time (`scan_disk.rs`, `scan_disk_hostile.rs`): finding the image-making
//! programs, the demo set, an MBR disk around a volume, and scanning.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::bin;

/// The programs every disk-image scan test needs.
pub const TOOLS: &[&str] = &["sfdisk", "mkfs.fat", "mcopy", "mmd", "mdel"];
/// One mebibyte.
pub const MIB: u64 = 1 << 20;
/// Where the carved picture is written in the partition (free clusters).
pub const CARVE_AT: u64 = 12 * MIB;

/// PATH with the system directories where the image tools live.
pub fn path_env() -> String {
    let old = std::env::var("PATH").unwrap_or_default();
    format!("{old}:/usr/sbin:/sbin")
}

/// True when `tool` is installed.
pub fn find(tool: &str) -> bool {
    path_env()
        .split(':')
        .any(|d| !d.is_empty() && Path::new(d).join(tool).is_file())
}

/// True when every tool is installed; otherwise skips (or fails under CI).
pub fn tools_present() -> bool {
    tools_present_with(&[])
}

/// True when [`TOOLS`] and `more` are installed; otherwise skips (or
/// fails under CI).
pub fn tools_present_with(more: &[&str]) -> bool {
    let missing: Vec<&str> = TOOLS
        .iter()
        .chain(more)
        .copied()
        .filter(|t| !find(t))
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{missing:?} missing, and CI=true requires them");
    }
    eprintln!("note: {missing:?} not found; skipping the disk image scan test");
    false
}

/// A program's stdout and stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd`; panics with its output when it fails.
pub fn run(cmd: &mut Command) {
    let out = cmd
        .env("PATH", path_env())
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
}

/// Writes `bytes` into `file` at byte `at`.
pub fn write_at(file: &Path, at: u64, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(bytes).unwrap();
}

/// The demo set (benign pictures, test-data lists, a library) in `dir/d`.
pub fn demo(dir: &Path) -> PathBuf {
    let d = dir.join("d");
    let out = bin().arg("demo").arg("--out").arg(&d).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    d
}

/// Builds `dir/disk.img`: an MBR disk with one 16 MiB FAT16 partition at
/// 1 MiB holding `LAND.PNG` and `DCIM/TILES.PNG` (live), `DCIM/SMALL.JPG`
/// (deleted) and, carvable in free clusters, the re-encoded tiles JPEG.
pub fn build_disk(dir: &Path, d: &Path) -> PathBuf {
    let part = dir.join("part.img");
    std::fs::File::create(&part)
        .unwrap()
        .set_len(16 * MIB)
        .unwrap();
    run(Command::new("mkfs.fat")
        .args(["-F", "16", "-n", "TESTDATA"])
        .arg(&part));
    let img = |s: &str| d.join(s);
    let mcopy = |from: PathBuf, to: &str| {
        run(Command::new("mcopy").arg("-i").arg(&part).arg(from).arg(to));
    };
    mcopy(img("originals/landscape.png"), "::/LAND.PNG");
    run(Command::new("mmd").arg("-i").arg(&part).arg("::/DCIM"));
    mcopy(img("originals/tiles.png"), "::/DCIM/TILES.PNG");
    mcopy(img("evidence/phone/DCIM/IMG_0001.jpg"), "::/DCIM/SMALL.JPG");
    run(Command::new("mdel")
        .arg("-i")
        .arg(&part)
        .arg("::/DCIM/SMALL.JPG"));
    let carved = std::fs::read(img("evidence/phone/DCIM/IMG_0003.jpg")).unwrap();
    write_at(&part, CARVE_AT, &carved);

    mbr_disk(dir, &part, "6")
}

/// Builds `dir/disk.img`: an 18 MiB MBR disk whose one partition (MBR type
/// `kind`, hex) at 1 MiB holds the 16 MiB volume `part` (then removed).
pub fn mbr_disk(dir: &Path, part: &Path, kind: &str) -> PathBuf {
    let disk = dir.join("disk.img");
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(18 * MIB)
        .unwrap();
    let mut sf = Command::new("sfdisk")
        .env("PATH", path_env())
        .arg("--no-reread")
        .arg("--no-tell-kernel")
        .arg(&disk)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    sf.stdin
        .take()
        .unwrap()
        .write_all(format!("label: dos\nstart=2048, size=32768, type={kind}\n").as_bytes())
        .unwrap();
    let out = sf.wait_with_output().unwrap();
    assert!(out.status.success(), "sfdisk: {}", text(&out));
    write_at(&disk, MIB, &std::fs::read(part).unwrap());
    std::fs::remove_file(part).unwrap();
    disk
}

/// Scans `image` with the demo library into `r` (extra options after);
/// expects exit 1 (hits) and returns `report.json`.
pub fn scan_hits(d: &Path, image: &Path, r: &Path, extra: &[&str]) -> Value {
    let out = bin()
        .arg("scan")
        .arg(image)
        .arg("--out")
        .arg(r)
        .args(["--case", "C-1", "--quiet"])
        .args(extra)
        .arg("--library")
        .arg(d.join("library"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    serde_json::from_slice(&std::fs::read(r.join("report.json")).unwrap()).unwrap()
}

/// The item with the report path `path` (panics listing all paths).
pub fn item<'a>(items: &'a [Value], path: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["path"].as_str() == Some(path))
        .unwrap_or_else(|| {
            let paths: Vec<&str> = items.iter().filter_map(|i| i["path"].as_str()).collect();
            panic!("no item {path}; items: {paths:?}")
        })
}

/// Scans `image` with the demo library into `dir/report`; returns the exit
/// status and `report.json`.
pub fn scan_any(d: &Path, image: &Path, dir: &Path) -> (Option<i32>, Value) {
    let r = dir.join("report");
    let out = bin()
        .arg("scan")
        .arg(image)
        .arg("--out")
        .arg(&r)
        .args(["--case", "C-1", "--quiet", "--library"])
        .arg(d.join("library"))
        .output()
        .unwrap();
    let rep = serde_json::from_slice(&std::fs::read(r.join("report.json")).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (out.status.code(), rep)
}

/// Every item's report path.
pub fn paths(rep: &Value) -> Vec<String> {
    rep["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_string())
        .collect()
}
