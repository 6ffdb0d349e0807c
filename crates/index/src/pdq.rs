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

/// How an index cuts the 256 bits into chunks: consecutive bit ranges,
/// from bit 0, of the given widths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    widths: Vec<u8>,
    /// Ids packed in 3 bytes and bucket bounds in 2 (see
    /// [`Layout::compact_for_len`]).
    compact: bool,
}

impl Layout {
    /// `m` chunks (10 to 16) of near-equal width, the wider ones first.
    ///
    /// # Panics
    /// If `m` is outside 10..=16.
    pub fn chunks(m: usize) -> Layout {
        assert!(
            (MIN_CHUNKS..=MAX_CHUNKS).contains(&m),
            "a PDQ index has 10 to 16 chunks"
        );
        let base = 256 / m;
        let wide = 256 - base * m;
        Layout {
            widths: (0..m)
                .map(|i| (base + usize::from(i < wide)) as u8)
                .collect(),
            compact: false,
        }
    }

    /// A layout for `n` hashes that holds at most 63 bytes per hash
    /// where it can (from a few hundred thousand hashes up to 16.7 million),
    /// at some cost in speed: 8 chunks only (covering 128 to 192 of the 256
    /// bits: chunks not indexed cost no memory), ids in 3 bytes, and bucket
    /// bounds as 2-byte offsets within blocks of 1024 buckets. The chunk
    /// width is the fastest under the cost model within that memory.
    /// Beyond 2^24 hashes ids take 4 bytes and the budget cannot be held.
    pub fn compact_for_len(n: usize) -> Layout {
        const K: usize = 8;
        let id_bytes = if n < PACKED_IDS_MAX { 3.0 } else { 4.0 };
        let per_entry = |w: u32| {
            let buckets = (1u64 << w) as f64;
            let dirs = buckets * 2.0 + (buckets / (1u64 << BLOCK_BITS) as f64 + 1.0) * 4.0;
            32.0 + K as f64 * (id_bytes + dirs / n.max(1) as f64)
        };
        let mut best: Option<(f64, u32)> = None;
        for w in 16..=24u32 {
            let cost = plan(&[w as u8; K], n, 31).1;
            if per_entry(w) <= COMPACT_BUDGET && best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, w));
            }
        }
        Layout {
            widths: vec![best.map_or(16, |(_, w)| w) as u8; K],
            compact: true,
        }
    }

    /// The layout [`PdqIndex::new`] uses for `n` hashes: the one with the
    /// cheapest radius-31 search under a cost model (each probed bucket
    /// costs about two random reads, each candidate one) among those that
    /// take no more memory than 16 chunks of 16 bits. That is 16 chunks up
    /// to a few million hashes, 12 chunks (21 and 22 bits) at 10 million.
    pub fn for_len(n: usize) -> Layout {
        let memory = |l: &Layout| {
            4.0 * n as f64 * l.widths.len() as f64
                + l.widths
                    .iter()
                    .map(|&w| 4.0 * ((1u64 << w) + 1) as f64)
                    .sum::<f64>()
        };
        let classic = Layout::chunks(MAX_CHUNKS);
        let limit = memory(&classic);
        // 16 chunks of 16 bits stay best below a million hashes.
        let mut best = (plan(&classic.widths, n, 31).1, classic);
        for m in MIN_CHUNKS..MAX_CHUNKS {
            let l = Layout::chunks(m);
            if memory(&l) > limit {
                continue;
            }
            let cost = plan(&l.widths, n, 31).1;
            if cost < best.0 {
                best = (cost, l);
            }
        }
        best.1
    }

    /// The chunk widths in bits, in bit order.
    pub fn widths(&self) -> &[u8] {
        &self.widths
    }

    /// True for a [`Layout::compact_for_len`] layout.
    pub fn is_compact(&self) -> bool {
        self.compact
    }

    /// Chunks of 16 to 26 bits, at most 16 of them, within the 256 bits,
    /// and enough of them that radius 63 can be covered.
    fn check(widths: &[u8]) -> bool {
        (1..=MAX_CHUNKS).contains(&widths.len())
            && widths.iter().all(|w| (16..=26).contains(w))
            && widths.iter().map(|&w| w as u32).sum::<u32>() <= 256
            && widths.iter().map(|&w| w as u32 + 1).sum::<u32>() > MAX_RADIUS
    }
}

/// Number of values within `t` bits of a `w`-bit value.
fn ball(w: u32, t: i32) -> f64 {
    let mut total = 0.0;
    let mut c = 1.0;
    for k in 0..=t.min(w as i32) {
        if k > 0 {
            c = c * (w as f64 - k as f64 + 1.0) / k as f64;
        }
        total += c;
    }
    total
}

