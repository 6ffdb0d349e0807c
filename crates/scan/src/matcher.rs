//! Matching one file's hashes against the opened lists: the policy is
//! [`nigehbaan_match`]'s; this turns its typed hits into report hits.

use crate::model::{CategoryRef, Disposition, Hit};
use nigehbaan_filehash::FileHashes;
use nigehbaan_lists::library::OpenList;
use nigehbaan_lists::HashKind;
use nigehbaan_match::{match_lists, ListHit, Probe};

/// How matching is done (the core's settings; `report.json` records them).
pub use nigehbaan_match::Settings as MatchSettings;

/// What matching one file gave.
pub struct Matched {
    /// Every list entry matched.
    pub hits: Vec<Hit>,
    /// Hit, known or unmatched.
    pub disposition: Disposition,
    /// When the lists disagree: how.
    pub conflict: Option<String>,
    /// Remarks.
    pub notes: Vec<String>,
    /// A list could not be read (the file's match is then incomplete).
    pub error: Option<String>,
}

/// Matches a hashed file against every list.
pub fn match_file(lists: &[OpenList], h: &FileHashes, s: &MatchSettings) -> Matched {
    let m = match_lists(lists, &Probe::of_file(h, s), s.threshold);
    let errors: Vec<String> = m.errors.iter().map(ToString::to_string).collect();
    Matched {
        hits: m.hits.iter().map(|x| report_hit(lists, x)).collect(),
        disposition: m.disposition,
        conflict: m.conflict,
        notes: m.notes.iter().map(ToString::to_string).collect(),
        error: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

/// The report's form of one core hit.
pub fn report_hit(lists: &[OpenList], x: &ListHit) -> Hit {
    let list = &lists[x.list];
    let r = &x.record;
    let listed_hash = match x.found.kind {
        HashKind::Md5 => r.md5.map(|v| nigehbaan_lists::hex::encode(&v)),
        HashKind::Sha1 => r.sha1.map(|v| nigehbaan_lists::hex::encode(&v)),
        HashKind::Sha256 => r.sha256.map(|v| nigehbaan_lists::hex::encode(&v)),
        HashKind::Pdq => r.pdq.map(|p| p.hash.to_hex()),
    };
    Hit {
        list: list.name().to_string(),
        list_version: list.manifest.version.clone(),
        record: x.found.entry,
        match_kind: x.found.kind.into(),
        matched_hashes: x.found.matched.iter().map(|&k| k.into()).collect(),
        distance: x.found.pdq.map(|p| p.distance),
        variant: x.found.pdq.map(|p| p.variant.to_string()),
        listed_hash,
        category: r.category.as_ref().map(|c| CategoryRef {
            scheme: c.scheme.name(),
            code: c.code.clone(),
            label: c.info().map(|i| i.label.to_string()),
        }),
        status: r.status,
        record_id: r.id.clone(),
        series: r.flags.series.clone(),
        video: None,
    }
}
