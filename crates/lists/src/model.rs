//! The hash-list record model: hashes, category and scheme, VICS flags,
//! status and provenance, and the conflict check between lists.

use std::fmt;
use std::sync::Arc;

use nigehbaan_pdq::Hash256;
use nigehbaan_video::FrameHash;

use crate::categories::{self, CategoryInfo};
use crate::hex;

/// MD5 of the empty file (`d41d8cd98f00b204e9800998ecf8427e`).
pub const EMPTY_MD5: [u8; 16] = [
    0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e,
];

/// SHA-1 of the empty file (`da39a3ee5e6b4b0d3255bfef95601890afd80709`).
pub const EMPTY_SHA1: [u8; 20] = [
    0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55, 0xbf, 0xef, 0x95, 0x60, 0x18, 0x90,
    0xaf, 0xd8, 0x07, 0x09,
];

/// SHA-256 of the empty file (`e3b0c442…7852b855`).
pub const EMPTY_SHA256: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// A PDQ hash as a list gives it, with its quality (0–100) when the list says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PdqHash {
    /// The 256-bit hash.
    pub hash: Hash256,
    /// The quality the hasher reported, when the list carries it.
    pub quality: Option<u8>,
}

/// The value of a hash type this crate does not interpret (PhotoDNA,
/// Tiger, vPDQ, …), kept exactly so that nothing a list says is lost.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OpaqueValue {
    /// Decoded bytes (the list gave hex or base64 that decoded cleanly).
    Bytes(Vec<u8>),
    /// The text exactly as the list gave it (encoding unknown).
    Text(String),
}

/// A hash of a type this crate keeps but does not interpret.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OpaqueHash {
    /// The hash type in lower case, e.g. `photodna`, `tiger`, `vpdq`.
    pub kind: String,
    /// The value.
    pub value: OpaqueValue,
}

impl OpaqueHash {
    /// The kind used for PhotoDNA hashes (always 144 bytes).
    pub const PHOTODNA: &'static str = "photodna";
}

/// The scheme that gives a category code its meaning.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Project VIC (United States) categories `0`–`4`.
    ProjectVicUs,
    /// UK Child Abuse Image Database categories (`A`, `B`, `C`).
    UkCaid,
    /// NCMEC / industry classification `A1`, `A2`, `B1`, `B2`.
    NcmecAB,
    /// Internet Watch Foundation categories `A`, `B`, `C`.
    Iwf,
    /// A scheme this crate has no table for, named by the caller.
    Custom(String),
}

impl Scheme {
    /// A short stable name: `projectvic-us`, `uk-caid`, `ncmec`, `iwf`, or
    /// `custom:NAME`.
    pub fn name(&self) -> String {
        match self {
            Scheme::ProjectVicUs => "projectvic-us".into(),
            Scheme::UkCaid => "uk-caid".into(),
            Scheme::NcmecAB => "ncmec".into(),
            Scheme::Iwf => "iwf".into(),
            Scheme::Custom(n) => format!("custom:{n}"),
        }
    }

    /// Inverse of [`Scheme::name`]; any other text becomes `Custom(text)`.
    pub fn from_name(name: &str) -> Scheme {
        match name.trim() {
            "projectvic-us" => Scheme::ProjectVicUs,
            "uk-caid" => Scheme::UkCaid,
            "ncmec" => Scheme::NcmecAB,
            "iwf" => Scheme::Iwf,
            other => Scheme::Custom(other.strip_prefix("custom:").unwrap_or(other).to_string()),
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A category code together with the scheme that gives it meaning.
///
/// The code is kept verbatim (trimmed); its meaning comes only from the
/// scheme's table in [`crate::categories`]. A code the table does not list
/// is kept and [`Category::is_known`] returns false.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category {
    /// The scheme.
    pub scheme: Scheme,
    /// The code as the list gave it, trimmed.
    pub code: String,
}

impl Category {
    /// A category; the code is trimmed and otherwise kept verbatim.
    pub fn new(scheme: Scheme, code: &str) -> Category {
        Category {
            scheme,
            code: code.trim().to_string(),
        }
    }

    /// The table entry for this code, if the scheme's table has it.
    pub fn info(&self) -> Option<&'static CategoryInfo> {
        categories::lookup(&self.scheme, &self.code)
    }

    /// True when the scheme's table lists this code.
    pub fn is_known(&self) -> bool {
        self.info().is_some()
    }
}

/// The VICS flags a list may carry about a piece of media.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VicsFlags {
    /// The victim has been identified (`VictimIdentified`).
    pub victim_identified: Option<bool>,
    /// The offender has been identified (`OffenderIdentified`).
    pub offender_identified: Option<bool>,
    /// The media is known to be distributed (`IsDistributed`).
    pub distributed: Option<bool>,
    /// The series name (`Series`).
    pub series: Option<String>,
    /// Free-form tags (`Tags`).
    pub tags: Vec<String>,
}