/// Thresholds per chunk for a search of `radius` over `n` hashes with chunks
/// of `widths`, and their modelled cost: the cheapest `t` with
/// `Σ (t_i + 1) ≥ radius + 1` (a small knapsack, solved exactly).
fn plan(widths: &[u8], n: usize, radius: u32) -> (Vec<i8>, f64) {
    const PROBE: f64 = 2.0;
    const CANDIDATE: f64 = 1.0;
    let need = radius as usize + 1;
    // best[s] = (cost, thresholds) reaching a sum of min(s, need).
    let mut best: Vec<Option<(f64, Vec<i8>)>> = vec![None; need + 1];
    best[0] = Some((0.0, Vec::new()));
    for &w in widths {
        let occupancy = n as f64 / (1u64 << w) as f64;
        let mut next: Vec<Option<(f64, Vec<i8>)>> = vec![None; need + 1];
        for (s, cur) in best.iter().enumerate() {
            let Some((cost, ts)) = cur else { continue };
            for t in -1..=(w as i32).min(need as i32) {
                let c = cost + ball(w as u32, t) * (PROBE + CANDIDATE * occupancy);
                let s2 = (s + (t + 1) as usize).min(need);
                if next[s2].as_ref().is_none_or(|(b, _)| c < *b) {
                    let mut ts = ts.clone();
                    ts.push(t as i8);
                    next[s2] = Some((c, ts));
                }
            }
        }
        best = next;
    }
    let (cost, ts) = best[need]
        .take()
        .expect("16-bit chunks can always reach 64");
    (ts, cost)
}

struct Table {
    /// First bit of this table's chunk, and its width.
    shift: u32,
    width: u32,
    /// Plain: `offsets[v]..offsets[v + 1]` is bucket `v` in `ids`.
    /// Blocked: `2^(width - BLOCK_BITS) + 1` block starts, then one `u16`
    /// per bucket (two per `u32`): its start within the block.
    offsets: Buf<u32>,
    blocked: bool,
    /// Plain: one `u32` per id. Packed: 3 little-endian bytes per id, plus
    /// at least one byte of padding.
    ids: Buf<u32>,
    packed: bool,
}

impl Table {
    /// Bucket `v`'s bounds in the id array.
    #[inline(always)]
    fn bounds(&self, v: usize) -> (u32, u32) {
        let o = &self.offsets;
        if !self.blocked {
            return (o[v], o[v + 1]);
        }
        let rel = self.within_block();
        let base = o[v >> BLOCK_BITS];
        let hi = if (v + 1) & ((1 << BLOCK_BITS) - 1) == 0 {
            o[(v + 1) >> BLOCK_BITS]
        } else {
            base + rel[v + 1] as u32
        };
        (base + rel[v] as u32, hi)
    }

    /// Where [`Table::bounds`] will read for bucket `v`.
    #[inline(always)]
    fn bounds_addr(&self, v: usize) -> *const u8 {
        if !self.blocked {
            return &self.offsets[v] as *const u32 as *const u8;
        }
        &self.within_block()[v] as *const u16 as *const u8
    }

    /// Blocked bounds: each bucket's start within its block (after the
    /// block starts in `offsets`).
    #[inline(always)]
    fn within_block(&self) -> &[u16] {
        let blocks = (1usize << (self.width - BLOCK_BITS)) + 1;
        bytemuck::cast_slice(&self.offsets[blocks..])
    }

    /// Appends ids `lo..hi` to `out`.
    #[inline(always)]
    fn push_ids(&self, lo: u32, hi: u32, out: &mut Vec<u32>) {
        if !self.packed {
            out.extend_from_slice(&self.ids[lo as usize..hi as usize]);
            return;
        }
        let bytes: &[u8] = bytemuck::cast_slice(&self.ids);
        for i in lo as usize..hi as usize {
            let w: [u8; 4] = bytes[3 * i..3 * i + 4].try_into().expect("4 bytes");
            out.push(u32::from_le_bytes(w) & 0xff_ffff);
        }
    }

    /// Where [`Table::push_ids`] will read id `i`.
    #[inline(always)]
    fn id_addr(&self, i: u32) -> *const u8 {
        let bytes: &[u8] = bytemuck::cast_slice(&self.ids);
        let at = if self.packed {
            3 * i as usize
        } else {
            4 * i as usize
        };
        bytes.get(at).map_or(bytes.as_ptr(), |b| b as *const u8)
    }

    fn memory_bytes(&self) -> usize {
        (self.offsets.len() + self.ids.len()) * 4
    }
}

