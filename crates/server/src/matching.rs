//! Matching: hash-and-match uploads, single and batch lookups. Searches
//! run on blocking threads and are charged to the caller's key by work;
//! banks a request names must exist and be enabled; for matcher keys, far
//! matches do not carry the entry's hashes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use nigehbaan_lists::hex;
use nigehbaan_pdq::Hash256;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::{
    hashes_json, parse_json, upload_hashes, ApiError, ApiResult, Caller, Query, MAX_BATCH,
};
use crate::store::{self, EntryHit, HashKind, Role};
use crate::App;

/// One match.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MatchOut {
    /// The matching entry.
    #[serde(flatten)]
    pub entry: EntryHit,
    /// `md5`, `sha1`, `sha256` or `pdq`.
    #[serde(rename = "match")]
    pub kind: HashKind,
    /// Hamming distance (PDQ), 0 for exact matches.
    pub distance: u32,
    /// For dihedral matching: which variant of the upload matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'static str>,
}

use nigehbaan_lists::library::DIHEDRAL_NAMES as VARIANTS;

/// What to match.
pub(crate) struct Probe {
    exact: Vec<(HashKind, Vec<u8>)>,
    pdq: Vec<Hash256>,
}

fn threshold(q: &Query) -> ApiResult<u32> {
    check_threshold(q.get::<u32>("threshold")?)
}

/// A threshold (the default when absent) that the index can search.
fn check_threshold(t: Option<u32>) -> ApiResult<u32> {
    let t = t.unwrap_or(nigehbaan_pdq::DEFAULT_MATCH_THRESHOLD);
    if t > nigehbaan_index::MAX_RADIUS {
        return Err(ApiError::bad(
            "bad_threshold",
            format!(
                "threshold {t} is over the maximum of {}",
                nigehbaan_index::MAX_RADIUS
            ),
        ));
    }
    Ok(t)
}

fn banks_filter(q: &Query) -> Option<Vec<String>> {
    q.str("banks").map(|b| {
        b.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

/// Candidates from the index for a probe: (hash, distance, variant). No
/// database work, but a wide search takes milliseconds: blocking threads
/// only.
fn pdq_candidates(app: &App, pdq: &[Hash256], t: u32) -> Vec<(Hash256, u32, usize)> {
    let mut best: HashMap<[u64; 4], (u32, usize)> = HashMap::new();
    for (k, v) in pdq.iter().enumerate() {
        if let Ok(found) = app.index.search(v, t) {
            for m in found {
                let e = best.entry(m.hash.0).or_insert((m.distance, k));
                if m.distance < e.0 {
                    *e = (m.distance, k);
                }
            }
        }
    }
    let mut v: Vec<(Hash256, u32, usize)> = best
        .into_iter()
        .map(|(h, (d, k))| (Hash256(h), d, k))
        .collect();
    v.sort_by_key(|(h, d, _)| (*d, h.0));
    v
}

/// Database half of a match: entry details for exact hashes and PDQ
/// candidates. Blocks.
fn resolve(
    app: &App,
    exact: &[(HashKind, Vec<u8>)],
    cands: &[(Hash256, u32, usize)],
    dihedral: bool,
    banks: Option<&[String]>,
) -> Result<Vec<MatchOut>, crate::db::DbError> {
    let mut out = Vec::new();
    if exact.is_empty() && cands.is_empty() {
        return Ok(out);
    }
    let mut c = app.pool.get();
    for (kind, value) in exact {
        for e in store::find(c.as_mut(), *kind, value)? {
            out.push(MatchOut {
                entry: e,
                kind: *kind,
                distance: 0,
                variant: None,
            });
        }
    }
    for (h, d, k) in cands {
        for e in store::find(c.as_mut(), HashKind::Pdq, &h.to_bytes())? {
            out.push(MatchOut {
                entry: e,
                kind: HashKind::Pdq,
                distance: *d,
                variant: dihedral.then_some(VARIANTS[*k % 8]),
            });
        }
    }
    if let Some(b) = banks {
        out.retain(|m| b.contains(&m.entry.bank));
    }
    Ok(out)
}

/// Checks that every bank a request names exists and is enabled: naming a
/// missing or disabled bank would otherwise answer "no match" without
/// having looked. Blocks.
fn check_banks(app: &App, banks: &[String]) -> ApiResult<()> {
    if banks.is_empty() {
        return Err(ApiError::bad(
            "bad_query",
            "banks names no bank; leave it out to match against every enabled bank",
        ));
    }
    let mut c = app.pool.get();
    for name in banks {
        let b = store::get_bank(c.as_mut(), name)?;
        if !b.enabled {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("bank {name:?} is disabled: nothing would be matched against it"),
            ));
        }
    }
    Ok(())
}

/// For matcher keys, a match further than the default threshold carries
/// only what matched and the entry's id, never the entry's hashes: near
/// probes must not harvest a list's hashes.
fn hide_far_hashes(who: &Caller, out: &mut [MatchOut]) {
    if who.role != Role::Matcher {
        return;
    }
    for m in out
        .iter_mut()
        .filter(|m| m.distance > nigehbaan_pdq::DEFAULT_MATCH_THRESHOLD)
    {
        m.entry.md5 = None;
        m.entry.sha1 = None;
        m.entry.sha256 = None;
        m.entry.pdq = None;
    }
}

/// Tokens a probe costs: 1 for its exact digests (one indexed database
/// read each), [`crate::limits::radius_cost`] per PDQ hash.
fn probe_cost(probe: &Probe, t: u32) -> u64 {
    probe.exact.len().min(1) as u64 + probe.pdq.len() as u64 * crate::limits::radius_cost(t)
}

fn lookup_failed<E>(_: E) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "internal",
        "lookup failed; try again",
    )
}

