//! Exact PDQ range search by multi-index hashing.
//!
//! The 256-bit hash is cut into 16 chunks of 16 bits. Two hashes within
//! Hamming distance `R` must agree to within `floor(R / 16)` bits on at least
//! one chunk (pigeonhole), so probing every chunk's table with every value
//! within that many bits of the query's chunk finds every candidate; each
//! candidate is then verified on the full 256 bits. Results are exactly those
//! of a brute-force scan.
//!
//! Each table is a counting-sorted array of ids with an offsets array (CSR):
//! a bucket is one contiguous run, with no per-bucket allocation. A
//! candidate found in table `t` is reported only if no earlier table would
//! have found it, which removes duplicates without a "seen" set.

use crate::store::{Buf, Store, StoreError, StoreWriter};
use nigehbaan_pdq::Hash256;
use rayon::prelude::*;

/// Number of 16-bit chunks.
const CHUNKS: usize = 16;
/// The largest supported search radius.
pub const MAX_RADIUS: u32 = 63;

/// One match: the entry's id (its position at build time) and distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PdqMatch {
    /// Position of the matching hash in the slice the index was built from.
    pub id: u32,
    /// Hamming distance to the query.
    pub distance: u32,
}

struct Table {
    /// `offsets[v]..offsets[v + 1]` is bucket `v` in `ids`.
    offsets: Buf<u32>,
    ids: Buf<u32>,
}

/// An immutable PDQ index. Build once, query from many threads.
pub struct PdqIndex {
    hashes: Buf<[u64; 4]>,
    tables: Vec<Table>,
    /// Probe masks grouped by popcount: `masks[..ends[r]]` are the 16-bit
    /// masks with at most `r` bits set.
    masks: Vec<u16>,
    ends: [usize; 17],
}

#[inline(always)]
fn chunk(h: &[u64; 4], t: usize) -> u16 {
    (h[t / 4] >> ((t % 4) * 16)) as u16
}

/// True when a chunk of `query ^ candidate` has at most `sub` bits set.
#[inline(always)]
fn within(c: u16, sub: usize) -> bool {
    match sub {
        0 => c == 0,
        1 => c & c.wrapping_sub(1) == 0,
        _ => c.count_ones() as usize <= sub,
    }
}

/// Why a search could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusError(pub u32);

impl std::fmt::Display for RadiusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PDQ search radius {} is over the maximum of {MAX_RADIUS}",
            self.0
        )
    }
}

impl std::error::Error for RadiusError {}

impl PdqIndex {
    /// Builds an index over `hashes`; match ids are positions in this slice.
    ///
    /// # Panics
    /// If there are more than `u32::MAX` hashes.
    pub fn new(hashes: &[Hash256]) -> PdqIndex {
        assert!(
            hashes.len() < u32::MAX as usize,
            "too many hashes for one index"
        );
        let mut copy: Vec<[u64; 4]> = Vec::with_capacity(hashes.len());
        huge_pages(copy.spare_capacity_mut());
        copy.extend(hashes.iter().map(|h| h.0));
        let hashes = copy;
        let tables: Vec<Table> = (0..CHUNKS)
            .into_par_iter()
            .map(|t| {
                let mut offsets = vec![0u32; (1 << 16) + 1];
                for h in &hashes {
                    offsets[chunk(h, t) as usize + 1] += 1;
                }
                for v in 0..(1 << 16) {
                    offsets[v + 1] += offsets[v];
                }
                let mut fill = offsets.clone();
                let mut ids = vec![0u32; hashes.len()];
                huge_pages(&ids);
                for (id, h) in hashes.iter().enumerate() {
                    let c = chunk(h, t) as usize;
                    ids[fill[c] as usize] = id as u32;
                    fill[c] += 1;
                }
                Table {
                    offsets: offsets.into(),
                    ids: ids.into(),
                }
            })
            .collect();
        Self::assemble(hashes.into(), tables)
    }

    fn assemble(hashes: Buf<[u64; 4]>, tables: Vec<Table>) -> PdqIndex {
        let mut masks: Vec<u16> = (0..=u16::MAX).collect();
        masks.sort_by_key(|m| (m.count_ones(), *m));
        let mut ends = [0usize; 17];
        for (r, end) in ends.iter_mut().enumerate() {
            *end = masks
                .iter()
                .filter(|m| m.count_ones() as usize <= r)
                .count();
        }
        PdqIndex {
            hashes,
            tables,
            masks,
            ends,
        }
    }

