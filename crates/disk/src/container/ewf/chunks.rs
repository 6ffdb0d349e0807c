//! Reading the media of an E01: locating a chunk through its table entry,
//! inflating or checksumming it, caching it, and the [`ReadAt`] built on
//! that. Whole-chunk reads (streaming) decode straight into the caller's
//! buffer and bypass the cache; partial reads go through it.

use super::{sections, Ewf, COMPRESSED};
use crate::read::ReadAt;
use crate::unreadable::{Cause, ChunkProblem, Unreadable};
use std::cell::RefCell;
use std::io;
use std::sync::Arc;

thread_local! {
    /// Per thread: the compressed bytes of the chunk being read, and a
    /// reusable inflater (its state and window are not small).
    static SCRATCH: RefCell<(Vec<u8>, Option<flate2::Decompress>)> = const { RefCell::new((Vec::new(), None)) };
}

/// Inflates one zlib stream into `dst`; the bytes produced, or `None` when
/// the stream is corrupt, fails its Adler-32 or does not fit.
fn inflate_into(d: &mut flate2::Decompress, input: &[u8], dst: &mut [u8]) -> Option<usize> {
    d.reset(true);
    match d.decompress(input, dst, flate2::FlushDecompress::Finish) {
        Ok(flate2::Status::StreamEnd) => Some(d.total_out() as usize),
        _ => None,
    }
}

impl Ewf {
    fn entries(&self, t: usize) -> io::Result<Arc<Vec<u32>>> {
        let cache = || self.table_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = cache().get(t as u64) {
            return Ok(e);
        }
        let r = &self.tables[t];
        let mut raw = vec![0u8; r.count as usize * 4];
        self.segments[r.segment]
            .reader
            .read_exact_at(r.entries_at, &mut raw)?;
        let e = Arc::new(sections::table_entries(&raw, r.count as usize, None).unwrap_or_default());
        cache().put(t as u64, e.clone());
        Ok(e)
    }

    /// Decodes chunk `c` into `dst` (exactly one chunk long); returns the
    /// number of media bytes it holds (less than a chunk only at the end).
    pub(super) fn decode_into(&self, c: u64, dst: &mut [u8]) -> io::Result<usize> {
        let start = c * self.chunk_size;
        let expected = self.chunk_size.min(self.media_size.saturating_sub(start));
        let bad = |problem| {
            Unreadable {
                start,
                len: expected,
                cause: Cause::CorruptChunk { chunk: c, problem },
            }
            .into_io()
        };
        let t = self
            .tables
            .partition_point(|t| t.first_chunk + u64::from(t.count) <= c);
        let Some(r) = self.tables.get(t).filter(|r| r.first_chunk <= c) else {
            return Err(Unreadable {
                start,
                len: expected,
                cause: Cause::MissingChunk { chunk: c },
            }
            .into_io());
        };
        let entries = self.entries(t)?;
        let k = (c - r.first_chunk) as usize;
        let Some(&e) = entries.get(k) else {
            return Err(bad(ChunkProblem::BadSize { size: 0 }));
        };
        let at = r.base + u64::from(e & !COMPRESSED);
        let end = match entries.get(k + 1) {
            Some(&n) => r.base + u64::from(n & !COMPRESSED),
            None => r.data_end,
        };
        let seg = &self.segments[r.segment];
        let seg_len = seg.reader.len();
        if at >= seg_len {
            return Err(bad(ChunkProblem::PastSegmentEnd));
        }
        let limit = self.chunk_size * 2 + 1024;
        if e & COMPRESSED != 0 {
            let mut size = end.saturating_sub(at);
            if size == 0 || size > limit {
                size = limit;
            }
            let size = size.min(seg_len - at) as usize;
            SCRATCH.with(|s| {
                let mut s = s.borrow_mut();
                let (raw, d) = &mut *s;
                raw.resize(size, 0);
                seg.reader.read_exact_at(at, raw)?;
                let d = d.get_or_insert_with(|| flate2::Decompress::new(true));
                match inflate_into(d, raw, dst) {
                    None => Err(bad(ChunkProblem::Inflate)),
                    Some(n) if (n as u64) < expected => Err(bad(ChunkProblem::Short { got: n })),
                    Some(_) => Ok(expected as usize),
                }
            })
        } else {
            let stored = end.saturating_sub(at);
            let size = if stored >= expected + 4 && stored <= self.chunk_size + 4 {
                stored
            } else {
                expected + 4
            };
            if at + size > seg_len {
                return Err(bad(ChunkProblem::PastSegmentEnd));
            }
            let n = (size - 4) as usize;
            seg.reader.read_exact_at(at, &mut dst[..n])?;
            let mut sum = [0u8; 4];
            seg.reader.read_exact_at(at + n as u64, &mut sum)?;
            if sections::adler32(&dst[..n]) != u32::from_le_bytes(sum) {
                return Err(bad(ChunkProblem::Checksum));
            }
            Ok(expected as usize)
        }
    }

    /// Chunk `c`, from the cache or decoded into it.
    fn chunk(&self, c: u64) -> io::Result<Arc<Vec<u8>>> {
        let cache = || self.chunk_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = cache().get(c) {
            return Ok(d);
        }
        let mut out = vec![0u8; self.chunk_size as usize];
        let n = self.decode_into(c, &mut out)?;
        out.truncate(n);
        let d = Arc::new(out);
        cache().put(c, d.clone());
        Ok(d)
    }
}

impl ReadAt for Ewf {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0usize;
        let cs = self.chunk_size as usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            if pos >= self.media_size {
                break;
            }
            let c = pos / self.chunk_size;
            let within = (pos - c * self.chunk_size) as usize;
            let want = buf.len() - done;
            let result = if within == 0 && want >= cs {
                self.decode_into(c, &mut buf[done..done + cs])
            } else {
                self.chunk(c).map(|d| {
                    let n = want.min(Vec::len(&d).saturating_sub(within));
                    buf[done..done + n].copy_from_slice(&d[within..within + n]);
                    n
                })
            };
            match result {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(_) if done > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    fn len(&self) -> u64 {
        self.media_size
    }
}
