//! Streaming MD5 and SHA-1 over a whole image, in parallel: reader threads
//! fetch (and for E01, decompress) blocks in turn, two hashers consume
//! them in order. Unreadable ranges are hashed as zeros and listed, so a
//! damaged image gives a definite "not verified" with the ranges to blame.

use crate::read::ReadAt;
use crate::unreadable::{Cause, Unreadable};
use md5::Digest;
use std::io;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// Bytes each reader fetches at a time.
const BLOCK: usize = 4 << 20;

/// The hashes of every byte of an image, and what could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// MD5 of the data (unreadable ranges counted as zeros).
    pub md5: [u8; 16],
    /// SHA-1 of the data (unreadable ranges counted as zeros).
    pub sha1: [u8; 20],
    /// Bytes hashed.
    pub bytes: u64,
    /// Ranges that could not be read.
    pub unreadable: Vec<Unreadable>,
}

/// Reads `buf.len()` bytes of `r` from `start` into `buf`, zero-filling
/// unreadable ranges and recording them. Other I/O errors are recorded
/// the same way (one 512-byte sector at a time) so that a pass over the
/// image always finishes.
///
/// Unreadable ranges are in image coordinates, which differ from `r`'s
/// when `r` is a window (a partition): so the end of a bad range is found
/// by probing forward sector by sector, at most the range's length.
pub(crate) fn fill_lossy(r: &dyn ReadAt, start: u64, buf: &mut [u8], bad: &mut Vec<Unreadable>) {
    let mut done = 0usize;
    while done < buf.len() {
        let pos = start + done as u64;
        let left = (buf.len() - done) as u64;
        match r.read_at(pos, &mut buf[done..]) {
            Ok(0) => {
                buf[done..].fill(0);
                return;
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let sector = 512 - pos % 512;
                let (u, skip) = match Unreadable::find(&e) {
                    Some(u) => (u.clone(), bad_run(r, pos, u.len.min(left))),
                    None => (
                        Unreadable {
                            start: pos,
                            len: sector.min(left),
                            cause: Cause::Io {
                                kind: e.kind(),
                                path: Default::default(),
                            },
                        },
                        sector.min(left),
                    ),
                };
                let skip = skip.max(1) as usize;
                buf[done..done + skip].fill(0);
                done += skip;
                if bad.last() != Some(&u) {
                    bad.push(u);
                }
            }
        }
    }
}

/// How many bytes from `pos` (unreadable) stay unreadable, at most `max`:
/// the first readable sector boundary after `pos`, found by binary search
/// (within one unreadable range's length from its first byte, the bytes
/// are unreadable up to its end and then whatever follows, so the search
/// is over a monotone predicate).
fn bad_run(r: &dyn ReadAt, pos: u64, max: u64) -> u64 {
    let first = (512 - pos % 512).min(max);
    let readable = |s: u64| r.read_at(pos + s, &mut [0u8; 1]).is_ok();
    if first >= max || readable(first) {
        return first;
    }
    // Unreadable at `lo`; search sector boundaries in (lo, max].
    let (mut lo, mut hi) = (first, max);
    while hi - lo > 512 {
        let mid = lo + ((hi - lo) / 2 / 512).max(1) * 512;
        if readable(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Hashes all of `r` with `threads` readers.
pub fn digests(r: &dyn ReadAt, threads: usize) -> Digests {
    let len = r.len();
    let blocks = len.div_ceil(BLOCK as u64);
    let threads = threads.clamp(1, 8) as u64;
    std::thread::scope(|s| {
        let mut lanes: Vec<Receiver<(Vec<u8>, Vec<Unreadable>)>> = Vec::new();
        for t in 0..threads {
            let (tx, rx) = sync_channel(2);
            lanes.push(rx);
            s.spawn(move || {
                let mut b = t;
                while b < blocks {
                    let start = b * BLOCK as u64;
                    let n = (len - start).min(BLOCK as u64) as usize;
                    let mut buf = vec![0u8; n];
                    let mut bad = Vec::new();
                    fill_lossy(r, start, &mut buf, &mut bad);
                    if tx.send((buf, bad)).is_err() {
                        return;
                    }
                    b += threads;
                }
            });
        }
        let (sha_tx, sha_rx) = sync_channel::<Arc<Vec<u8>>>(2);
        let sha = s.spawn(move || {
            let mut h = sha1::Sha1::new();
            for b in sha_rx {
                h.update(&b[..]);
            }
            <[u8; 20]>::from(h.finalize())
        });
        let mut md5 = md5::Md5::new();
        let mut unreadable: Vec<Unreadable> = Vec::new();
        for b in 0..blocks {
            let Ok((buf, bad)) = lanes[(b % threads) as usize].recv() else {
                break;
            };
            for u in bad {
                if unreadable.last() != Some(&u) {
                    unreadable.push(u);
                }
            }
            let buf = Arc::new(buf);
            let _ = sha_tx.send(buf.clone());
            md5.update(&buf[..]);
        }
        drop(sha_tx);
        let sha1 = sha.join().unwrap_or([0; 20]);
        Digests {
            md5: md5.finalize().into(),
            sha1,
            bytes: len,
            unreadable,
        }
    })
}
