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

use super::hashing::{hash_checked, hashes_json};
use super::query::query_as;
use super::{db, parse_json, path_error, ApiError, ApiResult, Caller, MAX_BATCH};
use crate::matching::{parse_lookup, LookupQuery, Parsed};
use crate::store::{self, AddOptions, HashKind, NewEntry, Selector};
use crate::App;

/// An entry as a request gives it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
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
    /// A video's vPDQ frames (`[{pdq, quality, timestamp}]`).
    pub vpdq: Option<Vec<crate::video::FrameIn>>,
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
        .map(|s| hex::decode_hash::<N>(s, what))
        .transpose()
        .map_err(|e| ApiError::bad("bad_hash", e.to_string()))
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

/// Checks an entry: hex of the right lengths, at least one hash (or vPDQ
/// frames), quality ≤ 100, a known status.
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
        vpdq: match &e.vpdq {
            Some(f) => crate::video::parse_frames(f)?,
            None => Vec::new(),
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
            "an entry needs at least one of md5, sha1, sha256, pdq, vpdq",
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
        vpdq: Vec::new(),
        category: None,
        status: "notable".into(),
        external_id: None,
    }
}

/// `/v1/banks/{bank}/entries/upload`'s parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadEntryParams {
    category_scheme: Option<String>,
    category_code: Option<String>,
    status: Option<String>,
    external_id: Option<String>,
    #[serde(default)]
    allow_non_image: bool,
}

pub(super) async fn add_upload(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Path(name) = name.map_err(path_error)?;
    let q: UploadEntryParams = query_as(&raw)?;
    let category = match (q.category_scheme, q.category_code) {
        (Some(s), Some(c)) => Some((s, c)),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad(
                "bad_category",
                "give both category_scheme and category_code, or neither",
            ))
        }
    };
    let status = check_status(q.status.as_deref())?;
    let external_id = q.external_id;
    let fh = hash_checked(&app, body, false, q.allow_non_image).await?;
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
        vpdq: None,
    };
    match (s.id, lq == LookupQuery::default()) {
        (Some(id), true) => Ok(Selector::Id(id)),
        (None, false) => Ok(match parse_lookup(&lq)? {
            Parsed::Pdq(h) => Selector::Pdq(h),
            Parsed::Exact(HashKind::Md5, v) => Selector::Md5(v.try_into().unwrap_or_default()),
            Parsed::Exact(HashKind::Sha1, v) => Selector::Sha1(v.try_into().unwrap_or_default()),
            Parsed::Exact(_, v) => Selector::Sha256(v.try_into().unwrap_or_default()),
            Parsed::Vpdq(_) => {
                return Err(ApiError::bad(
                    "bad_selector",
                    "give exactly one of id, md5, sha1, sha256, pdq",
                ))
            }
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

/// `/v1/banks/{bank}/entries/remove-upload`'s parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveUploadParams {
    #[serde(default)]
    allow_non_image: bool,
}

pub(super) async fn remove_upload(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let Path(name) = name.map_err(path_error)?;
    let q: RemoveUploadParams = query_as(&raw)?;
    let fh = hash_checked(&app, body, false, q.allow_non_image).await?;
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
