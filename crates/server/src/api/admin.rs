//! The audit log and API keys (admin routes).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{db, parse_json, path_error, ApiError, ApiResult, Caller, Query};
use crate::store::{self, Role};
use crate::App;

pub(super) async fn audit_page(
    State(app): State<Arc<App>>,
    raw: RawQuery,
) -> ApiResult<Json<Value>> {
    let q = Query::new(&raw, &["after", "limit"])?;
    let after = q.get::<i64>("after")?.unwrap_or(0);
    let limit = q.get::<i64>("limit")?.unwrap_or(100).clamp(1, 1000);
    let records = db(&app, false, move |c| {
        Ok(store::audit_records(c, after, limit)?)
    })
    .await?;
    Ok(Json(json!({ "records": records })))
}

pub(super) async fn audit_verify(
    State(app): State<Arc<App>>,
) -> ApiResult<Json<store::AuditCheck>> {
    let chain = app.audit.clone();
    let head = match &chain.head {
        Some(p) => crate::audit::read_head(p).map_err(|e| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "internal", e.to_string())
        })?,
        None => None,
    };
    Ok(Json(
        db(&app, false, move |c| {
            Ok(store::verify_audit(c, &chain.key, head.as_ref())?)
        })
        .await?,
    ))
}

pub(super) async fn list_keys(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let keys = db(&app, false, |c| Ok(store::list_keys(c)?)).await?;
    Ok(Json(json!({ "keys": keys })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    role: String,
    rate_limit: Option<i64>,
    max_batch_threshold: Option<u32>,
}

pub(super) async fn create_key(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let k: NewKey = parse_json(body)?;
    let role = Role::parse(&k.role)
        .ok_or_else(|| ApiError::bad("bad_role", "role is admin, curator or matcher"))?;
    let rate = k.rate_limit.unwrap_or(1000);
    let (id, key) = db(&app, false, move |c| {
        Ok(store::create_key(
            c,
            &who.actor,
            &k.name,
            role,
            rate,
            k.max_batch_threshold,
        )?)
    })
    .await?;
    let a = app.clone();
    let _ = tokio::task::spawn_blocking(move || a.reload_keys()).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "key": key, "role": role.name(), "rate_limit": rate})),
    ))
}

pub(super) async fn revoke_key(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let Path(id) = id.map_err(path_error)?;
    db(&app, false, move |c| {
        Ok(store::revoke_key(c, &who.actor, id)?)
    })
    .await?;
    let a = app.clone();
    let _ = tokio::task::spawn_blocking(move || a.reload_keys()).await;
    Ok(Json(json!({"deleted": id})))
}
