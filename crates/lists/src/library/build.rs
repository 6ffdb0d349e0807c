//! Building a list's files in bounded memory.
//!
//! Records are written to `records.jsonl` as they arrive. The digest index
//! entries (`(digest, record number)` pairs) are gathered in memory up to
//! a budget, then sorted and spilled as a run to a temporary file in the
//! staging directory; at the end the runs are merged and streamed into the
//! [`ExactSet`] sections of `index.nidx`, whose bytes are those the
//! in-memory build ([`ExactSet::new`] and [`StoreWriter`]) writes. The
//! record offsets go to a temporary file too. Only PDQ hashes (which NSRL
//! sets do not carry) are still indexed in memory.
//!
//! Peak memory is about the run budget plus the PDQ index, whatever the
//! number of records.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use nigehbaan_index::store::{Buf, Store, StoreWriter, FORMAT_VERSION};
use nigehbaan_index::{ExactSet, Layout, PdqIndex};
use nigehbaan_pdq::Hash256;
use nigehbaan_video::{matching::prepare, FrameHash, VideoIndex};
use sha2::{Digest, Sha256};

use super::{
    io_at, private, HashingWriter, LibraryError, Stored, LIBRARY_FORMAT_VERSION, SEC_HEADER,
    SEC_MD5, SEC_OFFSETS, SEC_PDQ, SEC_PDQ_RECORDS, SEC_SHA1, SEC_SHA256, SEC_VPDQ,
    VPDQ_QUALITY_THRESHOLD,
};
use crate::hex;
use crate::model::Record;

/// The default budget, in bytes, for index entries held in memory during
/// an import before a sorted run is spilled to disk.
pub const DEFAULT_IMPORT_RUN_BYTES: usize = 512 << 20;

/// More spilled runs than this are merged into one before going on, to
/// bound the files open at once.
const MAX_RUNS: usize = 256;
/// Section kinds a PDQ index may use (`SEC_PDQ..SEC_PDQ + PDQ_SECTIONS`;
/// a layout with fewer chunks leaves some out).
const PDQ_SECTIONS: u32 = 34;
/// Magic and alignment of `nigehbaan_index::store` files (checked against
/// [`StoreWriter`] by the tests).
const STORE_MAGIC: &[u8; 16] = b"NIGEHBAAN-INDEX\0";
const STORE_ALIGN: usize = 64;

/// What building a list produced, for its manifest.
pub(super) struct Built {
    pub(super) records: u32,
    pub(super) records_sha256: String,
    pub(super) records_bytes: u64,
    pub(super) counts: BTreeMap<String, u64>,
    pub(super) pdq_indexed: u64,
    pub(super) pdq_not_indexed: u64,
    pub(super) skipped_empty: u64,
    pub(super) scheme: Option<String>,
}

/// Writes a list's records and index into a staging directory.
pub(super) struct Builder {
    dir: PathBuf,
    records_path: PathBuf,
    records: HashingWriter<BufWriter<File>>,
    offsets_path: PathBuf,
    offsets: BufWriter<File>,
    md5: Runs<16>,
    sha1: Runs<20>,
    sha256: Runs<32>,
    pdq: Vec<Hash256>,
    pdq_records: Vec<u32>,
    /// Video records' usable vPDQ frames (indexed at the end).
    videos: Vec<(u32, Vec<FrameHash>)>,
    min_quality: u8,
    /// Build the PDQ index in the compact layout.
    pub(super) compact_pdq: bool,
    built: Built,
}

