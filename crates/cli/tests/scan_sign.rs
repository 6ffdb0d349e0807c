//! `nigehbaan scan` end to end, through the real binary: `--sign-key`
//! signs the report directory at the end of the scan, and the signature
//! verifies with `nigehbaan report verify` and with the real `minisign
//! -Vm` (a changed byte fails); and `--resume` is refused when a case
//! field (`--fir`, `--seal`) differs from the interrupted run's.
//!
//! Evidence is the demo's generated pictures plus generated benign files.
//! The minisign check runs when `minisign` is installed, fails under
//! CI=true when it is missing, and otherwise skips with a one-line note.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::bin;

fn tempdir(name: &str) -> PathBuf {
    common::tempdir("scan-sign", name)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A system program, looked up in PATH and /usr/sbin; `None` (with a note,
/// or a failure under CI=true) when it is missing.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{name} is not installed, and CI=true requires it");
        }
        eprintln!("note: {name} not found; skipping the part of this test that needs it");
    }
    found
}

/// The demo's evidence and list library (generated, benign).
fn demo(dir: &Path) -> PathBuf {
    let d = dir.join("d");
    let out = bin().arg("demo").arg("--out").arg(&d).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    d
}

/// A key pair from `report keygen` (quick KDF level), password in a file.
fn keygen(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (sk, pk, pw) = (dir.join("t.key"), dir.join("t.pub"), dir.join("pw"));
    std::fs::write(&pw, "test password\n").unwrap();
    let out = bin()
        .args(["report", "keygen", "--kdf", "interactive", "--secret-key"])
        .arg(&sk)
        .arg("--public-key")
        .arg(&pk)
        .arg("--password-file")
        .arg(&pw)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (sk, pk, pw)
}

fn verify(report: &Path, public: &Path) -> Output {
    bin()
        .args(["report", "verify"])
        .arg(report)
        .arg("--pubkey")
        .arg(public)
        .output()
        .unwrap()
}

