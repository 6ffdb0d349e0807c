//! The service's trust fixes: no silent negatives (unknown banks, implicit
//! bank creation, empty replacements, unknown signal types), imports
//! answering with their warnings, costly queries charged by work, far
//! matches that do not reveal list hashes, and the decode budget.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use nigehbaan_server::db::connect;
use nigehbaan_server::store;
use serde_json::json;
use tower::ServiceExt;

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

async fn bank(t: &T, name: &str) {
    let (s, b) = json(
        &t.router,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": name}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
}

async fn add_pdq(t: &T, bank: &str, pdq: &str) {
    let (s, b) = json(
        &t.router,
        "POST",
        &format!("/v1/banks/{bank}/entries"),
        Some(&t.curator),
        json!({"entries": [{"pdq": pdq, "md5": "12".repeat(16)}]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
}

/// A PDQ hash `bits` bits away from [`PDQ`].
fn away(bits: usize) -> String {
    let mut h = nigehbaan_pdq::Hash256::from_hex(PDQ).unwrap();
    for k in 0..bits {
        let k = k * 5 % 256;
        h.0[k / 64] ^= 1 << (k % 64);
    }
    h.to_hex()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_a_missing_or_disabled_bank_is_an_error_not_no_match() {
    let t = sqlite();
    let r = &t.router;
    bank(&t, "real").await;
    add_pdq(&t, "real", PDQ).await;
    let k = Some(t.matcher.as_str());
    let (s, b) = send(
        r,
        "GET",
        &format!("/v1/lookup?pdq={PDQ}&banks=real"),
        k,
        vec![],
    )
    .await;
    assert_eq!(
        (s.as_u16(), b["matches"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    is_error(
        &send(
            r,
            "GET",
            &format!("/v1/lookup?pdq={PDQ}&banks=nosuchbank"),
            k,
            vec![],
        )
        .await,
        404,
        "not_found",
    );
    is_error(
        &send(
            r,
            "GET",
            &format!("/v1/lookup?pdq={PDQ}&banks=real,nosuchbank"),
            k,
            vec![],
        )
        .await,
        404,
        "not_found",
    );
    is_error(
        &send(r, "GET", &format!("/v1/lookup?pdq={PDQ}&banks="), k, vec![]).await,
        400,
        "bad_query",
    );
    is_error(
        &json(
            r,
            "POST",
            "/v1/lookup",
            k,
            json!({"queries": [{"pdq": PDQ}], "banks": ["nosuchbank"]}),
        )
        .await,
        404,
        "not_found",
    );
    let upload = png(&picture(3, 64, 64));
    is_error(
        &send(r, "POST", "/v1/match?banks=nosuchbank", k, upload).await,
        404,
        "not_found",
    );
    json(
        r,
        "PATCH",
        "/v1/banks/real",
        Some(&t.curator),
        json!({"enabled": false}),
    )
    .await;
    is_error(
        &send(
            r,
            "GET",
            &format!("/v1/lookup?pdq={PDQ}&banks=real"),
            k,
            vec![],
        )
        .await,
        409,
        "conflict",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_create_banks_only_when_asked_and_never_empty_one_by_accident() {
    let t = sqlite();
    let r = &t.router;
    let k = Some(t.curator.as_str());
    let list: String = (0..20).map(|i| format!("md5 {:032x}\n", i + 1)).collect();
    is_error(
        &send(
            r,
            "POST",
            "/v1/banks/typo/import",
            k,
            list.clone().into_bytes(),
        )
        .await,
        404,
        "not_found",
    );
    assert_eq!(send(r, "GET", "/v1/banks/typo", k, vec![]).await.0, 404);
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/big/import?create=true",
        k,
        list.into_bytes(),
    )
    .await;
    assert_eq!(
        (s.as_u16(), b["added"].as_i64(), b["created"].as_bool()),
        (201, Some(20), Some(true)),
        "{b}"
    );
    // An empty or comment-only replacement would empty the bank.
    for empty in ["", "# nothing here\n# at all\n", "\n\n"] {
        let r2 = send(
            r,
            "POST",
            "/v1/banks/big/import?replace=true&format=hma-text",
            k,
            empty.as_bytes().to_vec(),
        )
        .await;
        assert!(
            r2.0 == 422
                && ["empty_replacement", "bad_list"].contains(&r2.1["code"].as_str().unwrap()),
            "{r2:?}"
        );
        let (_, b) = send(r, "GET", "/v1/banks/big", k, vec![]).await;
        assert_eq!(b["entries"], 20, "{empty:?} emptied the bank");
    }
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/big/import?replace=true&allow_empty=true&format=hma-text",
        k,
        b"# emptied on purpose\n".to_vec(),
    )
    .await;
    assert_eq!((s.as_u16(), b["replaced"].as_i64()), (201, Some(20)), "{b}");
    let (_, b) = send(r, "GET", "/v1/banks/big", k, vec![]).await;
    assert_eq!(b["entries"], 0);
    // Nothing is left in the staging tables.
    let mut c = connect(&t.app.config.db).unwrap();
    for table in ["import_staging", "imports"] {
        let n = c
            .query(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .unwrap();
        assert_eq!(n[0][0].i(), 0, "{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_signal_types_are_refused_with_their_lines_and_warnings_have_texts() {
    let t = sqlite();
    let r = &t.router;
    let k = Some(t.curator.as_str());
    bank(&t, "hma").await;
    let list = format!(
        "# exported\npdq {PDQ}\npdg {}\nmd5 {}\n",
        "ab".repeat(32),
        "cd".repeat(16)
    );
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/hma/import",
        k,
        list.clone().into_bytes(),
    )
    .await;
    is_error(&(s, b.clone()), 422, "unknown_hash_type");
    let msg = b["error"].as_str().unwrap();
    assert!(msg.contains("line 3") && msg.contains("\"pdg\""), "{msg}");
    let (_, b) = send(r, "GET", "/v1/banks/hma", k, vec![]).await;
    assert_eq!(b["entries"], 0, "a refused import imports nothing");
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/hma/import?allow_unknown=true",
        k,
        list.into_bytes(),
    )
    .await;
    assert_eq!((s.as_u16(), b["added"].as_i64()), (201, Some(2)), "{b}");
    assert_eq!(b["skipped_unknown_types"], 1);
    let w = b["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w.as_str().unwrap().contains("line 3")),
        "{b}"
    );
    // Known types this service does not match are skipped with a warning
    // text; a CSV's ignored columns are named.
    let csv = format!(
        "signal_type,signal,colour\npdq,{PDQ},red\nphotodna,{}\n",
        "00".repeat(144)
    );
    let (s, b) = send(r, "POST", "/v1/banks/hma/import", k, csv.into_bytes()).await;
    assert_eq!(s, 201, "{b}");
    let w: Vec<&str> = b["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(w.iter().any(|w| w.contains("colour")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("photodna")), "{w:?}");
    assert_eq!(b["skipped_unsupported_hashes"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn costly_batches_are_capped_for_matchers_and_charged_by_work() {
    let t = sqlite();
    let r = &t.router;
    let queries: Vec<_> = (0..100)
        .map(|i| json!({"pdq": format!("{:064x}", i * 7919 + 1)}))
        .collect();
    let wide = json!({"queries": queries, "threshold": 63});
    is_error(
        &json(r, "POST", "/v1/lookup", Some(&t.matcher), wide.clone()).await,
        400,
        "bad_threshold",
    );
    // An admin gives a matcher key a higher cap (and a small rate).
    let (s, b) = json(
        r,
        "POST",
        "/v1/keys",
        Some(&t.admin),
        json!({"name": "wide", "role": "matcher", "rate_limit": 50, "max_batch_threshold": 63}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let wide_key = b["key"].as_str().unwrap().to_string();
    // Its first wide batch is admitted, and costs 100 x 41 tokens: far
    // more than one request, so the key is then rate limited.
    let (s, b) = json(r, "POST", "/v1/lookup", Some(&wide_key), wide.clone()).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = send(
        r,
        "GET",
        &format!("/v1/lookup?pdq={PDQ}"),
        Some(&wide_key),
        vec![],
    )
    .await;
    assert_eq!(s, 429);
    // A narrow batch at the default threshold is cheap for a matcher.
    let narrow = json!({"queries": (0..20).map(|i| json!({"pdq": format!("{:064x}", i + 1)})).collect::<Vec<_>>()});
    let (s, _) = json(r, "POST", "/v1/lookup", Some(&t.matcher), narrow).await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_matches_give_matchers_only_the_entry_id() {
    let t = sqlite();
    let r = &t.router;
    bank(&t, "b").await;
    add_pdq(&t, "b", PDQ).await;
    let near = away(10);
    let far = away(40);
    let get = |key: String, h: String| async move {
        let (s, b) = send(
            r,
            "GET",
            &format!("/v1/lookup?pdq={h}&threshold=63"),
            Some(&key),
            vec![],
        )
        .await;
        assert_eq!(s, 200, "{b}");
        b["matches"][0].clone()
    };
    let m = get(t.matcher.clone(), near.clone()).await;
    assert_eq!(
        (m["distance"].as_u64(), m["pdq"].as_str()),
        (Some(10), Some(PDQ))
    );
    let m = get(t.matcher.clone(), far.clone()).await;
    assert_eq!(m["distance"], 40);
    assert!(m["entry_id"].as_i64().is_some());
    for h in ["pdq", "md5", "sha1", "sha256"] {
        assert!(m[h].is_null(), "{h} revealed: {m}");
    }
    let m = get(t.curator.clone(), far).await;
    assert_eq!(m["pdq"], PDQ);
}

async fn raw(t: &T, uri: &str, body: Vec<u8>) -> axum::response::Response {
    t.router
        .clone()
        .oneshot(
            Request::builder()
                .method("POST")
                .uri(uri)
                .header("authorization", format!("Bearer {}", t.matcher))
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decodes_wait_for_the_memory_budget_and_big_images_are_refused() {
    let (mut cfg, dir) = sqlite_config();
    cfg.limits.decode_budget_bytes = 16 << 20;
    cfg.limits.max_pixels = 1_000_000;
    let t = start(cfg, Some(dir));
    let pic = png(&picture(5, 400, 300));
    // Budget taken (as by other decodes in flight): 503 with Retry-After.
    let all = t.app.decode_budget.try_take(u64::MAX).unwrap();
    let resp = raw(&t, "/v1/hash", pic.clone()).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    // A non-image needs no decode: digests still work.
    let resp = raw(&t, "/v1/hash?allow_non_image=true", b"plain text".to_vec()).await;
    assert_eq!(resp.status(), 200);
    drop(all);
    let resp = raw(&t, "/v1/hash", pic).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        t.app.decode_budget.available_bytes(),
        16 << 20,
        "the budget is given back"
    );
    // Over the service's pixel limit (lower than scan's): refused from the
    // header, before decoding.
    let mut bomb = png(&picture(1, 8, 8));
    bomb[16..20].copy_from_slice(&16_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&16_000u32.to_be_bytes());
    let r = send(&t.router, "POST", "/v1/match", Some(&t.matcher), bomb).await;
    is_error(&r, 413, "image_too_large");
    let r = send(
        &t.router,
        "POST",
        "/v1/hash",
        Some(&t.matcher),
        png(&picture(1, 1200, 900)),
    )
    .await;
    is_error(&r, 413, "image_too_large");
}

#[test]
fn read_only_connections_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.sqlite");
    let e = nigehbaan_server::db::connect_existing(&nigehbaan_server::db::DbConfig::Sqlite(
        typo.clone(),
    ))
    .err()
    .unwrap();
    assert!(
        matches!(&e, nigehbaan_server::db::DbError::NoDatabase(p) if *p == typo),
        "{e:?}"
    );
    assert!(!typo.exists());
    // An SQLite file that is not a service database is named as such.
    std::fs::write(&typo, b"").unwrap();
    let e = nigehbaan_server::db::connect_existing(&nigehbaan_server::db::DbConfig::Sqlite(
        typo.clone(),
    ))
    .err()
    .unwrap();
    assert!(
        matches!(e, nigehbaan_server::db::DbError::NotServiceDatabase),
        "{e:?}"
    );
    assert_eq!(std::fs::metadata(&typo).unwrap().len(), 0);
    let _ = store::now();
}

/// A database from before the chain was keyed keeps its plain SHA-256
/// records, verifiable, and every record after the migration is keyed.
#[test]
fn an_unkeyed_chain_from_an_older_database_is_continued_keyed() {
    use nigehbaan_server::db::{DbConfig, MIGRATIONS, V};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let mut c = connect(&DbConfig::Sqlite(path.clone())).unwrap();
        c.batch(MIGRATIONS[0]).unwrap();
        c.batch("CREATE TABLE schema_version (version BIGINT NOT NULL); INSERT INTO schema_version VALUES (1)")
            .unwrap();
        let mut prev = store::AUDIT_GENESIS.to_string();
        for seq in 1..=3 {
            let h = store::audit_hash(&prev, seq, 100 + seq, "cli", "bank.create", "{}");
            c.exec(
                "INSERT INTO audit_log (seq, at, actor, action, detail, prev_hash, hash) VALUES ($1, $2, 'cli', 'bank.create', '{}', $3, $4)",
                &[V::I(seq), V::I(100 + seq), V::T(prev.clone()), V::T(h.clone())],
            )
            .unwrap();
            prev = h;
        }
    }
    let mut cfg = nigehbaan_server::Config::new(DbConfig::Sqlite(path.clone()));
    cfg.snapshot = None;
    let pool = nigehbaan_server::open_pool(&cfg, 1).unwrap();
    store::create_bank(pool.get().as_mut(), "test", "after", "", true).unwrap();
    let key = nigehbaan_server::audit::AuditKey::load(cfg.audit_key.as_ref().unwrap()).unwrap();
    let head = nigehbaan_server::audit::read_head(cfg.audit_head.as_ref().unwrap()).unwrap();
    let check = store::verify_audit(pool.get().as_mut(), &key, head.as_ref()).unwrap();
    assert!(check.ok, "{check:?}");
    assert_eq!(
        (check.records, check.keyed_from, check.head_seq),
        (4, 4, Some(4))
    );
    // The keyed record is not plain SHA-256.
    let r = store::audit_records(pool.get().as_mut(), 3, 1).unwrap();
    assert_ne!(
        r[0].hash,
        store::audit_hash(
            &r[0].prev_hash,
            4,
            r[0].at,
            &r[0].actor,
            &r[0].action,
            &r[0].detail
        )
    );
}
