//! Helpers shared by the service's integration tests: apps on temporary
//! SQLite files or private PostgreSQL schemas, keys, requests through the
//! real router, and benign generated images.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use nigehbaan_server::db::DbConfig;
use nigehbaan_server::store::{self, Role};
use nigehbaan_server::{api, App, Config};
use serde_json::Value;
use tower::ServiceExt;

/// A test instance and its keys.
pub struct T {
    pub app: Arc<App>,
    pub router: axum::Router,
    pub admin: String,
    pub curator: String,
    pub matcher: String,
    pub _dir: Option<tempfile::TempDir>,
}

pub fn sqlite_config() -> (Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::new(DbConfig::Sqlite(dir.path().join("serve.sqlite")));
    cfg.snapshot = Some(dir.path().join("serve.pdqidx"));
    (cfg, dir)
}

pub fn keys(cfg: &Config) -> (String, String, String) {
    let pool = nigehbaan_server::open_pool(cfg, 1).unwrap();
    let mut c = pool.get();
    let mut k = |role, name| {
        store::create_key(c.as_mut(), "test", name, role, 100_000, None)
            .unwrap()
            .1
    };
    let admin = k(Role::Admin, "admin");
    let curator = k(Role::Curator, "curator");
    let matcher = k(Role::Matcher, "matcher");
    (admin, curator, matcher)
}

pub fn start(cfg: Config, dir: Option<tempfile::TempDir>) -> T {
    let (admin, curator, matcher) = keys(&cfg);
    let app = App::open(cfg).unwrap();
    let router = api::router(app.clone());
    T {
        app,
        router,
        admin,
        curator,
        matcher,
        _dir: dir,
    }
}

pub fn sqlite() -> T {
    let (cfg, dir) = sqlite_config();
    start(cfg, Some(dir))
}

/// PostgreSQL for tests: `NIGEHBAAN_TEST_PG` or the local server. `None`
/// (after a note) when it cannot be reached outside CI; a panic under CI.
pub fn pg_url() -> Option<String> {
    let url = std::env::var("NIGEHBAAN_TEST_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
    match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(_) => Some(url),
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is not reachable at {url:?} under CI=true: {e}");
            }
            eprintln!("note: skipping PostgreSQL test: cannot connect to {url:?}: {e}");
            None
        }
    }
}

/// A private schema, dropped when this value goes.
pub struct Schema {
    pub url: String,
    pub name: String,
    /// Holds the audit key and head files the replicas share.
    pub dir: tempfile::TempDir,
}

impl Schema {
    pub fn new(url: &str) -> Schema {
        let mut b = [0u8; 8];
        getrandom_fill(&mut b);
        Schema {
            url: url.to_string(),
            name: format!("ngb_test_{}", u64::from_le_bytes(b)),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn config(&self) -> Config {
        let mut c = Config::new(DbConfig::Postgres {
            url: self.url.clone(),
            schema: Some(self.name.clone()),
        });
        c.audit_key = Some(self.dir.path().join("audit-key"));
        c.audit_head = Some(self.dir.path().join("audit-head"));
        c
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}

fn getrandom_fill(b: &mut [u8]) {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    let v = h.finish().to_le_bytes();
    b.copy_from_slice(&v[..b.len()]);
}

/// Sends a request through the router; returns status and body (JSON, or
/// a JSON string for other bodies).
pub async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    let resp = router
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 30)
        .await
        .unwrap();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v)
}

pub async fn json(
    router: &axum::Router,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    send(router, method, uri, key, body.to_string().into_bytes()).await
}

/// A benign generated picture: smooth gradients and a few shapes, seeded.
pub fn picture(seed: u32, w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let s = seed as f32;
        let r = (128.0 + 127.0 * (fx * 6.0 + s).sin()) as u8;
        let g = (128.0 + 127.0 * (fy * 5.0 + s * 0.7).cos()) as u8;
        let cx = 0.3 + 0.4 * ((s * 1.3).sin() * 0.5 + 0.5);
        let b = if (fx - cx).powi(2) + (fy - 0.5).powi(2) < 0.04 {
            240
        } else {
            (fx * fy * 255.0) as u8
        };
        image::Rgb([r, g, b])
    })
}

