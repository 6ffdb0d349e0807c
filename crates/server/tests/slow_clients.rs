//! Slow and greedy clients against a real listener on 127.0.0.1: header,
//! body and idle timeouts, declared bodies over the limit, and the
//! connection cap. Every wait is bounded.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

/// Serves `t` on a loopback port; returns the address and the stop switch.
fn serve(rt: &tokio::runtime::Runtime, t: &T) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = t.app.clone();
    rt.spawn(async move {
        let _ = nigehbaan_server::serve(app, listener, async {
            let _ = rx.await;
        })
        .await;
    });
    (addr, tx)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Reads until the server closes the connection (or `limit` passes);
/// returns what was read and how long it took.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let t = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("not closed after {:?}: {e}", t.elapsed()),
        }
        assert!(t.elapsed() < limit, "not closed in {limit:?}");
    }
    (String::from_utf8_lossy(&out).into_owned(), t.elapsed())
}

#[test]
fn slow_headers_idle_connections_and_slow_bodies_are_cut_off() {
    let rt = rt();
    let (mut cfg, dir) = sqlite_config();
    cfg.limits.header_timeout = Duration::from_millis(400);
    cfg.limits.body_timeout = Duration::from_millis(600);
    let t = start(cfg, Some(dir));
    let (addr, stop) = serve(&rt, &t);

    // Connects and sends nothing; sends half a header line.
    let mut silent = TcpStream::connect(&addr).unwrap();
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"GET /health/live HTTP/1.1\r\nHo").unwrap();
    for s in [&mut silent, &mut half] {
        let (_, took) = read_until_closed(s, Duration::from_secs(5));
        assert!(took < Duration::from_secs(3), "{took:?}");
    }

    // A kept-alive connection idle after its response is closed too.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (text, took) = read_until_closed(&mut idle, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // A body declared over the route's limit is refused before any of it
    // is read (100 GB declared, 26 KB sent).
    let mut huge = TcpStream::connect(&addr).unwrap();
    huge.write_all(
        format!(
            "POST /v1/lookup HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 100000000000\r\n\r\n",
            t.matcher
        )
        .as_bytes(),
    )
    .unwrap();
    let _ = huge.write_all(&[b' '; 26_000]);
    let (text, took) = read_until_closed(&mut huge, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("body_too_large"), "{text}");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // A body under the limit that stops arriving: 408 at the body timeout.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(
        format!(
            "POST /v1/lookup HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 900000\r\n\r\n",
            t.matcher
        )
        .as_bytes(),
    )
    .unwrap();
    slow.write_all(&[b' '; 26_000]).unwrap();
    let (text, took) = read_until_closed(&mut slow, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("body_timeout"), "{text}");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // The server still serves.
    let mut ok = TcpStream::connect(&addr).unwrap();
    ok.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (text, _) = read_until_closed(&mut ok, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let _ = stop.send(());
}

#[test]
fn connections_over_the_cap_are_closed_at_once() {
    let rt = rt();
    let (mut cfg, dir) = sqlite_config();
    cfg.limits.max_connections = 8;
    cfg.limits.header_timeout = Duration::from_secs(20);
    let t = start(cfg, Some(dir));
    let (addr, stop) = serve(&rt, &t);
    // Eight slow clients hold every slot (as 100 did for 35 s before).
    let mut held: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /health/live HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // The ninth is closed straight away instead of waiting in a queue.
    let mut extra = TcpStream::connect(&addr).unwrap();
    let _ = extra.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
    let (text, took) = read_until_closed(&mut extra, Duration::from_secs(5));
    assert!(text.is_empty(), "{text}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // A slot frees when a client goes.
    held.pop();
    std::thread::sleep(Duration::from_millis(200));
    let mut ok = TcpStream::connect(&addr).unwrap();
    ok.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (text, _) = read_until_closed(&mut ok, Duration::from_secs(5));
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    drop(held);
    let _ = stop.send(());
}
