//! What a scan finds: items (hashed files), their hits, exclusions.
//!
//! These types are what `report.json` holds; `docs/scan-report.md`
//! documents every field.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A digest held as bytes (compact in memory) and written as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hex<const N: usize>(pub [u8; N]);

impl<const N: usize> Hex<N> {
    /// Upper-case hex, as VICS writes MD5 and SHA-1.
    pub fn to_upper(&self) -> String {
        self.to_string().to_uppercase()
    }
}

impl<const N: usize> fmt::Display for Hex<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Debug for Hex<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<const N: usize> Serialize for Hex<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, const N: usize> Deserialize<'de> for Hex<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        nigehbaan_lists::hex::decode_fixed::<N>(&text, "digest")
            .map(Hex)
            .map_err(serde::de::Error::custom)
    }
}

/// How a file matched a list entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// The list's name in the library.
    pub list: String,
    /// The list's version, as its issuer labels it.
    pub list_version: Option<String>,
    /// The record's number in the list (0-based).
    pub record: u32,
    /// The strongest way it matched: `sha256`, `sha1` or `md5` (exact), or
    /// `pdq` (perceptual).
    pub match_kind: String,
    /// Every hash of the file that matched this record (strongest first).
    pub matched_hashes: Vec<String>,
    /// PDQ Hamming distance (PDQ matches only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// Which rotation/flip of the file's PDQ matched (`orig` unless the
    /// scan searched dihedral variants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The hash as the list gives it.
    pub listed_hash: Option<String>,
    /// The category the list asserts, if any.
    pub category: Option<CategoryRef>,
    /// `notable` (alert) or `known` (ignorable, e.g. NSRL).
    pub status: String,
    /// The record's own id in the list, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The series the record belongs to, if the list says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
}

impl Hit {
    /// How it matched, in words: `md5`, or `pdq distance 4, rot90`.
    pub fn how(&self) -> String {
        self.matched_hashes
            .iter()
            .map(|k| match (k.as_str(), self.distance) {
                ("pdq", Some(d)) => match self.variant.as_deref().filter(|v| *v != "orig") {
                    Some(v) => format!("pdq distance {d}, {v}"),
                    None => format!("pdq distance {d}"),
                },
                _ => k.clone(),
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// A category code with its scheme and the scheme table's label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryRef {
    /// `projectvic-us`, `uk-caid`, `ncmec`, `iwf` or `custom:NAME`.
    pub scheme: String,
    /// The code as the list gives it.
    pub code: String,
    /// The scheme table's label for the code, when the table has it.
    pub label: Option<String>,
}

impl CategoryRef {
    /// `scheme:code`, the key reports count by.
    pub fn key(&self) -> String {
        format!("{}:{}", self.scheme, self.code)
    }
}

/// What the scan concluded about one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Matched a `notable` list: an alert.
    Hit,
    /// Matched only `known` lists (e.g. NSRL): set aside.
    Known,
    /// Matched nothing.
    Unmatched,
}

/// One hashed file: a file on disk or a member of an archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The exhibit it belongs to.
    pub exhibit: String,
    /// Its path, with the chain of containers it sits in separated by `!`
    /// (`exhibit/a.zip!photos/b.tar!x.jpg`).
    pub path: String,
    /// How many containers deep it is (0: a file on disk).
    pub depth: u32,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Last modification time, as the file system or archive records it.
    pub modified: Option<String>,
    /// Last access time (file system only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessed: Option<String>,
    /// Creation (birth) time, where the file system records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// MD5 (lower-case hex in JSON).
    pub md5: Option<Hex<16>>,
    /// SHA-1 (lower-case hex in JSON).
    pub sha1: Option<Hex<20>>,
    /// SHA-256 (lower-case hex in JSON).
    pub sha256: Option<Hex<32>>,
    /// PDQ hash, for images (64 hex digits in JSON).
    pub pdq: Option<Hex<32>>,
    /// PDQ quality 0..=100.
    pub pdq_quality: Option<u8>,
    /// Image container format (`jpeg`, `png`, …).
    pub format: Option<String>,
    /// Stored width in pixels.
    pub width: Option<u32>,
    /// Stored height in pixels.
    pub height: Option<u32>,
    /// EXIF orientation 1..=8 (reported, not applied before hashing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u8>,
    /// Hit, known (set aside) or unmatched.
    pub disposition: Disposition,
    /// Every list entry it matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hits: Vec<Hit>,
    /// When the matched lists disagree about status or category: how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// Exact-duplicate group (same SHA-256 as other items), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_group: Option<u32>,
    /// PDQ near-duplicate group among unmatched images, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near_group: Option<u32>,
    /// Remarks (e.g. PDQ not queried because of low quality).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why something is missing (unreadable, image not decodable…).
    pub error: Option<String>,
}

/// Something in the evidence that was not hashed, or was hashed but needs
/// the examiner's attention, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    /// The exhibit.
    pub exhibit: String,
    /// Where (container chain separated by `!`).
    pub path: String,
    /// A stable kind: `symlink`, `special-file`, `unreadable`,
    /// `archive-error`, `depth-limit`, `entry-limit`, `size-limit`,
    /// `ratio-limit`, `unsafe-name`, `link-entry`, `encrypted`,
    /// `too-large-to-open`, `interrupted`.
    pub kind: String,
    /// The reason, in words.
    pub reason: String,
    /// True when this left part of the evidence unexamined (the scan is
    /// then incomplete); false for policy skips such as symbolic links.
    pub incomplete: bool,
    /// True when the item itself was still hashed (e.g. an entry with an
    /// unsafe name is hashed under its literal name).
    pub hashed: bool,
}
