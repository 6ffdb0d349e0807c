//! Entries: add by hash or by upload, remove by id, hash or upload.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use nigehbaan_filehash::FileHashes;
use nigehbaan_lists::hex;
use nigehbaan_pdq::Hash256;
use serde::Deserialize;
use serde_json::{json, Value};

use super::hashing::{hashes_json, upload_hashes};
use super::{db, parse_json, path_error, ApiError, ApiResult, Caller, Query, MAX_BATCH};
use crate::matching::{parse_lookup, LookupQuery, Parsed};
use crate::store::{self, AddOptions, HashKind, NewEntry, Selector};
use crate::App;

/// An entry as a request gives it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EntryIn {
    /// MD5 hex.
    pub md5: Option<String>,
    /// SHA-1 hex.
    pub sha1: Option<String>,
    /// SHA-256 hex.
    pub sha256: Option<String>,
    /// PDQ hex.
    pub pdq: Option<String>,
    /// PDQ quality 0–100.
    pub pdq_quality: Option<u8>,
    /// Category.
    pub category: Option<CategoryIn>,
    /// `notable` (default) or `known`.
    pub status: Option<String>,
    /// The issuer's id.
    pub external_id: Option<String>,
}

/// A category as a request gives it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CategoryIn {
    /// Scheme name.
    pub scheme: String,
    /// Code.
    pub code: String,
}

fn opt_hex<const N: usize>(v: &Option<String>, what: &str) -> ApiResult<Option<[u8; N]>> {
    v.as_ref()
        .map(|s| hex::decode_fixed::<N>(s, what))
        .transpose()
        .map_err(|m| ApiError::bad("bad_hash", m))
}

fn check_status(s: Option<&str>) -> ApiResult<String> {
    match s.unwrap_or("notable") {
        s @ ("notable" | "known") => Ok(s.to_string()),
        other => Err(ApiError::bad(
            "bad_status",
            format!("status must be notable or known, not {other:?}"),
        )),
    }
}

/// Checks an entry: hex of the right lengths, at least one hash, quality
/// ≤ 100, a known status.
pub fn parse_entry(e: &EntryIn) -> ApiResult<NewEntry> {
    let n = NewEntry {
        md5: opt_hex::<16>(&e.md5, "md5")?,
        sha1: opt_hex::<20>(&e.sha1, "sha1")?,
        sha256: opt_hex::<32>(&e.sha256, "sha256")?,
        pdq: opt_hex::<32>(&e.pdq, "pdq")?.map(|b| Hash256::from_bytes(&b)),
        pdq_quality: match e.pdq_quality {
            Some(q) if q > 100 => {
                return Err(ApiError::bad("bad_quality", "pdq_quality is 0 to 100"))
            }
            q => q,
        },
        category: e
            .category
            .as_ref()
            .map(|c| (c.scheme.trim().to_string(), c.code.trim().to_string())),
        status: check_status(e.status.as_deref())?,
        external_id: e.external_id.clone(),
    };
    if !n.has_hash() {
        return Err(ApiError::bad(
            "no_hash",
            "an entry needs at least one of md5, sha1, sha256, pdq",
        ));
    }
    Ok(n)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEntries {
    entries: Vec<EntryIn>,
}

fn batch_len(n: usize) -> ApiResult<()> {
    if n == 0 || n > MAX_BATCH {
        return Err(ApiError::bad(
            "bad_batch",
            format!("give 1 to {MAX_BATCH} items, not {n}"),
        ));
    }
    Ok(())
}

pub(super) async fn add_entries(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Path(name) = name.map_err(path_error)?;
    let req: NewEntries = parse_json(body)?;
    batch_len(req.entries.len())?;
    let mut entries = Vec::with_capacity(req.entries.len());
    for (i, e) in req.entries.iter().enumerate() {
        entries.push(parse_entry(e).map_err(|e| ApiError {
            message: format!("entry {i}: {}", e.message),
            ..e
        })?);
    }
    let (ids, _) = db(&app, true, move |c| {
        let opts = AddOptions {
            actor: &who.actor,
            bank: &name,
            create: false,
            replace: false,
            want_ids: true,
            action: "entries.add",
            detail: json!({}),
        };
        Ok(store::add_entries(c, &opts, &entries)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "ids": ids }))))
}

