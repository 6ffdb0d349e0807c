//! Issue 13, the hash-list half, through the real binary: empty imports and
//! unknown hash types are refused, the library is private, a damaged index
//! stops `match` and `scan` (exit 2) instead of silently dropping hits, and
//! what killed imports leave behind is removed. All hashes are test data:
//! those of Nigehbaan's own benign demo images.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use common::bin;

const LANDSCAPE_MD5: &str = "a622aaf671d0916f92b6bbc89db19633";
const LANDSCAPE_PDQ: &str = "191b8f45eec034bfc1d4acac14af53d2cb2c94a663d32b29b44baad34b3cf434";

fn tempdir(name: &str) -> PathBuf {
    common::tempdir("lists-trust", name)
}

fn run(lib: &Path, args: &[&str]) -> Output {
    bin().args(args).arg("--library").arg(lib).output().unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// A two-record md5sum list of benign demo hashes.
fn md5_list(dir: &Path) -> PathBuf {
    let p = dir.join("list.md5");
    fs::write(
        &p,
        format!("{LANDSCAPE_MD5}  landscape.png\n677472ab6b21625fec540f059887d639  t.png\n"),
    )
    .unwrap();
    p
}

fn import(lib: &Path, file: &Path, name: &str, extra: &[&str]) -> Output {
    let mut args = vec!["lists", "import", file.to_str().unwrap(), "--name", name];
    args.extend_from_slice(extra);
    run(lib, &args)
}

#[test]
fn empty_imports_are_refused_unless_allowed() {
    let dir = tempdir("empty");
    let lib = dir.join("lib");
    let empty = dir.join("empty.txt");
    fs::write(&empty, "").unwrap();
    let out = import(&lib, &empty, "e", &["--format", "hashsum"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("empty.txt") && err.contains("no records"),
        "{err}"
    );
    assert!(err.contains("--allow-empty"), "{err}");
    let ls = run(&lib, &["lists", "ls", "--json"]);
    assert!(ls.stdout.is_empty(), "nothing imported");
    let out = import(&lib, &empty, "e", &["--format", "hashsum", "--allow-empty"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 records"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn typod_signal_types_fail_with_the_line_unless_allowed() {
    let dir = tempdir("typo");
    let lib = dir.join("lib");
    let list = dir.join("hma.txt");
    fs::write(
        &list,
        format!("pdq {LANDSCAPE_PDQ}\npdg {LANDSCAPE_PDQ}\nmd5 {LANDSCAPE_MD5}\n"),
    )
    .unwrap();
    let out = import(&lib, &list, "hma", &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("hma.txt: line 2"), "{err}");
    assert!(
        err.contains("\"pdg\"") && err.contains("did you mean \"pdq\""),
        "{err}"
    );
    assert!(err.contains("--allow-unknown"), "{err}");
    assert!(run(&lib, &["lists", "ls", "--json"]).stdout.is_empty());
    let out = import(&lib, &list, "hma", &["--allow-unknown"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn the_library_is_private_whatever_the_umask() {
    let dir = tempdir("perms");
    let lib = dir.join("lib");
    let list = md5_list(&dir);
    // umask 000 would make a plain create 0666/0777.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_nigehbaan"))
        .args(["lists", "import", list.to_str().unwrap(), "--name", "l"])
        .arg("--library")
        .arg(&lib)
        .env_remove("NIGEHBAAN_LIBRARY")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut seen = 0;
    let mut stack = vec![lib.clone()];
    assert_eq!(mode(&lib), 0o700);
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            seen += 1;
            if p.is_dir() {
                assert_eq!(mode(&p), 0o700, "{}", p.display());
                stack.push(p);
            } else {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
            }
        }
    }
    assert_eq!(seen, 4, "the list directory and its three files");
    // An export holds the list too.
    let exported = dir.join("out.json");
    let out = run(
        &lib,
        &["lists", "export", "l", "-o", exported.to_str().unwrap()],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(mode(&exported), 0o600);

    // An older library: verify warns, and still passes.
    use std::os::unix::fs::PermissionsExt;
    let records = lib.join("l/records.jsonl");
    fs::set_permissions(&records, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(lib.join("l"), fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(&lib, &["lists", "verify"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{} has mode 0644", records.display())),
        "{err}"
    );
    assert!(err.contains("has mode 0755"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}

/// Scans a one-file benign evidence folder in `dir`; the output and the
/// report directory.
fn scan(dir: &Path, lib: &Path) -> (Output, PathBuf) {
    let evidence = dir.join("evidence");
    fs::create_dir_all(&evidence).unwrap();
    fs::write(evidence.join("a.txt"), b"benign").unwrap();
    let report = dir.join("report");
    let out = bin()
        .arg("scan")
        .arg(&evidence)
        .arg("--out")
        .arg(&report)
        .arg("--library")
        .arg(lib)
        .output()
        .unwrap();
    (out, report)
}

/// Flips one bit in the middle of a list's index.
fn flip_a_bit(index: &Path) {
    let mut bytes = fs::read(index).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x10;
    fs::write(index, bytes).unwrap();
}

#[test]
fn a_damaged_index_stops_match_and_scan() {
    let dir = tempdir("damaged");
    let lib = dir.join("lib");
    let list = md5_list(&dir);
    assert_eq!(code(&import(&lib, &list, "l", &[])), 0);
    let out = run(&lib, &["match", "--md5", LANDSCAPE_MD5]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));

    let index = lib.join("l/index.nidx");
    let (good, _) = nigehbaan_lists::library::sha256_file(&index).unwrap();
    flip_a_bit(&index);
    let (bad, _) = nigehbaan_lists::library::sha256_file(&index).unwrap();

    let out = run(&lib, &["match", "--md5", LANDSCAPE_MD5]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "no rows: nothing was matched");
    let err = stderr(&out);
    for want in [
        "list \"l\"",
        "index.nidx",
        &good,
        &bad,
        "nigehbaan lists verify l",
    ] {
        assert!(err.contains(want), "{want:?} missing from: {err}");
    }

    // The scan stops before it says anything is complete.
    let (out, report) = scan(&dir, &lib);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nigehbaan lists verify l"),
        "{}",
        stderr(&out)
    );
    assert!(!report.join("report.json").exists());

    let out = run(&lib, &["lists", "verify"]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("l: FAILED"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_report_states_the_index_hash_that_was_checked() {
    let dir = tempdir("custody");
    let lib = dir.join("lib");
    let list = md5_list(&dir);
    assert_eq!(code(&import(&lib, &list, "l", &[])), 0);
    let (out, report) = scan(&dir, &lib);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(report.join("report.json")).unwrap()).unwrap();
    let (actual, _) = nigehbaan_lists::library::sha256_file(&lib.join("l/index.nidx")).unwrap();
    let custody = r.to_string();
    assert!(
        custody.contains(&format!("\"index_sha256\":\"{actual}\"")),
        "{custody}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn what_killed_imports_left_is_removed_on_the_next_open() {
    let dir = tempdir("stale");
    let lib = dir.join("lib");
    let list = md5_list(&dir);
    assert_eq!(code(&import(&lib, &list, "l", &[])), 0);
    // A killed import: its staging directory (records in plain text) and
    // its lock file, which nobody holds any more.
    let stale = lib.join(".import-x-4000000-1");
    fs::create_dir(&stale).unwrap();
    fs::write(stale.join("records.jsonl"), "{\"md5\":\"…\"}\n").unwrap();
    fs::write(lib.join(".import-x-4000000-1.lock"), "").unwrap();
    // A live import: this test process holds its lock.
    let live = lib.join(".import-y-4000001-2");
    fs::create_dir(&live).unwrap();
    let lock = fs::File::create(lib.join(".import-y-4000001-2.lock")).unwrap();
    lock.lock().unwrap();

    let out = run(&lib, &["match", "--md5", LANDSCAPE_MD5]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!stale.exists(), "the killed import's records are gone");
    assert!(!lib.join(".import-x-4000000-1.lock").exists());
    assert!(live.exists(), "a live import is left alone");

    // verify reports staging directories.
    let out = run(&lib, &["lists", "verify"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{} is an import in progress", live.display())),
        "{}",
        stderr(&out)
    );
    drop(lock);
    let out = run(&lib, &["lists", "verify"]);
    assert!(
        stderr(&out).contains(&format!("removed {}", live.display())),
        "{}",
        stderr(&out)
    );
    assert!(!live.exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_really_killed_import_is_cleaned_up_by_the_next_open() {
    let dir = tempdir("killed");
    let lib = dir.join("lib");
    let list = md5_list(&dir);
    assert_eq!(code(&import(&lib, &list, "l", &[])), 0);
    // A list large enough that the import is still running when killed
    // (pseudo-random MD5s of nothing: test data).
    let big = dir.join("big.md5");
    let mut text = String::with_capacity(40 << 20);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..1_000_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push_str(&format!("{x:016x}{i:016x}  f{i}\n"));
    }
    fs::write(&big, text).unwrap();
    let mut child = bin()
        .args(["lists", "import", big.to_str().unwrap(), "--name", "big"])
        .arg("--library")
        .arg(&lib)
        .spawn()
        .unwrap();
    let staging = || -> Vec<PathBuf> {
        fs::read_dir(&lib)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(".import-big-")
            })
            .collect()
    };
    let t = std::time::Instant::now();
    while staging().is_empty() && t.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let left = staging();
    assert_eq!(
        left.len(),
        1,
        "the killed import left its staging directory"
    );
    let out = run(&lib, &["match", "--md5", LANDSCAPE_MD5]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(!left[0].exists(), "removed on the next open");
    let rest: Vec<_> = fs::read_dir(&lib)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(rest.is_empty(), "{rest:?}");
    fs::remove_dir_all(&dir).unwrap();
}
