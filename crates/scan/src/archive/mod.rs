//! Looking inside containers: zip, tar, gzip (tar.gz/tgz and single files)
//! and 7z, detected by content, nested to a depth limit, read as streams or
//! from memory — never extracted to disk.
//!
//! Hostile containers are bounded: per file on disk, the bytes that all its
//! nested entries may expand to are capped (an absolute cap, and a cap
//! relative to the file's own size — the compression ratio), as are the
//! number of entries and the nesting depth. Whatever hits a limit, fails to
//! decompress, or has an unsafe name becomes an [`Exclusion`] with its
//! reason; the rest of the scan goes on.

use crate::model::Exclusion;
use crate::model::ExclusionKind;
use nigehbaan_filehash::{DigestState, Digests};
use std::cell::Cell;
use std::io::{self, Cursor, Read, Seek};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Limits on what containers may expand to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArchiveLimits {
    /// Containers nested deeper than this are hashed but not opened.
    pub max_depth: u32,
    /// Entries (at all depths) per file on disk.
    pub max_entries: u64,
    /// Uncompressed bytes (at all depths) per file on disk.
    pub max_total_bytes: u64,
    /// Uncompressed bytes may exceed `ratio_floor` only up to this many
    /// times the file's own size.
    pub max_ratio: u64,
    /// Expansion below this many bytes is never a ratio violation.
    pub ratio_floor: u64,
    /// Entries up to this size are read into memory (and hashed fully,
    /// including PDQ); larger ones are digested as a stream.
    pub max_in_memory: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_depth: 8,
            max_entries: 2_000_000,
            max_total_bytes: 64 << 30,
            max_ratio: 250,
            ratio_floor: 1 << 30,
            max_in_memory: 512 << 20,
        }
    }
}

/// A container format, recognised by content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// PKZIP.
    Zip,
    /// POSIX, GNU or v7 tar.
    Tar,
    /// gzip (a `.tar.gz` or a single compressed file).
    Gzip,
    /// 7-Zip.
    SevenZ,
}

/// Bytes of a file's start that [`detect`] (and [`crate::opaque::detect`])
/// look at.
pub const DETECT_BYTES: usize = crate::opaque::OPAQUE_DETECT_BYTES;

/// Recognises a container by its first bytes (at least 512 for tar).
pub fn detect(head: &[u8]) -> Option<Container> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Container::Zip)
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Some(Container::Gzip)
    } else if head.starts_with(&[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) {
        Some(Container::SevenZ)
    } else if is_tar(head) {
        Some(Container::Tar)
    } else {
        None
    }
}

/// A tar header: `ustar` magic, or (v7 tar) a valid header checksum.
fn is_tar(head: &[u8]) -> bool {
    if head.len() < 512 {
        return false;
    }
    let h = &head[..512];
    if &h[257..262] == b"ustar" {
        return true;
    }
    if h.iter().all(|&b| b == 0) {
        return false;
    }
    let field = &h[148..156];
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let Ok(stored) = u32::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                b as u32
            }
        })
        .sum();
    sum == stored
}

/// An entry's content as handed to the hashing workers.
pub(crate) enum Data {
    /// Read whole into memory.
    Bytes(Arc<[u8]>),
    /// A zip entry that a worker decompresses itself (zip entries can be
    /// read independently, so their inflating runs in parallel).
    Lazy {
        /// Its declared size (at most this many bytes are read).
        size: u64,
        /// Reads it.
        read: LazyRead,
    },
    /// Too large to hold: digested here as a stream.
    Digested {
        digests: Digests,
        size: u64,
        /// The content starts like an image (it was not decoded).
        image: bool,
    },
}

/// Produces a deferred entry's bytes, or says why it cannot.
pub(crate) type LazyRead = Box<dyn FnOnce() -> Result<Vec<u8>, LazyReadError> + Send>;

/// Why an entry read on demand (a zip entry, on a worker) gave no bytes.
#[derive(Debug)]
pub(crate) enum LazyReadError {
    /// The zip entry could not be opened.
    Open(zip::result::ZipError),
    /// It could not be decompressed.
    Decompress(std::io::Error),
    /// It holds more than its declared size (corrupt or hostile).
    Overlong {
        /// The size its header declares.
        declared: u64,
    },
}

impl std::fmt::Display for LazyReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LazyReadError::Open(e) => write!(f, "cannot read zip entry: {e}"),
            LazyReadError::Decompress(e) => write!(f, "cannot decompress zip entry: {e}"),
            LazyReadError::Overlong { declared } => write!(
                f,
                "zip entry holds more than its declared {declared} bytes (corrupt or hostile)"
            ),
        }
    }
}

