//! Drives `nigehbaan scan` on the benign demo evidence that `nigehbaan demo`
//! makes (generated pictures, test-data lists): exit statuses, every report
//! file, exclusions, refusals.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::bin;

fn tempdir(name: &str) -> PathBuf {
    common::tempdir("scan-cli", name)
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
    // Without ffmpeg: the demo video (tested in scan_video_cli) is left out,
    // so the counts below do not depend on the machine.
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", "/nonexistent/ffmpeg")
        .arg("demo")
        .arg("--out")
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    d
}

fn scan(lib: &Path, args: &[&str]) -> Output {
    bin()
        .arg("scan")
        .args(args)
        .arg("--library")
        .arg(lib)
        .output()
        .unwrap()
}

fn copy_tree(from: &Path, to: &Path, skip: &str) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &target, skip);
        } else if !p.ends_with(skip) {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

#[test]
fn full_report_with_custody_and_every_file() {
    let dir = tempdir("full");
    let d = demo(&dir);
    let r = dir.join("report");
    let out = scan(
        &d.join("library"),
        &[
            d.join("evidence").to_str().unwrap(),
            "--out",
            r.to_str().unwrap(),
            "--case",
            "CASE-42",
            "--exhibit",
            "EX-7",
            "--examiner",
            "A. Examiner",
            "--agency",
            "Test Agency",
            "--quiet",
        ],
    );
    // The truncated picture makes the scan incomplete: exit 2.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("4 hits"), "{stdout}");

    let json = std::fs::read(r.join("report.json")).unwrap();
    let rep: Value = serde_json::from_slice(&json).unwrap();
    let c = &rep["custody"];
    assert_eq!(c["case_number"], "CASE-42");
    assert_eq!(c["examiner"], "A. Examiner");
    assert_eq!(c["agency"], "Test Agency");
    assert_eq!(c["exhibits"][0]["id"], "EX-7");
    assert_eq!(c["tool_name"], "nigehbaan");
    assert!(c["started"]["utc"].as_str().unwrap().ends_with("+00:00"));
    assert!(c["finished"]["local"].as_str().is_some());
    assert!(!c["host"].as_str().unwrap().is_empty());
    let lists = c["lists"].as_array().unwrap();
    assert_eq!(lists.len(), 2);
    for l in lists {
        assert_eq!(l["records_sha256"].as_str().unwrap().len(), 64);
        assert!(l["record_count"].as_u64().unwrap() >= 1);
    }
    assert_eq!(rep["settings"]["matching"]["threshold"], 31);
    assert_eq!(rep["settings"]["pdq_pipeline"], "full");
    assert_eq!(rep["status"]["complete"], false);
    assert_eq!(rep["status"]["exit_code"], 2);
    assert_eq!(rep["summary"]["total"]["hits"], 4);
    assert_eq!(rep["summary"]["total"]["known"], 1);
    assert_eq!(rep["errors"].as_array().unwrap().len(), 1);
    // Every hit says how it matched and which list asserted what.
    let items = rep["items"].as_array().unwrap();
    let rotated = items
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with("IMG_0002.png"))
        .unwrap();
    let h = &rotated["hits"][0];
    assert_eq!(h["match_kind"], "pdq");
    assert_eq!(h["variant"], "rot90");
    assert!(h["distance"].as_u64().unwrap() <= 31);
    assert_eq!(h["list"], "demo-notable");
    assert_eq!(h["category"]["code"], "A");
    let zipped = items
        .iter()
        .find(|i| {
            i["path"]
                .as_str()
                .unwrap()
                .ends_with("backup.zip!backup/tiles.png")
        })
        .unwrap();
    assert_eq!(zipped["hits"][0]["match_kind"], "sha256");
    assert_eq!(zipped["depth"], 1);

    // The SHA-256 of report.json, printed and written beside it.
    let sha = std::fs::read_to_string(r.join("report.json.sha256")).unwrap();
    let digest = nigehbaan_pdq::hex::encode(&nigehbaan_filehash::Digests::of(&json).sha256);
    assert_eq!(sha, format!("{digest}  report.json\n"));
    assert!(stdout.contains(&digest));

    let csv = std::fs::read_to_string(r.join("hits.csv")).unwrap();
    assert!(csv.starts_with("exhibit,path,size,md5"));
    assert_eq!(csv.lines().count(), 5, "{csv}");

    let html = std::fs::read_to_string(r.join("report.html")).unwrap();
    for forbidden in [
        "<img", "<script", "<link", "src=", "url(", "<svg", "<object",
    ] {
        assert!(!html.contains(forbidden), "report.html holds {forbidden}");
    }
    for wanted in [
        "CASE-42",
        "EX-7",
        "demo-notable",
        "custom:demo:A",
        "IMG_0005.jpg",
    ] {
        assert!(html.contains(wanted), "report.html lacks {wanted}");
    }

    // The VICS #Cases export is a list file our own importer reads back.
    let vics = r.join("vics-cases.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(&vics).unwrap()).unwrap();
    assert!(doc["@odata.context"].as_str().unwrap().ends_with("#Cases"));
    let media = doc["value"][0]["Media"].as_array().unwrap();
    assert!(media
        .iter()
        .all(|m| !m["MediaFiles"].as_array().unwrap().is_empty()));
    let back = bin()
        .args([
            "lists",
            "import",
            vics.to_str().unwrap(),
            "--name",
            "roundtrip",
        ])
        .arg("--library")
        .arg(dir.join("lib2"))
        .output()
        .unwrap();
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));

    // Reports are never overwritten.
    let again = scan(
        &d.join("library"),
        &[
            d.join("evidence").to_str().unwrap(),
            "--out",
            r.to_str().unwrap(),
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again).contains("never overwritten"),
        "{}",
        text(&again)
    );
}