/// Plain offsets as blocked ones, or `None` when some block holds over
/// 65535 entries (then the table keeps plain offsets).
fn block_offsets(offsets: &[u32], width: u32) -> Option<Vec<u32>> {
    let buckets = 1usize << width;
    let blocks = buckets >> BLOCK_BITS;
    let mut out: Vec<u32> = Vec::with_capacity(blocks + 1 + buckets / 2);
    huge_pages(out.spare_capacity_mut());
    out.extend((0..=blocks).map(|b| offsets[b << BLOCK_BITS]));
    let mut rel: Vec<u16> = Vec::with_capacity(buckets);
    for v in 0..buckets {
        rel.push(u16::try_from(offsets[v] - offsets[v >> BLOCK_BITS << BLOCK_BITS]).ok()?);
    }
    out.extend(
        rel.chunks(2)
            .map(|p| bytemuck::cast::<[u16; 2], u32>([p[0], p[1]])),
    );
    Some(out)
}

/// Ids packed in 3 bytes each, plus padding, in whole `u32`s.
fn pack_ids(ids: &[u32]) -> Vec<u32> {
    let mut bytes: Vec<u8> = Vec::with_capacity(3 * ids.len() + 4);
    for id in ids {
        bytes.extend_from_slice(&id.to_le_bytes()[..3]);
    }
    bytes.resize((3 * ids.len() + 1).div_ceil(4) * 4, 0);
    let mut out: Vec<u32> = Vec::with_capacity(bytes.len() / 4);
    huge_pages(out.spare_capacity_mut());
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))),
    );
    out
}

/// An immutable PDQ index. Build once, query from many threads.
pub struct PdqIndex {
    hashes: Buf<[u64; 4]>,
    tables: Vec<Table>,
    /// Per-chunk thresholds for each radius, worked out on first use.
    plans: [OnceLock<Vec<i8>>; MAX_RADIUS as usize + 1],
}

/// The `width`-bit field of `h` starting at bit `shift` (width ≤ 32).
#[inline(always)]
fn field(h: &[u64; 4], shift: u32, width: u32) -> u32 {
    let (i, s) = ((shift / 64) as usize, shift % 64);
    let mut v = h[i] >> s;
    if s + width > 64 {
        v |= h[i + 1] << (64 - s);
    }
    (v & ((1u64 << width) - 1)) as u32
}