/// Whether a match against a record is ignorable or an alert. In JSON:
/// `known` or `notable`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A known, ignorable file (e.g. NSRL known software).
    Known,
    /// A notable file: a match is an alert.
    #[default]
    Notable,
}

impl Status {
    /// `known` or `notable`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Known => "known",
            Status::Notable => "notable",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A hash a record can be matched by: the closed set of hash kinds the
/// matching core, the lists and the service share. In JSON (and in the
/// service's database columns): `md5`, `sha1`, `sha256`, `pdq`.
///
/// Video (vPDQ feature sets) is added here as a new variant when the
/// matching core learns to match it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    /// MD5 (exact).
    Md5,
    /// SHA-1 (exact).
    Sha1,
    /// SHA-256 (exact).
    Sha256,
    /// PDQ (near, by Hamming distance).
    Pdq,
}

impl HashKind {
    /// The exact digests, strongest first.
    pub const DIGESTS: [HashKind; 3] = [HashKind::Sha256, HashKind::Sha1, HashKind::Md5];

    /// `md5`, `sha1`, `sha256` or `pdq`.
    pub fn name(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha256 => "sha256",
            HashKind::Pdq => "pdq",
        }
    }

    /// The kind a name (any case, surrounding spaces ignored; `sha-1` and
    /// `sha-256` accepted) stands for, if it is one of the four.
    pub fn parse(name: &str) -> Option<HashKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "md5" => Some(HashKind::Md5),
            "sha1" | "sha-1" => Some(HashKind::Sha1),
            "sha256" | "sha-256" => Some(HashKind::Sha256),
            "pdq" => Some(HashKind::Pdq),
            _ => None,
        }
    }

    /// True for the exact digests (MD5, SHA-1, SHA-256).
    pub fn is_exact(self) -> bool {
        self != HashKind::Pdq
    }

    /// The digest's length in bytes (32 for PDQ's 256 bits).
    pub fn digest_len(self) -> usize {
        match self {
            HashKind::Md5 => 16,
            HashKind::Sha1 => 20,
            HashKind::Sha256 | HashKind::Pdq => 32,
        }
    }

    /// How strong a match of this kind is: exact before near, the longer
    /// digest first (0 is strongest).
    pub fn strength(self) -> u8 {
        match self {
            HashKind::Sha256 => 0,
            HashKind::Sha1 => 1,
            HashKind::Md5 => 2,
            HashKind::Pdq => 3,
        }
    }
}

impl fmt::Display for HashKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a record describes an image or a video, when the list says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// An image.
    Image,
    /// A video.
    Video,
}

/// Where a record came from. Shared (one `Arc`) by all records of one import.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Provenance {
    /// The name the list was imported under.
    pub list_name: String,
    /// The organisation that issued it (NCMEC, IWF, Project VIC, NIST, …).
    pub source: Option<String>,
    /// The list's version as its issuer labels it.
    pub version: Option<String>,
    /// The list's own date, as the issuer wrote it.
    pub date: Option<String>,
    /// When it was imported, in seconds since the Unix epoch (UTC).
    pub imported_at: u64,
}

impl Provenance {
    /// Provenance for a list called `list_name`, imported now.
    pub fn new(list_name: &str) -> Provenance {
        Provenance {
            list_name: list_name.to_string(),
            imported_at: nigehbaan_time::now_unix().max(0) as u64,
            ..Provenance::default()
        }
    }

    /// `imported_at` as RFC 3339 UTC text, e.g. `2024-05-01T12:00:00+00:00`
    /// (empty for a time past the year 9999, which only a damaged manifest
    /// could hold).
    pub fn imported_at_rfc3339(&self) -> String {
        i64::try_from(self.imported_at)
            .ok()
            .and_then(nigehbaan_time::utc)
            .unwrap_or_default()
    }
}

