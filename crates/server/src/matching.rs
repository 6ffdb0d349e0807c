//! Matching: hash-and-match uploads (images and videos), single and batch
//! lookups (hashes and vPDQ feature sets). Searches run on blocking
//! threads and are charged to the caller's key by work; banks a request
//! names must exist and be enabled; for matcher keys, far matches do not
//! carry the entry's hashes.
//!
//! Exact digests and PDQ go through the matching core
//! (`nigehbaan_match::search`); a video's frames go through the live
//! frame index ([`crate::video::VideoBank`]) and the vPDQ aggregation of
//! `nigehbaan-video`, the same as `scan` and `match` use on lists.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use nigehbaan_lists::{hex, HashKey};
use nigehbaan_match::{search, Bank, MatchKind, Near, Probe, Settings};
use nigehbaan_pdq::Hash256;
use nigehbaan_video::{FrameHash, MatchOptions, VpdqDetail};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::{
    hash_media, hashes_json, parse_json, query_as, video_json, ApiError, ApiResult, Caller, Media,
    MAX_BATCH,
};
use crate::store::{self, EntryHit, HashKind, Role};
use crate::App;
use nigehbaan_match::Note;

/// One match.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MatchOut {
    /// The matching entry.
    #[serde(flatten)]
    pub entry: EntryHit,
    /// `md5`, `sha1`, `sha256`, `pdq` or `vpdq`.
    #[serde(rename = "match")]
    pub kind: MatchKind,
    /// Hamming distance (PDQ), 0 for exact matches; absent for `vpdq`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// For a PDQ match: which rotation/flip of the upload matched (`orig`
    /// when only the original was searched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'static str>,
    /// For a video that matched by vPDQ: percentages, frame counts and
    /// time ranges (fields of the match, as in `nigehbaan match`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub video: Option<VpdqDetail>,
}

/// The vPDQ thresholds of a request (python-threatexchange's defaults:
/// distance 31, query 80 %, compared 0 %).
fn vpdq_options(
    distance: Option<u32>,
    query_percent: Option<f64>,
    compared_percent: Option<f64>,
) -> ApiResult<MatchOptions> {
    let d = MatchOptions::default();
    let distance = distance.unwrap_or(d.distance);
    if distance > nigehbaan_index::MAX_RADIUS {
        return Err(ApiError::bad(
            "bad_threshold",
            format!(
                "vpdq_distance {distance} is over the maximum of {}",
                nigehbaan_index::MAX_RADIUS
            ),
        ));
    }
    let pct = |v: Option<f64>, default: f64, name: &str| -> ApiResult<f64> {
        match v {
            None => Ok(default),
            Some(p) if (0.0..=100.0).contains(&p) => Ok(p),
            Some(p) => Err(ApiError::bad(
                "bad_threshold",
                format!("{name} is a percentage 0 to 100, not {p}"),
            )),
        }
    };
    Ok(MatchOptions {
        distance,
        query_match_percent: pct(query_percent, d.query_match_percent, "vpdq_query_percent")?,
        compared_match_percent: pct(
            compared_percent,
            d.compared_match_percent,
            "vpdq_compared_percent",
        )?,
        ..d
    })
}

/// A video query: its frames and the thresholds.
#[derive(Debug, Clone)]
pub(crate) struct VideoQuery {
    frames: Vec<FrameHash>,
    opts: MatchOptions,
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

fn banks_filter(banks: Option<&str>) -> Option<Vec<String>> {
    banks.map(|b| {
        b.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

/// The service's enabled banks as one [`Bank`] of the matching core:
/// exact digests from the database, PDQ candidates from the in-memory
/// index resolved to their database entries. Blocks.
struct DbBank<'a> {
    app: &'a App,
    conn: RefCell<std::sync::MutexGuard<'a, Box<dyn crate::db::Conn>>>,
}

/// A lookup in the service's banks that failed.
#[derive(Debug)]
enum BankError {
    /// The database.
    Db(crate::db::DbError),
    /// The PDQ index.
    Index(nigehbaan_index::SearchError),
}

impl std::fmt::Display for BankError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BankError::Db(e) => write!(f, "database: {e}"),
            BankError::Index(e) => write!(f, "PDQ index: {e}"),
        }
    }
}

