//! File systems read without mounting: FAT12/16/32, exFAT, NTFS and
//! ext2/3/4, with their deleted files and unallocated space.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use nigehbaan_disk::{fs, ReadAt};
//! # fn demo(partition: Arc<dyn ReadAt>) -> Result<(), fs::FsError> {
//! let filesystem = fs::open(partition)?;
//! filesystem.walk(&mut |item| match item {
//!     Ok(entry) if entry.kind == fs::EntryKind::File => {
//!         let data = filesystem.open_file(&entry); // a ReadAt over the file's bytes
//!         # let _ = data;
//!     }
//!     Ok(_) => {}
//!     Err(error) => eprintln!("{error}"), // recorded; the walk goes on
//! });
//! let free = filesystem.unallocated()?; // byte ranges, for carving
//! # let _ = free;
//! # Ok(())
//! # }
//! ```
//!
//! Every parser treats the volume as hostile: sizes and offsets are checked
//! against the volume, allocation never follows an on-disk count without a
//! bound, chains and directory trees are walked with visited sets and depth
//! limits, and a damaged structure becomes an [`FsError`] carrying its byte
//! offset, reported through [`FileSystem::walk`] while the walk goes on.

mod error;
mod exfat;
mod ext;
mod fat;
mod ntfs;
mod runs;
mod time;

use std::sync::Arc;

pub use error::{FsError, Structure};
pub use runs::{Run, RunReader};

use crate::ReadAt;

/// The file systems this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FsKind {
    /// FAT with 12-bit cluster numbers (floppies, tiny volumes).
    Fat12,
    /// FAT with 16-bit cluster numbers.
    Fat16,
    /// FAT with 32-bit cluster numbers.
    Fat32,
    /// exFAT (memory cards, USB sticks).
    ExFat,
    /// NTFS (Windows).
    Ntfs,
    /// ext2, ext3 or ext4 (Linux, Android).
    Ext,
}

impl FsKind {
    /// A short lower-case name, as used in report paths (`fat32`, `ntfs`).
    pub fn name(self) -> &'static str {
        match self {
            FsKind::Fat12 => "fat12",
            FsKind::Fat16 => "fat16",
            FsKind::Fat32 => "fat32",
            FsKind::ExFat => "exfat",
            FsKind::Ntfs => "ntfs",
            FsKind::Ext => "ext",
        }
    }
}

impl std::fmt::Display for FsKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of object an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file (or, for NTFS, one data stream of a file).
    File,
    /// A directory.
    Dir,
    /// A symbolic link (ext); its target is not followed.
    Symlink,
    /// Anything else: device nodes, FIFOs, sockets.
    Other,
}

/// How far a deleted file's data can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recovery {
    /// The file's own record still lists its data, and none of those
    /// clusters or blocks has been allocated since: the data is most
    /// likely the deleted file's.
    Intact,
    /// Some of the data's clusters or blocks now belong to another file:
    /// the data read may be partly or wholly someone else's.
    PossiblyOverwritten,
    /// The record kept only where the data started (FAT): the data is read
    /// from contiguous clusters from there on, which is right for files that
    /// were not fragmented.
    ContiguousGuess,
}

impl Recovery {
    /// The report's spelling: `intact`, `possibly-overwritten`,
    /// `contiguous-guess`.
    pub fn name(self) -> &'static str {
        match self {
            Recovery::Intact => "intact",
            Recovery::PossiblyOverwritten => "possibly-overwritten",
            Recovery::ContiguousGuess => "contiguous-guess",
        }
    }
}

/// A point in time: seconds and nanoseconds since 1970-01-01 00:00:00 UTC.
///
/// FAT keeps local time without a zone; its times are given as if they
/// were UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since the Unix epoch (negative before 1970).
    pub secs: i64,
    /// Nanoseconds within the second, 0..1_000_000_000.
    pub nanos: u32,
}

/// The times a file system keeps for an entry; `None` where it keeps none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Times {
    /// Content last modified.
    pub modified: Option<Timestamp>,
    /// Last accessed (FAT keeps the day only).
    pub accessed: Option<Timestamp>,
    /// Created (born).
    pub created: Option<Timestamp>,
    /// Metadata last changed (ext ctime, NTFS MFT-entry change time).
    pub changed: Option<Timestamp>,
}