/// Searches the index and the database for a probe on a blocking thread,
/// after charging the caller for the work beyond the request's first token.
async fn run_match(
    app: &Arc<App>,
    who: &Caller,
    probe: Probe,
    t: u32,
    dihedral: bool,
    banks: Option<Vec<String>>,
) -> ApiResult<Vec<MatchOut>> {
    app.charge(
        who.key_id,
        who.rate_limit,
        probe_cost(&probe, t).saturating_sub(1),
    );
    let a = app.clone();
    let who = who.clone();
    tokio::task::spawn_blocking(move || -> ApiResult<Vec<MatchOut>> {
        if let Some(b) = &banks {
            check_banks(&a, b)?;
        }
        let cands = pdq_candidates(&a, &probe.pdq, t);
        let mut out = resolve(&a, &probe.exact, &cands, dihedral, banks.as_deref())?;
        hide_far_hashes(&who, &mut out);
        Ok(out)
    })
    .await
    .map_err(lookup_failed)?
}

pub(crate) async fn match_upload(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let q = Query::new(
        &raw,
        &[
            "threshold",
            "min_quality",
            "dihedral",
            "banks",
            "allow_non_image",
        ],
    )?;
    let t = threshold(&q)?;
    let min_q = q
        .get::<u8>("min_quality")?
        .unwrap_or(nigehbaan_pdq::RECOMMENDED_MIN_QUALITY);
    let (fh, dihedral) = upload_hashes(&app, body, &q).await?;
    let mut probe = Probe {
        exact: Vec::new(),
        pdq: Vec::new(),
    };
    if let Some(d) = fh.digests {
        probe.exact = vec![
            (HashKind::Md5, d.md5.to_vec()),
            (HashKind::Sha1, d.sha1.to_vec()),
            (HashKind::Sha256, d.sha256.to_vec()),
        ];
    }
    let mut pdq_used = false;
    if let Some(p) = fh.image.as_ref().and_then(|i| i.pdq.as_ref()) {
        if p.hashable && p.quality >= min_q {
            pdq_used = true;
            probe.pdq = match (dihedral, p.dihedral) {
                (true, Some(d)) => d.to_vec(),
                _ => vec![p.hash],
            };
        }
    }
    let matches = run_match(&app, &who, probe, t, dihedral, banks_filter(&q)).await?;
    Ok(Json(json!({
        "hashes": hashes_json(&fh, dihedral),
        "pdq_matched": pdq_used,
        "matches": matches,
    })))
}

/// One hash to look up.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// PDQ hex.
    pub pdq: Option<String>,
    /// MD5 hex.
    pub md5: Option<String>,
    /// SHA-1 hex.
    pub sha1: Option<String>,
    /// SHA-256 hex.
    pub sha256: Option<String>,
}

/// A parsed lookup: exactly one hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Exact lookup.
    Exact(HashKind, Vec<u8>),
    /// PDQ range lookup.
    Pdq(Hash256),
}

