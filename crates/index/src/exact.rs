//! Exact digest lookups: a sorted key array with a prefix directory.
//!
//! Cryptographic digests are uniformly distributed, so a directory indexed
//! by the top `b` bits (about one slot per key) lands each lookup on a run of
//! one or two keys: one directory read and one key read, with no binary
//! search. Memory: `N` bytes of key + 4 bytes of id + about 4 bytes of
//! directory per entry.

/// A set of `N`-byte digests, each with a `u32` id (several ids may share a
/// digest: two lists can carry the same hash).
pub struct ExactSet<const N: usize> {
    keys: Vec<[u8; N]>,
    ids: Vec<u32>,
    dir: Vec<u32>,
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
        let (keys, ids) = entries.into_iter().unzip();
        ExactSet {
            keys,
            ids,
            dir,
            bits,
        }
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
