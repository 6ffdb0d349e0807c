//! `nigehbaan serve` as a real process on 127.0.0.1: start on a free
//! port, keys from the CLI, graceful shutdown that drains in-flight
//! requests, and kill -9 in the middle of a bulk import (the bank is then
//! either absent or complete, never half-imported).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_nigehbaan");

fn key(db: &Path, role: &str) -> String {
    let out = Command::new(BIN)
        .args([
            "serve", "keys", "create", "--role", role, "--name", role, "--db",
        ])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Starts the server; returns the child and its address.
fn start(db: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(a) = line.split("listening on ").nth(1) {
            break a.trim().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// A minimal HTTP/1.1 client: one request per connection.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &[u8],
) -> (u16, serde_json::Value) {
    http_sent(addr, method, path, key, body, None)
}

/// Like [`http`], telling `sent` once the request is written.
fn http_sent(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &[u8],
    sent: Option<std::sync::mpsc::Sender<()>>,
) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    if let Some(tx) = sent {
        let _ = tx.send(());
    }
    answer(s)
}

/// Reads the answer to a request written on `s`.
fn answer(mut s: TcpStream) -> (u16, serde_json::Value) {
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    // Chunked bodies are not expected: axum sends Content-Length for JSON.
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(t.elapsed() < limit, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serves_on_loopback_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite");
    let admin = key(&db, "admin");
    let (mut child, addr) = start(&db);
    assert_eq!(http(&addr, "GET", "/health/ready", None, b"").0, 200);
    assert_eq!(http(&addr, "GET", "/v1/banks", None, b"").0, 401);
    let (s, _) = http(&addr, "POST", "/v1/banks", Some(&admin), br#"{"name":"b"}"#);
    assert_eq!(s, 201);
    let pdq = "ab".repeat(32);
    let body = format!(r#"{{"entries":[{{"pdq":"{pdq}"}}]}}"#);
    assert_eq!(
        http(
            &addr,
            "POST",
            "/v1/banks/b/entries",
            Some(&admin),
            body.as_bytes()
        )
        .0,
        201
    );
    let (s, v) = http(
        &addr,
        "GET",
        &format!("/v1/lookup?pdq={pdq}"),
        Some(&admin),
        b"",
    );
    assert_eq!((s, v["matches"][0]["distance"].as_u64()), (200, Some(0)));
    // A malformed request is a JSON 4xx, and the server is still up.
    let (s, v) = http(&addr, "POST", "/v1/lookup", Some(&admin), b"{\"queries\":");
    assert_eq!((s, v["code"].as_str()), (400, Some("bad_json")));

    // Graceful shutdown: a slow in-flight request (a large batch) still
    // gets its answer after SIGTERM.
    let many: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"pdq":"{:064x}"}}"#, i * 7919 + 1))
        .collect();
    let batch = format!(r#"{{"queries":[{}]}}"#, many.join(","));
    let (a2, k2) = (addr.clone(), admin.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    let inflight = std::thread::spawn(move || {
        http_sent(
            &a2,
            "POST",
            "/v1/lookup",
            Some(&k2),
            batch.as_bytes(),
            Some(tx),
        )
    });
    // SIGTERM once the request is on the wire and the server had a moment
    // to start on it (a connection still in the listen queue is refused
    // by a stopping server, as it should be).
    rx.recv_timeout(Duration::from_secs(30)).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    sigterm(&child);
    let (s, v) = inflight.join().unwrap();
    assert_eq!(s, 200);
    assert_eq!(v["results"].as_array().map(Vec::len), Some(1000));
    let st = wait_exit(&mut child, Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    assert!(
        dir.path().join("serve.pdqidx").exists(),
        "snapshot written on shutdown"
    );
    // The audit chain checks out from the command line.
    let out = Command::new(BIN)
        .args(["serve", "audit", "verify", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["records"].as_i64()),
        (Some(true), Some(3))
    );
    // Restart: the entry is still matchable, from the snapshot.
    let (mut child, addr) = start(&db);
    let (_, v) = http(
        &addr,
        "GET",
        &format!("/v1/lookup?pdq={pdq}"),
        Some(&admin),
        b"",
    );
    assert_eq!(v["matches"].as_array().map(Vec::len), Some(1));
    sigterm(&child);
    wait_exit(&mut child, Duration::from_secs(10));
}

#[test]
fn kill_9_during_bulk_import_leaves_the_bank_absent_or_complete() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite");
    let curator = key(&db, "admin");
    const N: usize = 200_000;
    let mut list = String::with_capacity(N * 60);
    for i in 0..N {
        list.push_str(&format!(
            "{:032x}  f{i}.jpg\n",
            (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15
        ));
    }
    // Rounds 0 and 1 kill mid-import; round 2 kills right after the 201.
    for (round, delay_ms) in [(0, 150u64), (1, 600), (2, u64::MAX)] {
        let (mut child, addr) = start(&db);
        let bank = format!("big{round}");
        let (a2, k2, l2, b2) = (addr.clone(), curator.clone(), list.clone(), bank.clone());
        let importer = std::thread::spawn(move || {
            let mut s = TcpStream::connect(&a2).unwrap();
            let head = format!(
                "POST /v1/banks/{b2}/import?create=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {k2}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                l2.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(l2.as_bytes());
            let mut resp = Vec::new();
            let _ = s.read_to_end(&mut resp);
            String::from_utf8_lossy(&resp).starts_with("HTTP/1.1 201")
        });
        let t0 = Instant::now();
        let answered = if delay_ms == u64::MAX {
            let ok = importer.join().unwrap();
            assert!(ok, "the import was refused");
            child.kill().unwrap(); // SIGKILL
            ok
        } else {
            std::thread::sleep(Duration::from_millis(delay_ms));
            child.kill().unwrap(); // SIGKILL
            importer.join().unwrap()
        };
        child.wait().unwrap();
        if delay_ms == u64::MAX {
            eprintln!("import of {N} entries answered in {:?}", t0.elapsed());
        }
        let (mut child, addr) = start(&db);
        let (s, v) = http(
            &addr,
            "GET",
            &format!("/v1/banks/{bank}"),
            Some(&curator),
            b"",
        );
        if s == 404 {
            assert!(!answered, "an import that was answered 201 must be there");
        } else {
            assert_eq!(
                (s, v["entries"].as_u64()),
                (200, Some(N as u64)),
                "half-imported bank"
            );
        }
        let when = if delay_ms == u64::MAX {
            "right after the 201".to_string()
        } else {
            format!("{delay_ms} ms into the import")
        };
        eprintln!("round {round}: killed {when}; bank present: {}", s == 200);
        // Every committed entry is matchable and the audit chain is intact.
        if s == 200 {
            let (_, v) = http(
                &addr,
                "GET",
                &format!(
                    "/v1/lookup?md5={:032x}&banks={bank}",
                    (N as u128) * 0x9e37_79b9_7f4a_7c15
                ),
                Some(&curator),
                b"",
            );
            assert_eq!(v["matches"].as_array().map(Vec::len), Some(1));
        }
        let (_, v) = http(&addr, "GET", "/v1/audit/verify", Some(&curator), b"");
        assert_eq!(v["ok"], true);
        sigterm(&child);
        wait_exit(&mut child, Duration::from_secs(10));
    }
}