impl Builder {
    /// A builder writing into `dir`, holding about `run_bytes` of index
    /// entries in memory.
    pub(super) fn new(
        dir: &Path,
        min_quality: u8,
        run_bytes: usize,
    ) -> Result<Builder, LibraryError> {
        let create = |name: &str| -> Result<(PathBuf, BufWriter<File>), LibraryError> {
            let path = dir.join(name);
            let f = private::create_file(&path).map_err(io_at(&path))?;
            Ok((path, BufWriter::with_capacity(1 << 20, f)))
        };
        let (records_path, records) = create(super::RECORDS_FILE)?;
        let (offsets_path, offsets) = create("offsets.tmp")?;
        let share = run_bytes / 3;
        Ok(Builder {
            dir: dir.to_path_buf(),
            records_path,
            records: HashingWriter {
                inner: records,
                hash: Sha256::new(),
                len: 0,
            },
            offsets_path,
            offsets,
            md5: Runs::new(dir, "md5", share),
            sha1: Runs::new(dir, "sha1", share),
            sha256: Runs::new(dir, "sha256", share),
            pdq: Vec::new(),
            pdq_records: Vec::new(),
            videos: Vec::new(),
            min_quality,
            compact_pdq: false,
            built: Built {
                records: 0,
                records_sha256: String::new(),
                records_bytes: 0,
                counts: BTreeMap::new(),
                pdq_indexed: 0,
                pdq_not_indexed: 0,
                skipped_empty: 0,
                scheme: None,
            },
        })
    }

    /// Adds the next record.
    pub(super) fn push(&mut self, r: &Record) -> Result<(), LibraryError> {
        if r.is_empty_file() {
            // The importers drop these already; never index one.
            self.built.skipped_empty += 1;
            return Ok(());
        }
        let n = self.built.records;
        if n >= u32::MAX - 1 {
            return Err(LibraryError::TooLarge(n as usize + 1));
        }
        let rp = &self.records_path;
        let op = &self.offsets_path;
        self.offsets
            .write_all(&self.records.len.to_le_bytes())
            .map_err(io_at(op))?;
        let line = serde_json::to_string(&Stored::from_record(r))
            .map_err(|e| io_at(rp)(io::Error::other(e)))?;
        self.records
            .write_all(line.as_bytes())
            .and_then(|_| self.records.write_all(b"\n"))
            .map_err(io_at(rp))?;
        let counts = &mut self.built.counts;
        let mut count = |k: &str| *counts.entry(k.to_string()).or_insert(0) += 1;
        if let Some(h) = r.md5 {
            self.md5.push(h, n)?;
            count("md5");
        }
        if let Some(h) = r.sha1 {
            self.sha1.push(h, n)?;
            count("sha1");
        }
        if let Some(h) = r.sha256 {
            self.sha256.push(h, n)?;
            count("sha256");
        }
        if let Some(p) = r.pdq {
            count("pdq");
            if p.quality.is_some_and(|q| q < self.min_quality) || p.hash.is_zero() {
                self.built.pdq_not_indexed += 1;
            } else {
                self.pdq.push(p.hash);
                self.pdq_records.push(n);
            }
        }
        if !r.vpdq.is_empty() {
            count("vpdq");
            self.videos
                .push((n, prepare(&r.vpdq, VPDQ_QUALITY_THRESHOLD)));
        }
        for o in &r.other {
            count(&o.kind);
        }
        if self.built.scheme.is_none() {
            self.built.scheme = r.category.as_ref().map(|c| c.scheme.name());
        }
        self.built.records = n + 1;
        Ok(())
    }