impl std::error::Error for LazyReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LazyReadError::Open(e) => Some(e),
            LazyReadError::Decompress(e) => Some(e),
            LazyReadError::Overlong { .. } => None,
        }
    }
}

/// An in-memory zip, shared with the workers that inflate its entries.
type SharedZip = zip::ZipArchive<Cursor<Arc<[u8]>>>;

/// One entry found inside a container.
pub(crate) struct Entry {
    /// Container chain and entry name, separated by `!`.
    pub path: String,
    /// Nesting depth (1: inside a file on disk).
    pub depth: u32,
    /// Modification time as the container records it.
    pub modified: Option<String>,
    /// The content.
    pub data: Data,
}

/// Why an expansion stopped before the end.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A limit was hit (already recorded as an exclusion).
    Limit,
    /// The scan was cancelled.
    Cancelled,
}

/// An entry that could not be read (the container may still go on).
enum EntryError {
    Stop(Stop),
    Failed(String),
}

impl From<Stop> for EntryError {
    fn from(s: Stop) -> Self {
        EntryError::Stop(s)
    }
}

/// Counts bytes expanded for one file on disk.
struct Meter {
    produced: Cell<u64>,
    cap: Cell<u64>,
    ratio_bound: Cell<bool>,
}

/// The error a metered read returns when the cap is passed.
#[derive(Debug)]
struct OverCap;

impl std::fmt::Display for OverCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("expansion limit reached")
    }
}

impl std::error::Error for OverCap {}

struct Metered<'m, R> {
    inner: R,
    meter: &'m Meter,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.meter.produced.get() + n as u64;
        self.meter.produced.set(total);
        if total > self.meter.cap.get() {
            return Err(io::Error::other(OverCap));
        }
        Ok(n)
    }
}

fn is_over_cap(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<OverCap>())
}

/// Where a container's bytes come from.
pub(crate) enum Source {
    /// Already in memory.
    Mem(Arc<[u8]>),
    /// An open file (read as a stream, or with seeks for zip and 7z).
    File(std::fs::File),
}

/// Expands the containers of one exhibit, handing every entry to `emit`.
pub(crate) struct Expander<'a, E: FnMut(Entry), S: Fn(&str) -> bool> {
    limits: ArchiveLimits,
    exhibit: String,
    emit: E,
    /// Already hashed in an earlier run (`--resume`): not emitted again.
    skip: S,
    cancel: &'a AtomicBool,
    meter: Meter,
    entries: u64,
    /// Whether images get PDQ hashes (then a video's frames would need
    /// examining too).
    pdq: bool,
    /// What was excluded, with reasons.
    pub exclusions: Vec<Exclusion>,
}

const CHUNK: usize = 1 << 20;

/// Memory a 7z header or decoder may ask for, in KiB (7-Zip's own largest
/// dictionary is 1.5 GiB; 256 MiB covers every preset up to -mx9).
const SEVEN_MEM_KB: usize = 256 << 10;

impl<'a, E: FnMut(Entry), S: Fn(&str) -> bool> Expander<'a, E, S> {
    /// A new expander for one exhibit.
    pub fn new(
        limits: ArchiveLimits,
        exhibit: &str,
        cancel: &'a AtomicBool,
        skip: S,
        emit: E,
    ) -> Self {
        Expander {
            limits,
            exhibit: exhibit.to_string(),
            emit,
            skip,
            cancel,
            meter: Meter {
                produced: Cell::new(0),
                cap: Cell::new(0),
                ratio_bound: Cell::new(false),
            },
            entries: 0,
            pdq: true,
            exclusions: Vec::new(),
        }
    }

    /// Whether the scan computes PDQ (default true): videos found in
    /// containers are then recorded as unexamined.
    pub fn pdq(mut self, pdq: bool) -> Self {
        self.pdq = pdq;
        self
    }

    /// Records `path` as unexamined when its content (starting `head`) is
    /// a disk image or a video (see [`crate::opaque`]).
    fn note_opaque(&mut self, path: &str, head: &[u8]) {
        let head = &head[..head.len().min(DETECT_BYTES)];
        if let Some(x) = crate::opaque::exclusion(head, self.pdq, &self.exhibit, path) {
            self.exclusions.push(x);
        }
    }

