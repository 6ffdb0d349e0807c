//! A list opened for matching: its index mapped and checked against the
//! manifest, its records read one by one as hits need them.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use nigehbaan_index::store::{Buf, Mapping, StoreError};
use nigehbaan_index::{ExactSet, PdqIndex, SearchError};
use nigehbaan_pdq::Hash256;
use nigehbaan_video::{FrameHash, MatchOptions, VideoIndex, VideoMatch};
use sha2::{Digest, Sha256};

use super::{
    io_at, LibraryError, Manifest, Stored, INDEX_FILE, LIBRARY_FORMAT_VERSION, MAX_RECORD_LINE,
    RECORDS_FILE, SEC_HEADER, SEC_MD5, SEC_OFFSETS, SEC_PDQ, SEC_PDQ_RECORDS, SEC_SHA1, SEC_SHA256,
    SEC_VPDQ,
};
use crate::hex;
use crate::model::{Provenance, Record, EMPTY_MD5, EMPTY_SHA1, EMPTY_SHA256};

/// One PDQ match in a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdqHit {
    /// The record number (0-based line of the records file).
    pub record: u32,
    /// Hamming distance.
    pub distance: u32,
    /// Which query variant matched (index into the variants searched).
    pub variant: usize,
}

/// A list opened for matching: its index is mapped, and its SHA-256 checked
/// against the manifest.
pub struct OpenList {
    /// Its manifest.
    pub manifest: Manifest,
    /// SHA-256 (hex) of the mapped index bytes, computed at open.
    index_sha256: String,
    provenance: Arc<Provenance>,
    records_path: PathBuf,
    records: OnceLock<File>,
    pub(super) md5: ExactSet<16>,
    pub(super) sha1: ExactSet<20>,
    pub(super) sha256: ExactSet<32>,
    pub(super) pdq: PdqIndex,
    pub(super) pdq_records: Buf<u32>,
    /// The list's videos by vPDQ frame; `None` for lists written before
    /// video indexes existed (they hold no vPDQ records).
    videos: Option<VideoIndex>,
    offsets: Buf<u64>,
}

/// One vPDQ match in a list.
#[derive(Clone, Debug, PartialEq)]
pub struct VpdqHit {
    /// The record number (0-based line of the records file).
    pub record: u32,
    /// Both percentages, frame counts and matched query frames.
    pub matched: VideoMatch,
}

impl OpenList {
    /// Maps the list's index, checks the SHA-256 of the mapped bytes (the
    /// very bytes every lookup reads, not a second read of the file)
    /// against the manifest, then reads its layout from the same mapping.
    pub(super) fn open(dir: PathBuf, manifest: Manifest) -> Result<OpenList, LibraryError> {
        let name = manifest.name.clone();
        let bad = |e: StoreError| LibraryError::Invalid {
            list: name.clone(),
            reason: format!("{INDEX_FILE}: {e}"),
        };
        let index_path = dir.join(INDEX_FILE);
        // SAFETY: a list's index file is written by `library::build` to a
        // temporary name and renamed into place, never modified in place;
        // an update replaces the file, so the mapped one stays unchanged.
        let mapping = unsafe { Mapping::open(&index_path) }.map_err(|e| match e {
            StoreError::Io(error) => LibraryError::Io {
                path: index_path.clone(),
                error,
            },
            e => bad(e),
        })?;
        let index_sha256 = sha256_mapped(&mapping);
        let len = mapping.bytes().len() as u64;
        if index_sha256 != manifest.index_sha256 || len != manifest.index_bytes {
            return Err(LibraryError::IndexMismatch {
                list: name,
                path: index_path,
                expected: manifest.index_sha256.clone(),
                expected_bytes: manifest.index_bytes,
                actual: index_sha256,
                actual_bytes: len,
            });
        }
        let store = mapping.into_store().map_err(bad)?;
        let header: Buf<u32> = store.section(SEC_HEADER).map_err(bad)?;
        let invalid = |reason: &str| LibraryError::Invalid {
            list: name.clone(),
            reason: format!("{INDEX_FILE}: {reason}"),
        };
        if header.len() != 2 || header[0] != LIBRARY_FORMAT_VERSION {
            return Err(invalid("header is not library format version 1"));
        }
        if header[1] as u64 != manifest.record_count {
            return Err(invalid("record count disagrees with the manifest"));
        }
        let list = OpenList {
            index_sha256,
            provenance: Arc::new(manifest.provenance()),
            records_path: dir.join(RECORDS_FILE),
            records: OnceLock::new(),
            md5: ExactSet::from_store(&store, SEC_MD5).map_err(bad)?,
            sha1: ExactSet::from_store(&store, SEC_SHA1).map_err(bad)?,
            sha256: ExactSet::from_store(&store, SEC_SHA256).map_err(bad)?,
            pdq: PdqIndex::from_store(&store, SEC_PDQ).map_err(bad)?,
            pdq_records: store.section(SEC_PDQ_RECORDS).map_err(bad)?,
            videos: if VideoIndex::is_in_store(&store, SEC_VPDQ) {
                Some(VideoIndex::from_store(&store, SEC_VPDQ).map_err(bad)?)
            } else {
                None
            },
            offsets: store.section(SEC_OFFSETS).map_err(bad)?,
            manifest,
        };
        if list.pdq_records.len() != list.pdq.len() {
            return Err(invalid("PDQ record map disagrees with the PDQ index"));
        }
        if list.offsets.len() as u64 != list.manifest.record_count + 1
            || list.offsets.last().copied() != Some(list.manifest.records_bytes)
        {
            return Err(invalid("record offsets disagree with the manifest"));
        }
        Ok(list)
    }