    /// Finishes `records.jsonl` and writes `index.nidx` (both synced), and
    /// removes the temporary files.
    pub(super) fn finish(mut self) -> Result<Built, LibraryError> {
        let rp = self.records_path.clone();
        let op = self.offsets_path.clone();
        self.offsets
            .write_all(&self.records.len.to_le_bytes())
            .map_err(io_at(&op))?;
        self.offsets
            .into_inner()
            .map_err(|e| io_at(&op)(e.into_error()))?;
        self.records.flush().map_err(io_at(&rp))?;
        self.built.records_sha256 = hex::encode(&self.records.hash.finalize());
        self.built.records_bytes = self.records.len;
        let file = self
            .records
            .inner
            .into_inner()
            .map_err(|e| io_at(&rp)(e.into_error()))?;
        file.sync_all().map_err(io_at(&rp))?;
        drop(file);

        // The small sections go through an ordinary store first.
        let n = self.built.records;
        let small_path = self.dir.join("small.tmp");
        let mut sw = StoreWriter::new();
        sw.add(SEC_HEADER, &[LIBRARY_FORMAT_VERSION, n]);
        let layout = if self.compact_pdq {
            Layout::compact_for_len(self.pdq.len())
        } else {
            Layout::for_len(self.pdq.len())
        };
        PdqIndex::with_layout(&self.pdq, &layout).write_sections(&mut sw, SEC_PDQ);
        sw.add(SEC_PDQ_RECORDS, &self.pdq_records);
        let videos = std::mem::take(&mut self.videos);
        VideoIndex::build(
            videos.iter().map(|(n, f)| (u64::from(*n), &f[..])),
            VPDQ_QUALITY_THRESHOLD,
        )
        .write_sections(&mut sw, SEC_VPDQ);
        drop(videos);
        sw.write(&small_path).map_err(io_at(&small_path))?;
        drop(sw);
        self.built.pdq_indexed = self.pdq.len() as u64;
        self.pdq = Vec::new();
        self.pdq_records = Vec::new();
        // SAFETY: `small_path` was just written by `StoreWriter::write`
        // inside this build's private staging directory; nothing else
        // writes it while this mapping lives.
        let small = unsafe { Store::open(&small_path) }
            .map_err(|e| io_at(&small_path)(io::Error::other(e)))?;
        let small_section = |kind: u32| -> Result<Section, LibraryError> {
            let b: Buf<u8> = small
                .section(kind)
                .map_err(|e| io_at(&small_path)(io::Error::other(e)))?;
            Ok(Section::Small(b))
        };

        // Sections in the order the in-memory build writes them.
        let mut sections: Vec<(u32, Section)> = vec![(SEC_HEADER, small_section(SEC_HEADER)?)];
        for (base, sizes) in [
            (SEC_MD5, ExactSet::<16>::section_sizes(self.md5.len)),
            (SEC_SHA1, ExactSet::<20>::section_sizes(self.sha1.len)),
            (SEC_SHA256, ExactSet::<32>::section_sizes(self.sha256.len)),
        ] {
            for (i, len) in sizes.into_iter().enumerate() {
                sections.push((base + i as u32, Section::Streamed(len)));
            }
        }
        for kind in (SEC_PDQ..SEC_PDQ + PDQ_SECTIONS).filter(|k| small.has_section(*k)) {
            sections.push((kind, small_section(kind)?));
        }
        sections.push((SEC_PDQ_RECORDS, small_section(SEC_PDQ_RECORDS)?));
        sections.push((SEC_OFFSETS, Section::File(op.clone(), (n as usize + 1) * 8)));
        for kind in
            (SEC_VPDQ..SEC_VPDQ + VideoIndex::SECTION_SPAN).filter(|k| small.has_section(*k))
        {
            sections.push((kind, small_section(kind)?));
        }

        let index_path = self.dir.join(super::INDEX_FILE);
        let tmp_path = index_path.with_extension("tmp");
        let (file, offsets) = create_store(&tmp_path, &sections).map_err(io_at(&tmp_path))?;
        for (i, ((kind, s), &at)) in sections.iter().zip(&offsets).enumerate() {
            // An exact set's four sections are written together, at its
            // first (its header, kind `base`).
            let set_at = || -> [u64; 4] { std::array::from_fn(|j| offsets[i + j]) };
            match (s, *kind) {
                (Section::Small(b), _) => write_at(&file, at, b),
                (Section::File(path, _), _) => copy_at(&file, at, path),
                (Section::Streamed(_), SEC_MD5) => self.md5.write(&file, set_at()),
                (Section::Streamed(_), SEC_SHA1) => self.sha1.write(&file, set_at()),
                (Section::Streamed(_), SEC_SHA256) => self.sha256.write(&file, set_at()),
                (Section::Streamed(_), _) => Ok(()),
            }
            .map_err(io_at(&tmp_path))?;
        }
        drop(sections);
        drop(small);
        file.sync_all().map_err(io_at(&tmp_path))?;
        drop(file);
        fs::rename(&tmp_path, &index_path).map_err(io_at(&index_path))?;
        for p in [&op, &small_path] {
            fs::remove_file(p).map_err(io_at(p))?;
        }
        Ok(self.built)
    }
}