fn minisign_verifies(minisign: &Path, public: &Path, report: &Path) -> bool {
    Command::new(minisign)
        .arg("-Vm")
        .arg(report.join("MANIFEST.sha256"))
        .arg("-p")
        .arg(public)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Flips one bit of byte `i` of `path`, runs `check`, and restores it.
fn with_flipped<T>(path: &Path, i: usize, check: impl FnOnce() -> T) -> T {
    let original = std::fs::read(path).unwrap();
    let mut b = original.clone();
    b[i] ^= 0x01;
    std::fs::write(path, &b).unwrap();
    let r = check();
    std::fs::write(path, &original).unwrap();
    r
}

#[test]
fn scan_sign_key_signs_what_both_verifiers_accept() {
    let dir = tempdir("signed");
    let d = demo(&dir);
    let (sk, pk, pw) = keygen(&dir);
    let out = dir.join("report");
    let o = bin()
        .arg("scan")
        .arg(d.join("evidence"))
        .args([
            "--case",
            "SIGN-1",
            "--exhibit",
            "EX-1",
            "--lang",
            "en,ur",
            "-q",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--library")
        .arg(d.join("library"))
        .arg("--sign-key")
        .arg(&sk)
        .arg("--sign-password-file")
        .arg(&pw)
        .output()
        .unwrap();
    // Hits (1), or incomplete (2) when ffmpeg is missing for the demo video.
    assert!(matches!(o.status.code(), Some(1 | 2)), "{}", text(&o));
    let manifest = out.join("MANIFEST.sha256");
    let listed = std::fs::read_to_string(&manifest).unwrap();
    for f in ["report.json", "report.html", "hits.csv", "vics-cases.json"] {
        assert!(listed.contains(f), "{f} not in the manifest:\n{listed}");
    }
    let v = verify(&out, &pk);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));

    // One changed byte of a report file: our verifier fails.
    let html = out.join("report.html");
    let v = with_flipped(&html, 100, || verify(&out, &pk));
    assert_eq!(v.status.code(), Some(1), "{}", text(&v));
    assert_eq!(verify(&out, &pk).status.code(), Some(0));

    let Some(minisign) = program("minisign") else {
        return;
    };
    assert!(
        minisign_verifies(&minisign, &pk, &out),
        "minisign -Vm refused the signature of a scan's report"
    );
    // A changed byte of the manifest fails both.
    for i in [0, listed.len() / 2, listed.len() - 2] {
        let (ours, theirs) = with_flipped(&manifest, i, || {
            (
                verify(&out, &pk).status.code(),
                minisign_verifies(&minisign, &pk, &out),
            )
        });
        assert_eq!(
            ours,
            Some(1),
            "report verify accepted manifest byte {i} changed"
        );
        assert!(!theirs, "minisign accepted manifest byte {i} changed");
    }
    // The standard tools alone see a changed report file: the signed
    // manifest (minisign) no longer matches the file (sha256sum -c).
    if let Some(sha256sum) = program("sha256sum") {
        let check = || {
            Command::new(&sha256sum)
                .args(["-c", "--quiet", "MANIFEST.sha256"])
                .current_dir(&out)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success()
        };
        assert!(check(), "sha256sum -c refused the untouched report");
        assert!(!with_flipped(&html, 100, check));
    }
}

/// Generated evidence: one large sparse file of zeros (hashing it takes
/// long enough to interrupt the scan) and many small benign files.
fn evidence(dir: &Path) -> PathBuf {
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let big = std::fs::File::create(ev.join("a-zeros.bin")).unwrap();
    big.set_len(1 << 30).unwrap();
    for i in 0..200u32 {
        std::fs::write(
            ev.join(format!("note{i:03}.txt")),
            format!("benign note {i}\n"),
        )
        .unwrap();
    }
    ev
}

fn scan_cmd(ev: &Path, out: &Path, lib: &Path, fields: &[&str]) -> Command {
    let mut c = bin();
    c.arg("scan")
        .arg(ev)
        .args([
            "--case",
            "RESUME-1",
            "--exhibit",
            "EX-1",
            "--threads",
            "1",
            "-q",
        ])
        .args(fields)
        .arg("--out")
        .arg(out)
        .arg("--library")
        .arg(lib);
    c
}

#[test]
fn resume_is_refused_when_a_case_field_changes() {
    let dir = tempdir("resume");
    let d = demo(&dir);
    let lib = d.join("library");
    let ev = evidence(&dir);
    let out = dir.join("report");
    let fields = ["--fir", "FIR 7/2026", "--seal", "EX-1=Seal 45/2026"];

    // The first run, interrupted (SIGINT, as Ctrl-C) once it has started.
    let child = scan_cmd(&ev, &out, &lib, &fields)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let checkpoint = out.join("checkpoint.jsonl");
    let start = Instant::now();
    while !checkpoint.exists() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let first = child.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(2), "{}", text(&first));
    assert!(
        text(&first).contains("INTERRUPTED"),
        "the first run was not interrupted: {}",
        text(&first)
    );
    assert!(checkpoint.exists(), "no checkpoint left to resume");

    // A changed FIR number, or a changed seal: refused, naming the case
    // fields, and the checkpoint is left as it was.
    let before = std::fs::read(&checkpoint).unwrap();
    for changed in [
        ["--fir", "FIR 8/2026", "--seal", "EX-1=Seal 45/2026"],
        ["--fir", "FIR 7/2026", "--seal", "EX-1=Seal 46/2026"],
    ] {
        let o = scan_cmd(&ev, &out, &lib, &changed)
            .arg("--resume")
            .output()
            .unwrap();
        let t = text(&o);
        assert!(
            !matches!(o.status.code(), Some(0 | 1)),
            "resumed with {changed:?}: {t}"
        );
        assert!(t.contains("case fields"), "{changed:?}: {t}");
        assert!(
            t.contains(changed[1]) || t.contains(&changed[3][5..]),
            "{changed:?}: {t}"
        );
        assert_eq!(std::fs::read(&checkpoint).unwrap(), before);
    }
    // A missing one is a change too.
    let o = scan_cmd(&ev, &out, &lib, &fields[..2])
        .arg("--resume")
        .output()
        .unwrap();
    assert!(text(&o).contains("case fields"), "{}", text(&o));

    // The same fields resume, and the report records them.
    let o = scan_cmd(&ev, &out, &lib, &fields)
        .arg("--resume")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["custody"]["fir"], "FIR 7/2026");
    assert_eq!(json["custody"]["runs"].as_array().unwrap().len(), 2);
    assert!(json["status"]["complete"].as_bool().unwrap());
    assert!(!checkpoint.exists());
}