impl std::error::Error for BankError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BankError::Db(e) => Some(e),
            BankError::Index(e) => Some(e),
        }
    }
}

impl From<BankError> for ApiError {
    fn from(e: BankError) -> Self {
        match e {
            BankError::Db(e) => e.into(),
            BankError::Index(_) => lookup_failed(e),
        }
    }
}

impl Bank for DbBank<'_> {
    type Entry = EntryHit;
    type Key = i64;
    type Error = BankError;

    fn exact(&self, key: &HashKey) -> Result<Vec<EntryHit>, BankError> {
        let bytes = match key {
            HashKey::Md5(h) => h.to_vec(),
            HashKey::Sha1(h) => h.to_vec(),
            HashKey::Sha256(h) => h.to_vec(),
            HashKey::Pdq(h) => h.to_bytes().to_vec(),
        };
        store::find(self.conn.borrow_mut().as_mut(), key.kind(), &bytes).map_err(BankError::Db)
    }

    fn near_pdq(&self, variants: &[Hash256], t: u32) -> Result<Vec<Near<EntryHit>>, BankError> {
        // The closest variant for each distinct hash in the index.
        let mut best: HashMap<[u64; 4], (u32, usize)> = HashMap::new();
        for (k, v) in variants.iter().enumerate() {
            for m in self.app.index.search(v, t).map_err(BankError::Index)? {
                let e = best.entry(m.hash.0).or_insert((m.distance, k));
                if m.distance < e.0 {
                    *e = (m.distance, k);
                }
            }
        }
        let mut out = Vec::new();
        for (h, (distance, variant)) in best {
            let bytes = Hash256(h).to_bytes();
            let found = store::find(self.conn.borrow_mut().as_mut(), HashKind::Pdq, &bytes)
                .map_err(BankError::Db)?;
            out.extend(found.into_iter().map(|entry| Near {
                entry,
                distance,
                variant,
            }));
        }
        Ok(out)
    }

    fn key(&self, e: &EntryHit) -> i64 {
        e.entry_id
    }
}

/// Matches a probe against the enabled banks (those named, when `banks`
/// is given) through the matching core: one match per entry. Blocks.
fn resolve(
    app: &App,
    probe: &Probe,
    t: u32,
    banks: Option<&[String]>,
) -> Result<Vec<MatchOut>, BankError> {
    if probe.is_empty() {
        return Ok(Vec::new());
    }
    let bank = DbBank {
        app,
        conn: RefCell::new(app.pool.get()),
    };
    let (found, err) = search(&bank, probe, t);
    if let Some(e) = err {
        return Err(e);
    }
    let mut out: Vec<MatchOut> = found
        .into_iter()
        .map(|f| MatchOut {
            entry: f.entry,
            kind: f.kind.into(),
            distance: Some(f.pdq.map_or(0, |p| p.distance)),
            variant: f.pdq.map(|p| p.variant),
            video: None,
        })
        .collect();
    if let Some(b) = banks {
        out.retain(|m| b.contains(&m.entry.bank));
    }
    Ok(out)
}

