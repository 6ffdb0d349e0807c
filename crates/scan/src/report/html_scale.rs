//! Scale tests of the report writer: many items and hits, streamed from
//! the spills. The 1,000,000-item run is ignored by default; run it with
//! `bench/report.sh` (time and peak memory).

use super::stream::{write_report_timed, Items, Parts, Timings};
use super::{Custody, Langs, Settings};
use crate::archive::ArchiveLimits;
use crate::matcher::MatchSettings;
use crate::model::Item;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

fn custody() -> Custody {
    let stamp = json!({"utc": "2026-12-06T10:00:00+00:00", "local": "2026-12-06T15:00:00+05:00", "unix": 1796551200u64});
    serde_json::from_value(json!({
        "case_number": "SCALE-1", "examiner": "Tester", "agency": null,
        "fir": "FIR 1/2026", "laws": ["PECA 2016 s.22"],
        "exhibits": [{"id": "EX", "paths": ["/ev"], "files_on_disk": 0, "bytes_on_disk": 0}],
        "tool_name": "nigehbaan", "tool_version": "test", "host": "h", "platform": "p",
        "command_line": "nigehbaan scan /ev", "started": stamp, "finished": stamp,
        "runs": [], "lists": []
    }))
    .unwrap()
}

fn settings() -> Settings {
    Settings {
        digests: vec!["md5".into(), "sha1".into(), "sha256".into()],
        pdq: false,
        pdq_pipeline: "full".into(),
        matching: MatchSettings {
            threshold: 31,
            min_quality: 50,
            dihedral: true,
        },
        limits: ArchiveLimits::default(),
        follow_symlinks: false,
        carve: false,
        verify_image: false,
        video: Default::default(),
        threads: 1,
        languages: Vec::new(),
    }
}

/// Item `i`; every `every`-th is a hit with two records.
fn item(i: u64, every: u64) -> Item {
    let hit = i.is_multiple_of(every);
    let sha = format!("{:064x}", i + 1);
    let mut v = json!({
        "exhibit": "EX", "path": format!("/ev/dir{:04}/file{i:08}.jpg", i % 1000),
        "depth": 0, "size": 1000 + i, "modified": null, "md5": format!("{:032x}", i + 1),
        "sha1": null, "sha256": sha, "pdq": null, "pdq_quality": null, "format": null,
        "width": null, "height": null,
        "disposition": if hit { "hit" } else { "unmatched" }, "error": null
    });
    if hit {
        let rec = |kind: &str, code: &str| {
            json!({
                "list": "test-list", "list_version": "1", "record": i as u32, "match_kind": kind,
                "matched_hashes": [kind], "listed_hash": null, "status": "notable",
                "category": {"scheme": "custom:test", "code": code, "label": null}
            })
        };
        v["hits"] = json!([rec("md5", "B"), rec("sha256", "A")]);
    }
    serde_json::from_value(v).unwrap()
}

/// Peak resident memory of this process, in bytes (Linux).
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn run(dir: &Path, n: u64, every: u64, lang: &str) -> (super::Report, String) {
    std::fs::create_dir_all(dir).unwrap();
    let t = Instant::now();
    // The spill budget a scan with the default 1 GiB memory budget uses.
    let mut items = Items::new(dir, vec!["EX".into()], 16 << 20);
    for i in 0..n {
        items.push(item(i, every));
    }
    let made = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let parts = Parts {
        custody: custody(),
        settings: settings(),
        exclusions: Vec::new(),
        interrupted: false,
        images: Vec::new(),
        lang: lang.parse::<Langs>().unwrap(),
    };
    let mut p = Timings::default();
    let (r, _) = write_report_timed(dir, items, parts, &mut p).unwrap();
    let s = |p: super::stream::Pass| {
        format!(
            "{:.1} s ({:.1} s CPU)",
            p.wall.as_secs_f64(),
            p.cpu.as_secs_f64()
        )
    };
    eprintln!(
        "report of {n} items, {} hits: items made and spilled in {made:.1} s; report written in \
         {:.1} s: count {}, report.json {}, then hits.csv {} and report.html {} beside VICS {}; \
         peak RSS {} MiB",
        r.summary.total.hits,
        t.elapsed().as_secs_f64(),
        s(p.count),
        s(p.json),
        s(p.csv),
        s(p.html),
        s(p.vics),
        peak_rss() >> 20
    );
    let html = std::fs::read_to_string(dir.join(super::files::HTML)).unwrap();
    (r, html)
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "nigehbaan-html-scale-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Past the in-memory limit: every hit is in the HTML, one row each, the
/// chart counts each file once under its strongest categorised match.
#[test]
fn every_hit_is_listed_once_beyond_memory() {
    let dir = tmp("small");
    let (r, html) = run(&dir, 30_000, 10, "en,ur");
    for i in (0..30_000u64).step_by(10) {
        assert!(html.contains(&format!("file{i:08}.jpg")), "hit {i} missing");
    }
    assert!(
        !html.contains("file00000001.jpg"),
        "unmatched files are not listed"
    );
    // Strongest is the SHA-256 record (category A): 3,000 files under A, none under B.
    let cats = &r.summary.per_exhibit["EX"].by_category;
    assert_eq!(cats.get("custom:test:A"), Some(&3000));
    assert_eq!(
        cats.get("custom:test:B"),
        None,
        "B is only a further record"
    );
    assert_eq!(html.matches("further records: Appendix A").count(), 3000);
    assert!(html.contains("3000 (three thousand)"));
    assert_eq!(r.settings.languages, ["en", "ur"]);
    let json = std::fs::read_to_string(dir.join(super::files::JSON)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["settings"]["languages"], json!(["en", "ur"]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// 1,000,000 items, 100,000 hits: `bench/report.sh` runs it.
#[test]
#[ignore]
fn million_items() {
    let dir = tmp("million");
    let (_, html) = run(&dir, 1_000_000, 10, "en,ur");
    assert!(html.contains("file00999990.jpg"));
    let _ = std::fs::remove_dir_all(&dir);
}
