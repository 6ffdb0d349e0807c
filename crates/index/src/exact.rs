//! Exact digest lookups: a sorted key array with a prefix directory.
//!
//! Cryptographic digests are uniformly distributed, so a directory indexed
//! by the top `b` bits (about one slot per key) lands each lookup on a run of
//! one or two keys: one directory read and one key read, with no binary
//! search. Memory: `N` bytes of key + 4 bytes of id + about 4 bytes of
//! directory per entry.

use std::io;

use crate::store::{Buf, Store, StoreError, StoreWriter};

/// A set of `N`-byte digests, each with a `u32` id (several ids may share a
/// digest: two lists can carry the same hash).
pub struct ExactSet<const N: usize> {
    keys: Buf<[u8; N]>,
    ids: Buf<u32>,
    dir: Buf<u32>,
    bits: u32,
}

#[inline(always)]
fn prefix<const N: usize>(key: &[u8; N], bits: u32) -> usize {
    let mut p = [0u8; 8];
    let n = N.min(8);
    p[..n].copy_from_slice(&key[..n]);
    (u64::from_be_bytes(p) >> (64 - bits)) as usize
}

/// Directory bits for `n` entries: about one directory slot per key.
fn bits_for(n: usize) -> u32 {
    (usize::BITS - n.max(1).leading_zeros()).clamp(1, 30)
}

/// Bytes gathered per section before they are handed on, when streaming.
const STREAM_CHUNK: usize = 64 * 1024;

impl<const N: usize> ExactSet<N> {
    /// Builds the set from `(digest, id)` pairs.
    pub fn new(mut entries: Vec<([u8; N], u32)>) -> ExactSet<N> {
        entries.sort_unstable();
        let n = entries.len();
        let bits = bits_for(n);
        let mut dir = vec![0u32; (1usize << bits) + 1];
        for (k, _) in &entries {
            dir[prefix(k, bits) + 1] += 1;
        }
        for i in 0..(1usize << bits) {
            dir[i + 1] += dir[i];
        }
        let (keys, ids): (Vec<[u8; N]>, Vec<u32>) = entries.into_iter().unzip();
        ExactSet {
            keys: keys.into(),
            ids: ids.into(),
            dir: dir.into(),
            bits,
        }
    }

    /// Adds this set's sections (kinds `base..base + 4`) to a store.
    pub fn write_sections(&self, w: &mut StoreWriter, base: u32) {
        w.add(base, &[self.bits, N as u32]);
        w.add(base + 1, &self.keys);
        w.add(base + 2, &self.ids);
        w.add(base + 3, &self.dir);
    }

    /// The byte lengths of the four sections (kinds `base..base + 4`) that
    /// [`ExactSet::write_sections`] writes for a set of `n` entries.
    pub fn section_sizes(n: usize) -> [usize; 4] {
        [8, n * N, n * 4, ((1usize << bits_for(n)) + 1) * 4]
    }