pub fn jpeg(img: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

pub fn png(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Checks an error answer: the status and a JSON `{"error", "code"}`.
pub fn is_error(r: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(r.0.as_u16(), status, "{:?}", r.1);
    assert_eq!(r.1["code"], code, "{:?}", r.1);
    assert!(
        r.1["error"].as_str().is_some_and(|s| !s.is_empty()),
        "{:?}",
        r.1
    );
}

/// The API end to end on one instance: banks, entries by hash and by
/// upload, lookups single and batch, hash-and-match, import, removal,
/// audit. Shared by the SQLite and PostgreSQL tests.
pub async fn exercise(t: &T) {
    use serde_json::json;
    let r = &t.router;
    let (s, b) = json(
        r,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": "ncmec-test", "description": "benign test bank"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["entries"], 0);
    is_error(
        &json(
            r,
            "POST",
            "/v1/banks",
            Some(&t.curator),
            json!({"name": "ncmec-test"}),
        )
        .await,
        409,
        "conflict",
    );

    // Entries by hash.
    let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let md5 = "0123456789abcdef0123456789abcdef";
    let (s, b) = json(
        r,
        "POST",
        "/v1/banks/ncmec-test/entries",
        Some(&t.curator),
        json!({"entries": [
        {"pdq": pdq, "category": {"scheme": "ncmec", "code": "A1"}, "external_id": "x-1"},
        {"md5": md5, "status": "notable"}]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let ids: Vec<i64> = b["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);

    // PDQ lookup: a hash 3 bits away matches at distance 3.
    let mut near = nigehbaan_pdq::Hash256::from_hex(pdq).unwrap();
    for k in [1, 100, 200] {
        near.0[k / 64] ^= 1 << (k % 64);
    }
    let (s, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?pdq={}", near.to_hex()),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let m = &b["matches"][0];
    assert_eq!(
        (
            m["bank"].as_str(),
            m["entry_id"].as_i64(),
            m["match"].as_str(),
            m["distance"].as_u64()
        ),
        (Some("ncmec-test"), Some(ids[0]), Some("pdq"), Some(3))
    );
    assert_eq!(m["category"], json!({"scheme": "ncmec", "code": "A1"}));
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?pdq={}&threshold=2", near.to_hex()),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"], json!([]));
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?md5={}", md5.to_uppercase()),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"][0]["entry_id"], ids[1]);
    assert_eq!(b["matches"][0]["match"], "md5");

    // Batch.
    let (s, b) = json(
        r,
        "POST",
        "/v1/lookup",
        Some(&t.matcher),
        json!({"queries": [{"md5": md5}, {"pdq": pdq}, {"sha1": "00".repeat(20)}]}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let res = b["results"].as_array().unwrap();
    assert_eq!(res.len(), 3);
    assert_eq!(res[0]["matches"][0]["entry_id"], ids[1]);
    assert_eq!(res[1]["matches"][0]["distance"], 0);
    assert_eq!(res[2]["matches"], json!([]));

    // Add by upload, then match a re-encoded, resized copy in one call.
    let pic = picture(7, 640, 400);
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/ncmec-test/entries/upload?category_scheme=iwf&category_code=B",
        Some(&t.curator),
        png(&pic),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let up_id = b["ids"][0].as_i64().unwrap();
    let copy = image::imageops::resize(&pic, 480, 300, image::imageops::FilterType::Triangle);
    let (s, b) = send(r, "POST", "/v1/match", Some(&t.matcher), jpeg(&copy, 80)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["pdq_matched"], true);
    let m = b["matches"].as_array().unwrap();
    assert_eq!(m.len(), 1, "{b}");
    assert_eq!(
        (m[0]["entry_id"].as_i64(), m[0]["match"].as_str()),
        (Some(up_id), Some("pdq"))
    );
    assert!(m[0]["distance"].as_u64().unwrap() <= 31);
    assert_eq!(b["hashes"]["format"], "jpeg");
    // The exact upload matches by digest too: one match per entry, the
    // strongest hash named.
    let (_, b) = send(r, "POST", "/v1/match", Some(&t.matcher), png(&pic)).await;
    let kinds: Vec<&str> = b["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["match"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["sha256"], "{b}");
    // An unrelated picture does not match.
    let (_, b) = send(
        r,
        "POST",
        "/v1/match",
        Some(&t.matcher),
        jpeg(&picture(99, 300, 300), 90),
    )
    .await;
    assert_eq!(b["matches"], json!([]), "{b}");
    // A disabled bank is not matched.
    let (s, _) = json(
        r,
        "PATCH",
        "/v1/banks/ncmec-test",
        Some(&t.curator),
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?pdq={pdq}"),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"], json!([]));
    json(
        r,
        "PATCH",
        "/v1/banks/ncmec-test",
        Some(&t.curator),
        json!({"enabled": true}),
    )
    .await;

    // Bulk import (md5sum format) into a new bank: only when asked to
    // create it.
    let list = format!("{}  a.jpg\n{}  b.jpg\n", "ab".repeat(16), "cd".repeat(16));
    is_error(
        &send(
            r,
            "POST",
            "/v1/banks/imported/import",
            Some(&t.curator),
            list.clone().into_bytes(),
        )
        .await,
        404,
        "not_found",
    );
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/imported/import?create=true",
        Some(&t.curator),
        list.into_bytes(),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["added"].as_i64(), b["format"].as_str()),
        (Some(2), Some("hashsum"))
    );
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?md5={}", "cd".repeat(16)),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"][0]["bank"], "imported");
    // An HMA CSV with PDQ rows, replacing.
    let csv = format!("signal_type,signal,category\npdq,{pdq},A1\n");
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/imported/import?replace=true",
        Some(&t.curator),
        csv.into_bytes(),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (_, b) = send(r, "GET", "/v1/banks/imported", Some(&t.matcher), vec![]).await;
    assert_eq!(b["entries"], 1);
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?md5={}", "cd".repeat(16)),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"], json!([]));
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?pdq={pdq}"),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"].as_array().unwrap().len(), 2, "{b}");

    // Remove by hash: the PDQ stays matchable while another bank holds it.
    let (s, b) = json(
        r,
        "POST",
        "/v1/banks/ncmec-test/entries/remove",
        Some(&t.curator),
        json!({"entries": [{"pdq": pdq}]}),
    )
    .await;
    assert_eq!((s.as_u16(), &b["removed"]), (200, &json!([ids[0]])));
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?pdq={pdq}"),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["matches"][0]["bank"], "imported");
    // Deleting that bank (admin only) removes it from the index.
    is_error(
        &send(r, "DELETE", "/v1/banks/imported", Some(&t.curator), vec![]).await,
        403,
        "forbidden",
    );
    let (s, b) = send(r, "DELETE", "/v1/banks/imported", Some(&t.admin), vec![]).await;
    assert_eq!((s.as_u16(), b["entries"].as_i64()), (200, Some(1)));
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?pdq={pdq}"),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"], json!([]));
    // Remove by upload and by id.
    let (_, b) = send(
        r,
        "POST",
        "/v1/banks/ncmec-test/entries/remove-upload",
        Some(&t.curator),
        png(&pic),
    )
    .await;
    assert_eq!(b["removed"], json!([up_id]));
    let (_, b) = send(r, "POST", "/v1/match", Some(&t.matcher), jpeg(&copy, 80)).await;
    assert_eq!(b["matches"], json!([]));
    let (s, _) = send(
        r,
        "DELETE",
        &format!("/v1/banks/ncmec-test/entries/{}", ids[1]),
        Some(&t.curator),
        vec![],
    )
    .await;
    assert_eq!(s, 200);
    is_error(
        &send(
            r,
            "DELETE",
            &format!("/v1/banks/ncmec-test/entries/{}", ids[1]),
            Some(&t.curator),
            vec![],
        )
        .await,
        404,
        "not_found",
    );

    // Status, audit.
    let (s, b) = send(r, "GET", "/v1/index", Some(&t.matcher), vec![]).await;
    assert_eq!(s, 200);
    assert_eq!(b["lag"], 0);
    let (s, b) = send(r, "GET", "/v1/audit/verify", Some(&t.admin), vec![]).await;
    assert_eq!(s, 200);
    assert_eq!(b["ok"], true, "{b}");
    assert_eq!(b["head_checked"], true, "{b}");
    assert!(b["records"].as_i64().unwrap() >= 10);
    let (_, b) = send(r, "GET", "/v1/audit?limit=1000", Some(&t.admin), vec![]).await;
    let actions: Vec<&str> = b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for a in [
        "key.create",
        "bank.create",
        "entries.add",
        "entries.add_upload",
        "bank.import",
        "bank.update",
        "entries.remove",
        "bank.delete",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    // Uploads never reach the audit log: only their hashes.
    assert!(b.to_string().len() < 100_000);
}

