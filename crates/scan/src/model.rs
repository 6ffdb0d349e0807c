//! What a scan finds: items (hashed files), their hits, exclusions.
//!
//! These types are what `report.json` holds; `docs/scan-report.md`
//! documents every field.

pub use nigehbaan_lists::{HashKind, Status};
pub use nigehbaan_match::MatchKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A digest held as bytes (compact in memory) and written as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hex<const N: usize>(pub [u8; N]);

impl<const N: usize> Hex<N> {
    /// Upper-case hex, as VICS writes MD5 and SHA-1.
    pub fn to_upper(&self) -> String {
        nigehbaan_pdq::hex::encode_upper(&self.0)
    }
}

impl<const N: usize> fmt::Display for Hex<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        nigehbaan_pdq::hex::write_lower(&self.0, f)
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
        // A visitor, so that reading a report (or a spill) of millions of
        // items does not allocate a string per digest.
        struct V<const N: usize>;
        impl<const N: usize> serde::de::Visitor<'_> for V<N> {
            type Value = Hex<N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} hex digits", 2 * N)
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Hex<N>, E> {
                nigehbaan_pdq::hex::decode_fixed::<N>(text)
                    .map(Hex)
                    .map_err(E::custom)
            }
        }
        d.deserialize_str(V::<N>)
    }
}

/// The case's own fields, as a Pakistani court record names them; all
/// optional. Recorded in the chain of custody (`report.json`'s `custody`)
/// and on the report's title page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFields {
    /// First Information Report number (`--fir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fir: Option<String>,
    /// The police station that registered the FIR (`--police-station`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub police_station: Option<String>,
    /// The court the report is for (`--court`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court: Option<String>,
    /// The forensic laboratory (`--lab`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<String>,
    /// The examiner's designation (`--designation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub designation: Option<String>,
    /// Seal numbers per exhibit (`--seal EXHIBIT=SEAL`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seals: Vec<Seal>,
    /// The laws cited, as given (`--law`, repeatable; e.g. `PECA 2016 s.22`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub laws: Vec<String>,
}

impl CaseFields {
    /// The seal given for `exhibit`, if any.
    pub fn seal(&self, exhibit: &str) -> Option<&str> {
        self.seals
            .iter()
            .find(|s| s.exhibit == exhibit)
            .map(|s| s.seal.as_str())
    }
}

/// The seal on one exhibit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// The exhibit's id.
    pub exhibit: String,
    /// The seal's number or description.
    pub seal: String,
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
    pub match_kind: MatchKind,
    /// Every hash of the file that matched this record (strongest first).
    pub matched_hashes: Vec<MatchKind>,
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
    pub status: Status,
    /// The record's own id in the list, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The series the record belongs to, if the list says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// vPDQ matches only (`match_kind` `vpdq`): percentages, frame counts
    /// and matched time ranges, written as fields of the hit.
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub video: Option<crate::video::VpdqDetail>,
}

