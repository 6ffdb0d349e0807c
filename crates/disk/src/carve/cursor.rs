//! A small read-ahead buffer over a [`ReadAt`] for walking file
//! structures forward from a candidate offset, never past a limit.

use crate::read::ReadAt;

const WINDOW: usize = 64 << 10;

/// Buffered forward access to `[base, base + limit)` of a reader. Read
/// errors look like the end of the data (the walk then reports a
/// truncated item).
pub(crate) struct Cursor<'a> {
    r: &'a dyn ReadAt,
    base: u64,
    limit: u64,
    buf: Vec<u8>,
    buf_at: u64,
    marked: u64,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(r: &'a dyn ReadAt, base: u64, limit: u64) -> Cursor<'a> {
        Cursor {
            r,
            base,
            limit,
            buf: Vec::new(),
            buf_at: 0,
            marked: 0,
        }
    }

    /// Records that the structure is valid up to `pos` (a chunk or box
    /// boundary the walk reached).
    pub(crate) fn mark(&mut self, pos: u64) {
        self.marked = self.marked.max(pos);
    }

    /// The furthest boundary [`Cursor::mark`] recorded.
    pub(crate) fn marked(&self) -> u64 {
        self.marked
    }

    /// Bytes available from the candidate's start.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// `n` bytes at `pos` (relative to the candidate), or `None` past the
    /// limit or on a read error. `n` must be at most 64 KiB.
    pub(crate) fn get(&mut self, pos: u64, n: usize) -> Option<&[u8]> {
        if pos.checked_add(n as u64)? > self.limit {
            return None;
        }
        let inside = pos >= self.buf_at && pos + n as u64 <= self.buf_at + self.buf.len() as u64;
        if !inside {
            let want = (self.limit - pos).min(WINDOW.max(n) as u64) as usize;
            self.buf.resize(want, 0);
            let mut got = 0;
            while got < want {
                match self
                    .r
                    .read_at(self.base + pos + got as u64, &mut self.buf[got..])
                {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got += k,
                }
            }
            self.buf.truncate(got);
            self.buf_at = pos;
            if got < n {
                return None;
            }
        }
        let at = (pos - self.buf_at) as usize;
        Some(&self.buf[at..at + n])
    }

    /// One byte at `pos`.
    pub(crate) fn byte(&mut self, pos: u64) -> Option<u8> {
        self.get(pos, 1).map(|b| b[0])
    }

    pub(crate) fn u16_be(&mut self, pos: u64) -> Option<u16> {
        self.get(pos, 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// The buffered bytes from `pos` on (at least one), reading a new
    /// window at `pos` only when `pos` is outside the current one; `None`
    /// past the limit or on a read error at `pos`.
    fn buffered_from(&mut self, pos: u64) -> Option<&[u8]> {
        let end = self.buf_at + self.buf.len() as u64;
        if !(pos >= self.buf_at && pos < end) {
            self.get(pos, 1)?;
        }
        let at = (pos - self.buf_at) as usize;
        Some(&self.buf[at..])
    }

    /// The position of the next 0xFF at or after `pos`, if any before the
    /// limit. Searches what is already buffered before reading more: JPEG
    /// entropy-coded data holds a 0xFF every few hundred bytes, and
    /// reading a whole window again for each would copy every picture
    /// hundreds of times over.
    pub(crate) fn find_ff(&mut self, mut pos: u64) -> Option<u64> {
        loop {
            if pos >= self.limit {
                return None;
            }
            let chunk = self.buffered_from(pos)?;
            if let Some(i) = memchr::memchr(0xFF, chunk) {
                return Some(pos + i as u64);
            }
            pos += chunk.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Bytes with a count of how many were read.
    struct Counted(Vec<u8>, AtomicU64);

    impl ReadAt for Counted {
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read_at(offset, buf)?;
            self.1.fetch_add(n as u64, Ordering::Relaxed);
            Ok(n)
        }
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
    }

    #[test]
    fn finding_every_ff_reads_the_data_about_once() {
        // 1 MiB with a 0xFF every 97 bytes, as in JPEG entropy-coded data.
        let data: Vec<u8> = (0..1u32 << 20)
            .map(|i| if i % 97 == 0 { 0xFF } else { (i % 250) as u8 })
            .collect();
        let expected: Vec<u64> = (0..data.len() as u64).filter(|i| i % 97 == 0).collect();
        let r = Counted(data, AtomicU64::new(0));
        let mut c = Cursor::new(&r, 0, r.len());
        let mut found = Vec::new();
        let mut pos = 0;
        while let Some(ff) = c.find_ff(pos) {
            found.push(ff);
            pos = ff + 1;
        }
        assert_eq!(found, expected);
        let read = r.1.load(Ordering::Relaxed);
        assert!(read <= 2 * r.len(), "{read} bytes read for {}", r.len());
    }

    #[test]
    fn find_ff_stops_at_the_limit() {
        let r = vec![0u8, 1, 2, 0xFF, 4];
        let mut c = Cursor::new(&r, 0, 3);
        assert_eq!(c.find_ff(0), None);
        let mut c = Cursor::new(&r, 0, 5);
        assert_eq!(c.find_ff(0), Some(3));
        assert_eq!(c.find_ff(4), None);
    }
}
