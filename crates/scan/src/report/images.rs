//! The `images` section of `report.json` (one entry per disk image the
//! scan opened: its container, partitions, file systems and what each gave)
//! and the image part of the chain of custody (acquisition metadata the
//! container records, stored and computed hashes). `docs/scan-report.md`
//! documents every field.

use serde::{Deserialize, Serialize};

/// One disk image as the scan found it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The exhibit.
    pub exhibit: String,
    /// The image's report path (its first segment).
    pub path: String,
    /// The container: `e01`, `raw`, `split-raw` or `device`.
    pub container: String,
    /// Bytes of disk the container holds.
    pub media_bytes: u64,
    /// The verification's result (see [`VerifyResult`]).
    pub verification: VerifyResult,
    /// The partition table: `mbr`, `gpt` or `none` (a bare file system).
    pub partition_table: String,
    /// Every volume the table lists (one whole-disk volume, index 0, when
    /// there is no table).
    pub partitions: Vec<PartitionRecord>,
    /// Every file system walked, with what it gave.
    pub file_systems: Vec<FileSystemRecord>,
    /// Carved items found in regions no partition covers.
    pub unpartitioned_carved: u64,
    /// Bytes of those regions searched by carving.
    pub unpartitioned_bytes_searched: u64,
    /// Totals over the image.
    pub totals: ImageCounts,
}

/// One volume of a disk image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRecord {
    /// MBR 1–4 primary, 5… logical; GPT entry position from 1; 0 for a
    /// whole-disk volume.
    pub index: u32,
    /// The type as the table gives it (`Linux (0x83)`, a GPT type name and
    /// GUID, `whole disk`).
    #[serde(rename = "type")]
    pub kind: String,
    /// First byte on the disk.
    pub start: u64,
    /// Length in bytes (cut at the disk's end when the table says more).
    pub length: u64,
    /// True when the table places it past the disk's end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clamped: bool,
    /// The file system found (`fat16`, `ntfs`, …), `None` when none was
    /// recognised (the volume is then only carved, and excluded).
    pub file_system: Option<String>,
}

/// What one file system gave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSystemRecord {
    /// The partition it is on (0: the whole disk).
    pub partition: u32,
    /// `fat12`, `fat16`, `fat32`, `exfat`, `ntfs` or `ext`; `unknown` for
    /// a volume with no recognised file system (carved only).
    pub kind: String,
    /// The prefix of its items' paths (`img.E01!p1:fat16`).
    pub path: String,
    /// Counts of what it gave.
    pub counts: ImageCounts,
}

/// Items found, by how they were found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCounts {
    /// Files the file system lists as in use.
    pub live: u64,
    /// Deleted files recovered from the file system's records.
    pub deleted: u64,
    /// Items carved by signature.
    pub carved: u64,
    /// Bytes of unallocated space searched by carving.
    pub unallocated_bytes_searched: u64,
}

impl ImageCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &ImageCounts) {
        self.live += other.live;
        self.deleted += other.deleted;
        self.carved += other.carved;
        self.unallocated_bytes_searched += other.unallocated_bytes_searched;
    }
}

/// The outcome of verifying an image against the hashes it stores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyResult {
    /// `--verify-image` was not given.
    #[default]
    NotRequested,
    /// Every stored hash matches and every byte was read.
    Verified,
    /// A stored hash differs from the data's.
    Mismatch,
    /// The stored hashes match or not, but part of the data could not be
    /// read (a corrupt or missing chunk): not verified.
    Unreadable,
    /// Computed, but the container stores no hash to compare with (raw).
    NoStoredHash,
}

impl VerifyResult {
    /// Its name as JSON writes it.
    pub fn name(self) -> &'static str {
        match self {
            VerifyResult::NotRequested => "not-requested",
            VerifyResult::Verified => "verified",
            VerifyResult::Mismatch => "mismatch",
            VerifyResult::Unreadable => "unreadable",
            VerifyResult::NoStoredHash => "no-stored-hash",
        }
    }
}

/// An image in the chain of custody: what the container says about its
/// acquisition, and the hashes it stores beside those computed now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCustody {
    /// The exhibit.
    pub exhibit: String,
    /// The image's report path.
    pub path: String,
    /// The container (`e01`, `raw`, `split-raw`, `device`).
    pub container: String,
    /// Every file the image was read from, in order.
    pub segments: Vec<String>,
    /// Acquisition metadata (E01 header), when the container records it.
    pub acquisition: Option<AcquisitionRecord>,
    /// MD5 the container stores (hex).
    pub stored_md5: Option<String>,
    /// SHA-1 the container stores (hex).
    pub stored_sha1: Option<String>,
    /// MD5 of the data as read now (`--verify-image` only).
    pub computed_md5: Option<String>,
    /// SHA-1 of the data as read now (`--verify-image` only).
    pub computed_sha1: Option<String>,
    /// The result.
    pub verification: VerifyResult,
    /// Ranges the verification could not read (`bytes 0x…..0x…: why`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

/// Acquisition metadata as the acquiring tool wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquisitionRecord {
    /// Case number.
    pub case_number: Option<String>,
    /// Evidence number.
    pub evidence_number: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Examiner.
    pub examiner: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Acquisition date, as written (seconds since 1970, or local time).
    pub acquired: Option<String>,
    /// Acquisition date in UTC (RFC 3339), when written as seconds.
    pub acquired_utc: Option<String>,
    /// The acquiring tool's version.
    pub tool_version: Option<String>,
    /// The operating system it ran on.
    pub os: Option<String>,
    /// Device model.
    pub model: Option<String>,
    /// Device serial number.
    pub serial: Option<String>,
}