    /// Streams the sections of a set of exactly `n` entries, given in
    /// ascending `(digest, id)` order, without holding them: the bytes are
    /// those [`ExactSet::new`] followed by [`ExactSet::write_sections`]
    /// would write for the same entries. `out(section, bytes)` receives
    /// each section's bytes in order, in chunks, the sections interleaved
    /// (`section` is `0..4`, the offset from the base kind; the lengths are
    /// [`ExactSet::section_sizes`]). For sets too large to sort in memory:
    /// merge sorted runs and stream them here.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] when the entries are out
    /// of order or not `n` of them (the output is then incomplete), and
    /// with the first error `out` returns.
    pub fn write_sorted_sections<I, F>(n: usize, entries: I, mut out: F) -> io::Result<()>
    where
        I: IntoIterator<Item = ([u8; N], u32)>,
        F: FnMut(u32, &[u8]) -> io::Result<()>,
    {
        let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, why.to_string());
        if n > u32::MAX as usize {
            return Err(bad("too many entries for an exact set"));
        }
        let bits = bits_for(n);
        out(0, bytemuck::cast_slice(&[bits, N as u32]))?;
        // dir[j] is the number of keys whose prefix is below j; slot j is
        // written when the first key with a prefix of at least j arrives.
        let slots = (1usize << bits) + 1;
        let mut next_slot = 0usize;
        let mut bufs: [Vec<u8>; 3] = std::array::from_fn(|_| Vec::with_capacity(STREAM_CHUNK));
        let mut last: Option<([u8; N], u32)> = None;
        let mut count = 0usize;
        for (key, id) in entries {
            if last.is_some_and(|l| l > (key, id)) {
                return Err(bad("exact-set entries out of order"));
            }
            if count == n {
                return Err(bad("more exact-set entries than announced"));
            }
            let p = prefix(&key, bits);
            while next_slot <= p {
                bufs[2].extend_from_slice(&(count as u32).to_le_bytes());
                next_slot += 1;
            }
            bufs[0].extend_from_slice(&key);
            bufs[1].extend_from_slice(&id.to_le_bytes());
            for (s, buf) in bufs.iter_mut().enumerate() {
                if buf.len() >= STREAM_CHUNK {
                    out(s as u32 + 1, buf)?;
                    buf.clear();
                }
            }
            last = Some((key, id));
            count += 1;
        }
        if count != n {
            return Err(bad("fewer exact-set entries than announced"));
        }
        for (s, buf) in bufs.iter_mut().enumerate().take(2) {
            if !buf.is_empty() {
                out(s as u32 + 1, buf)?;
            }
        }
        let dir = &mut bufs[2];
        while next_slot < slots {
            dir.extend_from_slice(&(n as u32).to_le_bytes());
            next_slot += 1;
            if dir.len() >= STREAM_CHUNK {
                out(3, dir)?;
                dir.clear();
            }
        }
        if !dir.is_empty() {
            out(3, dir)?;
        }
        Ok(())
    }

    /// Opens a set written by [`ExactSet::write_sections`], without copying.
    pub fn from_store(store: &Store, base: u32) -> Result<ExactSet<N>, StoreError> {
        let meta: Buf<u32> = store.section(base)?;
        let (bits, width) = match *meta {
            [bits, width] => (bits, width),
            _ => return Err(StoreError::Invalid("exact-set header".into())),
        };
        if width as usize != N || !(1..=30).contains(&bits) {
            return Err(StoreError::Invalid("exact-set header".into()));
        }
        let set = ExactSet {
            keys: store.section(base + 1)?,
            ids: store.section(base + 2)?,
            dir: store.section(base + 3)?,
            bits,
        };
        if set.keys.len() != set.ids.len()
            || set.dir.len() != (1usize << bits) + 1
            || set.dir.last().copied() != Some(set.keys.len() as u32)
        {
            return Err(StoreError::Invalid("exact-set sections disagree".into()));
        }
        Ok(set)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Bytes of memory held.
    pub fn memory_bytes(&self) -> usize {
        self.keys.len() * (N + 4) + self.dir.len() * 4
    }

    /// The ids recorded for `key` (empty when absent).
    #[inline]
    pub fn get(&self, key: &[u8; N]) -> &[u32] {
        let p = prefix(key, self.bits);
        let (lo, hi) = (self.dir[p] as usize, self.dir[p + 1] as usize);
        let run = &self.keys[lo..hi];
        let start = run.partition_point(|k| k < key);
        let end = start + run[start..].iter().take_while(|k| *k == key).count();
        &self.ids[lo + start..lo + end]
    }

    /// True when `key` is in the set.
    #[inline]
    pub fn contains(&self, key: &[u8; N]) -> bool {
        !self.get(key).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries<const N: usize>(n: usize, seed: u64) -> Vec<([u8; N], u32)> {
        let mut x = seed;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 24) as u8
        };
        let mut v: Vec<([u8; N], u32)> = (0..n)
            .map(|i| (std::array::from_fn(|_| next()), i as u32))
            .collect();
        // Repeated digests under other ids, as two lists can share a hash.
        for i in (0..n).step_by(7) {
            v.push((v[i].0, (n + i) as u32));
        }
        v
    }

    fn streamed_matches_built<const N: usize>(n: usize) {
        let e = entries::<N>(n, n as u64 + 1);
        let path = std::env::temp_dir().join(format!(
            "nigehbaan-exact-{}-{N}-{n}.nidx",
            std::process::id()
        ));
        let mut w = StoreWriter::new();
        ExactSet::new(e.clone()).write_sections(&mut w, 10);
        w.write(&path).unwrap();
        // SAFETY: the test's temporary index file is not modified while mapped.
        let store = unsafe { Store::open(&path) }.unwrap();
        let mut sorted = e.clone();
        sorted.sort_unstable();
        let mut got: [Vec<u8>; 4] = Default::default();
        ExactSet::<N>::write_sorted_sections(sorted.len(), sorted.iter().copied(), |s, b| {
            got[s as usize].extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        let sizes = ExactSet::<N>::section_sizes(sorted.len());
        for s in 0..4 {
            let want: Buf<u8> = store.section(10 + s as u32).unwrap();
            assert_eq!(&got[s][..], &want[..], "N {N}, n {n}, section {s}");
            assert_eq!(got[s].len(), sizes[s], "N {N}, n {n}, section {s}");
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn streamed_sections_are_byte_identical() {
        for n in [0, 1, 2, 3, 100, 1000, 70_000] {
            streamed_matches_built::<16>(n);
            streamed_matches_built::<20>(n);
            streamed_matches_built::<32>(n);
        }
    }

    #[test]
    fn streamed_sections_check_order_and_count() {
        let sink = |_: u32, _: &[u8]| Ok(());
        let mut e = entries::<16>(10, 3);
        e.sort_unstable();
        let err = ExactSet::<16>::write_sorted_sections(11, e.iter().copied(), sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = ExactSet::<16>::write_sorted_sections(5, e.iter().copied(), sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        e.swap(0, 1);
        let err =
            ExactSet::<16>::write_sorted_sections(e.len(), e.iter().copied(), sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
