//! Matching one file's hashes against the opened lists.

use crate::model::{CategoryRef, Disposition, Hit};
use nigehbaan_filehash::FileHashes;
use nigehbaan_lists::library::{OpenList, DIHEDRAL_NAMES};
use nigehbaan_lists::model::{EMPTY_MD5, EMPTY_SHA1, EMPTY_SHA256};
use nigehbaan_lists::{find_conflict, hex, Record, Status};
use nigehbaan_pdq::Hash256;

/// How matching is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MatchSettings {
    /// The largest PDQ Hamming distance that is a match.
    pub threshold: u32,
    /// PDQ hashes of lower quality are not queried.
    pub min_quality: u8,
    /// Search all 8 rotations/flips of a file's PDQ hash.
    pub dihedral: bool,
}

/// A record number, the hash that matched it, and for PDQ the distance
/// and the variant.
type Found = (u32, &'static str, Option<(u32, usize)>);

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
    let mut out = Matched {
        hits: Vec::new(),
        disposition: Disposition::Unmatched,
        conflict: None,
        notes: Vec::new(),
        error: None,
    };
    let d = h.digests;
    if d.is_some_and(|d| d.md5 == EMPTY_MD5 || d.sha1 == EMPTY_SHA1 || d.sha256 == EMPTY_SHA256) {
        out.notes.push("empty file: never matched".into());
        return out;
    }
    let mut variants: Vec<Hash256> = Vec::new();
    if let Some(p) = h.image.as_ref().and_then(|i| i.pdq.as_ref()) {
        if !p.hashable {
            out.notes
                .push("image too small for PDQ: not queried".into());
        } else if p.quality < s.min_quality {
            out.notes.push(format!(
                "PDQ quality {} is below {}: not queried",
                p.quality, s.min_quality
            ));
        } else {
            variants = match (s.dihedral, p.dihedral) {
                (true, Some(dh)) => dh.to_vec(),
                _ => vec![p.hash],
            };
        }
    }
    let mut records: Vec<Record> = Vec::new();
    for list in lists {
        let mut found: Vec<Found> = Vec::new();
        if let Some(d) = &d {
            found.extend(list.lookup_md5(&d.md5).iter().map(|&n| (n, "md5", None)));
            found.extend(list.lookup_sha1(&d.sha1).iter().map(|&n| (n, "sha1", None)));
            found.extend(
                list.lookup_sha256(&d.sha256)
                    .iter()
                    .map(|&n| (n, "sha256", None)),
            );
        }
        if !variants.is_empty() {
            match list.search_pdq(&variants, s.threshold) {
                Ok(pdq) => found.extend(
                    pdq.into_iter()
                        .map(|m| (m.record, "pdq", Some((m.distance, m.variant)))),
                ),
                Err(e) => out.error = Some(format!("list {}: {e}", list.name())),
            }
        }
        // One hit per record, however many of the file's hashes matched it.
        found.sort_by_key(|&(n, kind, _)| (n, strength(kind)));
        let mut i = 0;
        while i < found.len() {
            let n = found[i].0;
            let mut j = i;
            while j < found.len() && found[j].0 == n {
                j += 1;
            }
            let same = &found[i..j];
            i = j;
            let r = match list.record(n) {
                Ok(r) => r,
                Err(e) => {
                    out.error = Some(e.to_string());
                    continue;
                }
            };
            let kind = same[0].1;
            let pdq = same.iter().find_map(|f| f.2);
            let listed_hash = match kind {
                "md5" => r.md5.map(|x| hex::encode(&x)),
                "sha1" => r.sha1.map(|x| hex::encode(&x)),
                "sha256" => r.sha256.map(|x| hex::encode(&x)),
                _ => r.pdq.map(|p| p.hash.to_hex()),
            };
            out.hits.push(Hit {
                list: list.name().to_string(),
                list_version: list.manifest.version.clone(),
                record: n,
                match_kind: kind.to_string(),
                matched_hashes: same.iter().map(|f| f.1.to_string()).collect(),
                distance: pdq.map(|(dist, _)| dist),
                variant: pdq.map(|(_, v)| {
                    if variants.len() == 8 {
                        DIHEDRAL_NAMES[v].to_string()
                    } else {
                        "orig".to_string()
                    }
                }),
                listed_hash,
                category: r.category.as_ref().map(|c| CategoryRef {
                    scheme: c.scheme.name(),
                    code: c.code.clone(),
                    label: c.info().map(|i| i.label.to_string()),
                }),
                status: r.status.name().to_string(),
                record_id: r.id.clone(),
                series: r.flags.series.clone(),
                video: None,
            });
            records.push(r);
        }
    }
    if records.iter().any(|r| r.status == Status::Notable) {
        out.disposition = Disposition::Hit;
    } else if !records.is_empty() {
        out.disposition = Disposition::Known;
    }
    let refs: Vec<&Record> = records.iter().collect();
    out.conflict = find_conflict(&refs).map(|c| c.description);
    out
}

/// Exact matches first, strongest digest first.
fn strength(kind: &str) -> u8 {
    match kind {
        "sha256" => 0,
        "sha1" => 1,
        "md5" => 2,
        _ => 3,
    }
}
