//! `nigehbaan serve` trust fixes as the binary behaves: commands that only
//! read never create a database, the first admin key is printed when the
//! service starts on a database without keys, and the audit key and head
//! files sit beside the database, private.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_nigehbaan");

#[test]
fn read_only_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("sub/serv.sqlite");
    for args in [
        &["audit", "verify"][..],
        &["keys", "list"],
        &["keys", "revoke", "1"],
    ] {
        let out = Command::new(BIN)
            .arg("serve")
            .args(args)
            .arg("--db")
            .arg(&typo)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{args:?} succeeded on a missing database"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no database at"), "{args:?}: {err}");
        assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty());
        assert!(!typo.exists(), "{args:?} created the database");
        assert!(
            !dir.path().join("sub").exists(),
            "{args:?} created its directory"
        );
    }
}

fn http(addr: &str, method: &str, path: &str, key: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, resp)
}

#[test]
fn first_start_prints_an_admin_key_once_and_keeps_audit_files_private() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut key = None;
    let addr = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(k) = line.split("shown only now: ").nth(1) {
            key = Some(k.trim().to_string());
        }
        if let Some(a) = line.split("listening on ").nth(1) {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let key = key.expect("no first key printed");
    assert!(key.starts_with("ngb_"), "{key}");
    // The key is an admin key.
    let (s, body) = http(&addr, "GET", "/v1/keys", &key, "");
    assert_eq!(s, 200, "{body}");
    let (s, _) = http(&addr, "POST", "/v1/banks", &key, r#"{"name":"b"}"#);
    assert_eq!(s, 201);
    let _ = child.kill();
    let _ = child.wait();
    #[cfg(unix)]
    for f in ["serve.audit-key", "serve.audit-head"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    // audit verify checks the chain against the head file.
    let out = Command::new(BIN)
        .args(["serve", "audit", "verify", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            v["ok"].as_bool(),
            v["head_checked"].as_bool(),
            v["records"].as_i64()
        ),
        (Some(true), Some(true), Some(2)),
        "{v}"
    );
}
