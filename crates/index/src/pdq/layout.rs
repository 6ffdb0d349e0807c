//! Layouts (how the 256 bits are cut into chunks) and the per-radius
//! probe plan chosen by a small cost model.

use super::*;

/// How an index cuts the 256 bits into chunks: consecutive bit ranges,
/// from bit 0, of the given widths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub(super) widths: Vec<u8>,
    /// Ids packed in 3 bytes and bucket bounds in 2 (see
    /// [`Layout::compact_for_len`]).
    pub(super) compact: bool,
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
    pub(super) fn check(widths: &[u8]) -> bool {
        (1..=MAX_CHUNKS).contains(&widths.len())
            && widths.iter().all(|w| (16..=26).contains(w))
            && widths.iter().map(|&w| w as u32).sum::<u32>() <= 256
            && widths.iter().map(|&w| w as u32 + 1).sum::<u32>() > MAX_RADIUS
    }
}

/// Number of values within `t` bits of a `w`-bit value.
pub(super) fn ball(w: u32, t: i32) -> f64 {
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
pub(super) fn plan(widths: &[u8], n: usize, radius: u32) -> (Vec<i8>, f64) {
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
