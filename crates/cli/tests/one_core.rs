//! `nigehbaan scan`, `nigehbaan match` and `nigehbaan serve` match through
//! one core: the same benign demo pictures (the listed original, a resized
//! copy and a rotated copy, so rotations/flips matter) against the same
//! list give the same hits on all three faces, with the same defaults.

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_nigehbaan");

fn ok(out: &std::process::Output, codes: &[i32]) {
    assert!(
        codes.contains(&out.status.code().unwrap_or(-1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One hit as every face can state it: (match, distance, variant).
type Hit = (String, u64, String);

fn hit(m: &Value, kind: &str) -> Hit {
    (
        m[kind].as_str().unwrap().to_string(),
        m["distance"].as_u64().unwrap_or(0),
        m["variant"].as_str().unwrap_or("").to_string(),
    )
}

fn http(addr: &str, method: &str, path: &str, key: &str, body: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn key(db: &Path, role: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "serve", "keys", "create", "--role", role, "--name", role, "--db",
        ])
        .arg(db)
        .output()
        .unwrap();
    ok(&out, &[0]);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn scan_match_and_serve_give_the_same_hits() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let demo = dir.join("demo");
    ok(
        &Command::new(BIN)
            .arg("demo")
            .arg("--out")
            .arg(&demo)
            .output()
            .unwrap(),
        &[0],
    );
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lists/tests/fixtures/hma.txt");
    let ev = dir.join("evidence");
    std::fs::create_dir(&ev).unwrap();
    let files = [
        ("original.png", demo.join("originals/landscape.png")),
        ("resized.jpg", demo.join("evidence/phone/DCIM/IMG_0001.jpg")),
        ("rotated.png", demo.join("evidence/phone/DCIM/IMG_0002.png")),
    ];
    for (name, from) in &files {
        std::fs::copy(from, ev.join(name)).unwrap();
    }
    let lib = dir.join("lib");
    ok(
        &Command::new(BIN)
            .args(["lists", "import"])
            .arg(&list)
            .args(["--name", "hma", "--library"])
            .arg(&lib)
            .output()
            .unwrap(),
        &[0],
    );

    // scan
    let report = dir.join("report");
    let out = Command::new(BIN)
        .arg("scan")
        .arg(&ev)
        .arg("--out")
        .arg(&report)
        .args(["--quiet", "--library"])
        .arg(&lib)
        .output()
        .unwrap();
    ok(&out, &[0, 1]);
    let rep: Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let mut scan = std::collections::BTreeMap::new();
    for it in rep["items"].as_array().unwrap() {
        let name = it["path"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let hits: BTreeSet<Hit> = it["hits"]
            .as_array()
            .map(|a| a.iter().map(|m| hit(m, "match_kind")).collect())
            .unwrap_or_default();
        scan.insert(name, hits);
    }

    // match
    let out = Command::new(BIN)
        .arg("match")
        .arg(&ev)
        .arg("--library")
        .arg(&lib)
        .output()
        .unwrap();
    ok(&out, &[1]);
    let mut cli = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let name = row["input"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let hits: BTreeSet<Hit> = row["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| hit(m, "match"))
            .collect();
        cli.insert(name, hits);
    }

    // serve
    let db = dir.join("serve.sqlite");
    let admin = key(&db, "admin");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(a) = line.split("listening on ").nth(1) {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let (s, v) = http(
        &addr,
        "POST",
        "/v1/banks/hma/import?create=true",
        &admin,
        &std::fs::read(&list).unwrap(),
    );
    assert!(s == 200 || s == 201, "{s} {v}");
    let mut srv = std::collections::BTreeMap::new();
    for (name, _) in &files {
        let (s, v) = http(
            &addr,
            "POST",
            "/v1/match",
            &admin,
            &std::fs::read(ev.join(name)).unwrap(),
        );
        assert_eq!(s, 200, "{v}");
        let hits: BTreeSet<Hit> = v["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| hit(m, "match"))
            .collect();
        srv.insert(name.to_string(), hits);
    }
    let _ = child.kill();
    let _ = child.wait();

    assert!(
        scan["rotated.png"]
            .iter()
            .any(|h| h.2 != "orig" && !h.2.is_empty()),
        "the rotated copy matches through a rotation: {scan:?}"
    );
    assert!(scan.values().all(|h| !h.is_empty()), "{scan:?}");
    assert_eq!(scan, cli, "scan and match");
    assert_eq!(scan, srv, "scan and serve");
}
