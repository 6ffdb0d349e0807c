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

    /// The position of the next 0xFF at or after `pos`, if any before the
    /// limit.
    pub(crate) fn find_ff(&mut self, mut pos: u64) -> Option<u64> {
        loop {
            if pos >= self.limit {
                return None;
            }
            let n = (self.limit - pos).min(WINDOW as u64) as usize;
            let chunk = match self.get(pos, n) {
                Some(c) => c,
                None => {
                    // A read error inside: look at what is there.
                    let c = self.get(pos, 1)?;
                    &c[..1]
                }
            };
            if let Some(i) = memchr::memchr(0xFF, chunk) {
                return Some(pos + i as u64);
            }
            pos += chunk.len() as u64;
        }
    }
}