    /// SHA-256 (lower-case hex) of the index this list matches against:
    /// computed from the mapped bytes when the list was opened, and found
    /// equal to the manifest's `index_sha256` (else the open failed). This
    /// is the hash a report should state.
    pub fn index_sha256(&self) -> &str {
        &self.index_sha256
    }

    /// The list's name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The provenance its records carry.
    pub fn provenance(&self) -> &Arc<Provenance> {
        &self.provenance
    }

    /// Records whose MD5 is `h` (never any for the empty file's MD5).
    pub fn lookup_md5(&self, h: &[u8; 16]) -> &[u32] {
        if *h == EMPTY_MD5 {
            return &[];
        }
        self.md5.get(h)
    }

    /// Records whose SHA-1 is `h` (never any for the empty file's SHA-1).
    pub fn lookup_sha1(&self, h: &[u8; 20]) -> &[u32] {
        if *h == EMPTY_SHA1 {
            return &[];
        }
        self.sha1.get(h)
    }

    /// Records whose SHA-256 is `h` (never any for the empty file's SHA-256).
    pub fn lookup_sha256(&self, h: &[u8; 32]) -> &[u32] {
        if *h == EMPTY_SHA256 {
            return &[];
        }
        self.sha256.get(h)
    }

    /// Records with an indexed PDQ hash within `radius` of any of
    /// `variants`; each record once, with the closest variant.
    pub fn search_pdq(
        &self,
        variants: &[Hash256],
        radius: u32,
    ) -> Result<Vec<PdqHit>, SearchError> {
        Ok(self
            .pdq
            .search_any(variants, radius)?
            .into_iter()
            .map(|(m, variant)| PdqHit {
                record: self.pdq_records[m.id as usize],
                distance: m.distance,
                variant,
            })
            .collect())
    }

    /// Video records the query video matches under `opts` (its quality
    /// threshold is the list's, [`super::VPDQ_QUALITY_THRESHOLD`]): one PDQ
    /// index probe per distinct usable query frame, then per-record
    /// aggregation. With `only_matches` false, every video sharing a frame
    /// is returned with its percentages.
    pub fn search_vpdq(
        &self,
        query: &[FrameHash],
        opts: &MatchOptions,
        only_matches: bool,
    ) -> Result<Vec<VpdqHit>, SearchError> {
        let Some(videos) = &self.videos else {
            return Ok(Vec::new());
        };
        let hits = videos.query(query, opts, only_matches)?;
        let mut out = Vec::with_capacity(hits.len());
        for (record, matched) in hits {
            let record = u32::try_from(record).map_err(|_| SearchError::Damaged)?;
            if u64::from(record) >= self.manifest.record_count {
                return Err(SearchError::Damaged);
            }
            out.push(VpdqHit { record, matched });
        }
        Ok(out)
    }

    /// Video records (with vPDQ features) in the list.
    pub fn video_count(&self) -> usize {
        self.videos.as_ref().map_or(0, VideoIndex::video_count)
    }

    /// Reads record `n` (one line of the records file).
    pub fn record(&self, n: u32) -> Result<Record, LibraryError> {
        let bad = |reason: String| LibraryError::Invalid {
            list: self.manifest.name.clone(),
            reason,
        };
        let (Some(&lo), Some(&hi)) = (
            self.offsets.get(n as usize),
            self.offsets.get(n as usize + 1),
        ) else {
            return Err(bad(format!("record {n} is past the end")));
        };
        if hi <= lo || hi - lo > MAX_RECORD_LINE {
            return Err(bad(format!("record {n}: damaged offsets")));
        }
        let file = match self.records.get() {
            Some(f) => f,
            None => {
                let f = File::open(&self.records_path).map_err(io_at(&self.records_path))?;
                // Another thread may have opened it first: either will do.
                let _ = self.records.set(f);
                self.records.get().expect("set above")
            }
        };
        let mut buf = vec![0u8; (hi - lo) as usize];
        read_exact_at(file, &mut buf, lo).map_err(io_at(&self.records_path))?;
        self.parse(&buf, n)
    }

    fn parse(&self, line: &[u8], n: u32) -> Result<Record, LibraryError> {
        let stored: Stored = serde_json::from_slice(line).map_err(|e| LibraryError::Invalid {
            list: self.manifest.name.clone(),
            reason: format!("{RECORDS_FILE}: record {n}: {e}"),
        })?;
        stored
            .into_record(self.provenance.clone())
            .map_err(|e| LibraryError::Invalid {
                list: self.manifest.name.clone(),
                reason: format!("{RECORDS_FILE}: record {n}: {e}"),
            })
    }

    /// Reads every record, in list order.
    pub fn records(&self) -> Result<Vec<Record>, LibraryError> {
        let file = File::open(&self.records_path).map_err(io_at(&self.records_path))?;
        let mut out = Vec::with_capacity(self.manifest.record_count as usize);
        for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = line.map_err(io_at(&self.records_path))?;
            out.push(self.parse(&line, i as u32)?);
        }
        Ok(out)
    }
}

/// SHA-256 (hex) of a mapping's bytes, read front to back once (SHA-NI
/// where the CPU has it: about 1.5–2 GB/s), without keeping them resident.
fn sha256_mapped(mapping: &Mapping) -> String {
    let mut h = Sha256::new();
    mapping.for_each_chunk(|piece| h.update(piece));
    hex::encode(&h.finalize())
}

/// Reads `buf.len()` bytes at `offset` without moving a shared file
/// position, so that threads can read records at once without a lock.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Reads `buf.len()` bytes at `offset` without moving a shared file
/// position, so that threads can read records at once without a lock.
#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
