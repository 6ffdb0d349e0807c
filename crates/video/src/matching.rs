//! vPDQ matching as python-threatexchange (and so HMA) does it: frames of
//! quality under the threshold are dropped on both sides, identical frame
//! hashes are de-duplicated (the first kept), and a frame matches when some
//! frame of the other side is within the distance.
//!
//! Two ways to match: [`match_videos`] compares two videos directly;
//! [`Aggregator`] turns the results of one PDQ-index probe per distinct
//! query frame (frame → list record ids) into per-record percentages, so a
//! video query against a list never scans all list videos.

use crate::core::FrameHash;
use nigehbaan_pdq::Hash256;
use std::collections::{HashMap, HashSet};

/// Thresholds of a vPDQ match; the defaults are python-threatexchange's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchOptions {
    /// Frames with a quality under this are ignored on both sides (50).
    pub quality_threshold: u8,
    /// Two frames match at a Hamming distance up to this (31).
    pub distance: u32,
    /// A video matches when at least this share of its (filtered,
    /// de-duplicated) query frames matched, in percent (80).
    pub query_match_percent: f64,
    /// …and at least this share of the list video's frames matched (0).
    pub compared_match_percent: f64,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            quality_threshold: 50,
            distance: 31,
            query_match_percent: 80.0,
            compared_match_percent: 0.0,
        }
    }
}

/// How a video matched a list video by vPDQ, as every report gives it (a
/// hit's fields in `scan`'s report.json, `match` and the service).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpdqDetail {
    /// Matched frames × 100 / usable frames of the query video.
    pub query_match_percent: f64,
    /// Matched frames × 100 / usable frames of the listed video.
    pub compared_match_percent: f64,
    /// Usable frames of the query video that matched.
    pub matched_frames: usize,
    /// Usable frames of the query video (quality ≥ the threshold,
    /// duplicates once).
    pub query_frames: usize,
    /// Frames of the listed video that matched.
    pub matched_listed_frames: usize,
    /// Usable frames of the listed video.
    pub listed_frames: usize,
    /// Stretches of the query video that matched, `[first, last]` seconds
    /// (milliseconds precision).
    pub time_ranges: Vec<[f64; 2]>,
}

// Percentages are never NaN (0 when a side has no usable frame).
impl Eq for VpdqDetail {}

impl VpdqDetail {
    /// The details of match `m`, whose matched stretches of the query are
    /// `time_ranges` (see [`time_ranges`](crate::time_ranges)).
    pub fn of(m: &VideoMatch, time_ranges: &[(f64, f64)]) -> VpdqDetail {
        let r3 = |t: f64| (t * 1000.0).round() / 1000.0;
        VpdqDetail {
            query_match_percent: m.query_match_percent,
            compared_match_percent: m.compared_match_percent,
            matched_frames: m.matched_query_frames,
            query_frames: m.query_frames,
            matched_listed_frames: m.matched_compared_frames,
            listed_frames: m.compared_frames,
            time_ranges: time_ranges.iter().map(|&(a, b)| [r3(a), r3(b)]).collect(),
        }
    }
}

/// The outcome of comparing a query video with one list video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoMatch {
    /// Matched query frames × 100 / query frames (after filtering and
    /// de-duplication); 0 when the query has no usable frame.
    pub query_match_percent: f64,
    /// Matched list-video frames × 100 / list-video frames; 0 when it has no
    /// usable frame.
    pub compared_match_percent: f64,
    /// Query frames (filtered, de-duplicated) that matched.
    pub matched_query_frames: usize,
    /// Usable query frames.
    pub query_frames: usize,
    /// List-video frames (filtered, de-duplicated) that matched.
    pub matched_compared_frames: usize,
    /// Usable list-video frames.
    pub compared_frames: usize,
    /// Both percentages meet the thresholds (never true when either side has
    /// no usable frame).
    pub is_match: bool,
    /// Frame numbers of the matched query frames, increasing (for time
    /// ranges in reports).
    pub matched_query_frame_numbers: Vec<u64>,
}