impl Hit {
    /// How it matched, in words: `md5`, or `pdq distance 4, rot90`.
    pub fn how(&self) -> String {
        self.matched_hashes
            .iter()
            .map(|k| match (k, self.distance) {
                (MatchKind::Pdq, Some(d)) => {
                    match self.variant.as_deref().filter(|v| *v != "orig") {
                        Some(v) => format!("pdq distance {d}, {v}"),
                        None => format!("pdq distance {d}"),
                    }
                }
                (MatchKind::Vpdq, _) => match &self.video {
                    Some(v) => format!(
                        "vpdq {:.1}% of the video, {:.1}% of the listed one",
                        v.query_match_percent, v.compared_match_percent
                    ),
                    None => k.to_string(),
                },
                _ => k.to_string(),
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
    /// The reference to a list record's category.
    pub fn of(c: &nigehbaan_lists::model::Category) -> CategoryRef {
        CategoryRef {
            scheme: c.scheme.name(),
            code: c.code.clone(),
            label: c.info().map(|i| i.label.to_string()),
        }
    }

    /// `scheme:code`, the key reports count by.
    pub fn key(&self) -> String {
        format!("{}:{}", self.scheme, self.code)
    }
}

/// What the scan concluded about one file (the matching core's type).
pub use nigehbaan_match::Disposition;

/// One hashed file: a file on disk or a member of an archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The exhibit it belongs to.
    pub exhibit: String,
    /// Its path, with the chain of containers it sits in separated by `!`
    /// (`exhibit/a.zip!photos/b.tar!x.jpg`): the readable form, where bytes
    /// that are not UTF-8 read `\xNN` (see [`nigehbaan_filehash::name`]).
    pub path: String,
    /// The path's exact bytes in base64, only when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
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
    /// Near-duplicate group among unmatched images (PDQ) or unmatched
    /// videos (vPDQ), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near_group: Option<u32>,
    /// For an unmatched video: its usable vPDQ frame hashes (quality at
    /// least the threshold, duplicates once), carried from the worker to
    /// the report (through the item spill and the checkpoint) to find
    /// near-duplicate video groups. The report removes them: they are
    /// never in `report.json`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpdq_frames: Vec<Hex<32>>,
    /// Milliseconds of video this run hashed for the item (progress only;
    /// not written anywhere).
    #[serde(skip)]
    pub video_ms: u64,
    /// Remarks (e.g. PDQ not queried because of low quality).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why something is missing (unreadable, image not decodable…).
    pub error: Option<String>,
    /// True for a deleted file recovered from a disk image's file system.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// For a deleted file, how far its data can be trusted: `intact`,
    /// `possibly-overwritten` or `contiguous-guess`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<String>,
}

/// What kind of exclusion: a closed set, spelled in `report.json` as
/// the kebab-case names below (documented in docs/scan-report.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExclusionKind {
    /// `symlink`: a symbolic link, not followed (policy).
    Symlink,
    /// `special-file`: a device, FIFO or socket.
    SpecialFile,
    /// `unreadable`: a file or directory that could not be read.
    Unreadable,
    /// `archive-error`: an archive that could not be read (whole or in part).
    ArchiveError,
    /// `depth-limit`: nested deeper than the container depth limit.
    DepthLimit,
    /// `entry-limit`: more entries than the container entry limit.
    EntryLimit,
    /// `size-limit`: more bytes than the container size limit.
    SizeLimit,
    /// `ratio-limit`: a compression ratio above the limit (a likely zip bomb).
    RatioLimit,
    /// `unsafe-name`: an entry name that is unsafe (absolute, `..`); hashed under its literal name.
    UnsafeName,
    /// `link-entry`: a link inside an archive.
    LinkEntry,
    /// `encrypted`: an encrypted entry.
    Encrypted,
    /// `too-large-to-open`: a container too large to open in memory.
    TooLargeToOpen,
    /// `interrupted`: the scan was stopped before this was examined.
    Interrupted,
    /// `internal-error`: a worker failed (a bug): what it held was not examined.
    InternalError,
    /// `checkpoint-error`: the resume checkpoint could not be written or read.
    CheckpointError,
    /// `archive-in-disk-image`: an archive inside a disk image too large to open.
    ArchiveInDiskImage,
    /// `unreadable-range`: a byte range of a disk image that could not be read.
    UnreadableRange,
    /// `unrecognised-volume`: a partition whose file system is not recognised (carved only).
    UnrecognisedVolume,
    /// `file-system-error`: a file system whose structures could not be parsed (in part).
    FileSystemError,
    /// `disk-image-error`: a disk image that could not be opened.
    DiskImageError,
    /// `partition-table-problem`: a damaged or inconsistent partition table.
    PartitionTableProblem,
    /// `image-verification`: an image whose stored hash did not verify, or that could not be read for verification.
    ImageVerification,
    /// `unexamined-disk-image`: a disk image of a kind the scan cannot open.
    UnexaminedDiskImage,
    /// `unexamined-video`: a video whose frames were not examined (no ffmpeg, or too large).
    UnexaminedVideo,
}

impl ExclusionKind {
    /// The kind's stable name, as `report.json` spells it.
    pub fn name(self) -> &'static str {
        match self {
            ExclusionKind::Symlink => "symlink",
            ExclusionKind::SpecialFile => "special-file",
            ExclusionKind::Unreadable => "unreadable",
            ExclusionKind::ArchiveError => "archive-error",
            ExclusionKind::DepthLimit => "depth-limit",
            ExclusionKind::EntryLimit => "entry-limit",
            ExclusionKind::SizeLimit => "size-limit",
            ExclusionKind::RatioLimit => "ratio-limit",
            ExclusionKind::UnsafeName => "unsafe-name",
            ExclusionKind::LinkEntry => "link-entry",
            ExclusionKind::Encrypted => "encrypted",
            ExclusionKind::TooLargeToOpen => "too-large-to-open",
            ExclusionKind::Interrupted => "interrupted",
            ExclusionKind::InternalError => "internal-error",
            ExclusionKind::CheckpointError => "checkpoint-error",
            ExclusionKind::ArchiveInDiskImage => "archive-in-disk-image",
            ExclusionKind::UnreadableRange => "unreadable-range",
            ExclusionKind::UnrecognisedVolume => "unrecognised-volume",
            ExclusionKind::FileSystemError => "file-system-error",
            ExclusionKind::DiskImageError => "disk-image-error",
            ExclusionKind::PartitionTableProblem => "partition-table-problem",
            ExclusionKind::ImageVerification => "image-verification",
            ExclusionKind::UnexaminedDiskImage => "unexamined-disk-image",
            ExclusionKind::UnexaminedVideo => "unexamined-video",
        }
    }
}