/// Synthetic vPDQ frames (benign by construction: random hashes), seeded.
pub fn frames(seed: u64, n: usize) -> Vec<nigehbaan_video::FrameHash> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..n)
        .map(|i| nigehbaan_video::FrameHash {
            frame: i as u64 * 25,
            quality: 90,
            pdq: nigehbaan_pdq::Hash256([next(), next(), next(), next()]),
            timestamp: i as f64,
        })
        .collect()
}

/// A near copy: each frame's hash with `bits` bits flipped, the first `n`
/// frames, renumbered from 0.
pub fn near_copy(
    v: &[nigehbaan_video::FrameHash],
    bits: usize,
    n: usize,
) -> Vec<nigehbaan_video::FrameHash> {
    v.iter()
        .take(n)
        .enumerate()
        .map(|(i, f)| {
            let mut h = f.pdq;
            for b in 0..bits {
                h.0[b % 4] ^= 1 << ((b * 7 + 3) % 64);
            }
            nigehbaan_video::FrameHash {
                frame: i as u64 * 30,
                pdq: h,
                timestamp: i as f64,
                ..*f
            }
        })
        .collect()
}

/// Frames as JSON `[{pdq, quality, timestamp}]`.
pub fn frames_json(v: &[nigehbaan_video::FrameHash]) -> Value {
    Value::Array(
        v.iter()
            .map(|f| serde_json::json!({"pdq": f.pdq.to_hex(), "quality": f.quality, "timestamp": f.timestamp}))
            .collect(),
    )
}

