//! Drives `nigehbaan lists` and `nigehbaan match` with the benign fixture
//! lists of `crates/lists/tests/fixtures` (hashes of the `nigehbaan demo`
//! images) and the demo images themselves.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use common::bin;

fn tempdir(name: &str) -> PathBuf {
    common::tempdir("lists", name)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lists/tests/fixtures")
        .join(name)
}

fn run(lib: &Path, args: &[&str]) -> Output {
    let out = bin().args(args).arg("--library").arg(lib).output().unwrap();
    out
}

fn rows(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Every path under `dir` with its contents, to show nothing changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push((p.clone(), Vec::new()));
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn demo(dir: &Path) -> PathBuf {
    let d = dir.join("demo");
    let out = bin().arg("demo").arg("--out").arg(&d).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    d
}

const LANDSCAPE_MD5: &str = "a622aaf671d0916f92b6bbc89db19633";
const LANDSCAPE_PDQ: &str = "191b8f45eec034bfc1d4acac14af53d2cb2c94a663d32b29b44baad34b3cf434";

#[test]
fn import_ls_match_export_verify_rm() {
    let dir = tempdir("flow");
    let lib = dir.join("lib");
    let demo = demo(&dir);
    let vics = fixture("vics-2.0-media.json");
    let out = run(
        &lib,
        &[
            "lists",
            "import",
            vics.to_str().unwrap(),
            "--name",
            "vic",
            "--version",
            "2.0",
            "--source",
            "Test Org",
            // The compact PDQ layout gives the same matches below.
            "--compact-pdq",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let hma = fixture("hma.txt");
    let out = run(
        &lib,
        &["lists", "import", hma.to_str().unwrap(), "--name", "hma"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // ls
    let out = run(&lib, &["lists", "ls", "--json"]);
    assert_eq!(code(&out), 0);
    let ls = rows(&out);
    assert_eq!(ls.len(), 2);
    assert_eq!(ls[1]["name"], "vic");
    assert_eq!(ls[1]["version"], "2.0");
    assert_eq!(ls[1]["source"], "Test Org");
    assert_eq!(ls[1]["status"], "notable");
    assert_eq!(ls[1]["record_count"], 2);
    assert_eq!(ls[1]["counts"]["md5"], 2);
    assert_eq!(ls[1]["source_file"]["name"], "vics-2.0-media.json");
    assert_eq!(ls[1]["records_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(ls[1]["pdq_compact"], true);
    assert_eq!(ls[0]["pdq_compact"], false);
    let out = run(&lib, &["lists", "ls"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Test Org"));

    // match by hash
    let out = run(&lib, &["match", "--md5", LANDSCAPE_MD5]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let r = rows(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["input"], format!("md5:{LANDSCAPE_MD5}"));
    let m = &r[0]["matches"][0];
    assert_eq!(m["list"], "vic");
    assert_eq!(m["list_version"], "2.0");
    assert_eq!(m["match"], "md5");
    assert_eq!(m["category"]["scheme"], "projectvic-us");
    assert_eq!(m["category"]["code"], "4");
    assert_eq!(m["category"]["label"], "Comparison");
    assert_eq!(m["status"], "notable");
    assert_eq!(m["provenance"]["source"], "Test Org");
    assert!(m["provenance"]["imported_at"]
        .as_str()
        .unwrap()
        .ends_with("+00:00"));

    let out = run(&lib, &["match", "--pdq", LANDSCAPE_PDQ]);
    assert_eq!(code(&out), 1);
    let r = rows(&out);
    let lists: Vec<&str> = r[0]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["list"].as_str().unwrap())
        .collect();
    assert_eq!(lists, ["hma", "vic"]);
    assert!(r[0]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["match"] == "pdq" && m["distance"] == 0 && m["variant"] == "orig"));

    // --list restricts; no match is exit 0; the empty file's hash never matches.
    let out = run(&lib, &["match", "--pdq", LANDSCAPE_PDQ, "--list", "hma"]);
    assert_eq!(rows(&out)[0]["matches"].as_array().unwrap().len(), 1);
    let out = run(
        &lib,
        &["match", "--md5", "00112233445566778899aabbccddeeff"],
    );
    assert_eq!(code(&out), 0);
    let out = run(
        &lib,
        &["match", "--md5", "d41d8cd98f00b204e9800998ecf8427e"],
    );
    assert_eq!(code(&out), 0);
    assert!(rows(&out)[0]["matches"].as_array().unwrap().is_empty());

    // --hashes FILE
    let hashes = dir.join("hashes.txt");
    std::fs::write(
        &hashes,
        format!(
            "# queries\nmd5 {LANDSCAPE_MD5}\n\nsha1 0000000000000000000000000000000000000000\n"
        ),
    )
    .unwrap();
    let out = run(&lib, &["match", "--hashes", hashes.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let r = rows(&out);
    assert_eq!(r.len(), 2);
    assert_eq!(r[1]["matches"].as_array().unwrap().len(), 0);

    // match by file: the listed original (one match per record, every
    // hash that matched it named), a resized copy (PDQ), a rotated copy
    // (rotations/flips are searched unless --no-dihedral).
    let original = demo.join("originals/landscape.png");
    let out = run(&lib, &["match", original.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let r = rows(&out);
    let ms = r[0]["matches"].as_array().unwrap();
    let m = ms.iter().find(|m| m["list"] == "vic").unwrap();
    assert_eq!(m["match"], "sha256");
    for k in ["md5", "sha1", "sha256", "pdq"] {
        assert!(
            m["matched_hashes"].as_array().unwrap().contains(&k.into()),
            "{k} in {m}"
        );
    }
    let resized = demo.join("evidence/phone/DCIM/IMG_0001.jpg");
    let out = run(&lib, &["match", "--list", "vic", resized.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let r = rows(&out);
    let m = &r[0]["matches"][0];
    assert_eq!(m["match"], "pdq");
    let d = m["distance"].as_u64().unwrap();
    assert!(d > 0 && d <= 31, "{d}");
    let rotated = demo.join("evidence/phone/DCIM/IMG_0002.png");
    let out = run(&lib, &["match", "--no-dihedral", rotated.to_str().unwrap()]);
    assert_eq!(
        code(&out),
        0,
        "rotated copy must not match with --no-dihedral"
    );
    let out = run(&lib, &["match", rotated.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let r = rows(&out);
    let m = &r[0]["matches"][0];
    assert_eq!(m["match"], "pdq");
    assert_ne!(m["variant"], "orig");
    // A directory with a broken image: matches are still reported, exit 2.
    let out = run(&lib, &["match", demo.join("evidence").to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let r = rows(&out);
    assert!(r.iter().any(|row| !row["error"].is_null()));
    assert!(r
        .iter()
        .any(|row| !row["matches"].as_array().unwrap().is_empty()));

    // export, and re-import of the CSV export
    let out = run(&lib, &["lists", "export", "vic", "--format", "vics"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["value"].as_array().unwrap().len(), 2);
    assert_eq!(doc["value"][0]["MD5"], LANDSCAPE_MD5.to_uppercase());
    let csv = dir.join("vic.csv");
    let out = run(
        &lib,
        &[
            "lists",
            "export",
            "vic",
            "--format",
            "csv",
            "-o",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(
        &lib,
        &[
            "lists",
            "import",
            csv.to_str().unwrap(),
            "--name",
            "vic-copy",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&lib, &["lists", "ls", "--json"]);
    let copy = rows(&out)
        .into_iter()
        .find(|m| m["name"] == "vic-copy")
        .unwrap();
    assert_eq!(copy["list_format"], "nigehbaan-csv");
    assert_eq!(copy["counts"], ls[1]["counts"]);

    // verify: clean, then a tampered records file is caught.
    let out = run(&lib, &["lists", "verify"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let records = lib.join("vic-copy/records.jsonl");
    let mut text = std::fs::read(&records).unwrap();
    text[10] ^= 1;
    std::fs::write(&records, text).unwrap();
    let out = run(&lib, &["lists", "verify", "vic-copy"]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));

    // rm
    let out = run(&lib, &["lists", "rm", "vic"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&lib, &["lists", "ls", "--json"]);
    assert!(rows(&out).iter().all(|m| m["name"] != "vic"));
    let out = run(&lib, &["match", "--list", "vic", "--md5", LANDSCAPE_MD5]);
    assert_eq!(code(&out), 2);
    let out = run(&lib, &["lists", "rm", "vic"]);
    assert_eq!(code(&out), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn malformed_list_fails_with_line_and_leaves_library_unchanged() {
    let dir = tempdir("malformed");
    let lib = dir.join("lib");
    let md5sum = fixture("md5sum.txt");
    let out = run(
        &lib,
        &[
            "lists",
            "import",
            md5sum.to_str().unwrap(),
            "--name",
            "sums",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let before = snapshot(&lib);
    let bad = dir.join("bad-sums.txt");
    std::fs::write(
        &bad,
        format!("{LANDSCAPE_MD5}  a.png\n594ba923932eaf88337d20881dfa58  b.png\n"),
    )
    .unwrap();
    for name in ["sums", "new"] {
        let out = run(
            &lib,
            &[
                "lists",
                "import",
                bad.to_str().unwrap(),
                "--name",
                name,
                "--replace",
            ],
        );
        assert_eq!(code(&out), 2);
        let err = stderr(&out);
        assert!(
            err.contains("bad-sums.txt") && err.contains("line 2"),
            "{err}"
        );
        assert_eq!(snapshot(&lib), before, "library changed by a failed import");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn second_import_of_a_name_needs_replace() {
    let dir = tempdir("replace");
    let lib = dir.join("lib");
    let hma = fixture("hma.csv");
    let sums = fixture("sha256sum.txt");
    // The library directory may also come from the environment.
    let import = |file: &Path, extra: &[&str]| {
        bin()
            .env("NIGEHBAAN_LIBRARY", &lib)
            .args(["lists", "import"])
            .arg(file)
            .args(["--name", "one"])
            .args(extra)
            .output()
            .unwrap()
    };
    assert_eq!(code(&import(&hma, &[])), 0);
    let before = snapshot(&lib);
    let out = import(&sums, &[]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--replace"), "{}", stderr(&out));
    assert_eq!(snapshot(&lib), before);
    let out = import(&sums, &["--replace", "--known"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(&lib, &["lists", "ls", "--json"]);
    let r = rows(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["list_format"], "hashsum");
    assert_eq!(r[0]["status"], "known");
    let out = run(
        &lib,
        &[
            "match",
            "--sha256",
            "fa53ff1256b8bad22afee6a8c4d058a809a893f77f3e847fc8dda5584a1c7c84",
        ],
    );
    assert_eq!(code(&out), 1);
    assert_eq!(rows(&out)[0]["matches"][0]["status"], "known");
    let _ = std::fs::remove_dir_all(&dir);
}