/// Calls `f` with every `width`-bit mask of at most `t` set bits, fewest
/// bits first (Gosper's hack, with a shift for its division).
#[inline(always)]
fn for_masks(width: u32, t: i8, mut f: impl FnMut(u32)) {
    if t < 0 {
        return;
    }
    f(0);
    let limit = 1u64 << width;
    for k in 1..=(t as u32).min(width) {
        let mut m: u64 = (1 << k) - 1;
        while m < limit {
            f(m as u32);
            let r = m + (m & m.wrapping_neg());
            m = r | (((m ^ r) >> 2) >> m.trailing_zeros());
        }
    }
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
        // The build's temporary arrays were freed, but the allocator may
        // keep their pages; give them back so that resident memory is the
        // index's own.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns free memory to the kernel.
        unsafe {
            libc::malloc_trim(0);
        }
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
                if std::arch::is_x86_feature_detected!("popcnt") {
                    // SAFETY: the CPU has POPCNT (checked just above).
                    return unsafe { self.search_popcnt(query, radius, plan, s, out) };
                }
            }
            self.search_impl(query, radius, plan, s, out)
        })
    }

    /// [`PdqIndex::search_impl`] compiled with the POPCNT instruction
    /// (the baseline x86-64 target counts bits in software).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn search_popcnt(
        &self,
        query: &Hash256,
        radius: u32,
        plan: &[i8],
        s: &mut Scratch,
        out: &mut Vec<PdqMatch>,
    ) -> Result<(), SearchError> {
        self.search_impl(query, radius, plan, s, out)
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
fn prefetch<T>(h: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; the pointer is to a live element.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(h as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = h;
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
mod tests {
    use super::*;

    #[test]
    fn fields_read_the_right_bits() {
        let h = [
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
            0xdead_beef_0bad_f00d,
            0x1357_9bdf_2468_ace0,
        ];
        let bit = |i: u32| (h[(i / 64) as usize] >> (i % 64)) & 1;
        for shift in 0..240 {
            for width in 1..=(32.min(256 - shift)) {
                let want = (0..width).fold(0u64, |v, k| v | bit(shift + k) << k);
                assert_eq!(field(&h, shift, width) as u64, want, "{shift} {width}");
            }
        }
    }

    #[test]
    fn masks_are_every_value_within_the_threshold_once() {
        for (width, t) in [(16u32, 0i8), (16, 1), (16, 3), (21, 2), (22, 4)] {
            let mut seen = Vec::new();
            for_masks(width, t, |m| seen.push(m));
            let want = (0..1u32 << width)
                .filter(|m| m.count_ones() <= t as u32)
                .count();
            assert_eq!(seen.len(), want);
            assert!(seen
                .iter()
                .all(|m| m.count_ones() <= t as u32 && *m < 1 << width));
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), want);
        }
        let mut none = 0;
        for_masks(16, -1, |_| none += 1);
        assert_eq!(none, 0);
    }

    #[test]
    fn files_without_a_layout_section_open_as_sixteen_chunks() {
        // What every index file held before layouts existed.
        let mut s = 7u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let hashes: Vec<Hash256> = (0..500)
            .map(|_| Hash256([next(), next(), next(), next()]))
            .collect();
        let index = PdqIndex::with_layout(&hashes, &Layout::chunks(16));
        let mut w = StoreWriter::new();
        w.add(0, &index.hashes);
        for (t, table) in index.tables.iter().enumerate() {
            w.add(1 + 2 * t as u32, &table.offsets);
            w.add(2 + 2 * t as u32, &table.ids);
        }
        let dir = std::env::temp_dir().join(format!("nigehbaan-legacy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("legacy.idx");
        w.write(&path).unwrap();
        let store = Store::open(&path).unwrap();
        let old = PdqIndex::from_store(&store, 0).unwrap();
        assert_eq!(old.layout(), Layout::chunks(16));
        for q in hashes.iter().step_by(17) {
            assert_eq!(old.search(q, 31).unwrap(), brute_force(&hashes, q, 31));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_damaged_id_is_an_error_not_a_panic() {
        let hashes: Vec<Hash256> = (0..300u64)
            .map(|i| Hash256([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i, !i, i << 7]))
            .collect();
        for layout in [Layout::chunks(16), Layout::compact_for_len(300)] {
            // The index with every id of the first table out of range.
            let bad = PdqIndex::with_layout(&hashes, &layout);
            let t0 = &bad.tables[0];
            let ids: Vec<u32> = if t0.packed {
                pack_ids(&vec![0xff_fff0; hashes.len()])
            } else {
                vec![u32::MAX - 1; hashes.len()]
            };
            let mut w2 = StoreWriter::new();
            w2.add(0, &bad.hashes);
            for (t, table) in bad.tables.iter().enumerate() {
                w2.add(1 + 2 * t as u32, &table.offsets);
                if t == 0 {
                    w2.add(2, &ids);
                } else {
                    w2.add(2 + 2 * t as u32, &table.ids);
                }
            }
            let flags: Vec<u32> = bad
                .tables
                .iter()
                .map(|t| {
                    t.width
                        | if t.blocked { BLOCKED } else { 0 }
                        | if t.packed { PACKED } else { 0 }
                })
                .collect();
            w2.add(LAYOUT_SECTION, &flags);
            let dir = std::env::temp_dir().join(format!(
                "nigehbaan-damaged-{}-{}",
                std::process::id(),
                layout.is_compact()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("bad.idx");
            w2.write(&path).unwrap();
            let store = Store::open(&path).unwrap();
            let opened = PdqIndex::from_store(&store, 0).unwrap();
            let mut out = vec![PdqMatch { id: 7, distance: 0 }];
            assert_eq!(
                opened.search_into(&hashes[5], 31, &mut out),
                Err(SearchError::Damaged)
            );
            assert_eq!(
                out,
                vec![PdqMatch { id: 7, distance: 0 }],
                "caller's results kept"
            );
            assert!(opened
                .search(&hashes[5], 31)
                .unwrap_err()
                .to_string()
                .contains("lists verify"));
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn plans_cover_every_radius() {
        for m in MIN_CHUNKS..=MAX_CHUNKS {
            let l = Layout::chunks(m);
            for n in [0, 1, 1000, 10_000_000] {
                for r in 0..=MAX_RADIUS {
                    let (ts, _) = plan(&l.widths, n, r);
                    assert_eq!(ts.len(), m);
                    let covered: i32 = ts.iter().map(|&t| t as i32 + 1).sum();
                    assert!(covered > r as i32, "m={m} n={n} r={r} {ts:?}");
                }
            }
        }
        // The classic layout at radius 31: one bit per chunk.
        assert_eq!(
            plan(&Layout::chunks(16).widths, 1_000_000, 31).0,
            vec![1; 16]
        );
    }
}
