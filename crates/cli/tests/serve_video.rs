//! `nigehbaan serve` with videos, as a real process on 127.0.0.1: a benign
//! generated video's vPDQ (from `/v1/hash`) imported into a bank in the
//! reference tool's file format; a re-encoded, trimmed copy uploaded to
//! `/v1/match` is found with both percentages, an unrelated video is not;
//! the original (an MP4 with its index at the end, which needs seeking)
//! matches all of its frames; nothing appears in the data directory or
//! TMPDIR while videos are hashed; a video over the video limit gets 413;
//! without ffmpeg the answer says the video was not perceptually hashed,
//! with the install hint, and digests are still matched.
//!
//! Runs when ffmpeg is present; fails under CI=true when it is missing;
//! otherwise skips with a one-line note.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;
#[allow(dead_code)] // rows: for the other suites
mod video_common;

fn make(ff: &Path, args: &[&str], out: &Path) {
    let status = Command::new(ff)
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg {args:?}");
}

fn key(db: &Path) -> String {
    let out = common::bin()
        .args([
            "serve", "keys", "create", "--role", "admin", "--name", "t", "--db",
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

/// A running server, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &Path, tmp: &Path, ffmpeg: &Path) -> Server {
    let mut child = common::bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-video-upload-mib",
            "2",
            "--db",
        ])
        .arg(db)
        .env("TMPDIR", tmp)
        .env("NIGEHBAAN_FFMPEG", ffmpeg)
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
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

/// One request per connection; the answer's status and JSON body.
fn http(addr: &str, method: &str, path: &str, key: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // A refused upload may be answered before all of it is sent.
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Watches directories on a thread; returns what appeared in any of them.
fn watch(dirs: Vec<PathBuf>) -> (Arc<AtomicBool>, std::thread::JoinHandle<BTreeSet<String>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let before: Vec<BTreeSet<String>> = dirs.iter().map(|d| names(d)).collect();
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let h = std::thread::spawn(move || {
        while !s.load(Ordering::SeqCst) {
            for (d, b) in dirs.iter().zip(&before) {
                for n in names(d).difference(b) {
                    seen.lock().unwrap().insert(format!("{}/{n}", d.display()));
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let x = seen.lock().unwrap().clone();
        x
    });
    (stop, h)
}

#[test]
fn a_reencoded_trimmed_video_upload_is_found_through_a_vpdq_bank() {
    let Some(ff) = video_common::ffmpeg("the serve video tests") else {
        return;
    };
    let dir = common::tempdir("serve-video", "clips");
    let data = dir.join("data");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    // The original: H.264 in MP4 with its index at the end (ffmpeg's
    // default), so it needs seeking.
    let original = dir.join("original.mp4");
    make(
        &ff,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=8",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
        &original,
    );
    let copy = dir.join("copy.mkv");
    make(
        &ff,
        &[
            "-ss",
            "2",
            "-i",
            original.to_str().unwrap(),
            "-t",
            "5",
            "-vf",
            "scale=160:120",
            "-c:v",
            "mpeg4",
            "-q:v",
            "4",
        ],
        &copy,
    );
    let unrelated = dir.join("unrelated.mp4");
    make(
        &ff,
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=320x240:rate=25",
            "-t",
            "6",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
        &unrelated,
    );
    let db = data.join("serve.sqlite");
    let k = key(&db);
    let original_bytes = std::fs::read(&original).unwrap();
    let copy_bytes = std::fs::read(&copy).unwrap();
    {
        let srv = start(&db, &tmp, &ff);
        let a = srv.addr.as_str();
        // The original's vPDQ, imported in the reference file format.
        let (s, h) = http(a, "POST", "/v1/hash", &k, &original_bytes);
        assert_eq!(s, 200, "{h}");
        assert_eq!(h["media"], "video", "{h}");
        assert_eq!(h["incomplete"], false, "{h}");
        assert_eq!(h["codec"], "h264");
        assert!(h["vpdq_frames"].as_u64().unwrap() >= 7, "{h}");
        let reference = video_common::reference_text(&h);
        let (s, b) = http(
            a,
            "POST",
            "/v1/banks/videos/import?create=true&format=vpdq",
            &k,
            reference.as_bytes(),
        );
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["added"], 1);

        let (stop, watcher) = watch(vec![data.clone(), tmp.clone()]);
        let (s, b) = http(a, "POST", "/v1/match", &k, &copy_bytes);
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["incomplete"], false, "{b}");
        assert_eq!(b["vpdq_matched"], true, "{b}");
        let m = &b["matches"].as_array().unwrap()[0];
        assert_eq!(m["match"], "vpdq", "{b}");
        assert_eq!(m["bank"], "videos");
        assert!(m["query_match_percent"].as_f64().unwrap() >= 80.0, "{m}");
        let compared = m["compared_match_percent"].as_f64().unwrap();
        assert!(compared > 40.0 && compared < 100.0, "trimmed: {m}");
        assert!(m["matched_frames"].as_u64().unwrap() >= 4, "{m}");
        assert!(!m["time_ranges"].as_array().unwrap().is_empty(), "{m}");
        let (s, b) = http(
            a,
            "POST",
            "/v1/match",
            &k,
            &std::fs::read(&unrelated).unwrap(),
        );
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["matches"], serde_json::json!([]), "{b}");
        assert_eq!(b["incomplete"], false, "{b}");
        let (_, b) = http(a, "POST", "/v1/match", &k, &original_bytes);
        assert_eq!(b["matches"][0]["query_match_percent"], 100.0, "{b}");
        assert_eq!(b["matches"][0]["compared_match_percent"], 100.0, "{b}");
        stop.store(true, Ordering::SeqCst);
        let appeared = watcher.join().unwrap();
        assert!(
            appeared.is_empty(),
            "files appeared while hashing: {appeared:?}"
        );
        assert!(names(&tmp).is_empty());

        // Over the video limit (2 MiB here): 413.
        let mut big = original_bytes.clone();
        big.resize(3 << 20, 0);
        let (s, b) = http(a, "POST", "/v1/match", &k, &big);
        assert_eq!(
            (s, b["code"].as_str()),
            (413, Some("body_too_large")),
            "{b}"
        );

        // The copy's exact bytes, listed by SHA-256, for the run without
        // ffmpeg below.
        let (_, h) = http(a, "POST", "/v1/hash", &k, &copy_bytes);
        let body = format!(
            r#"{{"entries":[{{"sha256":"{}"}}]}}"#,
            h["sha256"].as_str().unwrap()
        );
        let (s, b) = http(a, "POST", "/v1/banks/videos/entries", &k, body.as_bytes());
        assert_eq!(s, 201, "{b}");
    }

    // Without ffmpeg: said, with the install hint; the digest still matches.
    let srv = start(&db, &tmp, Path::new("/nonexistent"));
    let (s, b) = http(&srv.addr, "POST", "/v1/match", &k, &copy_bytes);
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["incomplete"], true, "{b}");
    assert_eq!(b["vpdq_matched"], false, "{b}");
    let why = b["incomplete_reason"].as_str().unwrap();
    assert!(why.contains("not perceptually hashed"), "{why}");
    assert!(why.contains("apt-get install ffmpeg"), "{why}");
    assert_eq!(b["hashes"]["media"], "video");
    assert_eq!(b["matches"][0]["match"], "sha256", "{b}");
    let (s, h) = http(&srv.addr, "POST", "/v1/hash", &k, &original_bytes);
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["incomplete"], true, "{h}");
    assert!(
        h["error"].as_str().unwrap().contains("ffmpeg not found"),
        "{h}"
    );
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