/// Where a section's bytes come from.
enum Section {
    /// Already in memory (or mapped).
    Small(Buf<u8>),
    /// Written from sorted runs: this many bytes.
    Streamed(usize),
    /// The whole of a temporary file of this many bytes.
    File(PathBuf, usize),
}

impl Section {
    fn len(&self) -> usize {
        match self {
            Section::Small(b) => b.len(),
            Section::Streamed(n) | Section::File(_, n) => *n,
        }
    }
}

/// Creates a store file of the right size holding the header and section
/// table, laid out exactly as [`StoreWriter::write`] lays them out; the
/// padding is the zeros of the new file. Returns the file and each
/// section's offset, for the data to be written at.
fn create_store(path: &Path, sections: &[(u32, Section)]) -> io::Result<(File, Vec<u64>)> {
    let header = 24 + sections.len() * 24;
    let mut offset = header.next_multiple_of(STORE_ALIGN);
    let mut head = Vec::with_capacity(header);
    head.extend_from_slice(STORE_MAGIC);
    head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    head.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    let mut offsets = Vec::with_capacity(sections.len());
    for (kind, s) in sections {
        head.extend_from_slice(&kind.to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes());
        head.extend_from_slice(&(offset as u64).to_le_bytes());
        head.extend_from_slice(&(s.len() as u64).to_le_bytes());
        offsets.push(offset as u64);
        offset = (offset + s.len()).next_multiple_of(STORE_ALIGN);
    }
    let file = private::create_file(path)?;
    file.set_len(offset as u64)?;
    write_at(&file, 0, &head)?;
    Ok((file, offsets))
}

fn write_at(mut file: &File, at: u64, bytes: &[u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(at))?;
    file.write_all(bytes)
}

fn copy_at(file: &File, mut at: u64, from: &Path) -> io::Result<()> {
    let mut src = File::open(from)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let got = src.read(&mut buf)?;
        if got == 0 {
            return Ok(());
        }
        write_at(file, at, &buf[..got])?;
        at += got as u64;
    }
}

/// `(digest, record number)` pairs for one hash type: the current run in
/// memory, and the runs already spilled, each sorted.
struct Runs<const N: usize> {
    dir: PathBuf,
    tag: &'static str,
    cap: usize,
    mem: Vec<([u8; N], u32)>,
    spilled: Vec<PathBuf>,
    made: usize,
    len: usize,
}

impl<const N: usize> Runs<N> {
    fn new(dir: &Path, tag: &'static str, bytes: usize) -> Runs<N> {
        Runs {
            dir: dir.to_path_buf(),
            tag,
            cap: (bytes / std::mem::size_of::<([u8; N], u32)>()).max(1),
            mem: Vec::new(),
            spilled: Vec::new(),
            made: 0,
            len: 0,
        }
    }

    fn push(&mut self, key: [u8; N], id: u32) -> Result<(), LibraryError> {
        if self.mem.len() >= self.cap {
            self.spill()?;
        }
        if self.mem.len() == self.mem.capacity() {
            // Grow by doubling, but never past the budget (`cap` is at
            // least 1 and above `len` here, so this makes room).
            let want = (self.mem.capacity() * 2).max(1024).min(self.cap);
            self.mem.reserve_exact(want - self.mem.len());
        }
        self.mem.push((key, id));
        self.len += 1;
        Ok(())
    }

    fn next_path(&mut self) -> PathBuf {
        self.made += 1;
        self.dir
            .join(format!("run-{}-{:06}.tmp", self.tag, self.made))
    }

