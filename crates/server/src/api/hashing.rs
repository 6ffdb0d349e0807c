//! Hashing uploads in memory: the decode budget, the image check and
//! the hashes as JSON.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use nigehbaan_filehash::{hash_bytes, FileError, FileHashes, Options};
use nigehbaan_pdq::Hasher;
use serde::Deserialize;
use serde_json::Value;

use super::query::query_as;
use super::{body_error, ApiError, ApiResult};
use crate::App;

thread_local! {
    static HASHER: std::cell::RefCell<Hasher> = std::cell::RefCell::new(Hasher::new());
}

/// Hashes an upload on a blocking thread; the bytes are dropped there.
/// An image's decode is first charged to the decode budget from its
/// declared size (503 `busy` when the budget is full), and an image over
/// the service's pixel limit is refused before decoding.
async fn hash_upload_bytes(app: &App, body: Bytes, dihedral: bool) -> ApiResult<FileHashes> {
    let limits = &app.config.limits;
    let mut opts = Options {
        dihedral,
        ..Options::default()
    };
    opts.limits.max_pixels = opts.limits.max_pixels.min(limits.max_pixels);
    let permit = crate::limits::admit(app, &body, &opts)?;
    tokio::task::spawn_blocking(move || {
        let fh = HASHER.with(|h| hash_bytes(&body, &opts, &mut h.borrow_mut()));
        drop(body);
        drop(permit);
        fh
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "undecodable_image",
            "the upload could not be hashed",
        )
    })
}

fn check_image(fh: &FileHashes, allow_non_image: bool) -> ApiResult<()> {
    if allow_non_image {
        return Ok(());
    }
    match (&fh.image, &fh.error) {
        (_, Some(FileError::Decode(e))) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "undecodable_image",
            format!("the upload is an image that cannot be decoded: {e} (allow_non_image=true for digests only)"),
        )),
        (_, Some(e)) => Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "undecodable_image", e.to_string())),
        (None, None) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_an_image",
            "the upload is not an image in a supported format (allow_non_image=true for digests only)",
        )),
        (Some(_), None) => Ok(()),
    }
}

pub(crate) fn hashes_json(fh: &FileHashes, dihedral: bool) -> Value {
    let opts = Options {
        dihedral,
        ..Options::default()
    };
    let mut v = serde_json::to_value(fh.to_record(String::new(), &opts)).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("path");
    }
    v
}

/// Hashes an upload and checks it is an image (unless `allow_non_image`).
pub(crate) async fn hash_checked(
    app: &App,
    body: Result<Bytes, BytesRejection>,
    dihedral: bool,
    allow_non_image: bool,
) -> ApiResult<FileHashes> {
    let body = body.map_err(body_error)?;
    let fh = hash_upload_bytes(app, body, dihedral).await?;
    check_image(&fh, allow_non_image)?;
    Ok(fh)
}

/// `/v1/hash`'s parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashParams {
    #[serde(default)]
    dihedral: bool,
    #[serde(default)]
    allow_non_image: bool,
}

pub(super) async fn hash_upload(
    State(app): State<Arc<App>>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let q: HashParams = query_as(&raw)?;
    let fh = hash_checked(&app, body, q.dihedral, q.allow_non_image).await?;
    Ok(Json(hashes_json(&fh, q.dihedral)))
}
