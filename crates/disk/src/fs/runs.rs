//! A file's data as a list of runs over the volume, read on demand.

use std::io;
use std::sync::Arc;

use crate::ReadAt;

/// A stretch of a file's data: `len` bytes at byte `disk` of the volume,
/// or `len` zero bytes when `disk` is `None` (a sparse run, an
/// uninitialised extent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Byte offset in the volume, or `None` for zeros.
    pub disk: Option<u64>,
    /// Length in bytes.
    pub len: u64,
}

/// Appends a run, merging it into the previous one when they are adjacent.
pub(crate) fn push_run(runs: &mut Vec<Run>, run: Run) {
    if run.len == 0 {
        return;
    }
    if let Some(last) = runs.last_mut() {
        match (last.disk, run.disk) {
            (None, None) => {
                last.len += run.len;
                return;
            }
            (Some(a), Some(b)) if a.checked_add(last.len) == Some(b) => {
                last.len += run.len;
                return;
            }
            _ => {}
        }
    }
    runs.push(run);
}

/// The volume offset of byte `at` of data laid out as `runs` (`None` in a
/// sparse run or past the end).
pub(crate) fn offset_in_runs(runs: &[Run], mut at: u64) -> Option<u64> {
    for r in runs {
        if at < r.len {
            return r.disk.map(|d| d + at);
        }
        at -= r.len;
    }
    None
}

/// A [`ReadAt`] over a file whose data is a list of [`Run`]s: reads go to
/// the volume run by run, sparse runs read as zeros, bytes past
/// `zero_from` (NTFS initialised size, ext valid data) read as zeros, and
/// bytes of the size that no run covers fail with `InvalidData` rather than
/// read as zeros.
pub struct RunReader {
    volume: Arc<dyn ReadAt>,
    runs: Arc<[Run]>,
    /// Start of each run in the file.
    starts: Vec<u64>,
    size: u64,
    zero_from: u64,
}

impl RunReader {
    /// A reader of `size` bytes through `runs` on `volume`; bytes from
    /// `zero_from` on read as zeros.
    pub fn new(volume: Arc<dyn ReadAt>, runs: Arc<[Run]>, size: u64, zero_from: u64) -> RunReader {
        let mut starts = Vec::with_capacity(runs.len());
        let mut at = 0u64;
        for r in runs.iter() {
            starts.push(at);
            at = at.saturating_add(r.len);
        }
        RunReader {
            volume,
            runs,
            starts,
            size,
            zero_from: zero_from.min(size),
        }
    }
}

impl ReadAt for RunReader {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.size - offset) as usize;
        let buf = &mut buf[..want];
        if offset >= self.zero_from {
            buf.fill(0);
            return Ok(want);
        }
        let buf_len = (want as u64).min(self.zero_from - offset) as usize;
        let buf = &mut buf[..buf_len];
        let i = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(0) => return Err(no_data(offset)),
            Err(i) => i - 1,
        };
        let run = self.runs[i];
        let within = offset - self.starts[i];
        if within >= run.len {
            return Err(no_data(offset));
        }
        let n = (buf.len() as u64).min(run.len - within) as usize;
        match run.disk {
            None => {
                buf[..n].fill(0);
                Ok(n)
            }
            Some(d) => {
                let at = d.checked_add(within).ok_or_else(|| no_data(offset))?;
                let got = self.volume.read_at(at, &mut buf[..n])?;
                if got == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("file data at byte {offset} lies past the end of the volume"),
                    ));
                }
                Ok(got)
            }
        }
    }

    fn len(&self) -> u64 {
        self.size
    }
}

fn no_data(offset: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the file system lists no data for byte {offset} of the file"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_through_runs_and_holes() {
        let vol: Arc<dyn ReadAt> = Arc::new((0..=255u8).collect::<Vec<u8>>());
        let mut runs = Vec::new();
        push_run(
            &mut runs,
            Run {
                disk: Some(10),
                len: 4,
            },
        );
        push_run(
            &mut runs,
            Run {
                disk: Some(14),
                len: 2,
            },
        );
        push_run(&mut runs, Run { disk: None, len: 3 });
        push_run(
            &mut runs,
            Run {
                disk: Some(100),
                len: 5,
            },
        );
        assert_eq!(runs.len(), 3);
        let r = RunReader::new(vol.clone(), runs.clone().into(), 14, 14);
        let mut buf = vec![0u8; 14];
        r.read_exact_at(0, &mut buf).unwrap();
        assert_eq!(
            buf,
            [10, 11, 12, 13, 14, 15, 0, 0, 0, 100, 101, 102, 103, 104]
        );
        // a size past the runs fails instead of reading zeros
        let r = RunReader::new(vol.clone(), runs.clone().into(), 20, 20);
        let mut buf = vec![0u8; 20];
        assert!(r.read_exact_at(0, &mut buf).is_err());
        // initialised size
        let r = RunReader::new(vol, runs.into(), 20, 3);
        r.read_exact_at(0, &mut buf).unwrap();
        assert_eq!(&buf[..4], &[10, 11, 12, 0]);
    }
}
