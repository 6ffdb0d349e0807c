//! Exact digest lookups: a sorted key array with a prefix directory.
//!
//! Cryptographic digests are uniformly distributed, so a directory indexed
//! by the top `b` bits (about one slot per key) lands each lookup on a run of
//! one or two keys: one directory read and one key read, with no binary
//! search. Memory: `N` bytes of key + 4 bytes of id + about 4 bytes of
//! directory per entry.

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

impl<const N: usize> ExactSet<N> {
    /// Builds the set from `(digest, id)` pairs.
    pub fn new(mut entries: Vec<([u8; N], u32)>) -> ExactSet<N> {
        entries.sort_unstable();
        let n = entries.len();
        let bits = (usize::BITS - n.max(1).leading_zeros()).clamp(1, 30);
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
