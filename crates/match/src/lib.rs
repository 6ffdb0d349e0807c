//! # nigehbaan-match
//!
//! The one matching core. `nigehbaan scan`, `nigehbaan match` and
//! `nigehbaan serve` all match through it, so the same file against the
//! same hashes gives the same hits on every face; they only serialise what
//! it returns.
//!
//! The policy lives here and nowhere else:
//!
//! * the empty file's digests never match (and nothing else of an empty
//!   file is queried) — [`Probe::new`];
//! * a PDQ hash too small to hash, or of quality under
//!   [`Settings::min_quality`], is not queried, and a [`Note`] says so —
//!   [`Probe::of_file`];
//! * the 8 rotations/flips of a file's PDQ hash are searched unless
//!   [`Settings::dihedral`] is turned off;
//! * one hit per record, however many of the file's hashes matched it, the
//!   strongest hash first — [`search`];
//! * the disposition (hit, known, unmatched) and the conflict between lists
//!   — [`match_lists`].
//!
//! Where the records come from is a [`Bank`]: an opened list
//! ([`nigehbaan_lists::library::OpenList`]) is one, and the service's
//! database-backed banks implement it too.
//!
//! Video (vPDQ feature sets) plugs in as a new [`Perceptual`] variant and a
//! matching [`Bank`] method; it is not matched yet.

#![warn(missing_docs)]

mod lists;

pub use lists::{match_lists, ListHit, MatchError, Matched};
pub use nigehbaan_lists::{HashKey, HashKind, Status};
pub use nigehbaan_pdq::{
    Hash256, DEFAULT_MATCH_THRESHOLD, DIHEDRAL_NAMES, RECOMMENDED_MIN_QUALITY,
};

use nigehbaan_filehash::FileHashes;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a hit matched: an exact digest, PDQ (an image, near) or vPDQ (a
/// video, by the share of frames that matched). In JSON: `md5`, `sha1`,
/// `sha256`, `pdq`, `vpdq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    /// MD5 (exact).
    Md5,
    /// SHA-1 (exact).
    Sha1,
    /// SHA-256 (exact).
    Sha256,
    /// PDQ (an image, by Hamming distance).
    Pdq,
    /// vPDQ (a video, by the share of its frames that matched).
    Vpdq,
}

impl MatchKind {
    /// `md5`, `sha1`, `sha256`, `pdq` or `vpdq`.
    pub fn name(self) -> &'static str {
        match self {
            MatchKind::Md5 => "md5",
            MatchKind::Sha1 => "sha1",
            MatchKind::Sha256 => "sha256",
            MatchKind::Pdq => "pdq",
            MatchKind::Vpdq => "vpdq",
        }
    }

    /// How strong a match of this kind is (0 is strongest): exact before
    /// near, the longer digest first, images before videos.
    pub fn strength(self) -> u8 {
        match self {
            MatchKind::Sha256 => 0,
            MatchKind::Sha1 => 1,
            MatchKind::Md5 => 2,
            MatchKind::Pdq => 3,
            MatchKind::Vpdq => 4,
        }
    }
}

impl From<HashKind> for MatchKind {
    fn from(k: HashKind) -> Self {
        match k {
            HashKind::Md5 => MatchKind::Md5,
            HashKind::Sha1 => MatchKind::Sha1,
            HashKind::Sha256 => MatchKind::Sha256,
            HashKind::Pdq => MatchKind::Pdq,
        }
    }
}

impl fmt::Display for MatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How matching is done: one set of defaults for every face.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The largest PDQ Hamming distance that is a match.
    pub threshold: u32,
    /// PDQ hashes of lower quality are not queried.
    pub min_quality: u8,
    /// Search all 8 rotations/flips of a file's PDQ hash.
    pub dihedral: bool,
}

impl Default for Settings {
    /// Threshold [`DEFAULT_MATCH_THRESHOLD`], minimum quality
    /// [`RECOMMENDED_MIN_QUALITY`], rotations and flips searched.
    fn default() -> Self {
        Settings {
            threshold: DEFAULT_MATCH_THRESHOLD,
            min_quality: RECOMMENDED_MIN_QUALITY,
            dihedral: true,
        }
    }
}

