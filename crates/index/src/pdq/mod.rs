//! Exact PDQ range search by multi-index hashing.
//!
//! The 256-bit hash is cut into `m` chunks (16 chunks of 16 bits for up to a
//! few million hashes; fewer, wider chunks for larger indexes, see
//! [`Layout::for_len`]). Each chunk has a table from chunk value to the ids
//! of the hashes holding it.
//!
//! A search of radius `R` gives chunk `i` a threshold `t_i` (−1 meaning the
//! table is not probed) with `Σ (t_i + 1) ≥ R + 1`. If a hash were more than
//! `t_i` bits from the query on every chunk it would be at least
//! `Σ (t_i + 1) > R` bits away, so every hash within `R` is within `t_i` on
//! some chunk `i` (the generalised pigeonhole principle). Probing table `i`
//! with every value within `t_i` bits of the query's chunk therefore finds
//! every answer; each candidate is then checked on the full 256 bits, so the
//! results are exactly those of a brute-force scan. The thresholds are
//! chosen per radius by a small cost model (probes against candidates),
//! which with 16-bit chunks and radius 31 gives the classic `t_i = 1`.
//!
//! Each table is a counting-sorted array of ids with an offsets array (CSR):
//! a bucket is one contiguous run, with no per-bucket allocation. A
//! candidate found in table `t` is reported only if no earlier table would
//! have found it, which removes duplicates without a "seen" set. A query
//! runs in stages (bucket bounds, then ids, then hashes), each fetching
//! ahead, so that the memory system works on many random reads at once.

use crate::store::{Buf, Store, StoreError, StoreWriter};
use nigehbaan_pdq::Hash256;
use rayon::prelude::*;
use std::cell::RefCell;
use std::sync::OnceLock;

/// The largest supported search radius.
pub const MAX_RADIUS: u32 = 63;
/// Fewest and most chunks a layout may have (widths 26 down to 16 bits).
const MIN_CHUNKS: usize = 10;
const MAX_CHUNKS: usize = 16;
/// Section kind, relative to the base, of the layout (chunk widths).
const LAYOUT_SECTION: u32 = 1 + 2 * MAX_CHUNKS as u32;
/// How far ahead each stage of a query prefetches.
const AHEAD: usize = 16;
/// Bytes per hash a compact layout aims to stay within.
const COMPACT_BUDGET: f64 = 63.0;
/// Compact layouts pack ids in 3 bytes below this many hashes.
const PACKED_IDS_MAX: usize = 1 << 24;
/// Compact bucket bounds: a 4-byte start per block of `2^BLOCK_BITS`
/// buckets, then a 2-byte offset within the block per bucket.
const BLOCK_BITS: u32 = 10;
/// Flags beside a chunk's width in the layout section.
const BLOCKED: u32 = 1 << 8;
const PACKED: u32 = 1 << 9;

/// One match: the entry's id (its position at build time) and distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PdqMatch {
    /// Position of the matching hash in the slice the index was built from.
    pub id: u32,
    /// Hamming distance to the query.
    pub distance: u32,
}

mod layout;
mod sys;
mod table;

use layout::plan;
pub use layout::Layout;
#[cfg(target_arch = "x86_64")]
use sys::Popcnt;
use sys::{huge_pages, prefetch};
use table::{block_offsets, field, for_masks, pack_ids, Table};

/// An immutable PDQ index. Build once, query from many threads.
pub struct PdqIndex {
    hashes: Buf<[u64; 4]>,
    tables: Vec<Table>,
    /// Per-chunk thresholds for each radius, worked out on first use.
    plans: [OnceLock<Vec<i8>>; MAX_RADIUS as usize + 1],
}

/// Why a search could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchError {
    /// The radius is over [`MAX_RADIUS`].
    Radius(u32),
    /// The index (read from a file) points outside itself: the file is
    /// damaged. Opening checks the bucket bounds; the ids are checked as
    /// queries meet them, so a damaged file gives this error, never a panic
    /// or a silently short answer.
    Damaged,
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchError::Radius(r) => write!(
                f,
                "PDQ search radius {r} is over the maximum of {MAX_RADIUS}"
            ),
            SearchError::Damaged => write!(
                f,
                "the PDQ index is damaged (an entry points outside it); check it with `nigehbaan lists verify` and import the list again"
            ),
        }
    }
}

impl std::error::Error for SearchError {}

