//! A PDQ index that takes additions and removals while it serves queries,
//! and is never rebuilt whole on the query path.
//!
//! It is made of three parts, searched together:
//!
//! * a large immutable **base** [`PdqIndex`] (usually memory-mapped from a
//!   snapshot file, so that opening millions of entries takes milliseconds);
//! * a smaller immutable **delta** [`PdqIndex`] holding what was added since
//!   the base was built;
//! * a short **tail** of the latest additions, scanned by brute force;
//!
//! plus a set of **tombstones**: hashes removed since the base and delta were
//! built, filtered out of every answer.
//!
//! An addition or a removal is a push onto the tail or the tombstone set: it
//! is visible to the next query. [`LivePdqIndex::compact`] (run on a
//! background thread by the caller) folds the tail into a new delta, or, once
//! the delta is large, the delta into a new base, and swaps the result in;
//! queries go on against the old parts meanwhile. A hash may be present
//! more than once (two lists can hold the same hash): answers are
//! deduplicated by hash.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use nigehbaan_pdq::Hash256;

use crate::pdq::{PdqIndex, PdqMatch, SearchError, MAX_RADIUS};
use crate::store::{Store, StoreError, StoreWriter};

/// Section kinds in a snapshot file.
const BASE_KIND: u32 = 0;
const DELTA_KIND: u32 = 40;
const TAIL_KIND: u32 = 80;
const DEAD_KIND: u32 = 81;
const META_KIND: u32 = 82;
const SNAPSHOT_MAGIC: u64 = 0x6e67_625f_6c69_7665; // "ngb_live"

/// The tail is folded into the delta once it holds this many hashes.
pub const TAIL_MAX: usize = 4096;

/// One answer: an indexed hash and its distance to the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LiveMatch {
    /// The indexed hash.
    pub hash: Hash256,
    /// Hamming distance to the query.
    pub distance: u32,
}

/// Sizes of the parts, for status pages and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiveStats {
    /// Hashes in the base.
    pub base: usize,
    /// Hashes in the delta.
    pub delta: usize,
    /// Hashes in the tail.
    pub tail: usize,
    /// Tombstones.
    pub tombstones: usize,
    /// Bytes of memory held (base and delta tables, tail, tombstones);
    /// mapped parts count whether or not the kernel has them resident.
    pub memory_bytes: usize,
    /// Compactions done since this index was made or opened.
    pub compactions: u64,
}

struct Parts {
    base: Option<Arc<PdqIndex>>,
    delta: Option<Arc<PdqIndex>>,
    tail: Vec<Hash256>,
    dead: HashSet<[u64; 4]>,
    compactions: u64,
}

/// A PDQ index that is updated in place while it serves (see the module
/// documentation). All methods take `&self` and may be called from many
/// threads.
pub struct LivePdqIndex {
    parts: RwLock<Parts>,
    /// Held by a compaction for its whole run, so that two never overlap.
    compacting: Mutex<()>,
}

impl Default for LivePdqIndex {
    fn default() -> Self {
        LivePdqIndex::new(&[])
    }
}

impl LivePdqIndex {
    /// An index whose base holds `hashes`.
    pub fn new(hashes: &[Hash256]) -> LivePdqIndex {
        LivePdqIndex::from_parts(Parts {
            base: base_of(hashes),
            delta: None,
            tail: Vec::new(),
            dead: HashSet::new(),
            compactions: 0,
        })
    }