/// Checks a lookup query: exactly one hash, in hex of the right length.
pub fn parse_lookup(q: &LookupQuery) -> ApiResult<Parsed> {
    let given: Vec<(HashKind, &String)> = [
        (HashKind::Pdq, &q.pdq),
        (HashKind::Md5, &q.md5),
        (HashKind::Sha1, &q.sha1),
        (HashKind::Sha256, &q.sha256),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    .collect();
    let [(kind, value)] = given.as_slice() else {
        return Err(ApiError::bad(
            "bad_lookup",
            "give exactly one of pdq, md5, sha1, sha256",
        ));
    };
    let bad = |e: hex::HashTextError| ApiError::bad("bad_hash", e.to_string());
    Ok(match kind {
        HashKind::Pdq => Parsed::Pdq(Hash256::from_bytes(
            &hex::decode_hash::<32>(value, "pdq").map_err(bad)?,
        )),
        HashKind::Md5 => Parsed::Exact(
            *kind,
            hex::decode_hash::<16>(value, "md5").map_err(bad)?.to_vec(),
        ),
        HashKind::Sha1 => Parsed::Exact(
            *kind,
            hex::decode_hash::<20>(value, "sha1").map_err(bad)?.to_vec(),
        ),
        HashKind::Sha256 => Parsed::Exact(
            *kind,
            hex::decode_hash::<32>(value, "sha256")
                .map_err(bad)?
                .to_vec(),
        ),
    })
}

pub(crate) fn probe_of(p: Parsed) -> Probe {
    match p {
        Parsed::Exact(k, v) => Probe {
            exact: vec![(k, v)],
            pdq: Vec::new(),
        },
        Parsed::Pdq(h) => Probe {
            exact: Vec::new(),
            pdq: vec![h],
        },
    }
}

pub(crate) async fn lookup_one(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    raw: RawQuery,
) -> ApiResult<Json<Value>> {
    let q = Query::new(
        &raw,
        &["pdq", "md5", "sha1", "sha256", "threshold", "banks"],
    )?;
    let t = threshold(&q)?;
    let lq = LookupQuery {
        pdq: q.str("pdq").map(str::to_string),
        md5: q.str("md5").map(str::to_string),
        sha1: q.str("sha1").map(str::to_string),
        sha256: q.str("sha256").map(str::to_string),
    };
    let probe = probe_of(parse_lookup(&lq)?);
    let matches = run_match(&app, &who, probe, t, false, banks_filter(&q)).await?;
    Ok(Json(json!({ "matches": matches })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchLookup {
    queries: Vec<LookupQuery>,
    threshold: Option<u32>,
    banks: Option<Vec<String>>,
}

pub(crate) async fn lookup_batch(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let req: BatchLookup = parse_json(body)?;
    if req.queries.is_empty() || req.queries.len() > MAX_BATCH {
        return Err(ApiError::bad(
            "bad_batch",
            format!(
                "a batch has 1 to {MAX_BATCH} queries, not {}",
                req.queries.len()
            ),
        ));
    }
    let t = check_threshold(req.threshold)?;
    if t > who.max_batch_threshold {
        return Err(ApiError::bad(
            "bad_threshold",
            format!(
                "a batch threshold of {t} is over this key's limit of {} (an admin can give the key a higher max_batch_threshold)",
                who.max_batch_threshold
            ),
        ));
    }
    let mut parsed = Vec::with_capacity(req.queries.len());
    for (i, q) in req.queries.iter().enumerate() {
        parsed.push(parse_lookup(q).map_err(|e| ApiError {
            message: format!("query {i}: {}", e.message),
            ..e
        })?);
    }
    let probes: Vec<Probe> = parsed.into_iter().map(probe_of).collect();
    let cost: u64 = probes.iter().map(|p| probe_cost(p, t)).sum();
    app.charge(who.key_id, who.rate_limit, cost.saturating_sub(1));
    let a = app.clone();
    let banks = req.banks;
    let results = tokio::task::spawn_blocking(move || -> ApiResult<Vec<Value>> {
        if let Some(b) = &banks {
            check_banks(&a, b)?;
        }
        let mut out = Vec::with_capacity(probes.len());
        for (probe, q) in probes.into_iter().zip(req.queries) {
            let cands = pdq_candidates(&a, &probe.pdq, t);
            let mut m = resolve(&a, &probe.exact, &cands, false, banks.as_deref())?;
            hide_far_hashes(&who, &mut m);
            out.push(json!({"query": lookup_json(&q), "matches": m}));
        }
        Ok(out)
    })
    .await
    .map_err(lookup_failed)??;
    Ok(Json(json!({ "results": results })))
}

fn lookup_json(q: &LookupQuery) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in [
        ("pdq", &q.pdq),
        ("md5", &q.md5),
        ("sha1", &q.sha1),
        ("sha256", &q.sha256),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v.trim().to_ascii_lowercase()));
        }
    }
    Value::Object(m)
}