/// What matching concluded about one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Matched a `notable` record: an alert.
    Hit,
    /// Matched only `known` records (e.g. NSRL): set aside.
    Known,
    /// Matched nothing.
    Unmatched,
}

impl Disposition {
    /// The disposition of a file whose hits have these statuses.
    pub fn of(statuses: impl IntoIterator<Item = Status>) -> Disposition {
        let mut out = Disposition::Unmatched;
        for s in statuses {
            match s {
                Status::Notable => return Disposition::Hit,
                Status::Known => out = Disposition::Known,
            }
        }
        out
    }
}

/// The perceptual part of a probe.
///
/// Extension point: vPDQ feature sets for video become a new variant here.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Perceptual {
    /// PDQ: one hash (searched as `orig`), or the 8 dihedral variants in
    /// [`DIHEDRAL_NAMES`] order.
    Pdq(Vec<Hash256>),
}

/// Why part of a file was not queried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    /// The empty file: never matched.
    EmptyFile,
    /// The image is too small for PDQ.
    TooSmallForPdq,
    /// The PDQ quality is below the minimum.
    LowQuality {
        /// The file's PDQ quality.
        quality: u8,
        /// The minimum it was held to.
        min: u8,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::EmptyFile => f.write_str("empty file: never matched"),
            Note::TooSmallForPdq => f.write_str("image too small for PDQ: not queried"),
            Note::LowQuality { quality, min } => {
                write!(f, "PDQ quality {quality} is below {min}: not queried")
            }
        }
    }
}

/// What to match: exact digests and a perceptual hash, with the notes on
/// what was left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// Exact digests (looked up as they are).
    pub exact: Vec<HashKey>,
    /// The perceptual hash, searched within the threshold.
    pub perceptual: Option<Perceptual>,
    /// What was not queried, and why.
    pub notes: Vec<Note>,
}

impl Probe {
    /// A probe of these hashes. When any exact digest is the empty file's,
    /// nothing is queried ([`Note::EmptyFile`]).
    pub fn new(exact: Vec<HashKey>, perceptual: Option<Perceptual>) -> Probe {
        if exact.iter().any(HashKey::is_empty_file) {
            return Probe {
                exact: Vec::new(),
                perceptual: None,
                notes: vec![Note::EmptyFile],
            };
        }
        Probe {
            exact,
            perceptual,
            notes: Vec::new(),
        }
    }

    /// A probe of one hash (a lookup by value): a PDQ hash is searched as
    /// it is (`orig`), within the threshold.
    pub fn of_key(key: HashKey) -> Probe {
        match key {
            HashKey::Pdq(h) => Probe::new(Vec::new(), Some(Perceptual::Pdq(vec![h]))),
            k => Probe::new(vec![k], None),
        }
    }

    /// The probe of a hashed file: its digests, and its PDQ hash (all 8
    /// variants when `s.dihedral` and the file was hashed with them) unless
    /// it is unhashable or of quality under `s.min_quality`.
    pub fn of_file(h: &FileHashes, s: &Settings) -> Probe {
        let exact = match &h.digests {
            Some(d) => vec![
                HashKey::Md5(d.md5),
                HashKey::Sha1(d.sha1),
                HashKey::Sha256(d.sha256),
            ],
            None => Vec::new(),
        };
        let mut note = None;
        let mut perceptual = None;
        if let Some(p) = h.image.as_ref().and_then(|i| i.pdq.as_ref()) {
            if !p.hashable {
                note = Some(Note::TooSmallForPdq);
            } else if p.quality < s.min_quality {
                note = Some(Note::LowQuality {
                    quality: p.quality,
                    min: s.min_quality,
                });
            } else {
                perceptual = Some(Perceptual::Pdq(match (s.dihedral, p.dihedral) {
                    (true, Some(d)) => d.to_vec(),
                    _ => vec![p.hash],
                }));
            }
        }
        let mut probe = Probe::new(exact, perceptual);
        if probe.notes.is_empty() {
            probe.notes.extend(note);
        }
        probe
    }