/// One entry of a hash list.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// MD5 of the file.
    pub md5: Option<[u8; 16]>,
    /// SHA-1 of the file.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256 of the file.
    pub sha256: Option<[u8; 32]>,
    /// PDQ perceptual hash, with quality when given.
    pub pdq: Option<PdqHash>,
    /// vPDQ features of a video: its hashed frames (frame number, quality,
    /// PDQ, timestamp) as the reference tool records them; empty when the
    /// record has none.
    pub vpdq: Vec<FrameHash>,
    /// PhotoDNA and any other hash types, kept opaque.
    pub other: Vec<OpaqueHash>,
    /// The category and its scheme.
    pub category: Option<Category>,
    /// VICS flags.
    pub flags: VicsFlags,
    /// Known (ignorable) or notable (alert).
    pub status: Status,
    /// The issuer's own identifier for the entry (VICS `MediaID`, NCMEC `id`).
    pub id: Option<String>,
    /// A file name or path the list gives.
    pub name: Option<String>,
    /// The file size in bytes, when the list gives it.
    pub size: Option<u64>,
    /// Image or video, when the list says.
    pub media: Option<MediaKind>,
    /// Where the record came from.
    pub provenance: Arc<Provenance>,
}

impl Record {
    /// An empty record (no hashes) with the given status and provenance.
    pub fn new(status: Status, provenance: Arc<Provenance>) -> Record {
        Record {
            md5: None,
            sha1: None,
            sha256: None,
            pdq: None,
            vpdq: Vec::new(),
            other: Vec::new(),
            category: None,
            flags: VicsFlags::default(),
            status,
            id: None,
            name: None,
            size: None,
            media: None,
            provenance,
        }
    }

    /// True when the record carries any hash at all.
    pub fn has_hash(&self) -> bool {
        self.md5.is_some()
            || self.sha1.is_some()
            || self.sha256.is_some()
            || self.pdq.is_some()
            || !self.vpdq.is_empty()
            || !self.other.is_empty()
    }

    /// True when any of its cryptographic hashes is that of the empty file.
    /// Such a record must never be matched; importers drop it.
    pub fn is_empty_file(&self) -> bool {
        self.md5 == Some(EMPTY_MD5)
            || self.sha1 == Some(EMPTY_SHA1)
            || self.sha256 == Some(EMPTY_SHA256)
    }

    /// The exact-match keys of this record (cryptographic hashes and PDQ).
    pub fn keys(&self) -> Vec<HashKey> {
        let mut keys = Vec::with_capacity(4);
        if let Some(h) = self.md5 {
            keys.push(HashKey::Md5(h));
        }
        if let Some(h) = self.sha1 {
            keys.push(HashKey::Sha1(h));
        }
        if let Some(h) = self.sha256 {
            keys.push(HashKey::Sha256(h));
        }
        if let Some(p) = self.pdq {
            keys.push(HashKey::Pdq(p.hash));
        }
        keys
    }
}

/// One hash value that records can share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKey {
    /// An MD5.
    Md5([u8; 16]),
    /// A SHA-1.
    Sha1([u8; 20]),
    /// A SHA-256.
    Sha256([u8; 32]),
    /// A PDQ hash (exact value).
    Pdq(Hash256),
}

impl HashKey {
    /// Which kind of hash this is.
    pub fn kind(&self) -> HashKind {
        match self {
            HashKey::Md5(_) => HashKind::Md5,
            HashKey::Sha1(_) => HashKind::Sha1,
            HashKey::Sha256(_) => HashKind::Sha256,
            HashKey::Pdq(_) => HashKind::Pdq,
        }
    }

    /// True for the empty file's MD5, SHA-1 or SHA-256, which never match.
    pub fn is_empty_file(&self) -> bool {
        match self {
            HashKey::Md5(h) => *h == EMPTY_MD5,
            HashKey::Sha1(h) => *h == EMPTY_SHA1,
            HashKey::Sha256(h) => *h == EMPTY_SHA256,
            HashKey::Pdq(_) => false,
        }
    }

    /// Lower-case hex of the value.
    pub fn to_hex(&self) -> String {
        match self {
            HashKey::Md5(h) => hex::encode(h),
            HashKey::Sha1(h) => hex::encode(h),
            HashKey::Sha256(h) => hex::encode(h),
            HashKey::Pdq(h) => h.to_hex(),
        }
    }
}

