//! A versioned, memory-mapped file of typed sections, so that a compiled
//! index opens in the time it takes to map it, whatever its size.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! 0   magic  "NIGEHBAAN-INDEX\0"          16 bytes
//! 16  format version (u32) = 1
//! 20  section count (u32)
//! 24  sections: count × { kind u32, reserved u32, offset u64, length u64 }
//! …   section data, each starting on a 64-byte boundary
//! ```
//!
//! Files are written to a temporary name and renamed into place, so a
//! reader never sees a half-written file.

use memmap2::Mmap;
use std::fs::File;
use std::io::{self, Write};
use std::ops::{Deref, Range};
use std::path::Path;
use std::sync::Arc;

const MAGIC: &[u8; 16] = b"NIGEHBAAN-INDEX\0";
/// The on-disk format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
const ALIGN: usize = 64;

/// Why a store could not be opened.
#[derive(Debug)]
pub enum StoreError {
    /// Reading the file failed.
    Io(io::Error),
    /// The file is not a Nigehbaan index, or is damaged.
    Invalid(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Io(e) => e.fmt(f),
            StoreError::Invalid(why) => write!(f, "not a valid Nigehbaan index: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        StoreError::Io(e)
    }
}

/// An array that is either owned or borrowed from a mapped file.
pub enum Buf<T: bytemuck::Pod> {
    /// Built in memory.
    Owned(Vec<T>),
    /// A section of a mapped file.
    Mapped(Arc<Mmap>, Range<usize>),
}

impl<T: bytemuck::Pod> Deref for Buf<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            Buf::Owned(v) => v,
            // Alignment and length were checked when the section was opened.
            Buf::Mapped(m, r) => bytemuck::cast_slice(&m[r.clone()]),
        }
    }
}

impl<T: bytemuck::Pod> From<Vec<T>> for Buf<T> {
    fn from(v: Vec<T>) -> Self {
        Buf::Owned(v)
    }
}

/// Collects sections and writes them as one file.
#[derive(Default)]
pub struct StoreWriter {
    sections: Vec<(u32, Vec<u8>)>,
}

impl StoreWriter {
    /// An empty writer.
    pub fn new() -> StoreWriter {
        StoreWriter::default()
    }

    /// Adds a section of kind `kind` holding `data`.
    pub fn add<T: bytemuck::Pod>(&mut self, kind: u32, data: &[T]) {
        self.sections
            .push((kind, bytemuck::cast_slice(data).to_vec()));
    }

    /// Writes the file: to `path.tmp` (mode `0600`: readable by its owner
    /// alone), synced, then renamed over `path`.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let header = 24 + self.sections.len() * 24;
        let mut offset = header.next_multiple_of(ALIGN);
        let mut table = Vec::with_capacity(self.sections.len());
        for (kind, data) in &self.sections {
            table.push((*kind, offset, data.len()));
            offset = (offset + data.len()).next_multiple_of(ALIGN);
        }
        let tmp = path.with_extension("tmp");
        let mut f = io::BufWriter::new(create_private(&tmp)?);
        f.write_all(MAGIC)?;
        f.write_all(&FORMAT_VERSION.to_le_bytes())?;
        f.write_all(&(self.sections.len() as u32).to_le_bytes())?;
        for (kind, off, len) in &table {
            f.write_all(&kind.to_le_bytes())?;
            f.write_all(&0u32.to_le_bytes())?;
            f.write_all(&(*off as u64).to_le_bytes())?;
            f.write_all(&(*len as u64).to_le_bytes())?;
        }
        let mut pos = header;
        for ((_, data), (_, off, _)) in self.sections.iter().zip(&table) {
            f.write_all(&vec![0u8; off - pos])?;
            f.write_all(data)?;
            pos = off + data.len();
        }
        f.write_all(&vec![0u8; pos.next_multiple_of(ALIGN) - pos])?;
        let file = f.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

/// Creates (or truncates) `path` for writing, readable by its owner alone
/// (mode `0600` whatever the umask, also for a file that existed): index
/// files hold hashes from confidential lists.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let f = o.open(path)?;
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(f)
}

/// A mapped index file.
pub struct Store {
    map: Arc<Mmap>,
    sections: Vec<(u32, Range<usize>)>,
}

/// A mapped file whose layout has not been read yet: for a caller that
/// checks the exact bytes it will use (e.g. against a recorded hash)
/// before trusting them. [`Mapping::into_store`] then reads the layout
/// from the same mapping.
pub struct Mapping {
    map: Mmap,
}