    /// True when there is nothing to look up.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.perceptual.is_none()
    }

    /// The PDQ hashes searched (none, the hash, or its 8 variants).
    pub fn pdq(&self) -> &[Hash256] {
        match &self.perceptual {
            Some(Perceptual::Pdq(v)) => v,
            None => &[],
        }
    }
}

/// An entry a bank found near a PDQ variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Near<E> {
    /// The entry.
    pub entry: E,
    /// Hamming distance to the closest variant.
    pub distance: u32,
    /// Which variant (index into the hashes searched).
    pub variant: usize,
}

/// A source of records the core matches against: an opened list, or one
/// of the service's database-backed banks.
pub trait Bank {
    /// What a match points at (a record number, a database entry).
    type Entry;
    /// What makes two entries the same record (one hit per record).
    type Key: Ord;
    /// A lookup that failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Entries holding exactly this hash.
    fn exact(&self, key: &HashKey) -> Result<Vec<Self::Entry>, Self::Error>;

    /// Entries with a PDQ hash within `threshold` of any of `variants`,
    /// each once, with its closest variant.
    fn near_pdq(
        &self,
        variants: &[Hash256],
        threshold: u32,
    ) -> Result<Vec<Near<Self::Entry>>, Self::Error>;

    /// The entry's record identity.
    fn key(&self, entry: &Self::Entry) -> Self::Key;
}

/// How a PDQ hit matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdqMatch {
    /// Hamming distance.
    pub distance: u32,
    /// The variant of the file's hash that matched ([`DIHEDRAL_NAMES`];
    /// `orig` when rotations and flips were not searched).
    pub variant: &'static str,
}

/// One record a probe matched, once however many hashes matched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found<E> {
    /// The entry.
    pub entry: E,
    /// The strongest hash that matched it.
    pub kind: HashKind,
    /// Every hash that matched it, strongest first.
    pub matched: Vec<HashKind>,
    /// For a PDQ match: distance and variant.
    pub pdq: Option<PdqMatch>,
}

/// One lookup result before merging: record key, hash kind, PDQ detail,
/// entry.
type Raw<B> = (
    <B as Bank>::Key,
    HashKind,
    Option<PdqMatch>,
    <B as Bank>::Entry,
);

/// Matches a probe against one bank: one [`Found`] per record, in record
/// order. A failed lookup is returned beside what the others found.
pub fn search<B: Bank>(
    bank: &B,
    probe: &Probe,
    threshold: u32,
) -> (Vec<Found<B::Entry>>, Option<B::Error>) {
    let mut error = None;
    let mut all: Vec<Raw<B>> = Vec::new();
    for k in &probe.exact {
        match bank.exact(k) {
            Ok(found) => all.extend(found.into_iter().map(|e| (bank.key(&e), k.kind(), None, e))),
            Err(e) => error = Some(e),
        }
    }
    let variants = probe.pdq();
    if !variants.is_empty() {
        match bank.near_pdq(variants, threshold) {
            Ok(found) => all.extend(found.into_iter().map(|n| {
                let variant = if variants.len() == DIHEDRAL_NAMES.len() {
                    DIHEDRAL_NAMES[n.variant % DIHEDRAL_NAMES.len()]
                } else {
                    DIHEDRAL_NAMES[0]
                };
                let m = PdqMatch {
                    distance: n.distance,
                    variant,
                };
                (bank.key(&n.entry), HashKind::Pdq, Some(m), n.entry)
            })),
            Err(e) => error = Some(e),
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.strength().cmp(&b.1.strength())));
    let mut out: Vec<Found<B::Entry>> = Vec::new();
    let mut last: Option<B::Key> = None;
    for (key, kind, pdq, entry) in all {
        match out.last_mut() {
            Some(f) if last.as_ref() == Some(&key) => {
                if !f.matched.contains(&kind) {
                    f.matched.push(kind);
                }
                f.pdq = f.pdq.or(pdq);
            }
            _ => {
                out.push(Found {
                    entry,
                    kind,
                    matched: vec![kind],
                    pdq,
                });
                last = Some(key);
            }
        }
    }
    (out, error)
}

#[cfg(test)]
mod tests;
