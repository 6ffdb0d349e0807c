//! Positioned, read-only access to bytes: the one interface every layer
//! (container, volume, file system, file) offers and consumes.

use std::io;
use std::sync::Arc;

/// Read-only random access to a fixed number of bytes.
///
/// Implementations must be safe to share between threads: readers of
/// different files in one image run in parallel.
pub trait ReadAt: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were
    /// read (0 at or past the end). A short read before the end is allowed;
    /// use [`ReadAt::read_exact_at`] to fill a buffer.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// The number of bytes.
    fn len(&self) -> u64;

    /// True when there are no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` from `offset`, or fails with `UnexpectedEof`.
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(offset, buf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("read past the end at byte {offset}"),
                    ))
                }
                Ok(n) => {
                    offset += n as u64;
                    buf = &mut buf[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl ReadAt for std::fs::File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }

    fn len(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= <[u8]>::len(self) {
            return Ok(0);
        }
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }

    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }

    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
}

impl<T: ReadAt + ?Sized> ReadAt for Arc<T> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn len(&self) -> u64 {
        (**self).len()
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn len(&self) -> u64 {
        (**self).len()
    }
}

/// A window of another reader: `len` bytes from `start` (a partition of a
/// disk, a file system's region). Reads never reach outside the window,
/// and a window that extends past its parent's end reads short there.
#[derive(Clone)]
pub struct Window<R> {
    inner: R,
    start: u64,
    len: u64,
}

impl<R: ReadAt> Window<R> {
    /// `len` bytes of `inner` from `start`.
    pub fn new(inner: R, start: u64, len: u64) -> Window<R> {
        Window { inner, start, len }
    }

    /// Where the window starts in its parent.
    pub fn start(&self) -> u64 {
        self.start
    }
}

impl<R: ReadAt> ReadAt for Window<R> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(self.len - offset) as usize;
        let Some(at) = self.start.checked_add(offset) else {
            return Ok(0);
        };
        self.inner.read_at(at, &mut buf[..n])
    }

    fn len(&self) -> u64 {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_reads_stay_inside() {
        let data: Vec<u8> = (0..100u8).collect();
        let w = Window::new(&data, 10, 20);
        let mut buf = [0u8; 50];
        assert_eq!(w.read_at(0, &mut buf).unwrap(), 20);
        assert_eq!(buf[0], 10);
        assert_eq!(buf[19], 29);
        assert_eq!(w.read_at(20, &mut buf).unwrap(), 0);
        let mut four = [0u8; 4];
        w.read_exact_at(16, &mut four).unwrap();
        assert_eq!(four, [26, 27, 28, 29]);
        assert!(w.read_exact_at(18, &mut four).is_err());
    }

    #[test]
    fn window_past_parent_end_reads_short() {
        let data = vec![7u8; 10];
        let w = Window::new(&data, 8, 100);
        let mut buf = [0u8; 10];
        assert_eq!(w.read_at(0, &mut buf).unwrap(), 2);
    }
}
