//! Matching against the opened lists of a library: records, disposition
//! and conflicts.

use crate::{search, Bank, Disposition, Found, HashKey, Near, Note, Probe};
use nigehbaan_index::SearchError;
use nigehbaan_lists::library::{LibraryError, OpenList};
use nigehbaan_lists::{find_conflict, Hash256, Record};
use std::fmt;

impl Bank for OpenList {
    type Entry = u32;
    type Key = u32;
    type Error = SearchError;

    fn exact(&self, key: &HashKey) -> Result<Vec<u32>, SearchError> {
        Ok(match key {
            HashKey::Md5(h) => self.lookup_md5(h).to_vec(),
            HashKey::Sha1(h) => self.lookup_sha1(h).to_vec(),
            HashKey::Sha256(h) => self.lookup_sha256(h).to_vec(),
            HashKey::Pdq(h) => self
                .search_pdq(&[*h], 0)?
                .into_iter()
                .map(|m| m.record)
                .collect(),
        })
    }

    fn near_pdq(
        &self,
        variants: &[Hash256],
        threshold: u32,
    ) -> Result<Vec<Near<u32>>, SearchError> {
        Ok(self
            .search_pdq(variants, threshold)?
            .into_iter()
            .map(|m| Near {
                entry: m.record,
                distance: m.distance,
                variant: m.variant,
            })
            .collect())
    }

    fn key(&self, entry: &u32) -> u32 {
        *entry
    }
}

/// One record of one list that a file matched.
#[derive(Clone, Debug)]
pub struct ListHit {
    /// Which list: its index in the slice given to [`match_lists`].
    pub list: usize,
    /// How it matched; the entry is the record number.
    pub found: Found<u32>,
    /// The record.
    pub record: Record,
}

/// A list could not be searched or read: the file's match is incomplete.
#[derive(Debug)]
pub enum MatchError {
    /// Searching a list's index failed.
    Search {
        /// The list.
        list: String,
        /// Why.
        source: SearchError,
    },
    /// Reading a matched record failed.
    Record(LibraryError),
}

impl fmt::Display for MatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchError::Search { list, source } => write!(f, "list {list}: {source}"),
            MatchError::Record(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for MatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MatchError::Search { source, .. } => Some(source),
            MatchError::Record(e) => Some(e),
        }
    }
}

/// What matching one probe against the lists gave.
#[derive(Debug)]
pub struct Matched {
    /// Every record matched, list by list, in record order.
    pub hits: Vec<ListHit>,
    /// Hit, known or unmatched.
    pub disposition: Disposition,
    /// When the matched records disagree about status or category: how.
    pub conflict: Option<String>,
    /// What was not queried, and why.
    pub notes: Vec<Note>,
    /// Lookups that failed (the match is then incomplete).
    pub errors: Vec<MatchError>,
}

/// Matches a probe against every list.
pub fn match_lists(lists: &[OpenList], probe: &Probe, threshold: u32) -> Matched {
    let mut hits = Vec::new();
    let mut errors = Vec::new();
    if !probe.is_empty() {
        for (i, list) in lists.iter().enumerate() {
            let (found, err) = search(list, probe, threshold);
            if let Some(source) = err {
                errors.push(MatchError::Search {
                    list: list.name().to_string(),
                    source,
                });
            }
            for f in found {
                match list.record(f.entry) {
                    Ok(record) => hits.push(ListHit {
                        list: i,
                        found: f,
                        record,
                    }),
                    Err(e) => errors.push(MatchError::Record(e)),
                }
            }
        }
    }
    let records: Vec<&Record> = hits.iter().map(|h| &h.record).collect();
    Matched {
        disposition: Disposition::of(records.iter().map(|r| r.status)),
        conflict: find_conflict(&records).map(|c| c.description),
        hits,
        notes: probe.notes.clone(),
        errors,
    }
}
