//! Video entries in banks (SQLite): the API end to end, a restart that
//! loads them back, the separate video upload limit, and answers for
//! videos that were not perceptually hashed. Synthetic frames; the real
//! `ffmpeg` path is driven by `crates/cli/tests/serve_video.rs`.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_entries_on_sqlite() {
    let t = sqlite();
    exercise_video(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loads_the_video_entries_back() {
    let (cfg, dir) = sqlite_config();
    let t = start(cfg.clone(), None);
    json(
        &t.router,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": "v"}),
    )
    .await;
    let a = frames(5, 30);
    let (s, b) = json(
        &t.router,
        "POST",
        "/v1/banks/v/entries",
        Some(&t.curator),
        json!({"entries": [{"vpdq": frames_json(&a)}]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let id = b["ids"][0].as_i64().unwrap();
    t.app.write_snapshot();
    let matcher = t.matcher.clone();
    drop(t);
    // Another instance on the same database (from the snapshot, then the
    // entries): the video is found.
    let app = nigehbaan_server::App::open(cfg).unwrap();
    let r = nigehbaan_server::api::router(app.clone());
    let (_, b) = json(
        &r,
        "POST",
        "/v1/lookup",
        Some(&matcher),
        json!({"queries": [{"vpdq": frames_json(&near_copy(&a, 8, 30))}]}),
    )
    .await;
    assert_eq!(b["results"][0]["matches"][0]["entry_id"], id, "{b}");
    drop(dir);
}

/// A file that is a video by content (an ISO BMFF `ftyp` box) but holds
/// no decodable stream.
fn fake_video(len: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    v.resize(len, 0x5a);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_have_their_own_size_limit_and_say_when_they_were_not_hashed() {
    let (mut cfg, dir) = sqlite_config();
    cfg.max_upload_bytes = 1 << 20;
    cfg.video.max_upload_bytes = 3 << 20;
    let t = start(cfg, Some(dir));
    let r = &t.router;
    // Over the image limit, under the video limit: a video is hashed (or
    // said not to be); any other file is refused.
    let (s, b) = send(
        r,
        "POST",
        "/v1/match",
        Some(&t.matcher),
        fake_video(2 << 20),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["hashes"]["media"], "video");
    assert_eq!(b["hashes"]["format"], "mp4");
    assert!(b["hashes"]["sha256"].is_string());
    assert_eq!(b["incomplete"], true, "{b}");
    assert_eq!(b["vpdq_matched"], false);
    assert!(
        b["incomplete_reason"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{b}"
    );
    let (s, b) = send(r, "POST", "/v1/hash", Some(&t.matcher), fake_video(2 << 20)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["incomplete"], true, "{b}");
    assert!(b["error"].is_string(), "{b}");
    is_error(
        &send(
            r,
            "POST",
            "/v1/hash?allow_non_image=true",
            Some(&t.matcher),
            vec![7u8; 2 << 20],
        )
        .await,
        413,
        "body_too_large",
    );
    // Over the video limit: 413 (declared, before the body is read).
    is_error(
        &send(
            r,
            "POST",
            "/v1/match",
            Some(&t.matcher),
            fake_video(4 << 20),
        )
        .await,
        413,
        "body_too_large",
    );
    // The digests of a video that was not perceptually hashed are still
    // matched.
    json(
        r,
        "POST",
        "/v1/banks",
        Some(&t.curator),
        json!({"name": "d"}),
    )
    .await;
    let (_, h) = send(r, "POST", "/v1/hash", Some(&t.matcher), fake_video(5000)).await;
    let (s, b) = json(
        r,
        "POST",
        "/v1/banks/d/entries",
        Some(&t.curator),
        json!({"entries": [{"sha256": h["sha256"]}]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let (_, b) = send(r, "POST", "/v1/match", Some(&t.matcher), fake_video(5000)).await;
    assert_eq!(b["matches"][0]["match"], "sha256", "{b}");
    assert_eq!(b["incomplete"], true, "{b}");
}

/// HMA CSV rows of signal type `vpdq` become video entries (the lists'
/// parser); for matcher keys a vPDQ match at a frame distance over 31
/// carries no entry hashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hma_vpdq_rows_import_as_videos_and_far_matches_hide_hashes() {
    let t = sqlite();
    let r = &t.router;
    let v = frames(21, 12);
    let signal = nigehbaan_video::format::write_signal(&v);
    let csv = format!(
        "signal_type,signal,content_id\nvpdq,\"{}\",v1\n",
        signal.replace('"', "\"\"")
    );
    let (s, b) = send(
        r,
        "POST",
        "/v1/banks/hma/import?create=true",
        Some(&t.curator),
        csv.into_bytes(),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        (b["format"].as_str(), b["added"].as_i64()),
        (Some("hma-csv"), Some(1)),
        "{b}"
    );
    // The same video with an MD5 too, added by hash.
    let (s, b) = json(
        r,
        "POST",
        "/v1/banks/hma/entries",
        Some(&t.curator),
        json!({"entries": [{"vpdq": frames_json(&v), "md5": "22".repeat(16)}]}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let q = near_copy(&v, 3, 12);
    for (key, far, hidden) in [
        (&t.matcher, 31, false),
        (&t.matcher, 40, true),
        (&t.curator, 40, false),
    ] {
        let (s, b) = json(
            r,
            "POST",
            "/v1/lookup",
            Some(key),
            json!({"queries": [{"vpdq": frames_json(&q)}], "vpdq_distance": far, "threshold": 0}),
        )
        .await;
        if key == &t.matcher && far > 31 {
            // Over a matcher key's batch cap.
            assert_eq!(s, 400, "{b}");
            let text = format!(
                "/v1/lookup?vpdq={}&vpdq_distance={far}",
                qenc(&nigehbaan_video::format::write_signal(&q))
            );
            let (s, b) = send(r, "GET", &text, Some(key), vec![]).await;
            assert_eq!(s, 200, "{b}");
            let m = b["matches"].as_array().unwrap();
            assert_eq!(m.len(), 2, "{b}");
            assert!(m.iter().all(|m| m["md5"].is_null() == hidden), "{b}");
            continue;
        }
        assert_eq!(s, 200, "{b}");
        let m = b["results"][0]["matches"].as_array().unwrap();
        assert_eq!(m.len(), 2, "{b}");
        assert!(m.iter().all(|m| m["match"] == "vpdq"), "{b}");
        assert_eq!(m[1]["md5"].is_null(), hidden, "{b}");
    }
}