/// Matches a video's frames against the video entries of the enabled banks
/// (those named, when `banks` is given), and merges the hits into `out`:
/// an entry already matched by a digest keeps that match and gains the
/// vPDQ fields (one match per entry). Blocks.
fn resolve_video(
    app: &App,
    q: &VideoQuery,
    banks: Option<&[String]>,
    out: &mut Vec<MatchOut>,
) -> Result<(), BankError> {
    let found = app
        .video
        .query(&q.frames, &q.opts)
        .map_err(BankError::Index)?;
    if found.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let entries: HashMap<i64, EntryHit> = store::find_ids(app.pool.get().as_mut(), &ids)
        .map_err(BankError::Db)?
        .into_iter()
        .map(|e| (e.entry_id, e))
        .collect();
    for (id, m) in found {
        let Some(entry) = entries.get(&id) else {
            // A disabled bank's entry (or one removed meanwhile).
            continue;
        };
        if banks.is_some_and(|b| !b.contains(&entry.bank)) {
            continue;
        }
        let detail = VpdqDetail::of(
            &m,
            &nigehbaan_video::time_ranges(&q.frames, &m.matched_query_frame_numbers),
        );
        match out.iter_mut().find(|o| o.entry.entry_id == id) {
            Some(o) => o.video = Some(detail),
            None => out.push(MatchOut {
                entry: entry.clone(),
                kind: MatchKind::Vpdq,
                distance: None,
                variant: None,
                video: Some(detail),
            }),
        }
    }
    out.sort_by_key(|m| m.entry.entry_id);
    Ok(())
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

/// For matcher keys, a match further than the default threshold (a PDQ
/// distance, or for a vPDQ match the frame distance asked for) carries
/// only what matched and the entry's id, never the entry's hashes: near
/// probes must not harvest a list's hashes.
fn hide_far_hashes(who: &Caller, out: &mut [MatchOut], vpdq_distance: u32) {
    if who.role != Role::Matcher {
        return;
    }
    let far = |m: &MatchOut| match m.distance {
        Some(d) => d > nigehbaan_pdq::DEFAULT_MATCH_THRESHOLD,
        None => vpdq_distance > nigehbaan_pdq::DEFAULT_MATCH_THRESHOLD,
    };
    for m in out.iter_mut().filter(|m| far(m)) {
        m.entry.md5 = None;
        m.entry.sha1 = None;
        m.entry.sha256 = None;
        m.entry.pdq = None;
    }
}

/// Tokens a probe costs: 1 for its exact digests (one indexed database
/// read each), [`crate::limits::radius_cost`] per PDQ hash.
fn probe_cost(probe: &Probe, t: u32) -> u64 {
    probe.exact.len().min(1) as u64 + probe.pdq().len() as u64 * crate::limits::radius_cost(t)
}

/// Tokens a video query costs: one search per usable frame.
fn video_cost(q: Option<&VideoQuery>) -> u64 {
    q.map_or(0, |q| {
        nigehbaan_video::matching::prepare(&q.frames, crate::video::QUALITY_THRESHOLD).len() as u64
            * crate::limits::radius_cost(q.opts.distance)
    })
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
    video: Option<VideoQuery>,
    banks: Option<Vec<String>>,
) -> ApiResult<Vec<MatchOut>> {
    app.charge(
        who.key_id,
        who.rate_limit,
        (probe_cost(&probe, t) + video_cost(video.as_ref())).saturating_sub(1),
    );
    let a = app.clone();
    let who = who.clone();
    tokio::task::spawn_blocking(move || -> ApiResult<Vec<MatchOut>> {
        if let Some(b) = &banks {
            check_banks(&a, b)?;
        }
        let mut out = resolve(&a, &probe, t, banks.as_deref())?;
        let mut vd = 0;
        if let Some(q) = &video {
            resolve_video(&a, q, banks.as_deref(), &mut out)?;
            vd = q.opts.distance;
        }
        hide_far_hashes(&who, &mut out, vd);
        Ok(out)
    })
    .await
    .map_err(lookup_failed)?
}

/// `/v1/match`'s parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchParams {
    threshold: Option<u32>,
    min_quality: Option<u8>,
    dihedral: Option<bool>,
    banks: Option<String>,
    #[serde(default)]
    allow_non_image: bool,
    vpdq_distance: Option<u32>,
    vpdq_query_percent: Option<f64>,
    vpdq_compared_percent: Option<f64>,
}