impl VideoMatch {
    fn new(
        matched_query: Vec<u64>,
        query_frames: usize,
        matched_compared: usize,
        compared_frames: usize,
        opts: &MatchOptions,
    ) -> VideoMatch {
        let pct = |n: usize, d: usize| {
            if d == 0 {
                0.0
            } else {
                n as f64 * 100.0 / d as f64
            }
        };
        let q = pct(matched_query.len(), query_frames);
        let c = pct(matched_compared, compared_frames);
        VideoMatch {
            query_match_percent: q,
            compared_match_percent: c,
            matched_query_frames: matched_query.len(),
            query_frames,
            matched_compared_frames: matched_compared,
            compared_frames,
            is_match: query_frames > 0
                && compared_frames > 0
                && q >= opts.query_match_percent
                && c >= opts.compared_match_percent,
            matched_query_frame_numbers: matched_query,
        }
    }
}

/// The frames that take part in matching: quality ≥ threshold, then the
/// first of each identical hash.
pub fn prepare(frames: &[FrameHash], quality_threshold: u8) -> Vec<FrameHash> {
    let mut seen = HashSet::new();
    frames
        .iter()
        .filter(|f| f.quality >= quality_threshold)
        .filter(|f| seen.insert(f.pdq))
        .copied()
        .collect()
}

fn count_in(a: &[FrameHash], b: &[FrameHash], distance: u32) -> Vec<u64> {
    a.iter()
        .filter(|x| b.iter().any(|y| x.pdq.distance(&y.pdq) <= distance))
        .map(|x| x.frame)
        .collect()
}

/// Compares a query video with one list video (both as hashed, unfiltered).
pub fn match_videos(
    query: &[FrameHash],
    compared: &[FrameHash],
    opts: &MatchOptions,
) -> VideoMatch {
    let q = prepare(query, opts.quality_threshold);
    let c = prepare(compared, opts.quality_threshold);
    let matched_q = count_in(&q, &c, opts.distance);
    let matched_c = count_in(&c, &q, opts.distance).len();
    VideoMatch::new(matched_q, q.len(), matched_c, c.len(), opts)
}

/// The stretches of the query video that matched, as `(first, last)`
/// timestamps in seconds: runs of consecutive sampled query frames whose
/// hash is that of a matched frame (`matched_frames`, frame numbers as in
/// [`VideoMatch::matched_query_frame_numbers`]; a frame left out as a
/// duplicate counts with the frame it duplicates). A frame that did not
/// match, or was below the quality threshold, ends a run.
pub fn time_ranges(query: &[FrameHash], matched_frames: &[u64]) -> Vec<(f64, f64)> {
    let numbers: HashSet<u64> = matched_frames.iter().copied().collect();
    let hashes: HashSet<Hash256> = query
        .iter()
        .filter(|f| numbers.contains(&f.frame))
        .map(|f| f.pdq)
        .collect();
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut open = false;
    for f in query {
        if hashes.contains(&f.pdq) {
            match out.last_mut() {
                Some(last) if open => last.1 = f.timestamp,
                _ => out.push((f.timestamp, f.timestamp)),
            }
            open = true;
        } else {
            open = false;
        }
    }
    out
}

/// Per-record aggregation of frame-level index hits into video matches.
///
/// Use: prepare the list videos' frames with [`prepare`] and index each
/// distinct frame hash with the ids of the records holding it (and each
/// record's usable frame count); prepare the query; probe the index once per
/// query frame at `opts.distance`; report every hit with
/// [`Aggregator::add_hit`]; then [`Aggregator::finish`].
#[derive(Debug, Default)]
pub struct Aggregator {
    /// record → (query frames matched (by position), list frames matched)
    per_record: HashMap<u64, (HashSet<usize>, HashSet<u64>)>,
}

impl Aggregator {
    /// An empty aggregation.
    pub fn new() -> Aggregator {
        Aggregator::default()
    }

    /// Records that query frame `query_pos` (its position in the prepared
    /// query) is within the distance of list frame `list_frame` (any
    /// identifier of the distinct list frame hash, such as its position in
    /// the index), which record `record` holds.
    pub fn add_hit(&mut self, query_pos: usize, record: u64, list_frame: u64) {
        let e = self.per_record.entry(record).or_default();
        e.0.insert(query_pos);
        e.1.insert(list_frame);
    }

