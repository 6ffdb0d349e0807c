//! Health, metrics, the OpenAPI document and the index status.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{db, ApiResult};
use crate::store;
use crate::App;

pub(super) async fn live() -> Json<Value> {
    Json(json!({"status": "live"}))
}

pub(super) async fn ready(State(app): State<Arc<App>>) -> Response {
    if app.is_ready() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready"})),
        )
            .into_response()
    }
}

pub(super) async fn metrics(State(app): State<Arc<App>>) -> Response {
    let s = app.index.stats();
    let text = app.metrics.render(&[
        (
            "nigehbaan_index_entries",
            "PDQ hashes in the index (base + delta + tail).",
            (s.base + s.delta + s.tail) as f64,
        ),
        (
            "nigehbaan_index_tombstones",
            "Removed hashes not yet compacted away.",
            s.tombstones as f64,
        ),
        (
            "nigehbaan_index_memory_bytes",
            "Bytes held by the index.",
            s.memory_bytes as f64,
        ),
        (
            "nigehbaan_index_compactions",
            "Compactions since start.",
            s.compactions as f64,
        ),
        (
            "nigehbaan_feed_applied_seq",
            "Last change-feed position applied.",
            app.applied.load(std::sync::atomic::Ordering::SeqCst) as f64,
        ),
        (
            "nigehbaan_ready",
            "1 when ready.",
            if app.is_ready() { 1.0 } else { 0.0 },
        ),
    ]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

pub(super) async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

pub(super) async fn index_status(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let (last, total) = db(&app, false, |c| {
        Ok((store::last_change(c)?, store::entry_total(c)?))
    })
    .await?;
    let s = app.index.stats();
    let v = app.video.stats();
    let applied = app.applied.load(std::sync::atomic::Ordering::SeqCst);
    Ok(Json(json!({
        "ready": app.is_ready(),
        "entries": total,
        "pdq_hashes": {"base": s.base, "delta": s.delta, "tail": s.tail, "tombstones": s.tombstones},
        "video": {"entries": v.entries, "frame_hashes": v.frames, "index_memory_bytes": v.index.memory_bytes},
        "memory_bytes": s.memory_bytes,
        "compactions": s.compactions,
        "applied_seq": applied,
        "database_seq": last,
        "lag": (last - applied).max(0),
        "snapshot_seq": app.snapshot_seq(),
        "uptime_seconds": app.uptime().as_secs(),
    })))
}
