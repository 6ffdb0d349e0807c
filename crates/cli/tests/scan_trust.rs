//! `nigehbaan scan` never says more than it looked at: no lists, overlapping
//! evidence, opaque inputs, devices, reports inside the evidence — each is
//! refused or makes the scan incomplete, by name. Reports are private,
//! directories' access times kept, command lines recorded losslessly.
//! Evidence is the benign demo set and files made here (headers of disk
//! images and videos followed by zeros).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use common::bin;

fn tempdir(name: &str) -> PathBuf {
    common::tempdir("scan-trust", name)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The demo set in `dir/d`: evidence, lists and a library holding them.
fn demo(dir: &Path) -> PathBuf {
    let d = dir.join("d");
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", NO_FFMPEG)
        .arg("demo")
        .arg("--out")
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    d
}

/// These tests run as on a machine without ffmpeg: videos stay
/// unexamined (scan_video_cli tests hashing them).
const NO_FFMPEG: &str = "/nonexistent/ffmpeg";

/// Runs `scan` in `cwd` with the arguments (the library is given).
fn scan_in(cwd: &Path, lib: &Path, args: &[&str]) -> Output {
    bin()
        .env("NIGEHBAAN_FFMPEG", NO_FFMPEG)
        .current_dir(cwd)
        .arg("scan")
        .args(args)
        .arg("--library")
        .arg(lib)
        .arg("--quiet")
        .output()
        .unwrap()
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

/// Every file under `dir` (paths relative to it), sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}

#[test]
fn no_lists_or_a_wrong_library_is_refused() {
    let dir = tempdir("nolists");
    let d = demo(&dir);
    for lib in [dir.join("TYPO"), dir.join("empty")] {
        if lib.ends_with("empty") {
            std::fs::create_dir_all(&lib).unwrap();
        }
        let out = scan_in(&dir, &lib, &["d/evidence", "-o", "r"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(lib.to_str().unwrap()), "{err}");
        assert!(err.contains("not run"), "{err}");
        assert!(!dir.join("r").exists(), "no report for a refused scan");
    }
    // The same evidence with the right library finds hits.
    let out = scan_in(&dir, &d.join("library"), &["d/evidence", "-o", "r"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(report(&dir.join("r"))["summary"]["total"]["hits"], 4);
}

#[test]
fn overlapping_evidence_is_refused() {
    let dir = tempdir("overlap");
    let d = demo(&dir);
    let lib = d.join("library");
    #[cfg(unix)]
    std::os::unix::fs::symlink(d.join("evidence"), dir.join("alias")).unwrap();
    let cases: &[&[&str]] = &[
        &["d/evidence", "d/evidence"],
        &["d/evidence", "d/evidence/phone"],
        &["d/evidence/phone", "d/evidence"],
        &[
            "d/evidence",
            "./d/evidence",
            "--exhibit",
            "A",
            "--exhibit",
            "B",
        ],
        &[
            "d/evidence/phone",
            "d/evidence",
            "--exhibit",
            "A",
            "--exhibit",
            "B",
        ],
        #[cfg(unix)]
        &[
            "d/evidence",
            "alias/phone",
            "--exhibit",
            "A",
            "--exhibit",
            "B",
        ],
    ];
    for args in cases {
        let mut a = args.to_vec();
        a.extend(["-o", "r"]);
        let out = scan_in(&dir, &lib, &a);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("counted twice"),
            "{args:?}: the message says why: {err}"
        );
        assert!(!dir.join("r").exists());
    }
    // Two exhibits with one id are refused, not merged or renamed.
    std::fs::create_dir_all(dir.join("other/evidence")).unwrap();
    std::fs::write(dir.join("other/evidence/x.txt"), b"x").unwrap();
    let out = scan_in(&dir, &lib, &["d/evidence", "other/evidence", "-o", "r"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--exhibit"), "{}", text(&out));
    let out = scan_in(
        &dir,
        &lib,
        &[
            "d/evidence",
            "other/evidence",
            "--exhibit",
            "A",
            "--exhibit",
            "A",
            "-o",
            "r",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // Distinct ids for distinct paths are fine.
    let out = scan_in(
        &dir,
        &lib,
        &[
            "d/evidence",
            "other/evidence",
            "--exhibit",
            "A",
            "--exhibit",
            "B",
            "-o",
            "r",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let rep = report(&dir.join("r"));
    assert_eq!(rep["summary"]["total"]["hits"], 4);
    assert_eq!(rep["summary"]["total"]["files"], 10);
}

#[test]
fn reports_never_land_inside_the_evidence() {
    let dir = tempdir("outdir");
    let d = demo(&dir);
    let lib = d.join("library");
    let before = tree(&d.join("evidence"));
    #[cfg(unix)]
    std::os::unix::fs::symlink(d.join("evidence/phone"), dir.join("plink")).unwrap();
    let outs: &[&str] = &[
        "nothere/../d/evidence/rep",
        "d/evidence/./phone/../rep",
        "d/evidence",
        #[cfg(unix)]
        "plink/new/../rep",
    ];
    for o in outs {
        let out = scan_in(&dir, &lib, &["d/evidence", "-o", o]);
        assert_eq!(out.status.code(), Some(2), "{o}: {}", text(&out));
        assert!(text(&out).contains("inside the evidence"), "{}", text(&out));
        assert_eq!(tree(&d.join("evidence")), before, "{o}: evidence changed");
    }
    assert!(!dir.join("nothere").exists());
}

#[cfg(unix)]
#[test]
fn report_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir("perms");
    let d = demo(&dir);
    let out = bin()
        .current_dir(&dir)
        .arg("scan")
        .args(["d/evidence", "-o", "r", "--quiet", "--library"])
        .arg(d.join("library"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("r")), 0o700);
    let files = tree(&dir.join("r"));
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        assert_eq!(mode(&dir.join("r").join(&f)), 0o600, "{f:?}");
    }
}

/// A benign stand-in of `size` bytes: `head` at `at`, zeros elsewhere.
fn fake(path: &Path, size: usize, parts: &[(usize, &[u8])]) {
    let mut v = vec![0u8; size];
    for (o, b) in parts {
        v[*o..*o + b.len()].copy_from_slice(b);
    }
    std::fs::write(path, v).unwrap();
}

#[test]
fn opaque_inputs_make_the_scan_incomplete_by_name() {
    let dir = tempdir("opaque");
    let d = demo(&dir);
    let lib = d.join("library");
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::copy(d.join("originals/tiles.png"), ev.join("tiles.png")).unwrap();
    fake(
        &ev.join("disk.E01"),
        4096,
        &[(0, b"EVF\x09\x0d\x0a\xff\x00")],
    );
    fake(&ev.join("disk.Ex01"), 4096, &[(0, b"EVF2\r\n\x81\x00")]);
    fake(
        &ev.join("usb.dd"),
        4096,
        &[(510, &[0x55, 0xaa]), (512, b"EFI PART")],
    );
    fake(&ev.join("clip.mp4"), 4096, &[(4, b"ftypisom")]);
    fake(
        &ev.join("clip.webm"),
        4096,
        &[(0, &[0x1a, 0x45, 0xdf, 0xa3])],
    );
    // A video inside a zip is named with its container chain.
    {
        use std::io::Write;
        let f = std::fs::File::create(ev.join("videos.zip")).unwrap();
        let mut z = zip::ZipWriter::new(f);
        let o = zip::write::SimpleFileOptions::default();
        z.start_file("a.avi", o).unwrap();
        let mut avi = vec![0u8; 2048];
        avi[..4].copy_from_slice(b"RIFF");
        avi[8..12].copy_from_slice(b"AVI ");
        z.write_all(&avi).unwrap();
        z.finish().unwrap();
    }
    let out = scan_in(&dir, &lib, &["ev", "-o", "r"]);
    // Everything readable, tiles.png a hit — but not complete.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let rep = report(&dir.join("r"));
    assert_eq!(rep["status"]["complete"], false);
    assert_eq!(rep["summary"]["total"]["hits"], 1);
    let ex = rep["exclusions"].as_array().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Disk images the scan opens: a damaged E01 (a header and nothing
    // else) and a GPT disk with no file system are named with what failed.
    for name in ["ev/disk.E01", "ev/usb.dd"] {
        assert!(
            ex.iter()
                .any(|x| x["path"].as_str().is_some_and(|p| p.starts_with(name))
                    && x["incomplete"] == true),
            "{name} not excluded: {ex:?}"
        );
        assert!(err.contains(name), "{name} not named on stderr: {err}");
    }
    for (name, kind) in [
        ("ev/disk.Ex01", "unexamined-disk-image"),
        ("ev/clip.mp4", "unexamined-video"),
        ("ev/clip.webm", "unexamined-video"),
        ("ev/videos.zip!a.avi", "unexamined-video"),
    ] {
        let x = ex
            .iter()
            .find(|x| x["path"] == name)
            .unwrap_or_else(|| panic!("{name} not excluded: {ex:?}"));
        assert_eq!(x["kind"], kind);
        assert_eq!(x["incomplete"], true);
        assert_eq!(x["hashed"], true);
        let why = if kind == "unexamined-video" {
            "not perceptually hashed: ffmpeg not found"
        } else {
            "would examine"
        };
        assert!(x["reason"].as_str().unwrap().contains(why), "{x}");
        assert!(err.contains(name), "{name} not named on stderr: {err}");
    }
    // Digests only: videos need no frames, disk images still do.
    let out = scan_in(&dir, &lib, &["ev", "--no-pdq", "-o", "r2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let rep = report(&dir.join("r2"));
    let kinds: Vec<&str> = rep["exclusions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"unexamined-video"), "{kinds:?}");
    // The Ex01 stays unexamined; the damaged E01 and the GPT disk with no
    // file system are opened and named with what failed.
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "unexamined-disk-image")
            .count(),
        1
    );
    assert!(kinds.contains(&"disk-image-error"), "{kinds:?}");
    assert!(kinds.contains(&"unrecognised-volume"), "{kinds:?}");
}

#[test]
fn devices_and_missing_paths_are_named() {
    let dir = tempdir("devices");
    let d = demo(&dir);
    let lib = d.join("library");
    if Path::new("/dev/null").exists() {
        let out = scan_in(&dir, &lib, &["/dev/null", "-o", "r"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("/dev/null") && err.contains("device"), "{err}");
    }
    let out = scan_in(&dir, &lib, &["d/evidence", "not-there", "-o", "r2"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-there"), "{err}");
}

#[test]
fn many_unexamined_items_are_capped_on_stderr() {
    let dir = tempdir("cap");
    let d = demo(&dir);
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    for i in 0..25 {
        fake(
            &ev.join(format!("v{i:02}.mkv")),
            64,
            &[(0, &[0x1a, 0x45, 0xdf, 0xa3])],
        );
    }
    let out = scan_in(&dir, &d.join("library"), &["ev", "-o", "r"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("unexamined-video").count(), 20, "{err}");
    assert!(err.contains("and 5 more, see report.json"), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
fn directory_access_times_are_kept() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempdir("atime");
    let d = demo(&dir);
    let ev = dir.join("ev");
    std::fs::create_dir_all(ev.join("sub")).unwrap();
    std::fs::copy(d.join("originals/tiles.png"), ev.join("sub/tiles.png")).unwrap();
    let control = dir.join("control");
    std::fs::create_dir_all(&control).unwrap();
    std::fs::write(control.join("x"), b"x").unwrap();
    let atime = |p: &Path| std::fs::metadata(p).unwrap().atime();
    let set_2020 = |p: &Path| {
        let st = std::process::Command::new("touch")
            .args(["-a", "-d", "2020-01-01T00:00:00Z"])
            .arg(p)
            .status()
            .unwrap();
        assert!(st.success());
    };
    for p in [&ev, &ev.join("sub"), &control] {
        set_2020(p);
    }
    let then = atime(&ev);
    // Are directory access times visible on this mount at all?
    let _ = std::fs::read_dir(&control).unwrap().count();
    let visible = atime(&control) != then;
    let out = scan_in(&dir, &d.join("library"), &["ev", "-o", "r"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    if !visible {
        eprintln!("note: this mount does not update directory access times; nothing to check");
        return;
    }
    assert_eq!(
        atime(&ev),
        then,
        "the scan changed the evidence directory's atime"
    );
    assert_eq!(atime(&ev.join("sub")), then);
}

#[cfg(unix)]
#[test]
fn non_utf8_arguments_are_kept_losslessly() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir("nonutf8");
    let d = demo(&dir);
    let name = std::ffi::OsStr::from_bytes(b"ev-caf\xe9");
    let ev = dir.join(name);
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::copy(d.join("originals/tiles.png"), ev.join("tiles.png")).unwrap();
    let out = bin()
        .current_dir(&dir)
        .arg("scan")
        .arg(name)
        .args(["-o", "r", "--quiet", "--exhibit", "E 1", "--library"])
        .arg(d.join("library"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let rep = report(&dir.join("r"));
    let line = rep["custody"]["command_line"].as_str().unwrap();
    assert!(line.contains(" scan $'ev-caf\\xe9' -o r"), "{line}");
    assert!(line.contains("'E 1'"), "{line}");
    assert_eq!(rep["custody"]["runs"][0]["command_line"], line);
}