    fn from_parts(parts: Parts) -> LivePdqIndex {
        LivePdqIndex {
            parts: RwLock::new(parts),
            compacting: Mutex::new(()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Parts> {
        self.parts.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Parts> {
        self.parts.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces everything with a new base holding `hashes` (a full reload).
    pub fn reset(&self, hashes: &[Hash256]) {
        let _one = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        let base = base_of(hashes);
        let mut p = self.write();
        p.base = base;
        p.delta = None;
        p.tail.clear();
        p.dead.clear();
    }

    /// Adds a hash; it is found by the next query.
    pub fn insert(&self, hash: Hash256) {
        let mut p = self.write();
        p.dead.remove(&hash.0);
        p.tail.push(hash);
    }

    /// Removes every copy of a hash; the next query no longer finds it.
    pub fn remove(&self, hash: Hash256) {
        self.write().dead.insert(hash.0);
    }

    /// True when the tail is long enough that [`LivePdqIndex::compact`]
    /// should run.
    pub fn wants_compaction(&self) -> bool {
        let p = self.read();
        p.tail.len() >= TAIL_MAX || p.dead.len() >= TAIL_MAX
    }

    /// Every distinct live hash within `radius` of `query`, sorted by
    /// distance then hash.
    pub fn search(&self, query: &Hash256, radius: u32) -> Result<Vec<LiveMatch>, SearchError> {
        if radius > MAX_RADIUS {
            return Err(SearchError::Radius(radius));
        }
        let mut out = Vec::new();
        let mut ids: Vec<PdqMatch> = Vec::new();
        {
            let p = self.read();
            for part in [&p.base, &p.delta].into_iter().flatten() {
                ids.clear();
                part.search_into(query, radius, &mut ids)?;
                let hashes = part.raw_hashes();
                for m in &ids {
                    let h = hashes[m.id as usize];
                    if !p.dead.contains(&h) {
                        out.push(LiveMatch {
                            hash: Hash256(h),
                            distance: m.distance,
                        });
                    }
                }
            }
            for h in &p.tail {
                let d = h.distance(query);
                if d <= radius && !p.dead.contains(&h.0) {
                    out.push(LiveMatch {
                        hash: *h,
                        distance: d,
                    });
                }
            }
        }
        out.sort_by_key(|m| (m.distance, m.hash.0));
        out.dedup_by_key(|m| m.hash.0);
        Ok(out)
    }

    /// Part sizes.
    pub fn stats(&self) -> LiveStats {
        let p = self.read();
        let n = |x: &Option<Arc<PdqIndex>>| x.as_ref().map_or(0, |i| i.len());
        let mem = |x: &Option<Arc<PdqIndex>>| x.as_ref().map_or(0, |i| i.memory_bytes());
        LiveStats {
            base: n(&p.base),
            delta: n(&p.delta),
            tail: p.tail.len(),
            tombstones: p.dead.len(),
            memory_bytes: mem(&p.base)
                + mem(&p.delta)
                + p.tail.capacity() * 32
                + p.dead.capacity() * 40,
            compactions: p.compactions,
        }
    }

    /// Folds the tail and tombstones into a new delta, or everything into a
    /// new base once the delta would pass an eighth of the base (at least
    /// 65536 hashes). Queries and updates go on meanwhile; only the final
    /// swap takes the write lock. Returns false when there was nothing to do.
    pub fn compact(&self) -> bool {
        let _one = self.compacting.lock().unwrap_or_else(|e| e.into_inner());
        let (base, delta, tail, dead) = {
            let p = self.read();
            if p.tail.is_empty() && p.dead.is_empty() {
                return false;
            }
            (
                p.base.clone(),
                p.delta.clone(),
                p.tail.clone(),
                p.dead.clone(),
            )
        };
        let live = |part: &Option<Arc<PdqIndex>>, out: &mut Vec<Hash256>| {
            if let Some(i) = part {
                out.extend(
                    i.raw_hashes()
                        .iter()
                        .filter(|h| !dead.contains(*h))
                        .map(|h| Hash256(*h)),
                );
            }
        };
        let base_len = base.as_ref().map_or(0, |b| b.len());
        let delta_len = delta.as_ref().map_or(0, |d| d.len());
        let major = delta_len + tail.len() > (base_len / 8).max(65_536);
        let mut fresh: Vec<Hash256> = Vec::new();
        if major {
            live(&base, &mut fresh);
        }
        live(&delta, &mut fresh);
        fresh.extend(tail.iter().filter(|h| !dead.contains(&h.0)));
        let built = base_of(&fresh);
        drop(fresh);
        let mut p = self.write();
        if major {
            p.base = built;
            p.delta = None;
        } else {
            // The base still holds hashes that died: keep their tombstones.
            p.delta = built;
        }
        let later: HashSet<[u64; 4]> = p.tail[tail.len()..].iter().map(|h| h.0).collect();
        p.tail.drain(..tail.len());
        let base_now = p.base.clone();
        p.dead.retain(|h| {
            // A tombstone taken into account by this compaction can go,
            // unless the hash was added again since, or the base still has
            // it (after a minor compaction).
            !dead.contains(h)
                || later.contains(h)
                || (!major && base_now.as_ref().is_some_and(|b| contains(b, h)))
        });
        p.compactions += 1;
        true
    }

    /// Writes a snapshot: every part plus `tag` (for example the last change
    /// applied, and an identity of the database it came from). Written to a
    /// temporary file and renamed into place.
    pub fn write_snapshot(&self, path: &Path, tag: [u64; 2]) -> std::io::Result<()> {
        let (base, delta, tail, dead) = {
            let p = self.read();
            (
                p.base.clone(),
                p.delta.clone(),
                p.tail.clone(),
                p.dead.clone(),
            )
        };
        let mut w = StoreWriter::new();
        let empty = PdqIndex::new(&[]);
        base.as_deref()
            .unwrap_or(&empty)
            .write_sections(&mut w, BASE_KIND);
        delta
            .as_deref()
            .unwrap_or(&empty)
            .write_sections(&mut w, DELTA_KIND);
        let tail: Vec<[u64; 4]> = tail.iter().map(|h| h.0).collect();
        w.add(TAIL_KIND, &tail);
        let dead: Vec<[u64; 4]> = dead.into_iter().collect();
        w.add(DEAD_KIND, &dead);
        w.add(META_KIND, &[SNAPSHOT_MAGIC, tag[0], tag[1]]);
        w.write(path)
    }

    /// Opens a snapshot written by [`LivePdqIndex::write_snapshot`] (the
    /// base and delta stay memory-mapped) and returns it with its tag.
    pub fn open_snapshot(path: &Path) -> Result<(LivePdqIndex, [u64; 2]), StoreError> {
        Self::snapshot(path, false)
    }

    /// Like [`LivePdqIndex::open_snapshot`], but copies the base and delta
    /// into memory backed by transparent huge pages: a sequential read of
    /// the file (about a second for 10M hashes), then faster queries than
    /// from the mapped file.
    pub fn load_snapshot(path: &Path) -> Result<(LivePdqIndex, [u64; 2]), StoreError> {
        Self::snapshot(path, true)
    }

    fn snapshot(path: &Path, copy: bool) -> Result<(LivePdqIndex, [u64; 2]), StoreError> {
        // SAFETY: snapshots are files this module writes itself
        // (`write_snapshot`: a temporary file renamed into place, never
        // changed in place), so a mapped snapshot does not change under us;
        // a newer snapshot replaces the directory entry, not the mapped file.
        let store = unsafe { Store::open(path) }?;
        if copy {
            store.will_need();
        }
        let meta = store.section::<u64>(META_KIND)?;
        if meta.len() != 3 || meta[0] != SNAPSHOT_MAGIC {
            return Err(StoreError::Invalid("not a live PDQ snapshot".into()));
        }
        let tag = [meta[1], meta[2]];
        let part = |kind| -> Result<Option<Arc<PdqIndex>>, StoreError> {
            let i = PdqIndex::from_store(&store, kind)?;
            let i = if copy { i.to_owned_copy() } else { i };
            Ok((!i.is_empty()).then(|| Arc::new(i)))
        };
        let tail: Vec<Hash256> = store
            .section::<[u64; 4]>(TAIL_KIND)?
            .iter()
            .map(|h| Hash256(*h))
            .collect();
        let dead: HashSet<[u64; 4]> = store
            .section::<[u64; 4]>(DEAD_KIND)?
            .iter()
            .copied()
            .collect();
        let parts = Parts {
            base: part(BASE_KIND)?,
            delta: part(DELTA_KIND)?,
            tail,
            dead,
            compactions: 0,
        };
        Ok((LivePdqIndex::from_parts(parts), tag))
    }
}

/// An index over `hashes`, or none for no hashes.
fn base_of(hashes: &[Hash256]) -> Option<Arc<PdqIndex>> {
    (!hashes.is_empty()).then(|| Arc::new(PdqIndex::new(hashes)))
}

fn contains(index: &PdqIndex, h: &[u64; 4]) -> bool {
    let mut out = Vec::new();
    let _ = index.search_into(&Hash256(*h), 0, &mut out);
    !out.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdq::brute_force;
    use proptest::prelude::*;

    fn h(seed: u64) -> Hash256 {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        Hash256(std::array::from_fn(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }))
    }

    fn near(a: Hash256, bits: &[usize]) -> Hash256 {
        let mut b = a;
        for &k in bits {
            b.0[k / 64] ^= 1 << (k % 64);
        }
        b
    }

    /// Reference: distinct live hashes within the radius.
    fn reference(live: &[Hash256], q: &Hash256, r: u32) -> Vec<(u32, [u64; 4])> {
        let mut v: Vec<(u32, [u64; 4])> = brute_force(live, q, r)
            .into_iter()
            .map(|m| (m.distance, live[m.id as usize].0))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn got(i: &LivePdqIndex, q: &Hash256, r: u32) -> Vec<(u32, [u64; 4])> {
        i.search(q, r)
            .unwrap()
            .into_iter()
            .map(|m| (m.distance, m.hash.0))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Any mix of inserts, removes and compactions answers exactly as a
        /// brute-force scan over the live multiset.
        #[test]
        fn matches_brute_force(ops in proptest::collection::vec((0u8..10, 0u64..40), 1..300)) {
            let start: Vec<Hash256> = (1000..1100).map(h).collect();
            let index = LivePdqIndex::new(&start);
            let mut live: Vec<Hash256> = start.clone();
            for (op, k) in ops {
                match op {
                    0..=5 => { let x = near(h(k), &[(k as usize) % 256]); index.insert(x); live.push(x); }
                    6 | 7 => { let x = if k % 2 == 0 { h(1000 + k) } else { near(h(k), &[(k as usize) % 256]) };
                               index.remove(x); live.retain(|y| *y != x); }
                    8 => { index.compact(); }
                    _ => {
                        let q = near(h(k), &[1, 2, 3]);
                        prop_assert_eq!(got(&index, &q, 31), reference(&live, &q, 31));
                    }
                }
            }
            for k in 0..40 {
                let q = near(h(k), &[5]);
                prop_assert_eq!(got(&index, &q, 31), reference(&live, &q, 31));
                let q = h(1000 + k);
                prop_assert_eq!(got(&index, &q, 0), reference(&live, &q, 0));
            }
        }
    }

    #[test]
    fn snapshot_round_trip_keeps_every_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.idx");
        let base: Vec<Hash256> = (0..500).map(h).collect();
        let index = LivePdqIndex::new(&base);
        for k in 500..700 {
            index.insert(h(k));
        }
        index.compact();
        for k in 700..710 {
            index.insert(h(k));
        }
        index.remove(h(3));
        index.remove(h(600));
        index.write_snapshot(&path, [42, 7]).unwrap();
        let (copied, _) = LivePdqIndex::load_snapshot(&path).unwrap();
        let (back, tag) = LivePdqIndex::open_snapshot(&path).unwrap();
        assert_eq!(tag, [42, 7]);
        for k in 0..720 {
            assert_eq!(
                copied.search(&h(k), 0).unwrap(),
                back.search(&h(k), 0).unwrap()
            );
        }
        for k in 0..720 {
            let want = k < 710 && k != 3 && k != 600;
            assert_eq!(!back.search(&h(k), 0).unwrap().is_empty(), want, "hash {k}");
        }
        assert_eq!(back.stats().tail, 10);
        // A major compaction of the reopened index drops the tombstones.
        for k in 1000..1000 + 70_000 {
            back.insert(h(k));
        }
        assert!(back.compact());
        let s = back.stats();
        assert_eq!((s.delta, s.tail, s.tombstones), (0, 0, 0));
        assert_eq!(s.base, 710 - 2 + 70_000);
    }

    #[test]
    fn radius_over_the_maximum_is_an_error() {
        assert!(LivePdqIndex::default().search(&h(1), 64).is_err());
    }
}