impl Mapping {
    /// Maps `path` read-only.
    ///
    /// # Safety
    /// Nothing may modify or truncate the file while the returned mapping
    /// (or a [`Store`] or [`Buf`] made from it) lives: the bytes are read
    /// through the map as plain memory, so a change under it is undefined
    /// behaviour (a truncation is a `SIGBUS`). Files from
    /// [`StoreWriter::write`] meet this when nothing else writes them: it
    /// writes a temporary file and renames it into place, so a rewrite
    /// replaces the file rather than changing the mapped one.
    pub unsafe fn open(path: &Path) -> Result<Mapping, StoreError> {
        if cfg!(target_endian = "big") {
            return Err(StoreError::Invalid(
                "index files are little-endian; this machine is not".into(),
            ));
        }
        let file = File::open(path)?;
        // SAFETY: the file is opened read-only and only read through the
        // map; that nothing modifies it while mapped is this function's
        // contract, passed on from `Mmap::map`'s.
        let map = unsafe { Mmap::map(&file)? };
        Ok(Mapping { map })
    }

    /// The mapped bytes (read from disk as they are touched).
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Feeds the mapped bytes to `f` front to back, in pieces of about
    /// 8 MiB, with large read-ahead; once `f` has seen a piece its pages
    /// leave this process's resident memory (they stay in the page cache,
    /// and come back unchanged when touched). For hashing an index much
    /// larger than memory without holding it all resident.
    pub fn for_each_chunk(&self, mut f: impl FnMut(&[u8])) {
        const CHUNK: usize = 8 << 20;
        #[cfg(unix)]
        let _ = self.map.advise(memmap2::Advice::Sequential);
        for (i, piece) in self.map.chunks(CHUNK).enumerate() {
            f(piece);
            #[cfg(unix)]
            // SAFETY: the map is a read-only shared mapping of a file (never
            // a private one with copied pages), and no reference into this
            // piece outlives `f`. MADV_DONTNEED only drops this process's
            // page-table entries for it; the next access maps the same file
            // pages again, so the bytes seen are unchanged.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    i * CHUNK,
                    piece.len(),
                )
            };
        }
        #[cfg(unix)]
        let _ = self.map.advise(memmap2::Advice::Normal);
    }

    /// Validates the layout and gives the store over this same mapping.
    pub fn into_store(self) -> Result<Store, StoreError> {
        Store::from_map(self.map)
    }
}

impl Store {
    /// Maps and validates a file written by [`StoreWriter`].
    ///
    /// # Safety
    /// As for [`Mapping::open`]: nothing may modify or truncate the file
    /// while the store, or any [`Buf`] taken from it, lives.
    pub unsafe fn open(path: &Path) -> Result<Store, StoreError> {
        // SAFETY: this function's contract is `Mapping::open`'s.
        unsafe { Mapping::open(path) }?.into_store()
    }

    fn from_map(map: Mmap) -> Result<Store, StoreError> {
        let bad = |why: &str| StoreError::Invalid(why.to_string());
        if map.len() < 24 || &map[..16] != MAGIC {
            return Err(bad("missing header"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(map[o..o + 4].try_into().expect("4 bytes"));
        let u64_at = |o: usize| u64::from_le_bytes(map[o..o + 8].try_into().expect("8 bytes"));
        let version = u32_at(16);
        if version != FORMAT_VERSION {
            return Err(StoreError::Invalid(format!(
                "format version {version}, this build reads version {FORMAT_VERSION}; rebuild the index"
            )));
        }
        let count = u32_at(20) as usize;
        if 24 + count.saturating_mul(24) > map.len() {
            return Err(bad("section table runs past the end"));
        }
        let mut sections = Vec::with_capacity(count);
        for i in 0..count {
            let at = 24 + i * 24;
            let (kind, off, len) = (
                u32_at(at),
                u64_at(at + 8) as usize,
                u64_at(at + 16) as usize,
            );
            if off % ALIGN != 0 || off.checked_add(len).is_none_or(|end| end > map.len()) {
                return Err(bad("section outside the file or misaligned"));
            }
            sections.push((kind, off..off + len));
        }
        Ok(Store {
            map: Arc::new(map),
            sections,
        })
    }

    /// Asks the kernel to read the whole file ahead, in large requests, for
    /// a caller about to read all of it (a hint; failure is harmless). Much
    /// faster from a cold disk than page faults one readahead window apart.
    pub fn will_need(&self) {
        #[cfg(unix)]
        let _ = self.map.advise(memmap2::Advice::WillNeed);
    }

    /// True when the file holds a section of kind `kind`.
    pub fn has_section(&self, kind: u32) -> bool {
        self.sections.iter().any(|(k, _)| *k == kind)
    }

    /// The section of kind `kind` as an array of `T`.
    pub fn section<T: bytemuck::Pod>(&self, kind: u32) -> Result<Buf<T>, StoreError> {
        let (_, range) = self
            .sections
            .iter()
            .find(|(k, _)| *k == kind)
            .ok_or_else(|| StoreError::Invalid(format!("section {kind} missing")))?;
        bytemuck::try_cast_slice::<u8, T>(&self.map[range.clone()])
            .map_err(|e| StoreError::Invalid(format!("section {kind}: {e}")))?;
        Ok(Buf::Mapped(self.map.clone(), range.clone()))
    }

    /// Size of the mapped file in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True for an empty file (never, for a valid store).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
