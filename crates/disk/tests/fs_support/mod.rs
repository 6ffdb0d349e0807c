//! Shared helpers for the file-system tests: finding the image-making
//! programs, benign generated pictures, and The Sleuth Kit as the oracle.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use nigehbaan_disk::fs::{self, Entry, EntryKind, FileSystem};
use nigehbaan_disk::ReadAt;

/// Finds a program in PATH, /usr/sbin or /sbin. Missing: fails under
/// CI=true, otherwise prints a one-line note and returns None.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    for dir in path.split(':').chain(["/usr/sbin", "/sbin"]) {
        let p = Path::new(dir).join(name);
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

/// All of `names` found, or None (after the note).
pub fn tools(names: &[&str]) -> Option<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for n in names {
        out.insert(n.to_string(), tool(n)?);
    }
    Some(out)
}

/// Runs a program; panics with its output when it fails.
pub fn run(program: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed: {}",
        program.display(),
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A benign procedural picture (gradient and rings), PNG or JPEG, different
/// for every seed.
pub fn picture(seed: u32, jpeg: bool) -> Vec<u8> {
    let (w, h) = (64 + seed % 5 * 16, 48 + seed % 3 * 16);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let d = ((x as i32 - 30).pow(2) + (y as i32 - 20).pow(2)) as u32;
        image::Rgb([
            (x * 4 + seed * 37) as u8,
            (y * 5 + seed * 11) as u8,
            ((d / (seed % 7 + 3)) % 256) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    let format = if jpeg {
        image::ImageFormat::Jpeg
    } else {
        image::ImageFormat::Png
    };
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Opens an image file as a file system.
pub fn open(path: &Path) -> Box<dyn FileSystem> {
    let f: Arc<dyn ReadAt> = Arc::new(std::fs::File::open(path).unwrap());
    fs::open(f).unwrap()
}

/// All entries and errors of a walk.
pub fn walk(fs: &dyn FileSystem) -> (Vec<Entry>, Vec<fs::FsError>) {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    fs.walk(&mut |r| match r {
        Ok(e) => entries.push(e),
        Err(e) => errors.push(e),
    });
    (entries, errors)
}

/// An entry's whole content.
pub fn content(fs: &dyn FileSystem, e: &Entry) -> std::io::Result<Vec<u8>> {
    let r = fs.open_file(e).map_err(std::io::Error::other)?;
    let mut buf = vec![0u8; r.len() as usize];
    r.read_exact_at(0, &mut buf)?;
    Ok(buf)
}

/// One line of `fls -r -p`: path (without leading /), address, deleted,
/// file (vs directory).
#[derive(Debug, Clone)]
pub struct FlsLine {
    pub path: String,
    pub addr: String,
    pub deleted: bool,
    pub realloc: bool,
    pub file: bool,
}

/// The Sleuth Kit's listing of an image.
pub fn fls(image: &Path, fstype: Option<&str>) -> Vec<FlsLine> {
    let fls = tool("fls").expect("fls");
    let img = image.to_str().unwrap();
    let mut args = vec!["-r", "-p"];
    if let Some(t) = fstype {
        args.extend(["-f", t]);
    }
    args.push(img);
    let out = run(&fls, &args);
    let mut v = Vec::new();
    for line in String::from_utf8_lossy(&out).lines() {
        let Some((head, path)) = line.split_once(":\t") else {
            continue;
        };
        let mut parts = head.split_whitespace();
        let kind = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        let deleted = rest.first() == Some(&"*");
        let addr = rest.last().copied().unwrap_or("");
        let realloc = addr.ends_with("(realloc)");
        let addr = addr.trim_end_matches("(realloc)").to_string();
        v.push(FlsLine {
            path: path.to_string(),
            addr,
            deleted,
            realloc,
            file: kind.starts_with("r/") || kind.ends_with("/r"),
        });
    }
    v
}

/// `icat` of an address.
pub fn icat(image: &Path, fstype: Option<&str>, addr: &str) -> Vec<u8> {
    let icat = tool("icat").expect("icat");
    let img = image.to_str().unwrap();
    let mut args = vec!["-r"];
    if let Some(t) = fstype {
        args.extend(["-f", t]);
    }
    args.extend([img, addr]);
    run(&icat, &args)
}

/// Our files by path (without the leading /), like fls.
pub fn files_by_path(entries: &[Entry]) -> BTreeMap<String, &Entry> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .map(|e| (e.display_path()[1..].to_string(), e))
        .collect()
}