    /// Adds this index's sections (kinds `base..base + 33`) to a store.
    pub fn write_sections(&self, w: &mut StoreWriter, base: u32) {
        w.add(base, &self.hashes);
        for (t, table) in self.tables.iter().enumerate() {
            w.add(base + 1 + 2 * t as u32, &table.offsets);
            w.add(base + 2 + 2 * t as u32, &table.ids);
        }
    }

    /// Opens an index written by [`PdqIndex::write_sections`], without
    /// copying: only the 128 KiB probe-mask table is built, and only the
    /// small offset arrays are checked, so opening takes milliseconds
    /// whatever the size.
    pub fn from_store(store: &Store, base: u32) -> Result<PdqIndex, StoreError> {
        let hashes: Buf<[u64; 4]> = store.section(base)?;
        let n = hashes.len();
        let mut tables = Vec::with_capacity(CHUNKS);
        for t in 0..CHUNKS as u32 {
            let offsets: Buf<u32> = store.section(base + 1 + 2 * t)?;
            let ids: Buf<u32> = store.section(base + 2 + 2 * t)?;
            let ok = offsets.len() == (1 << 16) + 1
                && ids.len() == n
                && offsets.last().copied() == Some(n as u32)
                && offsets.windows(2).all(|w| w[0] <= w[1]);
            // Ids are not scanned here (that would read the whole file);
            // an out-of-range id in a damaged file stops a query with an
            // index error instead of reading out of bounds.
            if !ok {
                return Err(StoreError::Invalid(format!("PDQ table {t} is damaged")));
            }
            tables.push(Table { offsets, ids });
        }
        Ok(Self::assemble(hashes, tables))
    }

    /// A copy in owned memory, backed by transparent huge pages where the
    /// kernel allows: for an index opened from a mapped file that will
    /// serve many queries (a mapped file gets 4 KiB pages, and the
    /// candidate checks then miss the TLB on nearly every touch).
    pub(crate) fn to_owned_copy(&self) -> PdqIndex {
        fn copy<T: bytemuck::Pod>(b: &[T]) -> Buf<T> {
            let mut v = Vec::with_capacity(b.len());
            huge_pages(v.spare_capacity_mut());
            v.extend_from_slice(b);
            v.into()
        }
        let tables = self
            .tables
            .iter()
            .map(|t| Table {
                offsets: copy(&t.offsets),
                ids: copy(&t.ids),
            })
            .collect();
        Self::assemble(copy(&self.hashes), tables)
    }

    /// Every indexed hash, by id (for the live index's compaction).
    pub(crate) fn raw_hashes(&self) -> &[[u64; 4]] {
        &self.hashes
    }

    /// Number of indexed hashes.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Bytes of memory the index holds (hashes, tables, probe masks).
    pub fn memory_bytes(&self) -> usize {
        self.hashes.len() * 32
            + self
                .tables
                .iter()
                .map(|t| t.offsets.len() * 4 + t.ids.len() * 4)
                .sum::<usize>()
            + self.masks.len() * 2
    }

