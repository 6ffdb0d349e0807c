//! Hostile file names through the real binary. Control and bidirectional
//! characters are escaped and visible on the terminal, in `report.html` and
//! in `hits.csv` (CSV cells led by TAB or CR are defused); names that are
//! not UTF-8 stay distinct and exact in `hash` and `match` rows and in the
//! scan's report.json, hits.csv, VICS export and report.html, for files on
//! disk and tar entries alike. All content here is a few benign bytes; the
//! lists are TEST DATA.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use common::bin;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn md5_hex(bytes: &[u8]) -> String {
    let d = nigehbaan_filehash::Digests::of(bytes);
    nigehbaan_pdq::hex::encode(&d.md5)
}

/// A library with one notable md5sum list (TEST DATA) of `contents`.
fn library(dir: &Path, contents: &[&[u8]]) -> PathBuf {
    let lib = dir.join("library");
    let list = dir.join("test-data.md5");
    let mut body = String::from("# TEST DATA: hashes of benign bytes\n");
    for c in contents {
        body.push_str(&format!("{}  benign\n", md5_hex(c)));
    }
    std::fs::write(&list, body).unwrap();
    let out = bin()
        .args(["lists", "import"])
        .arg(&list)
        .args(["--name", "test-data", "--notable", "--library"])
        .arg(&lib)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    lib
}

/// `nigehbaan scan EV --out REPORT --library LIB ARGS`, which must find hits.
fn scan_hits(ev: &Path, report: &Path, lib: &Path, args: &[&str]) -> Output {
    let out = bin()
        .arg("scan")
        .arg(ev)
        .arg("--out")
        .arg(report)
        .arg("--library")
        .arg(lib)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    out
}

const NAMES: [(&str, &[u8]); 4] = [
    ("rtl\u{202e}gpj.exe", b"benign one"),
    ("two\nlines.bin", b"benign two"),
    ("esc\u{1b}[2J\u{7}.bin", b"benign three"),
    ("plain.bin", b"benign four"),
];

fn hostile(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[test]
fn control_and_bidi_characters_are_escaped_everywhere_a_person_reads() {
    let dir = common::tempdir("names", "display");
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    for (name, body) in NAMES {
        std::fs::write(ev.join(name), body).unwrap();
    }
    let lib = library(&dir, &NAMES.map(|(_, b)| b));
    let report = dir.join("report");
    // A TAB-led exhibit id: a CSV cell a spreadsheet would run.
    let out = scan_hits(&ev, &report, &lib, &["--exhibit", "\t=1+1"]);

    // Terminal: one line per hit, nothing raw.
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let hit_lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("HIT")).collect();
    assert_eq!(hit_lines.len(), 4, "{stdout}");
    assert!(!stdout.chars().any(hostile), "{stdout:?}");
    assert!(stdout.contains("rtl\\u202egpj.exe"), "{stdout}");
    assert!(stdout.contains("two\\nlines.bin"), "{stdout}");
    assert!(stdout.contains("esc\\u001b[2J\\u0007.bin"), "{stdout}");
    assert!(stdout.contains("\\t=1+1"), "{stdout}");

    // HTML: escaped, visible; no raw newline inside a path either.
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        !html.chars().any(hostile),
        "raw control/bidi character in HTML"
    );
    assert!(html.contains("rtl\\u202egpj.exe"));
    assert!(html.contains("two\\nlines.bin"));
    assert!(html.contains("esc\\u001b[2J\\u0007.bin"));

    // CSV: the exact name with its control characters escaped; the TAB-led
    // exhibit cell defused with a leading `'`.
    let csv = std::fs::read_to_string(report.join("hits.csv")).unwrap();
    assert!(!csv.chars().any(hostile), "{csv:?}");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{csv}");
    for row in &rows {
        assert!(row.starts_with("'\\t=1+1,"), "{row}");
    }
    assert!(csv.contains("rtl\\u202egpj.exe"));
    assert!(csv.contains("two\\nlines.bin"));
    assert!(csv.contains("esc\\u001b[2J\\u0007.bin"));

    // report.json keeps the exact names.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let paths: Vec<String> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_string())
        .collect();
    for (name, _) in NAMES {
        assert!(paths.iter().any(|p| p.ends_with(name)), "{name:?}");
    }
}

