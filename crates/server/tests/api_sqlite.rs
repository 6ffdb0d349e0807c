//! The service against a real SQLite file, through the real router.

mod common;

use common::*;
use nigehbaan_server::db::{connect, DbConfig, V};
use nigehbaan_server::{api, store, App};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_api_on_sqlite() {
    let t = sqlite();
    exercise(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_roles() {
    let t = sqlite();
    let r = &t.router;
    is_error(
        &send(r, "GET", "/v1/banks", None, vec![]).await,
        401,
        "missing_key",
    );
    is_error(
        &send(r, "GET", "/v1/banks", Some("ngb_00"), vec![]).await,
        401,
        "invalid_key",
    );
    let (s, _) = send(r, "GET", "/v1/banks", Some(&t.matcher), vec![]).await;
    assert_eq!(s, 200);
    is_error(
        &json(
            r,
            "POST",
            "/v1/banks",
            Some(&t.matcher),
            json!({"name": "b"}),
        )
        .await,
        403,
        "forbidden",
    );
    is_error(
        &send(r, "GET", "/v1/audit", Some(&t.curator), vec![]).await,
        403,
        "forbidden",
    );
    is_error(
        &send(r, "GET", "/v1/keys", Some(&t.curator), vec![]).await,
        403,
        "forbidden",
    );
    // X-Api-Key works too.
    let req = axum::http::Request::builder()
        .uri("/v1/banks")
        .header("x-api-key", &t.admin)
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(t.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Admin creates a matcher key with a tiny rate limit; it is rate limited.
    let (s, b) = json(
        r,
        "POST",
        "/v1/keys",
        Some(&t.admin),
        json!({"name": "slow", "role": "matcher", "rate_limit": 2}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let slow = b["key"].as_str().unwrap().to_string();
    let id = b["id"].as_i64().unwrap();
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(
            send(r, "GET", "/v1/banks", Some(&slow), vec![])
                .await
                .0
                .as_u16(),
        );
    }
    assert_eq!(&codes[..2], &[200, 200]);
    assert!(codes[2..].contains(&429), "{codes:?}");
    // Keys are stored hashed: the database never holds the key.
    let (_, b) = send(r, "GET", "/v1/keys", Some(&t.admin), vec![]).await;
    assert!(!b.to_string().contains(&slow[4..]));
    let mut c = connect(&t.app.config.db).unwrap();
    let rows = c.query("SELECT key_hash FROM api_keys", &[]).unwrap();
    assert!(rows
        .iter()
        .all(|r| r[0].opt_b().is_some_and(|b| b.len() == 32)));
    assert!(rows
        .iter()
        .any(|r| r[0] == V::B(store::key_hash(&slow).to_vec())));
    // Revoked keys stop working.
    let (s, _) = send(
        r,
        "DELETE",
        &format!("/v1/keys/{id}"),
        Some(&t.admin),
        vec![],
    )
    .await;
    assert_eq!(s, 200);
    is_error(
        &send(r, "GET", "/v1/banks", Some(&slow), vec![]).await,
        401,
        "invalid_key",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_4xx() {
    let (mut cfg, dir) = sqlite_config();
    cfg.max_upload_bytes = 256 << 10;
    cfg.max_json_bytes = 64 << 10;
    let t = start(cfg, Some(dir));
    let r = &t.router;
    let k = Some(t.curator.as_str());
    json(r, "POST", "/v1/banks", k, json!({"name": "b"})).await;
    is_error(
        &send(r, "POST", "/v1/banks", k, b"{not json".to_vec()).await,
        400,
        "bad_json",
    );
    is_error(
        &json(r, "POST", "/v1/banks", k, json!({"name": "b", "extra": 1})).await,
        400,
        "bad_json",
    );
    is_error(
        &json(r, "POST", "/v1/banks", k, json!({"name": "bad name!"})).await,
        400,
        "invalid",
    );
    is_error(
        &json(
            r,
            "POST",
            "/v1/banks/b/entries",
            k,
            json!({"entries": [{"md5": "zz"}]}),
        )
        .await,
        400,
        "bad_hash",
    );
    is_error(
        &json(
            r,
            "POST",
            "/v1/banks/b/entries",
            k,
            json!({"entries": [{"md5": "00"}]}),
        )
        .await,
        400,
        "bad_hash",
    );
    is_error(
        &json(
            r,
            "POST",
            "/v1/banks/b/entries",
            k,
            json!({"entries": [{"pdq": "g".repeat(64)}]}),
        )
        .await,
        400,
        "bad_hash",
    );
    is_error(
        &json(
            r,
            "POST",
            "/v1/banks/b/entries",
            k,
            json!({"entries": [{"status": "notable"}]}),
        )
        .await,
        400,
        "no_hash",
    );
    is_error(
        &json(r, "POST", "/v1/banks/b/entries", k, json!({"entries": []})).await,
        400,
        "bad_batch",
    );
    is_error(
        &json(
            r,
            "POST",
            "/v1/banks/b/entries",
            k,
            json!({"entries": [{"md5": "00".repeat(16), "status": "maybe"}]}),
        )
        .await,
        400,
        "bad_status",
    );
    is_error(
        &json(
            r,
            "POST",
            "/v1/banks/nope/entries",
            k,
            json!({"entries": [{"md5": "00".repeat(16)}]}),
        )
        .await,
        404,
        "not_found",
    );
    let many: Vec<_> = (0..1001).map(|_| json!({"md5": "00".repeat(16)})).collect();
    is_error(
        &json(r, "POST", "/v1/lookup", k, json!({"queries": many})).await,
        400,
        "bad_batch",
    );
    is_error(
        &json(
            r,
            "POST",
            "/v1/lookup",
            k,
            json!({"queries": [{"md5": "00".repeat(16), "sha1": "00".repeat(20)}]}),
        )
        .await,
        400,
        "bad_lookup",
    );
    is_error(
        &json(
            r,
            "POST",
            "/v1/lookup",
            k,
            json!({"queries": [{"md5": "00"}], "threshold": 99}),
        )
        .await,
        400,
        "bad_threshold",
    );
    is_error(
        &send(r, "GET", "/v1/lookup", k, vec![]).await,
        400,
        "bad_lookup",
    );
    is_error(
        &send(r, "GET", "/v1/lookup?pdq=12", k, vec![]).await,
        400,
        "bad_hash",
    );
    is_error(
        &send(r, "GET", "/v1/lookup?pdq=%zz", k, vec![]).await,
        400,
        "bad_query",
    );
    is_error(
        &send(r, "GET", "/v1/lookup?colour=red", k, vec![]).await,
        400,
        "bad_query",
    );
    is_error(
        &send(
            r,
            "GET",
            &format!("/v1/lookup?md5={}&threshold=-1", "00".repeat(16)),
            k,
            vec![],
        )
        .await,
        400,
        "bad_query",
    );
    is_error(
        &send(r, "DELETE", "/v1/banks/b/entries/notanumber", k, vec![]).await,
        400,
        "bad_path",
    );
    // Huge bodies.
    is_error(
        &send(r, "POST", "/v1/lookup", k, vec![b' '; 100 << 10]).await,
        413,
        "body_too_large",
    );
    is_error(
        &send(r, "POST", "/v1/match", k, vec![0u8; 300 << 10]).await,
        413,
        "body_too_large",
    );
    // Not images, broken images.
    is_error(
        &send(r, "POST", "/v1/match", k, b"just some text".to_vec()).await,
        415,
        "not_an_image",
    );
    is_error(
        &send(r, "POST", "/v1/hash", k, vec![]).await,
        415,
        "not_an_image",
    );
    let mut broken = jpeg(&picture(1, 200, 200), 90);
    broken.truncate(300);
    is_error(
        &send(r, "POST", "/v1/match", k, broken).await,
        422,
        "undecodable_image",
    );
    let (s, b) = send(
        r,
        "POST",
        "/v1/hash?allow_non_image=true",
        k,
        b"just some text".to_vec(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["md5"].as_str().map(str::len), Some(32));
    assert_eq!(b["pdq"], serde_json::Value::Null);
    // An image declaring an absurd size is refused without decoding.
    let mut png_bomb = png(&picture(1, 8, 8));
    png_bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png_bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let r2 = send(r, "POST", "/v1/match", k, png_bomb).await;
    assert!(r2.0.is_client_error(), "{r2:?}");
    // Bad list files.
    is_error(
        &send(
            r,
            "POST",
            "/v1/banks/b/import",
            k,
            b"\x00\x01garbage".to_vec(),
        )
        .await,
        422,
        "bad_list",
    );
    is_error(
        &send(
            r,
            "POST",
            "/v1/banks/b/import?format=nope",
            k,
            b"x".to_vec(),
        )
        .await,
        400,
        "bad_format",
    );
    // Unknown routes and methods.
    is_error(
        &send(r, "GET", "/v2/nothing", k, vec![]).await,
        404,
        "no_route",
    );
    is_error(
        &send(r, "PUT", "/v1/banks", k, vec![]).await,
        405,
        "method_not_allowed",
    );
    // Nothing above changed the bank.
    let (_, b) = send(r, "GET", "/v1/banks/b", k, vec![]).await;
    assert_eq!(b["entries"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_chain_detects_tampering() {
    let t = sqlite();
    let r = &t.router;
    json(
        r,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": "a"}),
    )
    .await;
    json(
        r,
        "POST",
        "/v1/banks/a/entries",
        Some(&t.curator),
        json!({"entries": [{"md5": "11".repeat(16)}]}),
    )
    .await;
    json(
        r,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": "b"}),
    )
    .await;
    let mut c = connect(&t.app.config.db).unwrap();
    let key = t.app.audit.key.clone();
    let head_path = t.app.config.audit_head.clone().unwrap();
    let head = || nigehbaan_server::audit::read_head(&head_path).unwrap();
    let check = store::verify_audit(c.as_mut(), &key, head().as_ref()).unwrap();
    assert!(check.ok, "{check:?}");
    assert!(check.head_checked);
    assert_eq!(check.records, 6); // 3 keys + 3 changes
    assert_eq!(head().unwrap().seq, 6);
    // Rewrite history: say the entry went to another bank.
    c.exec("UPDATE audit_log SET detail = replace(detail, '\"a\"', '\"z\"') WHERE action = 'entries.add'", &[]).unwrap();
    let check = store::verify_audit(c.as_mut(), &key, head().as_ref()).unwrap();
    assert!(!check.ok);
    assert_eq!(check.broken_at, Some(5));
    let (_, b) = send(r, "GET", "/v1/audit/verify", Some(&t.admin), vec![]).await;
    assert_eq!(
        (b["ok"].as_bool(), b["broken_at"].as_i64()),
        (Some(false), Some(5))
    );
    // Someone with write access to the database but not the key cannot
    // recompute the chain after the edit: plain SHA-256 (the old scheme)
    // and a guessed key both fail.
    let records = store::audit_records(c.as_mut(), 0, 100).unwrap();
    let wrong = nigehbaan_server::audit::AuditKey::from_bytes([7; 32]);
    for scheme in 0..2 {
        let mut prev = store::AUDIT_GENESIS.to_string();
        for rec in &records {
            let h = if scheme == 0 {
                store::audit_hash(&prev, rec.seq, rec.at, &rec.actor, &rec.action, &rec.detail)
            } else {
                wrong.record_hash(&prev, rec.seq, rec.at, &rec.actor, &rec.action, &rec.detail)
            };
            c.exec(
                "UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3",
                &[V::T(prev.clone()), V::T(h.clone()), V::I(rec.seq)],
            )
            .unwrap();
            prev = h;
        }
        let check = store::verify_audit(c.as_mut(), &key, head().as_ref()).unwrap();
        assert_eq!((check.ok, check.broken_at), (false, Some(1)), "{check:?}");
    }
    // Put the true chain back.
    for rec in &records {
        c.exec(
            "UPDATE audit_log SET prev_hash = $1, hash = $2, detail = $3 WHERE seq = $4",
            &[
                V::T(rec.prev_hash.clone()),
                V::T(rec.hash.clone()),
                V::T(rec.detail.replace("\"z\"", "\"a\"")),
                V::I(rec.seq),
            ],
        )
        .unwrap();
    }
    assert!(
        store::verify_audit(c.as_mut(), &key, head().as_ref())
            .unwrap()
            .ok
    );
    // Dropping the newest record leaves an intact chain, but the head file
    // names the record that is gone.
    c.exec("DELETE FROM audit_log WHERE seq = 6", &[]).unwrap();
    let check = store::verify_audit(c.as_mut(), &key, head().as_ref()).unwrap();
    assert_eq!((check.ok, check.broken_at), (false, Some(6)), "{check:?}");
    assert!(check.problem.unwrap().contains("removed"));
    let (_, b) = send(r, "GET", "/v1/audit/verify", Some(&t.admin), vec![]).await;
    assert_eq!(b["ok"], false, "{b}");
    // Deleting a record in the middle is found too.
    c.exec("DELETE FROM audit_log WHERE seq = 2", &[]).unwrap();
    let check = store::verify_audit(c.as_mut(), &key, None).unwrap();
    assert_eq!((check.ok, check.broken_at), (false, Some(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_opens_the_snapshot_and_replays_later_changes() {
    let (cfg, dir) = sqlite_config();
    let t = start(cfg.clone(), Some(dir));
    let r = &t.router;
    json(
        r,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": "a"}),
    )
    .await;
    let h1 = "11".repeat(32);
    let h2 = "22".repeat(32);
    json(
        r,
        "POST",
        "/v1/banks/a/entries",
        Some(&t.curator),
        json!({"entries": [{"pdq": h1}]}),
    )
    .await;
    t.app.write_snapshot();
    let snap_seq = t.app.snapshot_seq();
    assert!(snap_seq > 0);
    // A change after the snapshot, made by another process's instance.
    let other = App::open(cfg.clone()).unwrap();
    let r2 = api::router(other.clone());
    json(
        &r2,
        "POST",
        "/v1/banks/a/entries",
        Some(&t.curator),
        json!({"entries": [{"pdq": h2}]}),
    )
    .await;
    drop(r2);
    drop(other);
    let again = App::open(cfg).unwrap();
    assert_eq!(again.snapshot_seq(), snap_seq, "opened from the snapshot");
    let r3 = api::router(again.clone());
    for h in [&h1, &h2] {
        let (_, b) = send(
            &r3,
            "GET",
            &format!("/v1/lookup?pdq={h}"),
            Some(&t.matcher),
            vec![],
        )
        .await;
        assert_eq!(b["matches"].as_array().unwrap().len(), 1, "{b}");
    }
    // A snapshot from another database is not used.
    let (cfg2, _d2) = sqlite_config();
    let mut cfg2 = cfg2;
    cfg2.snapshot = again.config.snapshot.clone();
    let fresh = App::open(cfg2).unwrap();
    assert_eq!(fresh.index.stats().base + fresh.index.stats().tail, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_behind_a_pruned_change_feed_reloads_every_hash() {
    let (cfg, dir) = sqlite_config();
    let t = start(cfg.clone(), Some(dir));
    let r = &t.router;
    json(
        r,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": "a"}),
    )
    .await;
    let add = |h: String| {
        json(
            r,
            "POST",
            "/v1/banks/a/entries",
            Some(&t.curator),
            json!({"entries": [{"pdq": h}]}),
        )
    };
    add("11".repeat(32)).await;
    // An instance that stops reading the feed here.
    let behind = App::open(cfg.clone()).unwrap();
    for k in ["22", "33", "44", "55", "66"] {
        add(k.repeat(32)).await;
    }
    let mut c = connect(&cfg.db).unwrap();
    let before = store::last_change(c.as_mut()).unwrap();
    let floor = t.app.prune_feed().unwrap();
    assert_eq!(floor, None, "the default keeps a million changes");
    let floor = store::prune_feed(c.as_mut(), 2).unwrap().unwrap();
    assert_eq!(floor, before - 1);
    assert_eq!(store::feed_floor(c.as_mut()).unwrap(), floor);
    assert_eq!(store::prune_feed(c.as_mut(), 2).unwrap(), None);
    let left = c.query("SELECT COUNT(*) FROM changes", &[]).unwrap();
    assert_eq!(left[0][0].i(), 2);
    // Catching up from the pruned feed would miss 22..44: it reloads.
    behind.sync().unwrap();
    let rb = api::router(behind.clone());
    for k in ["11", "22", "33", "44", "55", "66"] {
        let (_, b) = send(
            &rb,
            "GET",
            &format!("/v1/lookup?pdq={}", k.repeat(32)),
            Some(&t.matcher),
            vec![],
        )
        .await;
        assert_eq!(b["matches"].as_array().unwrap().len(), 1, "{k}: {b}");
    }
    // A restart from a snapshot older than the floor loads in full too.
    let again = App::open(cfg).unwrap();
    let ra = api::router(again.clone());
    let (_, b) = send(
        &ra,
        "GET",
        &format!("/v1/lookup?pdq={}", "33".repeat(32)),
        Some(&t.matcher),
        vec![],
    )
    .await;
    assert_eq!(b["matches"].as_array().unwrap().len(), 1, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_openapi_are_public_metrics_need_a_key() {
    let t = sqlite();
    let r = &t.router;
    assert_eq!(send(r, "GET", "/health/live", None, vec![]).await.0, 200);
    assert_eq!(
        send(r, "GET", "/health/ready", None, vec![]).await.1["status"],
        "ready"
    );
    send(r, "GET", "/v1/banks", None, vec![]).await;
    // Metrics reveal list sizes and activity: a key is needed here (or a
    // separate metrics address).
    is_error(
        &send(r, "GET", "/metrics", None, vec![]).await,
        401,
        "missing_key",
    );
    let (s, b) = send(r, "GET", "/metrics", Some(&t.matcher), vec![]).await;
    assert_eq!(s, 200);
    let text = b.as_str().unwrap();
    assert!(
        text.contains("nigehbaan_http_requests_total{route=\"/v1/banks\",status=\"401\"} 1"),
        "{text}"
    );
    assert!(text.contains("nigehbaan_index_entries 0"));
    let (s, b) = send(r, "GET", "/openapi.json", None, vec![]).await;
    assert_eq!(s, 200);
    assert_eq!(b["openapi"], "3.1.0");
}

/// The committed docs/openapi.json is the document the code makes, and
/// every path and method in it is served by the router (never 404/405).
/// Set NIGEHBAAN_BLESS=1 to rewrite the file after changing the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_does_not_drift() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let want = nigehbaan_server::openapi::document_text();
    if std::env::var("NIGEHBAAN_BLESS").is_ok() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "docs/openapi.json differs from the code's document; run NIGEHBAAN_BLESS=1 cargo test -p nigehbaan-server --test api_sqlite openapi");
    let doc: serde_json::Value = serde_json::from_str(&have).unwrap();
    let t = sqlite();
    let mut n = 0;
    for (p, ops) in doc["paths"].as_object().unwrap() {
        for (m, op) in ops.as_object().unwrap() {
            let uri = p.replace("{bank}", "b").replace("{id}", "1");
            let (s, _) = send(&t.router, &m.to_uppercase(), &uri, None, vec![]).await;
            assert!(s != 404 && s != 405, "{m} {p} -> {s}");
            if op.get("security").is_some() {
                assert_eq!(s, 401, "{m} {p} should need a key");
            }
            n += 1;
        }
    }
    assert_eq!(n, api::ROUTES.len());
}

#[test]
fn migrations_are_idempotent_and_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DbConfig::Sqlite(dir.path().join("m.sqlite"));
    for _ in 0..2 {
        nigehbaan_server::db::Pool::open(&cfg, 1).unwrap();
    }
    let mut c = connect(&cfg).unwrap();
    let v = c
        .query("SELECT COUNT(*), MAX(version) FROM schema_version", &[])
        .unwrap();
    let n = nigehbaan_server::db::MIGRATIONS.len() as i64;
    assert_eq!(v[0], vec![V::I(n), V::I(n)]);
}

/// Uploads are hashed in memory and dropped: after hashing, matching,
/// adding and removing by upload, no file in the service's directory
/// (database, WAL, snapshot) holds any of the upload's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_never_written_to_disk() {
    let (cfg, dir) = sqlite_config();
    let t = start(cfg, None);
    let r = &t.router;
    let marker = format!("NIGEHBAAN-UPLOAD-MARKER-{}", std::process::id());
    let mut upload = marker.clone().into_bytes();
    upload.extend(std::iter::repeat_n(b'x', 10_000));
    upload.extend(marker.as_bytes());
    json(
        r,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": "u"}),
    )
    .await;
    for (method, uri) in [
        ("POST", "/v1/hash?allow_non_image=true"),
        ("POST", "/v1/match?allow_non_image=true"),
        ("POST", "/v1/banks/u/entries/upload?allow_non_image=true"),
    ] {
        let (s, b) = send(r, method, uri, Some(&t.curator), upload.clone()).await;
        assert!(s.is_success(), "{uri}: {b}");
    }
    t.app.write_snapshot();
    let mut files = 0;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        files += 1;
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "upload bytes found on disk"
        );
    }
    assert!(files >= 2);
    // The upload's digest is what was kept.
    let (_, b) = send(
        r,
        "POST",
        "/v1/match?allow_non_image=true",
        Some(&t.matcher),
        upload,
    )
    .await;
    // One match per entry, however many digests matched it.
    assert_eq!(b["matches"].as_array().unwrap().len(), 1, "{b}");
}

/// A large PDQ import triggers a background compaction of the live index;
/// lookups are right before, during and after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_pdq_import_compacts_in_the_background() {
    let t = sqlite();
    let r = &t.router;
    let hash = |i: u64| format!("{:016x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1).repeat(4);
    let list: String = (0..10_000u64)
        .map(|i| format!("pdq {}\n", hash(i)))
        .collect();
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/many/import?create=true",
        Some(&t.curator),
        list.into_bytes(),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["added"].as_i64(), b["format"].as_str()),
        (Some(10_000), Some("hma-text"))
    );
    let key = t.matcher.as_str();
    let check = |i: u64| {
        let uri = format!("/v1/lookup?pdq={}&threshold=0", hash(i));
        async move {
            let (_, b) = send(r, "GET", &uri, Some(key), vec![]).await;
            assert_eq!(b["matches"].as_array().map(Vec::len), Some(1), "{b}");
        }
    };
    check(1).await;
    let t0 = std::time::Instant::now();
    while t.app.index.stats().compactions == 0 {
        check(t0.elapsed().as_millis() as u64 % 10_000).await;
        assert!(t0.elapsed().as_secs() < 20, "no compaction");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for i in [0, 4095, 4096, 9_999] {
        check(i).await;
    }
    let s = t.app.index.stats();
    assert_eq!(s.base + s.delta + s.tail, 10_000, "{s:?}");
}