    /// Expands a file on disk (`display` is its path; `size` its size).
    pub fn expand_file(
        &mut self,
        kind: Container,
        src: Source,
        display: &str,
        size: u64,
    ) -> Result<(), Stop> {
        let l = self.limits;
        let by_ratio = l.ratio_floor.max(l.max_ratio.saturating_mul(size));
        self.meter.produced.set(0);
        self.meter.cap.set(by_ratio.min(l.max_total_bytes));
        self.meter.ratio_bound.set(by_ratio < l.max_total_bytes);
        self.entries = 0;
        match self.expand(kind, src, display, 0) {
            Err(Stop::Limit) => Ok(()),
            other => other,
        }
    }

    fn exclude(
        &mut self,
        path: &str,
        kind: ExclusionKind,
        reason: String,
        incomplete: bool,
        hashed: bool,
    ) {
        self.exclusions.push(Exclusion {
            exhibit: self.exhibit.clone(),
            path: path.to_string(),
            kind,
            reason,
            incomplete,
            hashed,
        });
    }

    /// A container that could not be read to its end. The container itself
    /// was hashed (it is handed to the workers before it is opened).
    fn broken(&mut self, path: &str, what: &str, e: impl std::fmt::Display) {
        self.exclude(
            path,
            ExclusionKind::ArchiveError,
            format!("{what}: {e}; entries after this point were not examined"),
            true,
            true,
        );
    }

    fn limit_hit(&mut self, path: &str) -> Stop {
        let (kind, why) = if self.meter.ratio_bound.get() {
            (
                ExclusionKind::RatioLimit,
                format!(
                    "expands to more than {} bytes, over {}× its container's size \
                     (a decompression bomb?); the rest of this container was not examined",
                    self.meter.cap.get(),
                    self.limits.max_ratio
                ),
            )
        } else {
            (
                ExclusionKind::SizeLimit,
                format!(
                    "expands to more than {} bytes in all; the rest of this container \
                     was not examined",
                    self.meter.cap.get()
                ),
            )
        };
        self.exclude(path, kind, why, true, false);
        Stop::Limit
    }

    fn expand(
        &mut self,
        kind: Container,
        src: Source,
        parent: &str,
        depth: u32,
    ) -> Result<(), Stop> {
        match (kind, src) {
            (Container::Zip, Source::Mem(b)) => {
                match zip::ZipArchive::new(Cursor::new(b.clone())) {
                    Ok(z) => {
                        let shared = z.clone();
                        self.zip(Ok(z), Some(&shared), parent, depth)
                    }
                    // No central directory (cut short) or a damaged one: walk
                    // the local headers.
                    Err(e) => self.zip_recover(&b, e, parent, depth),
                }
            }
            (Container::Zip, Source::File(f)) => {
                self.zip(zip::ZipArchive::new(f), None, parent, depth)
            }
            (Container::SevenZ, Source::Mem(b)) => self.seven(Cursor::new(b), parent, depth),
            (Container::SevenZ, Source::File(f)) => self.seven(f, parent, depth),
            (Container::Tar, Source::Mem(b)) => self.tar(&b[..], parent, depth),
            (Container::Tar, Source::File(f)) => self.tar(io::BufReader::new(f), parent, depth),
            (Container::Gzip, Source::Mem(b)) => self.gzip(&b[..], parent, depth),
            (Container::Gzip, Source::File(f)) => {
                self.gzip(io::BufReader::with_capacity(CHUNK, f), parent, depth)
            }
        }
    }