/// Names that are not UTF-8 (Unix file names are bytes).
#[cfg(unix)]
mod bytes {
    use super::{bin, common, library, scan_hits, text};
    use serde_json::Value;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};
    use std::process::Output;

    fn rows(out: &Output) -> Vec<Value> {
        String::from_utf8(out.stdout.clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn b64(v: &Value) -> Vec<u8> {
        nigehbaan_filehash::name::from_base64(v.as_str().unwrap()).unwrap()
    }

    /// One ustar member: a 512-byte header (name bytes as given) and the data.
    fn tar_member(name: &[u8], data: &[u8]) -> Vec<u8> {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name);
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut out = h.to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    const A: &[u8] = b"bad\xff\xfe.jpg";
    const B: &[u8] = b"bad\xff\xfd.jpg";
    const IN_TAR: &[u8] = b"inner\xe9.bin";

    fn evidence(dir: &Path) -> PathBuf {
        let ev = dir.join("ev");
        std::fs::create_dir_all(&ev).unwrap();
        std::fs::write(ev.join(OsStr::from_bytes(A)), b"benign a").unwrap();
        std::fs::write(ev.join(OsStr::from_bytes(B)), b"benign b").unwrap();
        let mut tar = tar_member(IN_TAR, b"benign c");
        tar.extend_from_slice(&[0u8; 1024]);
        std::fs::write(ev.join("box.tar"), tar).unwrap();
        ev
    }

    fn ends_with(hay: &[u8], needle: &[u8]) -> bool {
        hay.len() >= needle.len() && &hay[hay.len() - needle.len()..] == needle
    }

    #[test]
    fn hash_and_match_keep_names_that_are_not_utf8() {
        let dir = common::tempdir("names", "hash");
        let ev = evidence(&dir);
        let out = bin().arg("hash").arg(&ev).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let r = rows(&out);
        let bad: Vec<&Value> = r
            .iter()
            .filter(|row| row["path_bytes"].is_string())
            .collect();
        assert_eq!(bad.len(), 2, "{r:?}");
        assert_ne!(bad[0]["path"], bad[1]["path"]);
        let exact: Vec<Vec<u8>> = bad.iter().map(|row| b64(&row["path_bytes"])).collect();
        assert!(exact.iter().any(|p| ends_with(p, A)));
        assert!(exact.iter().any(|p| ends_with(p, B)));
        assert!(bad
            .iter()
            .any(|row| row["path"].as_str().unwrap().ends_with("bad\\xff\\xfe.jpg")));
        // UTF-8 names carry no path_bytes.
        let tar = r
            .iter()
            .find(|row| row["path"].as_str().unwrap().ends_with("box.tar"));
        assert!(tar.unwrap().get("path_bytes").is_none());

        let out = bin()
            .args(["hash", "--format", "csv"])
            .arg(&ev)
            .output()
            .unwrap();
        let csv = String::from_utf8(out.stdout).unwrap();
        assert!(csv.contains("bad\\xff\\xfd.jpg"), "{csv}");
        assert!(!csv.contains('\u{fffd}'), "{csv}");

        // match: `input` readable, `input_bytes` exact.
        let lib = library(&dir, &[b"benign a"]);
        let out = bin()
            .arg("match")
            .arg(&ev)
            .arg("--library")
            .arg(&lib)
            .output()
            .unwrap();
        let r = rows(&out);
        let hit = r
            .iter()
            .find(|row| !row["matches"].as_array().unwrap().is_empty())
            .unwrap();
        assert!(ends_with(&b64(&hit["input_bytes"]), A), "{hit}");
    }

    #[test]
    fn scan_reports_keep_names_that_are_not_utf8() {
        let dir = common::tempdir("names", "scan");
        let ev = evidence(&dir);
        let lib = library(&dir, &[b"benign a", b"benign b", b"benign c"]);
        let report = dir.join("report");
        scan_hits(&ev, &report, &lib, &[]);

        let json: Value =
            serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
        let items = json["items"].as_array().unwrap();
        let exact: Vec<Vec<u8>> = items
            .iter()
            .filter(|i| i["path_bytes"].is_string())
            .map(|i| b64(&i["path_bytes"]))
            .collect();
        assert_eq!(exact.len(), 3, "{items:?}");
        for name in [A, B] {
            assert!(exact.iter().any(|p| ends_with(p, name)), "{name:?}");
        }
        // The tar entry: the chain `…/box.tar!inner\xe9.bin`, exact.
        assert!(exact.iter().any(|p| ends_with(p, b"box.tar!inner\xe9.bin")));
        let paths: Vec<&str> = items.iter().map(|i| i["path"].as_str().unwrap()).collect();
        assert!(
            paths.iter().any(|p| p.ends_with("box.tar!inner\\xe9.bin")),
            "{paths:?}"
        );
        assert!(!paths.iter().any(|p| p.contains('\u{fffd}')), "{paths:?}");

        let csv = std::fs::read_to_string(report.join("hits.csv")).unwrap();
        assert!(csv.lines().next().unwrap().ends_with(",path_bytes"));
        assert!(csv.contains("bad\\xff\\xfe.jpg") && csv.contains("bad\\xff\\xfd.jpg"));
        let csv_bytes: Vec<Vec<u8>> = csv
            .lines()
            .skip(1)
            .filter_map(|l| nigehbaan_filehash::name::from_base64(l.rsplit(',').next()?))
            .collect();
        assert!(csv_bytes.iter().any(|p| ends_with(p, B)), "{csv}");

        let html = std::fs::read_to_string(report.join("report.html")).unwrap();
        assert!(html.contains("bad\\xff\\xfe.jpg") && html.contains("bad\\xff\\xfd.jpg"));
        assert!(!html.contains('\u{fffd}'));

        let vics: Value =
            serde_json::from_slice(&std::fs::read(report.join("vics-cases.json")).unwrap())
                .unwrap();
        let files: Vec<&Value> = vics["value"][0]["Media"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["MediaFiles"].as_array().unwrap())
            .collect();
        let annotated: Vec<Vec<u8>> = files
            .iter()
            .filter_map(|f| f.get("FullPath@nigehbaan.bytes"))
            .map(b64)
            .collect();
        assert_eq!(annotated.len(), 3, "{files:?}");
        assert!(annotated.iter().any(|p| ends_with(p, A)));
    }
}