impl fmt::Display for ExclusionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something in the evidence that was not hashed, or was hashed but needs
/// the examiner's attention, with the reason.
///
/// In memory `path` is a [lossless name](raw_name); in JSON it is written
/// as `path` (readable) and `path_bytes` (the exact bytes in base64, only
/// when they are not UTF-8), as items are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ExclusionJson", from = "ExclusionJson")]
pub struct Exclusion {
    /// The exhibit.
    pub exhibit: String,
    /// Where (container chain separated by `!`), as a [lossless
    /// name](raw_name): use [`readable_name`] to show it.
    pub path: String,
    /// What kind of exclusion.
    pub kind: ExclusionKind,
    /// The reason, in words.
    pub reason: String,
    /// True when this left part of the evidence unexamined (the scan is
    /// then incomplete); false for policy skips such as symbolic links.
    pub incomplete: bool,
    /// True when the item itself was still hashed (e.g. an entry with an
    /// unsafe name is hashed under its literal name).
    pub hashed: bool,
}

/// [`Exclusion`] as JSON holds it.
#[derive(Serialize, Deserialize)]
struct ExclusionJson {
    exhibit: String,
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_bytes: Option<String>,
    kind: ExclusionKind,
    reason: String,
    incomplete: bool,
    hashed: bool,
}

impl From<Exclusion> for ExclusionJson {
    fn from(e: Exclusion) -> Self {
        let (path, path_bytes) = split_name(&e.path);
        ExclusionJson {
            exhibit: e.exhibit,
            path,
            path_bytes,
            kind: e.kind,
            reason: e.reason,
            incomplete: e.incomplete,
            hashed: e.hashed,
        }
    }
}

impl From<ExclusionJson> for Exclusion {
    fn from(e: ExclusionJson) -> Self {
        Exclusion {
            exhibit: e.exhibit,
            path: joined_name(&e.path, e.path_bytes.as_deref()),
            kind: e.kind,
            reason: e.reason,
            incomplete: e.incomplete,
            hashed: e.hashed,
        }
    }
}

/// The first of the 256 characters that stand for single bytes in a
/// lossless name: U+10FF00 + the byte (Supplementary Private Use Area-B).
const RAW_BASE: u32 = 0x10_ff00;

/// A lossless name: a name's bytes as a `String` that equals the name when
/// it is UTF-8 (and holds no character of U+10FF00..=U+10FFFF). Every other
/// byte — one that is not part of valid UTF-8, or of such a character — is
/// held as the character U+10FF00 + the byte, so [`name_bytes`] gives the
/// exact bytes back. Paths travel through the scan in this form (container
/// chains are joined with `!` like any text) and are split into a readable
/// form and exact bytes only when written out.
pub fn raw_name(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if (c as u32) >= RAW_BASE {
                let mut b = [0u8; 4];
                for &x in c.encode_utf8(&mut b).as_bytes() {
                    out.push(byte_char(x));
                }
            } else {
                out.push(c);
            }
        }
        for &x in chunk.invalid() {
            out.push(byte_char(x));
        }
    }
    out
}