/// Frames in the reference tool's file format.
pub fn reference_lines(v: &[nigehbaan_video::FrameHash]) -> String {
    v.iter()
        .map(|f| {
            format!(
                "{},{},{},{:.3}\n",
                f.frame,
                f.quality,
                f.pdq.to_hex(),
                f.timestamp
            )
        })
        .collect()
}

/// Percent-encodes a query value.
pub fn qenc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Video entries end to end on one instance: added through the entries
/// API and by importing a reference-format vPDQ file, looked up by a vPDQ
/// feature array (batch) and text (single), with both percentages and the
/// thresholds; removed by id and with their bank. Shared by the SQLite and
/// PostgreSQL tests.
pub async fn exercise_video(t: &T) {
    use serde_json::json;
    let r = &t.router;
    let (s, b) = json(
        r,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": "videos"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let a = frames(1, 20);
    let (s, b) = json(
        r,
        "POST",
        "/v1/banks/videos/entries",
        Some(&t.curator),
        json!({"entries": [
            {"vpdq": frames_json(&a), "external_id": "vid-a", "md5": "11".repeat(16)},
            {"pdq": "ab".repeat(32)}]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let id_a = b["ids"][0].as_i64().unwrap();

    // A re-encoded, trimmed copy (12 of 20 frames, 5 bits off each), as
    // reference lines joined by ';' in the query string.
    let copy = near_copy(&a, 5, 12);
    let text = reference_lines(&copy).trim_end().replace('\n', ";");
    let (s, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?vpdq={}", qenc(&text)),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let m = b["matches"].as_array().unwrap();
    assert_eq!(m.len(), 1, "{b}");
    assert_eq!(m[0]["entry_id"], id_a);
    assert_eq!(m[0]["match"], "vpdq");
    assert_eq!(m[0]["external_id"], "vid-a");
    assert_eq!(m[0]["query_match_percent"], 100.0);
    assert_eq!(m[0]["compared_match_percent"], 60.0);
    assert_eq!(
        (
            m[0]["matched_frames"].as_u64(),
            m[0]["query_frames"].as_u64()
        ),
        (Some(12), Some(12))
    );
    assert_eq!(
        (
            m[0]["matched_listed_frames"].as_u64(),
            m[0]["listed_frames"].as_u64()
        ),
        (Some(12), Some(20))
    );
    assert_eq!(m[0]["time_ranges"], json!([[0.0, 11.0]]));
    assert!(m[0].get("distance").is_none(), "{b}");
    // The compared threshold: 60 % of the listed video is not 70 %.
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?vpdq={}&vpdq_compared_percent=70", qenc(&text)),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"], json!([]), "{b}");
    // The distance: frames 5 bits off do not match at 4.
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?vpdq={}&vpdq_distance=4", qenc(&text)),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"], json!([]), "{b}");

    // Batch: frames as JSON; an unrelated video matches nothing.
    let (s, b) = json(
        r,
        "POST",
        "/v1/lookup",
        Some(&t.matcher),
        json!({"queries": [{"vpdq": frames_json(&copy)}, {"vpdq": frames_json(&frames(99, 15))}, {"md5": "11".repeat(16)}]}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let res = b["results"].as_array().unwrap();
    assert_eq!(res[0]["matches"][0]["entry_id"], id_a, "{b}");
    assert_eq!(res[0]["matches"][0]["match"], "vpdq");
    assert_eq!(res[0]["query"]["vpdq_frames"], 12);
    assert_eq!(res[1]["matches"], json!([]));
    assert_eq!(res[2]["matches"][0]["entry_id"], id_a);
    assert_eq!(res[2]["matches"][0]["match"], "md5");
    // Bad input is a 400 naming the frame.
    is_error(
        &json(
            r,
            "POST",
            "/v1/lookup",
            Some(&t.matcher),
            json!({"queries": [{"vpdq": [{"pdq": "zz", "quality": 90}]}]}),
        )
        .await,
        400,
        "bad_vpdq",
    );
    is_error(
        &send(
            r,
            "GET",
            &format!("/v1/lookup?vpdq={}&pdq={}", qenc(&text), "ab".repeat(32)),
            Some(&t.matcher),
            vec![],
        )
        .await,
        400,
        "bad_lookup",
    );
    is_error(
        &send(r, "GET", "/v1/lookup?vpdq=1,2,3", Some(&t.matcher), vec![]).await,
        400,
        "bad_vpdq",
    );

    // Import a reference-format file (detected by content): one video.
    let b_frames = frames(2, 10);
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/imported-videos/import?create=true",
        Some(&t.curator),
        reference_lines(&b_frames).into_bytes(),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["format"].as_str(), b["added"].as_i64()),
        (Some("vpdq"), Some(1))
    );
    let (_, b) = json(
        r,
        "POST",
        "/v1/lookup",
        Some(&t.matcher),
        json!({"queries": [{"vpdq": frames_json(&near_copy(&b_frames, 3, 10))}]}),
    )
    .await;
    let m = &b["results"][0]["matches"][0];
    assert_eq!(m["bank"], "imported-videos", "{b}");
    assert_eq!(m["compared_match_percent"], 100.0);
    // banks= restricts video matches too.
    let (_, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?vpdq={}&banks=imported-videos", qenc(&text)),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"], json!([]), "{b}");

    // A disabled bank's videos are not matched.
    json(
        r,
        "PATCH",
        "/v1/banks/videos",
        Some(&t.curator),
        json!({"enabled": false}),
    )
    .await;
    let (_, b) = json(
        r,
        "POST",
        "/v1/lookup",
        Some(&t.matcher),
        json!({"queries": [{"vpdq": frames_json(&copy)}]}),
    )
    .await;
    assert_eq!(b["results"][0]["matches"], json!([]), "{b}");
    json(
        r,
        "PATCH",
        "/v1/banks/videos",
        Some(&t.curator),
        json!({"enabled": true}),
    )
    .await;
    let (_, b) = send(r, "GET", "/v1/index", Some(&t.matcher), vec![]).await;
    assert_eq!(b["video"]["entries"], 2, "{b}");

    // Removal by id, and with the bank.
    let (s, _) = send(
        r,
        "DELETE",
        &format!("/v1/banks/videos/entries/{id_a}"),
        Some(&t.curator),
        vec![],
    )
    .await;
    assert_eq!(s, 200);
    let (_, b) = json(
        r,
        "POST",
        "/v1/lookup",
        Some(&t.matcher),
        json!({"queries": [{"vpdq": frames_json(&copy)}]}),
    )
    .await;
    assert_eq!(b["results"][0]["matches"], json!([]), "{b}");
    let (s, _) = send(
        r,
        "DELETE",
        "/v1/banks/imported-videos",
        Some(&t.admin),
        vec![],
    )
    .await;
    assert_eq!(s, 200);
    let (_, b) = send(r, "GET", "/v1/index", Some(&t.matcher), vec![]).await;
    assert_eq!(b["video"]["entries"], 0, "{b}");
    assert_eq!(b["video"]["frame_hashes"], 0, "{b}");
}