/// One file, directory or data stream found by [`FileSystem::walk`].
#[derive(Debug, Clone)]
pub struct Entry {
    /// The full path from the file system's root, starting with `/`, as
    /// bytes and lossless: ext names are the bytes on disk; UTF-16 names
    /// (NTFS, exFAT, FAT long names) are UTF-8, with unpaired surrogates in
    /// the WTF-8 encoding. An NTFS alternate data stream ends in
    /// `:streamname` (`/notes.txt:photo.jpg`). Files whose directory is
    /// unknown (deleted parents, ext inodes without a name) are under
    /// `/$OrphanFiles/`.
    pub path: Vec<u8>,
    /// Size of the data in bytes (for a directory, of its on-disk listing).
    pub size: u64,
    /// Times kept by the file system.
    pub times: Times,
    /// File, directory, link or other.
    pub kind: EntryKind,
    /// True when the entry was deleted (its record or directory entry is
    /// marked free).
    pub deleted: bool,
    /// For deleted entries, how far their data can be trusted; `None` for
    /// live entries.
    pub recovery: Option<Recovery>,
    /// The NTFS alternate data stream's name, for the entry of a named
    /// `$DATA` attribute.
    pub stream: Option<String>,
    /// Inode number (ext), MFT record number (NTFS), or for FAT and exFAT
    /// the byte offset of the directory entry in the volume.
    pub id: u64,
    /// True for the file system's own metadata files (NTFS `$MFT`,
    /// `$Bitmap`, …), which hold no user content.
    pub metadata: bool,
    /// Where the data is, for [`FileSystem::open_file`].
    pub(crate) data: DataRef,
}