/// `/v1/lookup`'s parameters: one hash (or vPDQ feature set), thresholds,
/// banks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupParams {
    pdq: Option<String>,
    md5: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
    vpdq: Option<String>,
    threshold: Option<u32>,
    banks: Option<String>,
    vpdq_distance: Option<u32>,
    vpdq_query_percent: Option<f64>,
    vpdq_compared_percent: Option<f64>,
}

pub(crate) async fn match_upload(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    raw: RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let q: MatchParams = query_as(&raw)?;
    let t = check_threshold(q.threshold)?;
    let vopts = vpdq_options(
        q.vpdq_distance,
        q.vpdq_query_percent,
        q.vpdq_compared_percent,
    )?;
    let min_q = q
        .min_quality
        .unwrap_or(nigehbaan_pdq::RECOMMENDED_MIN_QUALITY);
    // Rotations and flips are searched unless turned off, as in `scan`
    // and `match`.
    let dihedral = q.dihedral.unwrap_or(true);
    let banks = banks_filter(q.banks.as_deref());
    let settings = Settings {
        threshold: t,
        min_quality: min_q,
        dihedral,
    };
    match hash_media(&app, body, dihedral, q.allow_non_image).await? {
        Media::Image(fh) => {
            let probe = Probe::of_file(&fh, &settings);
            let pdq_used = !probe.pdq().is_empty();
            let matches = run_match(&app, &who, probe, t, None, banks).await?;
            Ok(Json(json!({
                "hashes": hashes_json(&fh, dihedral),
                "pdq_matched": pdq_used,
                "vpdq_matched": false,
                "incomplete": false,
                "incomplete_reason": null,
                "matches": matches,
            })))
        }
        Media::Video(v) => {
            // The digests always; the frames when the video was hashed.
            let probe = Probe::of_file(&v.fh, &settings);
            let frames = v.frames().to_vec();
            let usable = !frames.is_empty() && !probe.notes.contains(&Note::EmptyFile);
            let video = usable.then_some(VideoQuery {
                frames,
                opts: vopts,
            });
            let vpdq_used = video.is_some();
            let matches = run_match(&app, &who, probe, t, video, banks).await?;
            let incomplete = v.incomplete();
            Ok(Json(json!({
                "hashes": video_json(&v),
                "pdq_matched": false,
                "vpdq_matched": vpdq_used,
                "incomplete": incomplete.is_some(),
                "incomplete_reason": incomplete,
                "matches": matches,
            })))
        }
    }
}

/// One hash to look up.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
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
    /// A video's vPDQ features.
    pub vpdq: Option<VpdqIn>,
}

/// A vPDQ feature set as a request gives it: frames, or text (HMA's signal
/// string, or reference-format lines joined by `;`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum VpdqIn {
    /// `[{pdq, quality, timestamp}]`.
    Frames(Vec<crate::video::FrameIn>),
    /// HMA's signal string or `;`-joined reference lines.
    Text(String),
}

/// A parsed lookup: exactly one hash.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Exact lookup.
    Exact(HashKind, Vec<u8>),
    /// PDQ range lookup.
    Pdq(Hash256),
    /// A video's frames.
    Vpdq(Vec<FrameHash>),
}