    /// One result per record that had a hit, ordered by record id.
    /// `record_frames` gives each record's usable (prepared) frame count.
    /// With `only_matches`, records under the thresholds are left out.
    pub fn finish(
        self,
        query: &[FrameHash],
        record_frames: impl Fn(u64) -> usize,
        opts: &MatchOptions,
        only_matches: bool,
    ) -> Vec<(u64, VideoMatch)> {
        let mut out: Vec<(u64, VideoMatch)> = self
            .per_record
            .into_iter()
            .map(|(record, (qs, ls))| {
                let mut numbers: Vec<u64> = qs
                    .iter()
                    .filter_map(|&p| query.get(p).map(|f| f.frame))
                    .collect();
                numbers.sort_unstable();
                let m =
                    VideoMatch::new(numbers, query.len(), ls.len(), record_frames(record), opts);
                (record, m)
            })
            .filter(|(_, m)| !only_matches || m.is_match)
            .collect();
        out.sort_by_key(|(r, _)| *r);
        out
    }
}

/// A small in-memory list of videos matched through a frame → records map
/// with brute-force probing: a reference for [`Aggregator`] users and for
/// tests. Real lists use the PDQ index.
#[derive(Debug, Default)]
pub struct BruteFrameIndex {
    frames: Vec<(Hash256, Vec<u64>)>,
    position: HashMap<Hash256, usize>,
    record_frames: HashMap<u64, usize>,
}