    /// Sorts the run in memory and writes it out.
    fn spill(&mut self) -> Result<(), LibraryError> {
        self.mem.sort_unstable();
        let path = self.next_path();
        let run = std::mem::take(&mut self.mem);
        write_run(&path, run.into_iter().map(Ok)).map_err(io_at(&path))?;
        self.spilled.push(path);
        if self.spilled.len() >= MAX_RUNS {
            let path = self.next_path();
            let runs = std::mem::take(&mut self.spilled);
            let merged = Merge::<N>::new(&runs, Vec::new()).map_err(io_at(&path))?;
            write_run(&path, merged).map_err(io_at(&path))?;
            for r in &runs {
                fs::remove_file(r).map_err(io_at(r))?;
            }
            self.spilled.push(path);
        }
        Ok(())
    }

    /// Merges the runs into the set's four sections, written at `pos`.
    fn write(&mut self, file: &File, mut pos: [u64; 4]) -> io::Result<()> {
        let mut mem = std::mem::take(&mut self.mem);
        mem.sort_unstable();
        let mut merged = Merge::new(&self.spilled, mem)?;
        let mut failed = None;
        let entries = std::iter::from_fn(|| match merged.next()? {
            Ok(e) => Some(e),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        let r = ExactSet::<N>::write_sorted_sections(self.len, entries, |s, bytes| {
            let p = &mut pos[s as usize];
            write_at(file, *p, bytes)?;
            *p += bytes.len() as u64;
            Ok(())
        });
        if let Some(e) = failed {
            return Err(e);
        }
        r?;
        for path in self.spilled.drain(..) {
            fs::remove_file(&path)?;
        }
        Ok(())
    }
}

/// Writes sorted pairs to a run file: the digest, then the id (LE).
fn write_run<const N: usize>(
    path: &Path,
    entries: impl Iterator<Item = io::Result<([u8; N], u32)>>,
) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, private::create_file(path)?);
    for e in entries {
        let (key, id) = e?;
        w.write_all(&key)?;
        w.write_all(&id.to_le_bytes())?;
    }
    w.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

/// An index entry: a digest and the record number it belongs to.
type Entry<const N: usize> = ([u8; N], u32);

/// One sorted run being read.
enum Source<const N: usize> {
    File(BufReader<File>),
    Mem(std::vec::IntoIter<([u8; N], u32)>),
}

impl<const N: usize> Source<N> {
    fn next(&mut self) -> io::Result<Option<([u8; N], u32)>> {
        match self {
            Source::Mem(it) => Ok(it.next()),
            Source::File(r) => {
                let mut key = [0u8; N];
                match r.read_exact(&mut key) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                let mut id = [0u8; 4];
                r.read_exact(&mut id)?;
                Ok(Some((key, u32::from_le_bytes(id))))
            }
        }
    }
}

/// A k-way merge of sorted runs.
struct Merge<const N: usize> {
    sources: Vec<Source<N>>,
    /// The next entry of each unfinished source, and the source.
    heap: BinaryHeap<Reverse<(Entry<N>, usize)>>,
}

impl<const N: usize> Merge<N> {
    fn new(files: &[PathBuf], mem: Vec<([u8; N], u32)>) -> io::Result<Merge<N>> {
        let mut sources = Vec::with_capacity(files.len() + 1);
        for f in files {
            sources.push(Source::File(BufReader::with_capacity(
                64 << 10,
                File::open(f)?,
            )));
        }
        sources.push(Source::Mem(mem.into_iter()));
        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(e) = s.next()? {
                heap.push(Reverse((e, i)));
            }
        }
        Ok(Merge { sources, heap })
    }
}

impl<const N: usize> Iterator for Merge<N> {
    type Item = io::Result<([u8; N], u32)>;

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse((e, i)) = self.heap.pop()?;
        match self.sources[i].next() {
            Ok(Some(next)) => self.heap.push(Reverse((next, i))),
            Ok(None) => {}
            Err(err) => return Some(Err(err)),
        }
        Some(Ok(e))
    }
}
