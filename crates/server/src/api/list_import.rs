//! Bulk import of a list file into a bank.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::Value;

use super::{body_error, path_error, ApiError, ApiResult, Caller, Query};
use crate::store;
use crate::App;

pub(super) async fn import_list(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Path(name) = name.map_err(path_error)?;
    store::check_bank_name(&name)?;
    let q = Query::new(
        &raw,
        &[
            "format",
            "status",
            "scheme",
            "replace",
            "create",
            "allow_empty",
            "allow_unknown",
        ],
    )?;
    let body = body.map_err(body_error)?;
    let mut opts = nigehbaan_lists::ImportOptions::new("upload", &name);
    // The service makes these two decisions itself (`crate::import`), with
    // its own parameters and line-numbered answers; the importer only reads.
    opts.allow_unknown = true;
    opts.allow_empty = true;
    if let Some(f) = q.str("format") {
        opts.format = Some(
            f.parse()
                .map_err(|m: String| ApiError::bad("bad_format", m))?,
        );
    }
    opts.status = match q.str("status") {
        None => None,
        Some("notable") => Some(nigehbaan_lists::Status::Notable),
        Some("known") => Some(nigehbaan_lists::Status::Known),
        Some(o) => {
            return Err(ApiError::bad(
                "bad_status",
                format!("status must be notable or known, not {o:?}"),
            ))
        }
    };
    opts.scheme = q.str("scheme").map(nigehbaan_lists::Scheme::from_name);
    let params = crate::import::ImportParams {
        bank: name,
        actor: who.actor,
        options: opts,
        replace: q.get::<bool>("replace")?.unwrap_or(false),
        create: q.get::<bool>("create")?.unwrap_or(false),
        allow_empty: q.get::<bool>("allow_empty")?.unwrap_or(false),
        allow_unknown: q.get::<bool>("allow_unknown")?.unwrap_or(false),
    };
    let a = app.clone();
    let out = tokio::task::spawn_blocking(move || crate::import::run(&a, body, params))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "internal",
                "the import could not complete; nothing was imported",
            )
        })??;
    Ok((StatusCode::CREATED, Json(out)))
}