    /// Counts an entry and checks it: cancellation, the entry limit, its
    /// name.
    fn begin_entry(&mut self, path: &str, name: &str) -> Result<(), EntryError> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Stop::Cancelled.into());
        }
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            self.exclude(
                path,
                ExclusionKind::EntryLimit,
                format!(
                    "more than {} entries in one file; the rest of this container was \
                     not examined",
                    self.limits.max_entries
                ),
                true,
                false,
            );
            return Err(Stop::Limit.into());
        }
        if let Some(why) = unsafe_name(name) {
            self.exclude(
                path,
                ExclusionKind::UnsafeName,
                format!("{why}; hashed under its literal name, never extracted"),
                false,
                true,
            );
        }
        Ok(())
    }

    /// Reads one entry and emits it; opens it when it is a container.
    fn entry(
        &mut self,
        parent: &str,
        depth: u32,
        name: &str,
        modified: Option<String>,
        reader: &mut dyn Read,
    ) -> Result<(), EntryError> {
        let path = format!("{parent}!{name}");
        self.begin_entry(&path, name)?;
        let cap = self.limits.max_in_memory;
        let mut buf = Vec::new();
        let mut metered = Metered {
            inner: reader,
            meter: &self.meter,
        };
        let read = (&mut metered).take(cap + 1).read_to_end(&mut buf);
        if let Err(e) = read {
            return Err(if is_over_cap(&e) {
                self.limit_hit(&path).into()
            } else {
                EntryError::Failed(format!("{path}: {e}"))
            });
        }
        if buf.len() as u64 > cap {
            return self.stream_entry(path, depth, modified, buf, &mut metered.inner);
        }
        let data: Arc<[u8]> = buf.into();
        let nested = detect(&data);
        if nested.is_none() {
            self.note_opaque(&path, &data);
        }
        if !(self.skip)(&path) {
            (self.emit)(Entry {
                path: path.clone(),
                depth,
                modified,
                data: Data::Bytes(data.clone()),
            });
        }
        if let Some(kind) = nested {
            if depth >= self.limits.max_depth {
                self.exclude(
                    &path,
                    ExclusionKind::DepthLimit,
                    format!(
                        "a container nested {depth} deep (limit {}): hashed, not opened",
                        self.limits.max_depth
                    ),
                    true,
                    true,
                );
            } else {
                self.expand(kind, Source::Mem(data.clone()), &path, depth)?;
            }
        }
        Ok(())
    }

    /// An entry too large for memory: digests as a stream, not opened.
    fn stream_entry(
        &mut self,
        path: String,
        depth: u32,
        modified: Option<String>,
        head: Vec<u8>,
        rest: &mut dyn Read,
    ) -> Result<(), EntryError> {
        let image = nigehbaan_media::sniff_prefix(&head[..head.len().min(32)]);
        let nested = detect(&head);
        if nested.is_none() {
            let h = &head[..head.len().min(DETECT_BYTES)];
            self.exclusions.extend(crate::opaque::exclusion_unheld(
                h,
                self.pdq,
                &self.exhibit,
                &path,
            ));
        }
        let mut st = DigestState::new();
        st.update(&head);
        let mut size = head.len() as u64;
        drop(head);
        let mut buf = vec![0u8; CHUNK];
        let mut metered = Metered {
            inner: rest,
            meter: &self.meter,
        };
        loop {
            match metered.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    st.update(&buf[..n]);
                    size += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_over_cap(&e) => return Err(self.limit_hit(&path).into()),
                Err(e) => return Err(EntryError::Failed(format!("{path}: {e}"))),
            }
        }
        if nested.is_some() {
            self.exclude(
                &path,
                ExclusionKind::TooLargeToOpen,
                format!(
                    "a nested container of {size} bytes, over the {}-byte in-memory limit: \
                     hashed, not opened",
                    self.limits.max_in_memory
                ),
                true,
                true,
            );
        }
        if !(self.skip)(&path) {
            (self.emit)(Entry {
                path,
                depth,
                modified,
                data: Data::Digested {
                    digests: st.finish(),
                    size,
                    image,
                },
            });
        }
        Ok(())
    }

    fn seven<R: Read + Seek>(&mut self, r: R, parent: &str, depth: u32) -> Result<(), Stop> {
        use sevenz_rust2::{ArchiveReader, Password};
        // Header buffers and decoder dictionaries are capped: a hostile header
        // must not make the decoder allocate gigabytes.
        let mut ar = match ArchiveReader::new_with_memory_limit(r, Password::empty(), SEVEN_MEM_KB)
        {
            Ok(a) => a,
            Err(e) => {
                self.broken(parent, "cannot read 7z", e);
                return Ok(());
            }
        };
        let count = ar.archive().files.len() as u64;
        if self.entries + count > self.limits.max_entries {
            self.exclude(
                parent,
                ExclusionKind::EntryLimit,
                format!(
                    "a 7z of {count} entries, over the limit of {} per file: hashed, not opened",
                    self.limits.max_entries
                ),
                true,
                true,
            );
            return Ok(());
        }
        let mut outcome: Result<(), Stop> = Ok(());
        let mut failed: Option<String> = None;
        let res = ar.for_each_entries(|e, rd| {
            if e.is_directory() || e.is_anti_item {
                return Ok(true);
            }
            let modified = e
                .has_last_modified_date
                .then(|| nigehbaan_time::utc_of(e.last_modified_date().into()))
                .flatten();
            match self.entry(parent, depth + 1, e.name(), modified, rd) {
                Ok(()) => Ok(true),
                Err(EntryError::Stop(s)) => {
                    outcome = Err(s);
                    Ok(false)
                }
                Err(EntryError::Failed(why)) => {
                    failed = Some(why);
                    Ok(false)
                }
            }
        });
        if let Some(why) = failed {
            self.broken(parent, "cannot decompress 7z entry", why);
        } else if let Err(e) = res {
            if outcome.is_ok() {
                self.broken(parent, "cannot read 7z", e);
            }
        }
        outcome
    }

    fn tar<R: Read>(&mut self, r: R, parent: &str, depth: u32) -> Result<(), Stop> {
        use tar::EntryType as T;
        let mut a = tar::Archive::new(r);
        let entries = match a.entries() {
            Ok(e) => e,
            Err(e) => {
                self.broken(parent, "cannot read tar", e);
                return Ok(());
            }
        };
        for e in entries {
            let mut e = match e {
                Ok(e) => e,
                Err(err) => {
                    if is_over_cap(&err) {
                        return Err(self.limit_hit(parent));
                    }
                    self.broken(parent, "cannot read tar", err);
                    return Ok(());
                }
            };
            let name = crate::model::raw_name(&e.path_bytes());
            let ty = e.header().entry_type();
            let here = || format!("{parent}!{name}");
            match ty {
                T::Regular | T::Continuous | T::GNUSparse => {}
                T::Directory => continue,
                T::Symlink | T::Link => {
                    let target = e
                        .link_name_bytes()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    self.exclude(
                        &here(),
                        ExclusionKind::LinkEntry,
                        format!("link stored in the tar (to {target:?}); not followed"),
                        false,
                        false,
                    );
                    continue;
                }
                T::Char | T::Block | T::Fifo => {
                    self.exclude(
                        &here(),
                        ExclusionKind::SpecialFile,
                        "device or FIFO stored in the tar; skipped".into(),
                        false,
                        false,
                    );
                    continue;
                }
                _ => continue,
            }
            let modified = e
                .header()
                .mtime()
                .ok()
                .and_then(|t| nigehbaan_time::utc(i64::try_from(t).ok()?));
            match self.entry(parent, depth + 1, &name, modified, &mut e) {
                Ok(()) => {}
                Err(EntryError::Stop(s)) => return Err(s),
                Err(EntryError::Failed(why)) => {
                    self.broken(parent, "cannot read tar", why);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn gzip<R: Read>(&mut self, r: R, parent: &str, depth: u32) -> Result<(), Stop> {
        let mut gz = flate2::read::MultiGzDecoder::new(r);
        let mut head = Vec::with_capacity(DETECT_BYTES);
        if let Err(e) = (&mut gz).take(DETECT_BYTES as u64).read_to_end(&mut head) {
            self.broken(parent, "cannot decompress gzip", e);
            return Ok(());
        }
        let inner = gz
            .header()
            .and_then(|h| h.filename())
            .map(crate::model::raw_name)
            .unwrap_or_else(|| gunzipped_name(parent));
        let tar = is_tar(&head);
        let mut chained = Cursor::new(head).chain(gz);
        if tar {
            return self.tar(chained, parent, depth);
        }
        match self.entry(parent, depth + 1, &inner, None, &mut chained) {
            Ok(()) => Ok(()),
            Err(EntryError::Stop(s)) => Err(s),
            Err(EntryError::Failed(why)) => {
                self.broken(parent, "cannot decompress gzip", why);
                Ok(())
            }
        }
    }
}

/// The name of a gzip's content when its header gives none: the file name
/// without `.gz` (`.tgz` becomes `.tar`).
fn gunzipped_name(parent: &str) -> String {
    let last = parent.rsplit(['/', '!', '\\']).next().unwrap_or(parent);
    if let Some(stem) = last.strip_suffix(".tgz") {
        format!("{stem}.tar")
    } else if let Some(stem) = last.strip_suffix(".gz") {
        stem.to_string()
    } else {
        format!("{last}.gunzipped")
    }
}

/// Why an entry name is unsafe to extract, if it is.
pub fn unsafe_name(name: &str) -> Option<&'static str> {
    let b = name.as_bytes();
    if name.starts_with('/') || name.starts_with('\\') {
        return Some("absolute entry name");
    }
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Some("entry name with a drive letter");
    }
    if name.split(['/', '\\']).any(|c| c == "..") {
        return Some("entry name that climbs out of the archive (path traversal)");
    }
    if name.chars().any(|c| c.is_control()) {
        return Some("entry name with control characters");
    }
    None
}

mod listing;
mod zipped;
mod zipwalk;

pub use listing::{entries_of, Listed};

#[cfg(test)]
mod tests;