fn upload_entry(fh: &FileHashes) -> NewEntry {
    let p = fh
        .image
        .as_ref()
        .and_then(|i| i.pdq.as_ref())
        .filter(|p| p.hashable);
    NewEntry {
        md5: fh.digests.map(|d| d.md5),
        sha1: fh.digests.map(|d| d.sha1),
        sha256: fh.digests.map(|d| d.sha256),
        pdq: p.map(|p| p.hash),
        pdq_quality: p.map(|p| p.quality),
        category: None,
        status: "notable".into(),
        external_id: None,
    }
}

pub(super) async fn add_upload(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Path(name) = name.map_err(path_error)?;
    let q = Query::new(
        &raw,
        &[
            "category_scheme",
            "category_code",
            "status",
            "external_id",
            "allow_non_image",
        ],
    )?;
    let category = match (q.str("category_scheme"), q.str("category_code")) {
        (Some(s), Some(c)) => Some((s.to_string(), c.to_string())),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad(
                "bad_category",
                "give both category_scheme and category_code, or neither",
            ))
        }
    };
    let status = check_status(q.str("status"))?;
    let external_id = q.str("external_id").map(str::to_string);
    let (fh, _) = upload_hashes(&app, body, &q, false).await?;
    let mut entry = upload_entry(&fh);
    entry.category = category;
    entry.status = status;
    entry.external_id = external_id;
    let hashes = hashes_json(&fh, false);
    let (ids, _) = db(&app, true, move |c| {
        let opts = AddOptions {
            actor: &who.actor,
            bank: &name,
            create: false,
            replace: false,
            want_ids: true,
            action: "entries.add_upload",
            detail: json!({}),
        };
        Ok(store::add_entries(c, &opts, &[entry])?)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "ids": ids, "hashes": hashes })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectorIn {
    id: Option<i64>,
    md5: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
    pdq: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Selectors {
    entries: Vec<SelectorIn>,
}

fn parse_selector(s: &SelectorIn) -> ApiResult<Selector> {
    let lq = LookupQuery {
        pdq: s.pdq.clone(),
        md5: s.md5.clone(),
        sha1: s.sha1.clone(),
        sha256: s.sha256.clone(),
    };
    match (s.id, lq == LookupQuery::default()) {
        (Some(id), true) => Ok(Selector::Id(id)),
        (None, false) => Ok(match parse_lookup(&lq)? {
            Parsed::Pdq(h) => Selector::Pdq(h),
            Parsed::Exact(HashKind::Md5, v) => Selector::Md5(v.try_into().unwrap_or_default()),
            Parsed::Exact(HashKind::Sha1, v) => Selector::Sha1(v.try_into().unwrap_or_default()),
            Parsed::Exact(_, v) => Selector::Sha256(v.try_into().unwrap_or_default()),
        }),
        _ => Err(ApiError::bad(
            "bad_selector",
            "give exactly one of id, md5, sha1, sha256, pdq",
        )),
    }
}

pub(super) async fn remove_entries(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let Path(name) = name.map_err(path_error)?;
    let req: Selectors = parse_json(body)?;
    batch_len(req.entries.len())?;
    let sels = req
        .entries
        .iter()
        .map(parse_selector)
        .collect::<ApiResult<Vec<_>>>()?;
    let ids = db(&app, true, move |c| {
        Ok(store::remove_entries(c, &who.actor, &name, &sels)?)
    })
    .await?;
    Ok(Json(json!({ "removed": ids })))
}

pub(super) async fn remove_upload(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let Path(name) = name.map_err(path_error)?;
    let q = Query::new(&raw, &["allow_non_image"])?;
    let (fh, _) = upload_hashes(&app, body, &q, false).await?;
    let e = upload_entry(&fh);
    let mut sels = Vec::new();
    sels.extend(e.md5.map(Selector::Md5));
    sels.extend(e.sha1.map(Selector::Sha1));
    sels.extend(e.sha256.map(Selector::Sha256));
    sels.extend(e.pdq.map(Selector::Pdq));
    let mut ids = db(&app, true, move |c| {
        Ok(store::remove_entries(c, &who.actor, &name, &sels)?)
    })
    .await?;
    ids.sort_unstable();
    ids.dedup();
    Ok(Json(json!({ "removed": ids })))
}

pub(super) async fn remove_entry(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    p: Result<Path<(String, i64)>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let Path((name, id)) = p.map_err(path_error)?;
    let ids = db(&app, true, move |c| {
        Ok(store::remove_entries(
            c,
            &who.actor,
            &name,
            &[Selector::Id(id)],
        )?)
    })
    .await?;
    if ids.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no entry {id} in this bank"),
        ));
    }
    Ok(Json(json!({ "removed": ids })))
}