/// Checks a lookup query: exactly one hash, in hex of the right length
/// (or one vPDQ feature set).
pub fn parse_lookup(q: &LookupQuery) -> ApiResult<Parsed> {
    if let Some(v) = &q.vpdq {
        if q.pdq.is_some() || q.md5.is_some() || q.sha1.is_some() || q.sha256.is_some() {
            return Err(ApiError::bad(
                "bad_lookup",
                "give exactly one of pdq, md5, sha1, sha256, vpdq",
            ));
        }
        return Ok(Parsed::Vpdq(match v {
            VpdqIn::Frames(f) => crate::video::parse_frames(f)?,
            VpdqIn::Text(t) => crate::video::parse_frames_text(t)?,
        }));
    }
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
            "give exactly one of pdq, md5, sha1, sha256, vpdq",
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

/// The probe of a parsed hash lookup, or the video query of a vPDQ one.
pub(crate) fn query_of(p: Parsed, opts: MatchOptions) -> (Probe, Option<VideoQuery>) {
    match p {
        Parsed::Vpdq(frames) => (Probe::default(), Some(VideoQuery { frames, opts })),
        p => (probe_of(p), None),
    }
}

pub(crate) fn probe_of(p: Parsed) -> Probe {
    Probe::of_key(match p {
        Parsed::Vpdq(_) => return Probe::default(),
        Parsed::Exact(HashKind::Md5, v) => HashKey::Md5(v.try_into().unwrap_or_default()),
        Parsed::Exact(HashKind::Sha1, v) => HashKey::Sha1(v.try_into().unwrap_or_default()),
        Parsed::Exact(HashKind::Sha256, v) => HashKey::Sha256(v.try_into().unwrap_or_default()),
        Parsed::Exact(HashKind::Pdq, v) => {
            HashKey::Pdq(Hash256::from_bytes(&v.try_into().unwrap_or_default()))
        }
        Parsed::Pdq(h) => HashKey::Pdq(h),
    })
}

pub(crate) async fn lookup_one(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    raw: RawQuery,
) -> ApiResult<Json<Value>> {
    let q: LookupParams = query_as(&raw)?;
    let t = check_threshold(q.threshold)?;
    let vopts = vpdq_options(
        q.vpdq_distance,
        q.vpdq_query_percent,
        q.vpdq_compared_percent,
    )?;
    let parsed = parse_lookup(&LookupQuery {
        pdq: q.pdq,
        md5: q.md5,
        sha1: q.sha1,
        sha256: q.sha256,
        vpdq: q.vpdq.map(VpdqIn::Text),
    })?;
    let (probe, video) = query_of(parsed, vopts);
    let matches = run_match(
        &app,
        &who,
        probe,
        t,
        video,
        banks_filter(q.banks.as_deref()),
    )
    .await?;
    Ok(Json(json!({ "matches": matches })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchLookup {
    queries: Vec<LookupQuery>,
    threshold: Option<u32>,
    banks: Option<Vec<String>>,
    vpdq_distance: Option<u32>,
    vpdq_query_percent: Option<f64>,
    vpdq_compared_percent: Option<f64>,
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
    let vopts = vpdq_options(
        req.vpdq_distance,
        req.vpdq_query_percent,
        req.vpdq_compared_percent,
    )?;
    if vopts.distance > who.max_batch_threshold {
        return Err(ApiError::bad(
            "bad_threshold",
            format!(
                "a batch vpdq_distance of {} is over this key's limit of {} (an admin can give the key a higher max_batch_threshold)",
                vopts.distance, who.max_batch_threshold
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
    let probes: Vec<(Probe, Option<VideoQuery>)> =
        parsed.into_iter().map(|p| query_of(p, vopts)).collect();
    let cost: u64 = probes
        .iter()
        .map(|(p, v)| probe_cost(p, t) + video_cost(v.as_ref()))
        .sum();
    app.charge(who.key_id, who.rate_limit, cost.saturating_sub(1));
    let a = app.clone();
    let banks = req.banks;
    let results = tokio::task::spawn_blocking(move || -> ApiResult<Vec<Value>> {
        if let Some(b) = &banks {
            check_banks(&a, b)?;
        }
        let mut out = Vec::with_capacity(probes.len());
        for ((probe, video), q) in probes.into_iter().zip(req.queries) {
            let mut m = resolve(&a, &probe, t, banks.as_deref())?;
            if let Some(v) = &video {
                resolve_video(&a, v, banks.as_deref(), &mut m)?;
            }
            hide_far_hashes(&who, &mut m, vopts.distance);
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
    if q.vpdq.is_some() {
        // The frames are the caller's own; echo how many, not all of them.
        let n = match parse_lookup(q) {
            Ok(Parsed::Vpdq(f)) => f.len(),
            _ => 0,
        };
        m.insert("vpdq_frames".into(), json!(n));
    }
    Value::Object(m)
}
