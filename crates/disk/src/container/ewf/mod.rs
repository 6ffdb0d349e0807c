//! EnCase E01 (EWF version 1) images: a chain of sections in one or more
//! segment files (`.E01 .E02 …`), the media stored in zlib-compressed or
//! Adler-32-checked chunks located through table sections.
//!
//! Tables are checked when the image opens (a damaged `table` falls back
//! to its `table2` copy) but their entries are re-read on demand through a
//! small cache, so memory does not grow with the image. Decoded chunks sit
//! in a bounded LRU cache (about 8 MiB). A corrupt or missing chunk fails
//! only reads that touch it, with an [`Unreadable`] naming its byte range.

mod chunks;
pub mod header;
pub mod sections;

use super::cache::Lru;
use crate::read::ReadAt;
use crate::unreadable::{Cause, Unreadable};
pub use header::Acquisition;
use sections::{
    Descriptor, Geometry, COMPRESSED, DESCRIPTOR_LEN, FILE_HEADER_LEN, TABLE_HEADER_LEN,
};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Bytes of decoded chunks the cache keeps.
const CACHE_BYTES: u64 = 8 << 20;
/// Header sections larger than this are not decoded.
const MAX_HEADER: u64 = 1 << 20;

/// One segment file of an E01.
pub struct Segment {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its bytes.
    pub reader: Box<dyn ReadAt>,
}

/// Where one table section's entries are.
#[derive(Debug, Clone, Copy)]
struct TableRef {
    segment: usize,
    entries_at: u64,
    count: u32,
    base: u64,
    /// End of the chunk data the table's last entry points into.
    data_end: u64,
    first_chunk: u64,
}

/// Something wrong in an E01's structure that did not stop it opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The segment file.
    pub path: PathBuf,
    /// Offset in that file.
    pub offset: u64,
    /// What was wrong.
    pub kind: DamageKind,
}

/// Kinds of structural damage in an E01.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageKind {
    /// A section descriptor's checksum failed; the rest of the segment's
    /// section chain is lost.
    BadDescriptor,
    /// The segment file ends before its section chain does.
    Truncated,
    /// A section points backwards or to itself.
    ChainLoop,
    /// A table section failed its checksum (its `table2` copy is tried).
    BadTable,
    /// A header section did not decompress or parse.
    BadHeader,
    /// The volume section declares more media than the segment files could
    /// hold; the size was cut to that bound.
    ImplausibleSize {
        /// The declared size in bytes.
        declared: u64,
    },
    /// The tables locate fewer chunks than the volume section declares.
    MissingChunks {
        /// Chunks declared.
        expected: u64,
        /// Chunks located.
        found: u64,
    },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}: ", self.path.display(), self.offset)?;
        match &self.kind {
            DamageKind::BadDescriptor => write!(f, "section descriptor checksum mismatch"),
            DamageKind::Truncated => write!(f, "file ends inside its section chain"),
            DamageKind::ChainLoop => write!(f, "section chain points backwards"),
            DamageKind::BadTable => write!(f, "table section checksum mismatch"),
            DamageKind::BadHeader => write!(f, "header section unreadable"),
            DamageKind::ImplausibleSize { declared } => {
                write!(
                    f,
                    "declared media size {declared} is more than the files could hold"
                )
            }
            DamageKind::MissingChunks { expected, found } => {
                write!(f, "tables locate {found} of {expected} chunks")
            }
        }
    }
}

/// The MD5 and SHA-1 an E01 stores for its media.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredHashes {
    /// From the `hash` or `digest` section.
    pub md5: Option<[u8; 16]>,
    /// From the `digest` section.
    pub sha1: Option<[u8; 20]>,
}