    /// Appends to `out` every indexed hash within `radius` of `query`, in
    /// no particular order.
    pub fn search_into(
        &self,
        query: &Hash256,
        radius: u32,
        out: &mut Vec<PdqMatch>,
    ) -> Result<(), RadiusError> {
        if radius > MAX_RADIUS {
            return Err(RadiusError(radius));
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU has POPCNT (checked just above).
                unsafe { self.search_popcnt(query, radius, out) };
                return Ok(());
            }
        }
        self.search_impl(query, radius, out);
        Ok(())
    }

    /// [`PdqIndex::search_impl`] compiled with the POPCNT instruction
    /// (the baseline x86-64 target counts bits in software).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn search_popcnt(&self, query: &Hash256, radius: u32, out: &mut Vec<PdqMatch>) {
        self.search_impl(query, radius, out)
    }

    #[inline(always)]
    fn search_impl(&self, query: &Hash256, radius: u32, out: &mut Vec<PdqMatch>) {
        let q = &query.0;
        let sub = (radius / CHUNKS as u32) as usize;
        let masks = &self.masks[..self.ends[sub]];
        let qc: [u16; CHUNKS] = std::array::from_fn(|t| chunk(q, t));
        let mut cands: Vec<u32> = Vec::with_capacity(256);
        for (t, table) in self.tables.iter().enumerate() {
            cands.clear();
            for &m in masks {
                let v = (qc[t] ^ m) as usize;
                let (lo, hi) = (table.offsets[v] as usize, table.offsets[v + 1] as usize);
                cands.extend_from_slice(&table.ids[lo..hi]);
            }
            // Candidates are random positions in a large array: fetch some
            // ahead so that the memory system works on several at once.
            const AHEAD: usize = 16;
            for (i, &id) in cands.iter().enumerate() {
                if let Some(&next) = cands.get(i + AHEAD) {
                    prefetch(&self.hashes[next as usize]);
                }
                let h = &self.hashes[id as usize];
                let x = [h[0] ^ q[0], h[1] ^ q[1], h[2] ^ q[2], h[3] ^ q[3]];
                // Reported by an earlier table already?
                if (0..t).any(|u| within(chunk(&x, u), sub)) {
                    continue;
                }
                let d = x.iter().map(|l| l.count_ones()).sum::<u32>();
                if d <= radius {
                    out.push(PdqMatch { id, distance: d });
                }
            }
        }
    }

    /// Every indexed hash within `radius` of `query`, sorted by distance
    /// then id.
    pub fn search(&self, query: &Hash256, radius: u32) -> Result<Vec<PdqMatch>, RadiusError> {
        let mut out = Vec::new();
        self.search_into(query, radius, &mut out)?;
        out.sort_by_key(|m| (m.distance, m.id));
        Ok(out)
    }

    /// Searches any of several variants of one query (for example its 8
    /// dihedral hashes); each id appears once, with the variant index that
    /// came closest.
    pub fn search_any(
        &self,
        variants: &[Hash256],
        radius: u32,
    ) -> Result<Vec<(PdqMatch, usize)>, RadiusError> {
        let mut best: Vec<(PdqMatch, usize)> = Vec::new();
        let mut tmp = Vec::new();
        for (k, v) in variants.iter().enumerate() {
            tmp.clear();
            self.search_into(v, radius, &mut tmp)?;
            best.extend(tmp.iter().map(|m| (*m, k)));
        }
        best.sort_by_key(|(m, k)| (m.id, m.distance, *k));
        best.dedup_by_key(|(m, _)| m.id);
        best.sort_by_key(|(m, k)| (m.distance, m.id, *k));
        Ok(best)
    }

    /// Searches many queries in parallel; `result[i]` answers `queries[i]`.
    pub fn search_batch(
        &self,
        queries: &[Hash256],
        radius: u32,
    ) -> Result<Vec<Vec<PdqMatch>>, RadiusError> {
        queries.par_iter().map(|q| self.search(q, radius)).collect()
    }
}

/// Asks the kernel to back a large array with transparent huge pages before
/// it is first written: the candidate checks touch it at random, and with
/// 4 KiB pages nearly every touch is also a TLB miss. A hint only; failure
/// is harmless.
fn huge_pages<T>(v: &[T]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let end = start + std::mem::size_of_val(v);
        let a = start.next_multiple_of(HUGE);
        if end > a + HUGE {
            let len = (end - a) / HUGE * HUGE;
            // SAFETY: advice on whole huge pages inside the live allocation
            // backing `v`; madvise does not change the memory's contents.
            unsafe {
                libc::madvise(a as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

#[inline(always)]
fn prefetch(h: &[u64; 4]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; the pointer is to a live element.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            h.as_ptr() as *const i8
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = h;
}

/// Brute-force reference search (used by tests and benchmarks).
pub fn brute_force(hashes: &[Hash256], query: &Hash256, radius: u32) -> Vec<PdqMatch> {
    let mut out: Vec<PdqMatch> = hashes
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let d = h.distance(query);
            (d <= radius).then_some(PdqMatch {
                id: i as u32,
                distance: d,
            })
        })
        .collect();
    out.sort_by_key(|m| (m.distance, m.id));
    out
}