fn byte_char(b: u8) -> char {
    char::from_u32(RAW_BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The lossless name of a path on disk.
pub fn raw_path(p: &std::path::Path) -> String {
    raw_name(&nigehbaan_filehash::name::os_bytes(p.as_os_str()))
}

/// The exact bytes of a [lossless name](raw_name).
pub fn name_bytes(name: &str) -> std::borrow::Cow<'_, [u8]> {
    if !name.chars().any(|c| c as u32 >= RAW_BASE) {
        return std::borrow::Cow::Borrowed(name.as_bytes());
    }
    let mut out = Vec::with_capacity(name.len());
    for c in name.chars() {
        match (c as u32).checked_sub(RAW_BASE) {
            Some(b) => out.push(b as u8),
            None => out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes()),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A [lossless name](raw_name)'s readable form (bytes that are not UTF-8
/// read `\xNN`) and, when it is not UTF-8, the base64 of its bytes.
pub fn split_name(name: &str) -> (String, Option<String>) {
    nigehbaan_filehash::name::split(&name_bytes(name))
}

/// A [lossless name](raw_name)'s readable form.
pub fn readable_name(name: &str) -> String {
    split_name(name).0
}

/// The [lossless name](raw_name) of a readable path and its base64 bytes
/// as JSON holds them (an unreadable base64 keeps the readable form).
pub fn joined_name(readable: &str, bytes: Option<&str>) -> String {
    match bytes.and_then(nigehbaan_filehash::name::from_base64) {
        Some(b) => raw_name(&b),
        None => raw_name(readable.as_bytes()),
    }
}

impl Item {
    /// The item's path as a [lossless name](raw_name).
    pub fn raw_path(&self) -> String {
        joined_name(&self.path, self.path_bytes.as_deref())
    }

    /// Sets `path` and `path_bytes` from a [lossless name](raw_name).
    pub fn set_raw_path(&mut self, name: &str) {
        (self.path, self.path_bytes) = split_name(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn utf8_names_are_their_own_lossless_form() {
        assert_eq!(raw_name("ex/a.zip!b.jpg".as_bytes()), "ex/a.zip!b.jpg");
        let bad = raw_name(b"bad\xff\xfe.jpg");
        assert_ne!(bad, raw_name(b"bad\xff\xfd.jpg"));
        assert_eq!(
            split_name(&format!("{bad}!x")),
            (
                "bad\\xff\\xfe.jpg!x".into(),
                Some("YmFk//4uanBnIXg=".into())
            )
        );
    }

    #[test]
    fn checkpoint_lines_old_and_new_read_back() {
        // A line as checkpoints held it before `path_bytes` existed.
        let old = r#"{"exhibit":"E","path":"ev/a.jpg","depth":0,"size":1,"modified":null,
            "md5":null,"sha1":null,"sha256":null,"pdq":null,"pdq_quality":null,"format":null,
            "width":null,"height":null,"disposition":"unmatched","error":null}"#;
        let it: Item = serde_json::from_str(old).unwrap();
        assert_eq!(it.raw_path(), "ev/a.jpg");
        let mut bad = it.clone();
        bad.set_raw_path(&raw_name(b"ev/\xff.jpg"));
        assert_eq!(bad.path, "ev/\\xff.jpg");
        let line = serde_json::to_string(&bad).unwrap();
        let back: Item = serde_json::from_str(&line).unwrap();
        assert_eq!(back, bad);
        assert_eq!(&*name_bytes(&back.raw_path()), b"ev/\xff.jpg");
    }

    proptest! {
        /// The oracle is the bytes themselves: lossless names give them back
        /// exactly, through JSON too, and chains join like the bytes do.
        #[test]
        fn lossless_names_round_trip(
            a in proptest::collection::vec(any::<u8>(), 0..24),
            b in proptest::collection::vec(any::<u8>(), 0..24),
            pua in any::<bool>(),
        ) {
            let mut a = a;
            if pua {
                a.extend_from_slice("\u{10ff41}".as_bytes());
            }
            let (na, nb) = (raw_name(&a), raw_name(&b));
            prop_assert_eq!(name_bytes(&na).into_owned(), a.clone());
            let chain = format!("{na}!{nb}");
            let mut joined = a.clone();
            joined.push(b'!');
            joined.extend_from_slice(&b);
            prop_assert_eq!(name_bytes(&chain).into_owned(), joined.clone());
            let (readable, b64) = split_name(&chain);
            prop_assert_eq!(joined_name(&readable, b64.as_deref()), chain.clone());
            prop_assert_eq!(b64.is_none(), std::str::from_utf8(&joined).is_ok());
            let e = Exclusion {
                exhibit: "E".into(),
                path: chain.clone(),
                kind: ExclusionKind::Symlink,
                reason: "r".into(),
                incomplete: false,
                hashed: false,
            };
            let back: Exclusion = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            prop_assert_eq!(back, e);
        }
    }
}