/// Why an E01 could not be opened at all.
#[derive(Debug)]
#[non_exhaustive]
pub enum EwfError {
    /// Reading a segment file failed.
    Io {
        /// The segment file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A segment does not start with the EWF signature.
    NotEwf {
        /// The segment file.
        path: PathBuf,
    },
    /// A segment's number is not its place in the sequence.
    SegmentNumber {
        /// The segment file.
        path: PathBuf,
        /// Its place in the sequence (1-based).
        expected: u32,
        /// The number its header holds.
        found: u32,
    },
    /// No volume section gives the chunk size and media size.
    NoGeometry {
        /// The first segment file.
        path: PathBuf,
    },
}

impl fmt::Display for EwfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EwfError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            EwfError::NotEwf { path } => {
                write!(
                    f,
                    "{}: not an EWF segment file (no EVF signature)",
                    path.display()
                )
            }
            EwfError::SegmentNumber {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: segment number {found} where segment {expected} was expected",
                path.display()
            ),
            EwfError::NoGeometry { path } => {
                write!(
                    f,
                    "{}: no readable volume section (chunk and media size)",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for EwfError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EwfError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// An open E01 image: a [`ReadAt`] over the media it holds.
pub struct Ewf {
    segments: Vec<Segment>,
    tables: Vec<TableRef>,
    chunk_size: u64,
    media_size: u64,
    chunks_located: u64,
    acquisition: Option<Acquisition>,
    stored: StoredHashes,
    acquisition_errors: Vec<Unreadable>,
    damage: Vec<Damage>,
    /// True when the last segment ends with a `next` section: a later
    /// segment file should exist.
    wants_more: bool,
    chunk_cache: Mutex<Lru<Arc<Vec<u8>>>>,
    table_cache: Mutex<Lru<Arc<Vec<u32>>>>,
}

fn io_err(path: &std::path::Path, source: io::Error) -> EwfError {
    EwfError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Decompresses a zlib stream into exactly `out`'s capacity at most;
/// `None` when the stream is corrupt or its Adler-32 fails.
fn inflate(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Option<()> {
    let mut d = flate2::Decompress::new(true);
    out.clear();
    out.reserve(limit);
    match d.decompress_vec(input, out, flate2::FlushDecompress::Finish) {
        Ok(flate2::Status::StreamEnd) => Some(()),
        _ => None,
    }
}

/// State carried along one segment's section chain.
struct ChainState {
    sectors_end: Option<u64>,
    last_table_good: bool,
}

impl Ewf {
    /// Opens an E01 from its segment files, in order (segment 1 first).
    pub fn open(segments: Vec<Segment>) -> Result<Ewf, EwfError> {
        let first_path = segments.first().map(|s| s.path.clone()).unwrap_or_default();
        let mut ewf = Ewf {
            segments,
            tables: Vec::new(),
            chunk_size: 0,
            media_size: 0,
            chunks_located: 0,
            acquisition: None,
            stored: StoredHashes::default(),
            acquisition_errors: Vec::new(),
            damage: Vec::new(),
            wants_more: false,
            chunk_cache: Mutex::new(Lru::new(1)),
            table_cache: Mutex::new(Lru::new(16)),
        };
        let mut geometry = None;
        let mut header2: Option<Acquisition> = None;
        let mut header: Option<Acquisition> = None;
        for i in 0..ewf.segments.len() {
            let seg = &ewf.segments[i];
            let mut h = [0u8; 13];
            seg.reader
                .read_exact_at(0, &mut h)
                .map_err(|e| io_err(&seg.path, e))?;
            let Some(n) = sections::segment_number(&h) else {
                return Err(EwfError::NotEwf {
                    path: seg.path.clone(),
                });
            };
            if u32::from(n) != i as u32 + 1 {
                return Err(EwfError::SegmentNumber {
                    path: seg.path.clone(),
                    expected: i as u32 + 1,
                    found: u32::from(n),
                });
            }
            ewf.walk_segment(i, &mut geometry, &mut header2, &mut header)?;
        }
        let g: Geometry = geometry.ok_or(EwfError::NoGeometry {
            path: first_path.clone(),
        })?;
        ewf.chunk_size = g.chunk_size();
        ewf.media_size = g.media_size();
        // Every chunk costs at least a table entry and a few bytes of data:
        // a declared size far beyond what the files could hold is hostile
        // or garbage, and would make a verification pass endless.
        let stored: u64 = ewf.segments.iter().map(|s| s.reader.len()).sum();
        let bound = (stored / 8 + 1).saturating_mul(ewf.chunk_size);
        if ewf.media_size > bound {
            ewf.damage.push(Damage {
                path: first_path.clone(),
                offset: 0,
                kind: DamageKind::ImplausibleSize {
                    declared: ewf.media_size,
                },
            });
            ewf.media_size = bound;
        }
        let cap = (CACHE_BYTES / ewf.chunk_size.max(1)).max(2) as usize;
        ewf.chunk_cache = Mutex::new(Lru::new(cap));
        let expected = ewf.media_size.div_ceil(ewf.chunk_size);
        if ewf.chunks_located < expected {
            let last = ewf.segments.len() - 1;
            ewf.damage.push(Damage {
                path: ewf.segments[last].path.clone(),
                offset: ewf.segments[last].reader.len(),
                kind: DamageKind::MissingChunks {
                    expected,
                    found: ewf.chunks_located,
                },
            });
        }
        ewf.acquisition = match (header2, header) {
            (Some(mut a), Some(b)) => {
                a.complete_from(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        let bps = u64::from(g.bytes_per_sector);
        for u in &mut ewf.acquisition_errors {
            u.start *= bps;
            u.len *= bps;
        }
        Ok(ewf)
    }

    fn damage(&mut self, segment: usize, offset: u64, kind: DamageKind) {
        self.damage.push(Damage {
            path: self.segments[segment].path.clone(),
            offset,
            kind,
        });
    }

    fn walk_segment(
        &mut self,
        i: usize,
        geometry: &mut Option<Geometry>,
        header2: &mut Option<Acquisition>,
        header: &mut Option<Acquisition>,
    ) -> Result<(), EwfError> {
        let len = self.segments[i].reader.len();
        let mut off = FILE_HEADER_LEN;
        let mut st = ChainState {
            sectors_end: None,
            last_table_good: true,
        };
        self.wants_more = false;
        loop {
            if off.saturating_add(DESCRIPTOR_LEN) > len {
                self.damage(i, off, DamageKind::Truncated);
                return Ok(());
            }
            let mut b = [0u8; 76];
            let seg = &self.segments[i];
            seg.reader
                .read_exact_at(off, &mut b)
                .map_err(|e| io_err(&seg.path, e))?;
            let Some(d) = sections::descriptor(&b) else {
                self.damage(i, off, DamageKind::BadDescriptor);
                return Ok(());
            };
            let data_at = off + DESCRIPTOR_LEN;
            let data_len = d.size.saturating_sub(DESCRIPTOR_LEN).min(len - data_at);
            match d.kind.as_str() {
                "next" => {
                    self.wants_more = true;
                    return Ok(());
                }
                "done" => return Ok(()),
                _ => self.section(i, off, &d, data_len, &mut st, geometry, header2, header)?,
            }
            if d.next <= off {
                self.damage(i, off, DamageKind::ChainLoop);
                return Ok(());
            }
            off = d.next;
        }
    }

    fn read_data(&self, i: usize, at: u64, len: u64) -> Result<Vec<u8>, EwfError> {
        let seg = &self.segments[i];
        let mut v = vec![0u8; len as usize];
        seg.reader
            .read_exact_at(at, &mut v)
            .map_err(|e| io_err(&seg.path, e))?;
        Ok(v)
    }

    #[allow(clippy::too_many_arguments)]
    fn section(
        &mut self,
        i: usize,
        off: u64,
        d: &Descriptor,
        data_len: u64,
        st: &mut ChainState,
        geometry: &mut Option<Geometry>,
        header2: &mut Option<Acquisition>,
        header: &mut Option<Acquisition>,
    ) -> Result<(), EwfError> {
        let data_at = off + DESCRIPTOR_LEN;
        match d.kind.as_str() {
            "header2" | "header" => {
                let utf16 = d.kind == "header2";
                let slot = if utf16 { header2 } else { header };
                if slot.is_some() {
                    return Ok(());
                }
                let raw = self.read_data(i, data_at, data_len.min(MAX_HEADER))?;
                let mut text = Vec::new();
                let parsed = inflate(&raw, &mut text, 4 << 20)
                    .and_then(|()| header::parse(&header::decode_text(&text, utf16)));
                match parsed {
                    Some(a) => *slot = Some(a),
                    None => self.damage(i, off, DamageKind::BadHeader),
                }
            }
            "volume" | "disk" | "data" if geometry.is_none() => {
                let raw = self.read_data(i, data_at, data_len.min(1052))?;
                *geometry = sections::geometry(&raw);
            }
            "sectors" => st.sectors_end = Some(data_at + data_len),
            "table" => {
                st.last_table_good = self.table(i, off, data_len, st)?;
                if !st.last_table_good {
                    self.damage(i, off, DamageKind::BadTable);
                }
            }
            "table2" if !st.last_table_good => {
                st.last_table_good = self.table(i, off, data_len, st)?;
                if !st.last_table_good {
                    self.damage(i, off, DamageKind::BadTable);
                }
            }
            "hash" => {
                let raw = self.read_data(i, data_at, data_len.min(64))?;
                if let Some(m) = sections::hash_section(&raw) {
                    self.stored.md5.get_or_insert(m);
                }
            }
            "digest" => {
                let raw = self.read_data(i, data_at, data_len.min(128))?;
                if let Some((m, s)) = sections::digest_section(&raw) {
                    self.stored.md5 = Some(m);
                    self.stored.sha1 = Some(s);
                }
            }
            "error2" => {
                let raw = self.read_data(i, data_at, data_len.min(1 << 20))?;
                for (start, count) in sections::error2_section(&raw).unwrap_or_default() {
                    // Sectors for now; scaled to bytes once the geometry is known.
                    self.acquisition_errors.push(Unreadable {
                        start: u64::from(start),
                        len: u64::from(count),
                        cause: Cause::AcquisitionError,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks a table section and records it; false when it is damaged.
    fn table(
        &mut self,
        i: usize,
        off: u64,
        data_len: u64,
        st: &ChainState,
    ) -> Result<bool, EwfError> {
        let data_at = off + DESCRIPTOR_LEN;
        if data_len < TABLE_HEADER_LEN {
            return Ok(false);
        }
        let raw = self.read_data(i, data_at, TABLE_HEADER_LEN)?;
        let mut hb = [0u8; 24];
        hb.copy_from_slice(&raw);
        let Some(h) = sections::table_header(&hb) else {
            return Ok(false);
        };
        let bytes = u64::from(h.entries) * 4;
        if h.entries == 0 || TABLE_HEADER_LEN + bytes > data_len {
            return Ok(false);
        }
        let with_sum = TABLE_HEADER_LEN + bytes + 4 <= data_len;
        let raw = self.read_data(
            i,
            data_at + TABLE_HEADER_LEN,
            bytes + if with_sum { 4 } else { 0 },
        )?;
        let sum = with_sum.then(|| {
            let t = &raw[bytes as usize..];
            u32::from_le_bytes([t[0], t[1], t[2], t[3]])
        });
        let entries_end = data_at + TABLE_HEADER_LEN + bytes;
        let Some(first) = sections::table_entries(&raw, h.entries as usize, None)
            .and_then(|e| e.first().copied())
        else {
            return Ok(false);
        };
        // The original EWF layout keeps the chunks inside the table
        // section, right after the entries, with no entry checksum between.
        let inline = h.base + u64::from(first & !COMPRESSED) == entries_end;
        if !inline && sections::table_entries(&raw, h.entries as usize, sum).is_none() {
            return Ok(false);
        }
        let data_end = if inline {
            data_at + data_len
        } else {
            st.sectors_end.unwrap_or(off)
        };
        self.tables.push(TableRef {
            segment: i,
            entries_at: data_at + TABLE_HEADER_LEN,
            count: h.entries,
            base: h.base,
            data_end,
            first_chunk: self.chunks_located,
        });
        self.chunks_located += u64::from(h.entries);
        Ok(true)
    }

    /// Bytes of media.
    pub fn media_size(&self) -> u64 {
        self.media_size
    }

    /// Bytes in one chunk.
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// The segment files, in order.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.segments.iter().map(|s| s.path.clone()).collect()
    }

    /// The acquisition metadata of the header sections, if readable.
    pub fn acquisition(&self) -> Option<&Acquisition> {
        self.acquisition.as_ref()
    }

    /// The hashes stored in the image.
    pub fn stored_hashes(&self) -> StoredHashes {
        self.stored
    }

    /// Ranges the acquiring tool could not read from the device.
    pub fn acquisition_errors(&self) -> &[Unreadable] {
        &self.acquisition_errors
    }

    /// Structural damage found while opening.
    pub fn damage_found(&self) -> &[Damage] {
        &self.damage
    }

    /// True when the last segment given says another one follows.
    pub fn wants_more_segments(&self) -> bool {
        self.wants_more
    }

    /// Ranges no table locates (a truncated image), as unreadable ranges.
    pub fn missing_ranges(&self) -> Vec<Unreadable> {
        let start = self.chunks_located.saturating_mul(self.chunk_size);
        if start >= self.media_size {
            return Vec::new();
        }
        vec![Unreadable {
            start,
            len: self.media_size - start,
            cause: Cause::MissingChunk {
                chunk: self.chunks_located,
            },
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn inflate_checks_the_zlib_adler32() {
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&data).unwrap();
        let mut packed = z.finish().unwrap();
        let mut out = Vec::new();
        assert!(inflate(&packed, &mut out, data.len()).is_some());
        assert!(out == data);
        let n = packed.len();
        packed[n - 1] ^= 1;
        assert!(inflate(&packed, &mut out, data.len()).is_none());
        assert!(inflate(&packed[..n / 2], &mut out, data.len()).is_none());
    }
}