impl Entry {
    /// The path for display: [`Entry::path`] with any invalid UTF-8 (ext
    /// names, unpaired surrogates) replaced by U+FFFD.
    pub fn display_path(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// Where an entry's data lives; interpreted by the file system that made
/// the entry.
#[derive(Debug, Clone)]
pub(crate) enum DataRef {
    /// The bytes are known already (NTFS resident data, tiny ext inline
    /// data, empty files).
    Inline(Arc<[u8]>),
    /// A list of runs computed during the walk (FAT, exFAT).
    Runs(Arc<[Run]>),
    /// Read the runs when the file is opened (NTFS record number and
    /// stream name, ext inode number).
    Lazy,
}

/// A file system opened over a partition, read-only.
pub trait FileSystem: Send + Sync {
    /// Which file system this is.
    fn kind(&self) -> FsKind;

    /// Visits every entry (live and deleted, files and directories) once,
    /// parents before their children where the file system allows.
    /// A damaged directory or record is passed as an `Err` carrying its
    /// byte offset, and the walk goes on.
    fn walk(&self, visit: &mut dyn FnMut(Result<Entry, FsError>));

    /// A reader over an entry's data, read through its runs, extents or
    /// cluster chain when bytes are asked for (sparse runs read as zeros).
    /// Bytes the file system cannot give (a run list that ends before the
    /// size, a read error) fail the read rather than read as zeros.
    fn open_file(&self, entry: &Entry) -> Result<Box<dyn ReadAt>, FsError>;

    /// The byte ranges (start, length) of the volume that no file uses,
    /// from the FAT, the allocation bitmap, `$Bitmap` or the block bitmaps,
    /// sorted and merged.
    fn unallocated(&self) -> Result<Vec<(u64, u64)>, FsError>;
}

/// Recognises the file system in a partition by its boot sector or
/// superblock, without trusting the partition type.
pub fn detect(r: &dyn ReadAt) -> Option<FsKind> {
    let mut boot = [0u8; 512];
    let boot_read = r.read_exact_at(0, &mut boot).is_ok();
    if boot_read {
        if &boot[3..11] == b"NTFS    " {
            return Some(FsKind::Ntfs);
        }
        if &boot[3..11] == b"EXFAT   " {
            return Some(FsKind::ExFat);
        }
    }
    // ext before FAT: mkfs.ext* may leave an older boot sector in place,
    // while a FAT volume practically never holds a valid ext superblock
    if ext::Superblock::read(r).is_ok() {
        return Some(FsKind::Ext);
    }
    if boot_read {
        if let Ok(geometry) = fat::Geometry::parse(&boot, r.len()) {
            return Some(geometry.kind);
        }
    }
    None
}

/// Opens the file system in a partition (see [`detect`]).
pub fn open(r: Arc<dyn ReadAt>) -> Result<Box<dyn FileSystem>, FsError> {
    match detect(&*r) {
        Some(FsKind::Ntfs) => Ok(Box::new(ntfs::Ntfs::open(r)?)),
        Some(FsKind::ExFat) => Ok(Box::new(exfat::ExFat::open(r)?)),
        Some(FsKind::Fat12 | FsKind::Fat16 | FsKind::Fat32) => Ok(Box::new(fat::Fat::open(r)?)),
        Some(FsKind::Ext) => Ok(Box::new(ext::Ext::open(r)?)),
        None => Err(FsError::Unrecognised),
    }
}

/// Appends a UTF-16 name to `out` as UTF-8, unpaired surrogates in WTF-8
/// (three bytes each), so that no name is changed or lost.
pub(crate) fn push_utf16(out: &mut Vec<u8>, units: &[u16]) {
    for r in char::decode_utf16(units.iter().copied()) {
        match r {
            Ok(c) => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
            Err(e) => {
                let u = e.unpaired_surrogate();
                out.push(0xE0 | (u >> 12) as u8);
                out.push(0x80 | ((u >> 6) & 0x3F) as u8);
                out.push(0x80 | (u & 0x3F) as u8);
            }
        }
    }
}

/// Little-endian field readers over a byte slice; out-of-range reads give 0
/// (callers check lengths before trusting values).
pub(crate) mod le {
    /// `u16` at `at`, or 0 past the end.
    pub fn u16(b: &[u8], at: usize) -> u16 {
        b.get(at..at + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]))
            .unwrap_or(0)
    }
    /// `u32` at `at`, or 0 past the end.
    pub fn u32(b: &[u8], at: usize) -> u32 {
        b.get(at..at + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            .unwrap_or(0)
    }
    /// `u64` at `at`, or 0 past the end.
    pub fn u64(b: &[u8], at: usize) -> u64 {
        b.get(at..at + 8)
            .map(|s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
            .unwrap_or(0)
    }
}

/// Sorts and merges byte ranges that touch or overlap, cut to the first
/// `limit` bytes (the volume: ranges past its end cannot be read).
/// A file whose data is a list of cluster runs (or held inline) as a
/// reader over the volume: bytes past the runs read as zeros up to the
/// file's size. FAT and exFAT open files this way.
pub(crate) fn open_runs(volume: &Arc<dyn ReadAt>, entry: &Entry) -> Box<dyn ReadAt> {
    let runs = match &entry.data {
        DataRef::Runs(r) => r.clone(),
        DataRef::Inline(b) => return Box::new(b.to_vec()),
        DataRef::Lazy => Arc::from(Vec::new()),
    };
    Box::new(runs::RunReader::new(
        volume.clone(),
        runs,
        entry.size,
        entry.size,
    ))
}

pub(crate) fn merge_ranges(mut v: Vec<(u64, u64)>, limit: u64) -> Vec<(u64, u64)> {
    v.retain(|r| r.1 > 0 && r.0 < limit);
    for r in v.iter_mut() {
        r.1 = r.1.min(limit - r.0);
    }
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (s, l) in v {
        if let Some(last) = out.last_mut() {
            let end = last.0 + last.1;
            if s <= end {
                last.1 = last.1.max(s + l - last.0);
                continue;
            }
        }
        out.push((s, l));
    }
    out
}

/// Free ranges from an allocation bitmap (bit set = allocated), in units
/// of `unit` bytes starting at byte `base`, for `count` units. Whole bytes
/// of 0x00 or 0xFF are taken at once.
pub(crate) fn free_ranges_from_bitmap(
    bitmap: &[u8],
    count: u64,
    base: u64,
    unit: u64,
) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut run_start: Option<u64> = None;
    let mut i = 0;
    while i < count {
        let byte = bitmap.get((i / 8) as usize).copied().unwrap_or(0xFF);
        if i % 8 == 0 && i + 8 <= count && (byte == 0 || byte == 0xFF) {
            let used = byte == 0xFF;
            match (used, run_start) {
                (false, None) => run_start = Some(i),
                (true, Some(s)) => {
                    out.push((base + s * unit, (i - s) * unit));
                    run_start = None;
                }
                _ => {}
            }
            i += 8;
            continue;
        }
        let used = byte >> (i % 8) & 1 == 1;
        match (used, run_start) {
            (false, None) => run_start = Some(i),
            (true, Some(s)) => {
                out.push((base + s * unit, (i - s) * unit));
                run_start = None;
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(s) = run_start {
        out.push((base + s * unit, (count - s) * unit));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_is_lossless() {
        let mut out = Vec::new();
        push_utf16(&mut out, &[0x61, 0xD800, 0x62, 0xD83D, 0xDE00]);
        assert_eq!(out, b"a\xED\xA0\x80b\xF0\x9F\x98\x80");
    }

    #[test]
    fn ranges_merge() {
        assert_eq!(
            merge_ranges(
                vec![(10, 5), (0, 10), (20, 1), (21, 0), (16, 2), (30, 5)],
                32
            ),
            vec![(0, 15), (16, 2), (20, 1), (30, 2)]
        );
    }

    proptest::proptest! {
        /// Free ranges against a bit-by-bit oracle.
        #[test]
        fn bitmap_ranges_cover_exactly_the_clear_bits(
            bm in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..16),
            count in 0u64..140,
        ) {
            let ranges = free_ranges_from_bitmap(&bm, count, 7, 3);
            for i in 0..count {
                let free = bm.get((i / 8) as usize).is_some_and(|b| b >> (i % 8) & 1 == 0);
                let at = 7 + i * 3;
                let covered = ranges.iter().any(|&(s, l)| at >= s && at < s + l);
                proptest::prop_assert_eq!(free, covered, "unit {}", i);
            }
            proptest::prop_assert!(ranges.iter().all(|&(s, l)| s >= 7 && s + l <= 7 + count * 3));
        }
    }

    #[test]
    fn bitmap_free_ranges() {
        // bits: 0 used, 1-2 free, 3 used, 4-9 free
        let bm = [0b0000_1001u8, 0b0000_0000];
        assert_eq!(
            free_ranges_from_bitmap(&bm, 10, 100, 4),
            vec![(104, 8), (116, 24)]
        );
    }
}