impl BruteFrameIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a list video as record `record` (frames prepared with
    /// `quality_threshold`).
    pub fn add(&mut self, record: u64, frames: &[FrameHash], quality_threshold: u8) {
        let prepared = prepare(frames, quality_threshold);
        self.record_frames.insert(record, prepared.len());
        for f in prepared {
            let pos = *self.position.entry(f.pdq).or_insert_with(|| {
                self.frames.push((f.pdq, Vec::new()));
                self.frames.len() - 1
            });
            self.frames[pos].1.push(record);
        }
    }

    /// The list videos the query matches (only those meeting the thresholds).
    pub fn query(&self, query: &[FrameHash], opts: &MatchOptions) -> Vec<(u64, VideoMatch)> {
        let q = prepare(query, opts.quality_threshold);
        let mut agg = Aggregator::new();
        for (pos, f) in q.iter().enumerate() {
            for (at, (hash, records)) in self.frames.iter().enumerate() {
                if f.pdq.distance(hash) <= opts.distance {
                    for &r in records {
                        agg.add_hit(pos, r, at as u64);
                    }
                }
            }
        }
        agg.finish(
            &q,
            |r| self.record_frames.get(&r).copied().unwrap_or(0),
            opts,
            true,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash with the first `n` bits set (so distance(h(a), h(b)) = |a − b|).
    fn h(n: usize) -> Hash256 {
        let mut x = Hash256::ZERO;
        for k in 0..n {
            x.set_bit(k);
        }
        x
    }

    fn f(frame: u64, quality: u8, bits: usize) -> FrameHash {
        FrameHash {
            frame,
            quality,
            pdq: h(bits),
            timestamp: frame as f64,
        }
    }

    #[test]
    fn percentages_quality_and_dedup_by_hand() {
        // Query: frames with 0, 0 (duplicate), 100, 200 bits set, and a
        // low-quality frame at 0 bits. Usable: {0, 100, 200} → 3 frames.
        let query = vec![
            f(0, 90, 0),
            f(1, 90, 0),
            f(2, 90, 100),
            f(3, 90, 200),
            f(4, 10, 0),
        ];
        // List: 31 bits (matches 0 at distance 31), 132 (32 from 100: no),
        // 240 (40 from 200: no), 250 with quality 49 (dropped).
        let list = vec![f(0, 60, 31), f(1, 60, 132), f(2, 60, 240), f(3, 49, 200)];
        let m = match_videos(&query, &list, &MatchOptions::default());
        assert_eq!((m.matched_query_frames, m.query_frames), (1, 3));
        assert_eq!((m.matched_compared_frames, m.compared_frames), (1, 3));
        assert!((m.query_match_percent - 100.0 / 3.0).abs() < 1e-9);
        assert!((m.compared_match_percent - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(m.matched_query_frame_numbers, vec![0]);
        assert!(!m.is_match);
        // With distance 40 every usable frame matches something.
        let loose = MatchOptions {
            distance: 40,
            ..MatchOptions::default()
        };
        let m = match_videos(&query, &list, &loose);
        assert_eq!(m.matched_query_frames, 3);
        assert_eq!(m.matched_compared_frames, 3);
        assert!(m.is_match);
        assert_eq!(m.matched_query_frame_numbers, vec![0, 2, 3]);
    }

    #[test]
    fn time_ranges_by_hand() {
        // Frames 0..6 one a second; 2 duplicates 1; 4 does not match.
        let mut q: Vec<FrameHash> = (0..7).map(|i| f(i, 90, i as usize * 40)).collect();
        q[2].pdq = q[1].pdq;
        assert_eq!(
            time_ranges(&q, &[0, 1, 3, 5, 6]),
            vec![(0.0, 3.0), (5.0, 6.0)]
        );
        assert_eq!(time_ranges(&q, &[]), vec![]);
        assert_eq!(time_ranges(&q, &[4]), vec![(4.0, 4.0)]);
    }

    #[test]
    fn thresholds_decide() {
        // 4 of 5 query frames match (80 %): a match by default; all 4 list
        // frames matched (100 %).
        let query: Vec<FrameHash> = (0..5).map(|i| f(i, 80, i as usize * 60)).collect();
        let list = vec![f(0, 80, 0), f(1, 80, 60), f(2, 80, 120), f(3, 80, 180)];
        let m = match_videos(&query, &list, &MatchOptions::default());
        assert_eq!(m.query_match_percent, 80.0);
        assert_eq!(m.compared_match_percent, 100.0);
        assert!(m.is_match);
        let strict = MatchOptions {
            query_match_percent: 80.1,
            ..MatchOptions::default()
        };
        assert!(!match_videos(&query, &list, &strict).is_match);
        // Reversed: 4 of 4 query frames, 4 of 5 compared.
        let m = match_videos(&list, &query, &MatchOptions::default());
        assert_eq!(m.query_match_percent, 100.0);
        assert_eq!(m.compared_match_percent, 80.0);
        let need_compared = MatchOptions {
            compared_match_percent: 90.0,
            ..MatchOptions::default()
        };
        assert!(!match_videos(&list, &query, &need_compared).is_match);
    }

    #[test]
    fn empty_sides_never_match() {
        let some = [f(0, 90, 0)];
        let low = [f(0, 10, 0)];
        for (a, b) in [
            (&[][..], &some[..]),
            (&some[..], &[][..]),
            (&low[..], &some[..]),
        ] {
            let m = match_videos(a, b, &MatchOptions::default());
            assert!(!m.is_match);
            assert_eq!(m.matched_query_frames, 0);
        }
        let zero = MatchOptions {
            query_match_percent: 0.0,
            ..MatchOptions::default()
        };
        assert!(!match_videos(&[], &some, &zero).is_match);
    }

    #[test]
    fn the_index_path_agrees_with_the_direct_comparison() {
        // Deterministic pseudo-random videos; list video 1 shares frames
        // with the query, video 2 shares some, video 3 none.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut rand_hash = || Hash256([next(), next(), next(), next()]);
        let query: Vec<FrameHash> = (0..20)
            .map(|i| FrameHash {
                frame: i * 30,
                quality: if i == 7 { 20 } else { 80 },
                pdq: rand_hash(),
                timestamp: i as f64,
            })
            .collect();
        let flip = |x: &Hash256, k: usize| {
            let mut y = *x;
            for b in 0..k {
                y.0[b % 4] ^= 1 << (b * 7 % 64);
            }
            y
        };
        let v1: Vec<FrameHash> = query
            .iter()
            .map(|q| FrameHash {
                pdq: flip(&q.pdq, 10),
                ..*q
            })
            .collect();
        let mut v2: Vec<FrameHash> = v1[..6].to_vec();
        v2.extend((0..10).map(|i| FrameHash {
            frame: 1000 + i,
            quality: 90,
            pdq: rand_hash(),
            timestamp: 0.0,
        }));
        let v3: Vec<FrameHash> = (0..10)
            .map(|i| FrameHash {
                frame: i,
                quality: 90,
                pdq: rand_hash(),
                timestamp: 0.0,
            })
            .collect();
        let opts = MatchOptions {
            query_match_percent: 0.0,
            ..MatchOptions::default()
        };
        let mut idx = BruteFrameIndex::new();
        for (r, v) in [(1, &v1), (2, &v2), (3, &v3)] {
            idx.add(r, v, opts.quality_threshold);
        }
        let got = idx.query(&query, &opts);
        let ids: Vec<u64> = got.iter().map(|(r, _)| *r).collect();
        assert_eq!(ids, vec![1, 2]);
        for (r, m) in got {
            let v = [&v1, &v2, &v3][r as usize - 1];
            assert_eq!(m, match_videos(&query, v, &opts), "record {r}");
        }
    }
}