#[test]
fn exit_status_like_a_virus_scanner() {
    let dir = tempdir("exit");
    let d = demo(&dir);
    let lib = d.join("library");
    // Without the truncated picture the scan is complete: hits → 1.
    let ev = dir.join("ev");
    copy_tree(&d.join("evidence"), &ev, "IMG_0005.jpg");
    let out = scan(
        &lib,
        &[ev.to_str().unwrap(), "-o", dir.join("r1").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Only the unlisted picture: nothing → 0.
    let clean = dir.join("clean");
    std::fs::create_dir_all(&clean).unwrap();
    std::fs::copy(
        ev.join("phone/DCIM/IMG_0004.png"),
        clean.join("IMG_0004.png"),
    )
    .unwrap();
    let out = scan(
        &lib,
        &[
            clean.to_str().unwrap(),
            "-o",
            dir.join("r2").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Digests only: the exact copy in the zip is still found.
    let out = scan(
        &lib,
        &[
            ev.to_str().unwrap(),
            "--no-pdq",
            "-o",
            dir.join("r3").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let rep: Value =
        serde_json::from_slice(&std::fs::read(dir.join("r3/report.json")).unwrap()).unwrap();
    assert_eq!(rep["summary"]["total"]["hits"], 1);
    assert!(rep["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["pdq"].is_null()));
    // Usage errors.
    let out = scan(
        &lib,
        &[
            ev.to_str().unwrap(),
            clean.to_str().unwrap(),
            ev.to_str().unwrap(),
            "--exhibit",
            "A",
            "--exhibit",
            "B",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--exhibit"), "{}", text(&out));
    let out = scan(
        &lib,
        &[
            ev.to_str().unwrap(),
            "--out",
            ev.join("rep").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("inside the evidence"), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn links_and_special_files_are_recorded_not_followed() {
    let dir = tempdir("links");
    let d = demo(&dir);
    let ev = dir.join("ev");
    copy_tree(&d.join("evidence"), &ev, "IMG_0005.jpg");
    std::os::unix::fs::symlink(d.join("originals"), ev.join("link-to-originals")).unwrap();
    let fifo = ev.join("pipe");
    let st = Command::new("mkfifo").arg(&fifo).status();
    let r = dir.join("r");
    let out = scan(
        &d.join("library"),
        &[ev.to_str().unwrap(), "-o", r.to_str().unwrap()],
    );
    // Policy skips do not make the scan incomplete.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let rep: Value =
        serde_json::from_slice(&std::fs::read(r.join("report.json")).unwrap()).unwrap();
    let ex = rep["exclusions"].as_array().unwrap();
    assert!(ex.iter().any(|e| e["kind"] == "symlink"), "{ex:?}");
    if st.is_ok_and(|s| s.success()) {
        assert!(ex.iter().any(|e| e["kind"] == "special-file"), "{ex:?}");
    }
    let items = rep["items"].as_array().unwrap();
    assert!(!items
        .iter()
        .any(|i| i["path"].as_str().unwrap().contains("originals")));

    // A link given on the command line is followed.
    let direct = dir.join("direct.png");
    std::os::unix::fs::symlink(d.join("originals/tiles.png"), &direct).unwrap();
    let out = scan(
        &d.join("library"),
        &[
            direct.to_str().unwrap(),
            "-o",
            dir.join("r2").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