/// Per-thread work space of a query (kept between queries to save
/// allocations).
#[derive(Default)]
struct Scratch {
    /// Bucket values to probe, all tables together; `ends[t]` closes table
    /// `t`'s run.
    vals: Vec<u32>,
    ends: Vec<usize>,
    /// Bucket bounds, one per value.
    ranges: Vec<(u32, u32)>,
    /// Candidate ids, all tables together; `cand_ends[t]` closes table `t`'s.
    cands: Vec<u32>,
    cand_ends: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl PdqIndex {
    /// Builds an index over `hashes` with the layout
    /// [`Layout::for_len`] picks; match ids are positions in this slice.
    ///
    /// # Panics
    /// If there are more than `u32::MAX` hashes.
    pub fn new(hashes: &[Hash256]) -> PdqIndex {
        Self::with_layout(hashes, &Layout::for_len(hashes.len()))
    }

    /// Builds an index over `hashes` with a given layout (any layout gives
    /// the same answers; only speed and memory differ).
    ///
    /// # Panics
    /// If there are more than `u32::MAX` hashes.
    pub fn with_layout(hashes: &[Hash256], layout: &Layout) -> PdqIndex {
        assert!(
            hashes.len() < u32::MAX as usize,
            "too many hashes for one index"
        );
        let mut copy: Vec<[u64; 4]> = Vec::with_capacity(hashes.len());
        huge_pages(copy.spare_capacity_mut());
        copy.extend(hashes.iter().map(|h| h.0));
        let hashes = copy;
        let compact = layout.compact;
        let shifts = shifts(&layout.widths);
        let tables: Vec<Table> = layout
            .widths
            .par_iter()
            .zip(shifts.par_iter())
            .map(|(&width, &shift)| {
                let width = width as u32;
                let buckets = 1usize << width;
                let mut offsets = vec![0u32; buckets + 1];
                for h in &hashes {
                    offsets[field(h, shift, width) as usize + 1] += 1;
                }
                for v in 0..buckets {
                    offsets[v + 1] += offsets[v];
                }
                let mut fill = offsets.clone();
                let mut ids = vec![0u32; hashes.len()];
                if !compact {
                    huge_pages(&ids);
                }
                for (id, h) in hashes.iter().enumerate() {
                    let c = field(h, shift, width) as usize;
                    ids[fill[c] as usize] = id as u32;
                    fill[c] += 1;
                }
                let blocked = compact.then(|| block_offsets(&offsets, width)).flatten();
                let packed = compact && hashes.len() < PACKED_IDS_MAX;
                Table {
                    shift,
                    width,
                    blocked: blocked.is_some(),
                    offsets: blocked.unwrap_or(offsets).into(),
                    packed,
                    ids: if packed { pack_ids(&ids) } else { ids }.into(),
                }
            })
            .collect();
        // The build's temporary arrays are freed here. Whether the allocator
        // hands their pages back to the kernel (e.g. glibc's `malloc_trim`)
        // is the program's choice, not this library's.
        Self::assemble(hashes.into(), tables)
    }

    fn assemble(hashes: Buf<[u64; 4]>, tables: Vec<Table>) -> PdqIndex {
        PdqIndex {
            hashes,
            tables,
            plans: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    /// The layout this index was built with.
    pub fn layout(&self) -> Layout {
        Layout {
            widths: self.tables.iter().map(|t| t.width as u8).collect(),
            compact: self.tables.iter().any(|t| t.packed || t.blocked),
        }
    }

    /// Adds this index's sections (kinds `base..=base + 33`) to a store.
    pub fn write_sections(&self, w: &mut StoreWriter, base: u32) {
        w.add(base, &self.hashes);
        for (t, table) in self.tables.iter().enumerate() {
            w.add(base + 1 + 2 * t as u32, &table.offsets);
            w.add(base + 2 + 2 * t as u32, &table.ids);
        }
        let layout: Vec<u32> = self
            .tables
            .iter()
            .map(|t| {
                let blocked = if t.blocked { BLOCKED } else { 0 };
                t.width | blocked | if t.packed { PACKED } else { 0 }
            })
            .collect();
        w.add(base + LAYOUT_SECTION, &layout);
    }

    /// Opens an index written by [`PdqIndex::write_sections`], without
    /// copying: only the offset arrays are checked, so opening takes
    /// milliseconds whatever the size. Files written before layouts existed
    /// (no layout section) hold 16 chunks of 16 bits.
    pub fn from_store(store: &Store, base: u32) -> Result<PdqIndex, StoreError> {
        let hashes: Buf<[u64; 4]> = store.section(base)?;
        let n = hashes.len();
        let layout: Vec<u32> = if store.has_section(base + LAYOUT_SECTION) {
            let l: Buf<u32> = store.section(base + LAYOUT_SECTION)?;
            l.to_vec()
        } else {
            vec![16; MAX_CHUNKS]
        };
        let widths: Vec<u8> = layout.iter().map(|&l| (l & 0xff) as u8).collect();
        if !Layout::check(&widths) || layout.iter().any(|&l| l & !(0xff | BLOCKED | PACKED) != 0) {
            return Err(StoreError::Invalid(format!(
                "PDQ index layout {widths:?} is not valid"
            )));
        }
        let shifts = shifts(&widths);
        let mut tables = Vec::with_capacity(widths.len());
        for (t, ((&width, &shift), &flags)) in widths.iter().zip(&shifts).zip(&layout).enumerate() {
            let t = t as u32;
            let offsets: Buf<u32> = store.section(base + 1 + 2 * t)?;
            let ids: Buf<u32> = store.section(base + 2 + 2 * t)?;
            let buckets = 1usize << width;
            let blocks = (buckets >> BLOCK_BITS) + 1;
            let blocked = flags & BLOCKED != 0;
            let packed = flags & PACKED != 0;
            let starts = if blocked {
                &offsets[..blocks]
            } else {
                &offsets[..]
            };
            let ok = offsets.len()
                == if blocked {
                    blocks + buckets / 2
                } else {
                    buckets + 1
                }
                && ids.len() == if packed { (3 * n + 1).div_ceil(4) } else { n }
                && starts.last().copied() == Some(n as u32)
                && starts.windows(2).all(|w| w[0] <= w[1]);
            // Ids are not scanned here (that would read the whole file);
            // an out-of-range id in a damaged file stops a query with an
            // index error instead of reading out of bounds.
            if !ok {
                return Err(StoreError::Invalid(format!("PDQ table {t} is damaged")));
            }
            let table = Table {
                shift,
                width: width as u32,
                offsets,
                blocked,
                ids,
                packed,
            };
            // Blocked bounds must stay within their block and the ids.
            if blocked
                && !(0..buckets).all(|v| {
                    let (lo, hi) = table.bounds(v);
                    lo <= hi && hi as usize <= n
                })
            {
                return Err(StoreError::Invalid(format!("PDQ table {t} is damaged")));
            }
            tables.push(table);
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
                shift: t.shift,
                width: t.width,
                offsets: copy(&t.offsets),
                blocked: t.blocked,
                ids: copy(&t.ids),
                packed: t.packed,
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

    /// Bytes of memory the index holds (hashes and tables).
    pub fn memory_bytes(&self) -> usize {
        self.hashes.len() * 32 + self.tables.iter().map(Table::memory_bytes).sum::<usize>()
    }

    fn plan(&self, radius: u32) -> &[i8] {
        self.plans[radius as usize].get_or_init(|| {
            let widths: Vec<u8> = self.tables.iter().map(|t| t.width as u8).collect();
            plan(&widths, self.len(), radius).0
        })
    }

    /// Appends to `out` every indexed hash within `radius` of `query`, in
    /// no particular order.
    pub fn search_into(
        &self,
        query: &Hash256,
        radius: u32,
        out: &mut Vec<PdqMatch>,
    ) -> Result<(), SearchError> {
        if radius > MAX_RADIUS {
            return Err(SearchError::Radius(radius));
        }
        if self.is_empty() {
            return Ok(());
        }
        let plan = self.plan(radius);
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            #[cfg(target_arch = "x86_64")]
            {
                if let Some(popcnt) = Popcnt::detect() {
                    return self.search_popcnt(popcnt, query, radius, plan, s, out);
                }
            }
            self.search_impl(query, radius, plan, s, out)
        })
    }

    /// [`PdqIndex::search_impl`] compiled with the POPCNT instruction
    /// (the baseline x86-64 target counts bits in software); the token
    /// proves the CPU has it.
    #[cfg(target_arch = "x86_64")]
    fn search_popcnt(
        &self,
        _popcnt: Popcnt,
        query: &Hash256,
        radius: u32,
        plan: &[i8],
        s: &mut Scratch,
        out: &mut Vec<PdqMatch>,
    ) -> Result<(), SearchError> {
        /// # Safety
        /// The CPU must support POPCNT.
        #[target_feature(enable = "popcnt")]
        unsafe fn kernel(
            index: &PdqIndex,
            query: &Hash256,
            radius: u32,
            plan: &[i8],
            s: &mut Scratch,
            out: &mut Vec<PdqMatch>,
        ) -> Result<(), SearchError> {
            index.search_impl(query, radius, plan, s, out)
        }
        // SAFETY: a `Popcnt` token exists only when the CPU has POPCNT,
        // `kernel`'s one requirement.
        unsafe { kernel(self, query, radius, plan, s, out) }
    }

    #[inline(always)]
    fn search_impl(
        &self,
        query: &Hash256,
        radius: u32,
        plan: &[i8],
        s: &mut Scratch,
        out: &mut Vec<PdqMatch>,
    ) -> Result<(), SearchError> {
        let q = &query.0;
        let found_before = out.len();
        // Stage 1: the bucket values to probe.
        s.vals.clear();
        s.ends.clear();
        for (table, &t) in self.tables.iter().zip(plan) {
            let qv = field(q, table.shift, table.width);
            for_masks(table.width, t, |m| s.vals.push(qv ^ m));
            s.ends.push(s.vals.len());
        }
        // Stage 2: their bounds (a random read each in a large table).
        s.ranges.clear();
        let mut ahead = 0; // table of vals[i + AHEAD]
        let mut t = 0;
        for i in 0..s.vals.len() {
            while s.ends[t] <= i {
                t += 1;
            }
            if let Some(&v) = s.vals.get(i + AHEAD) {
                while s.ends[ahead] <= i + AHEAD {
                    ahead += 1;
                }
                prefetch(self.tables[ahead].bounds_addr(v as usize));
            }
            s.ranges.push(self.tables[t].bounds(s.vals[i] as usize));
        }
        // Stage 3: the ids in those buckets.
        s.cands.clear();
        s.cand_ends.clear();
        let (mut t, mut ahead) = (0, 0);
        for i in 0..s.vals.len() {
            while s.ends[t] <= i {
                s.cand_ends.push(s.cands.len());
                t += 1;
            }
            if let Some(&(lo, hi)) = s.ranges.get(i + AHEAD) {
                while s.ends[ahead] <= i + AHEAD {
                    ahead += 1;
                }
                if lo < hi {
                    prefetch(self.tables[ahead].id_addr(lo));
                }
            }
            let (lo, hi) = s.ranges[i];
            self.tables[t].push_ids(lo, hi, &mut s.cands);
        }
        while s.cand_ends.len() < self.tables.len() {
            s.cand_ends.push(s.cands.len());
        }
        // Stage 4: check each candidate on all 256 bits.
        let mut start = 0;
        for (t, &end) in s.cand_ends.iter().enumerate() {
            for i in start..end {
                if let Some(next) = s.cands.get(i + AHEAD) {
                    if let Some(h) = self.hashes.get(*next as usize) {
                        prefetch(h as *const [u64; 4]);
                    }
                }
                let id = s.cands[i];
                let Some(h) = self.hashes.get(id as usize) else {
                    out.truncate(found_before);
                    return Err(SearchError::Damaged);
                };
                let x = [h[0] ^ q[0], h[1] ^ q[1], h[2] ^ q[2], h[3] ^ q[3]];
                let d = x.iter().map(|l| l.count_ones()).sum::<u32>();
                if d > radius {
                    continue;
                }
                // Reported by an earlier table already?
                let earlier = self.tables[..t].iter().zip(plan).any(|(u, &tu)| {
                    tu >= 0 && field(&x, u.shift, u.width).count_ones() <= tu as u32
                });
                if !earlier {
                    out.push(PdqMatch { id, distance: d });
                }
            }
            start = end;
        }
        Ok(())
    }

    /// Every indexed hash within `radius` of `query`, sorted by distance
    /// then id.
    pub fn search(&self, query: &Hash256, radius: u32) -> Result<Vec<PdqMatch>, SearchError> {
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
    ) -> Result<Vec<(PdqMatch, usize)>, SearchError> {
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
    ) -> Result<Vec<Vec<PdqMatch>>, SearchError> {
        queries.par_iter().map(|q| self.search(q, radius)).collect()
    }
}

/// Bit offset of each chunk.
fn shifts(widths: &[u8]) -> Vec<u32> {
    widths
        .iter()
        .scan(0u32, |at, &w| {
            let s = *at;
            *at += w as u32;
            Some(s)
        })
        .collect()
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

#[cfg(test)]
mod tests;