impl fmt::Display for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashKey::Md5(h) => write!(f, "md5:{}", hex::encode(h)),
            HashKey::Sha1(h) => write!(f, "sha1:{}", hex::encode(h)),
            HashKey::Sha256(h) => write!(f, "sha256:{}", hex::encode(h)),
            HashKey::Pdq(h) => write!(f, "pdq:{h}"),
        }
    }
}

/// Two or more lists disagree about one hash. All records are kept; this
/// only flags the disagreement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Some say `known`, others `notable`.
    pub status: bool,
    /// Within one scheme, the lists give different category codes.
    pub category: bool,
    /// The names of the lists involved (each once, in input order).
    pub lists: Vec<String>,
    /// A one-line human-readable account of the disagreement.
    pub description: String,
}

/// Given several records for the same hash (from different lists), reports
/// a conflict when they disagree on status, or give different category codes
/// in the same scheme. Categories in different schemes are not comparable
/// and are not a conflict; a record without a category agrees with any.
pub fn find_conflict(records: &[&Record]) -> Option<Conflict> {
    let mut status_differs = false;
    let mut category_differs = false;
    let mut parts = Vec::new();
    if let Some(first) = records.first() {
        if records.iter().any(|r| r.status != first.status) {
            status_differs = true;
            let s: Vec<String> = records
                .iter()
                .map(|r| format!("{}={}", r.provenance.list_name, r.status.name()))
                .collect();
            parts.push(format!("status differs ({})", s.join(", ")));
        }
    }
    let mut by_scheme: Vec<(&Scheme, Vec<(&str, &str)>)> = Vec::new();
    for r in records {
        if let Some(c) = &r.category {
            let entry = match by_scheme.iter_mut().find(|(s, _)| *s == &c.scheme) {
                Some(e) => e,
                None => {
                    by_scheme.push((&c.scheme, Vec::new()));
                    by_scheme.last_mut().expect("just pushed")
                }
            };
            entry.1.push((&r.provenance.list_name, &c.code));
        }
    }
    for (scheme, codes) in &by_scheme {
        if codes.iter().any(|(_, c)| *c != codes[0].1) {
            category_differs = true;
            let s: Vec<String> = codes.iter().map(|(l, c)| format!("{l}={c}")).collect();
            parts.push(format!("{scheme} category differs ({})", s.join(", ")));
        }
    }
    if !status_differs && !category_differs {
        return None;
    }
    let mut lists: Vec<String> = Vec::new();
    for r in records {
        if !lists.contains(&r.provenance.list_name) {
            lists.push(r.provenance.list_name.clone());
        }
    }
    Some(Conflict {
        status: status_differs,
        category: category_differs,
        lists,
        description: parts.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(list: &str, status: Status, cat: Option<Category>) -> Record {
        let mut r = Record::new(status, Arc::new(Provenance::new(list)));
        r.md5 = Some([1; 16]);
        r.category = cat;
        r
    }

    #[test]
    fn empty_constants_match_their_hex() {
        assert_eq!(hex::encode(&EMPTY_MD5), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex::encode(&EMPTY_SHA1),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hex::encode(&EMPTY_SHA256),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn conflicts_are_flagged_and_agreement_is_not() {
        let a = rec(
            "vic",
            Status::Notable,
            Some(Category::new(Scheme::ProjectVicUs, "1")),
        );
        let b = rec(
            "vic2",
            Status::Notable,
            Some(Category::new(Scheme::ProjectVicUs, "2")),
        );
        let c = rec("nsrl", Status::Known, None);
        let d = rec(
            "ncmec",
            Status::Notable,
            Some(Category::new(Scheme::NcmecAB, "A1")),
        );
        assert_eq!(
            find_conflict(&[&a, &d]),
            None,
            "different schemes do not conflict"
        );
        assert_eq!(find_conflict(&[&a]), None);
        let k = find_conflict(&[&a, &b]).unwrap();
        assert!(k.category && !k.status);
        assert_eq!(k.lists, vec!["vic", "vic2"]);
        let k = find_conflict(&[&a, &c]).unwrap();
        assert!(k.status && !k.category);
        assert!(k.description.contains("nsrl=known"), "{}", k.description);
    }

    #[test]
    fn scheme_names_round_trip() {
        for s in [
            Scheme::ProjectVicUs,
            Scheme::UkCaid,
            Scheme::NcmecAB,
            Scheme::Iwf,
            Scheme::Custom("acme".into()),
        ] {
            assert_eq!(Scheme::from_name(&s.name()), s);
        }
    }
}
