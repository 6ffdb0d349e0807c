//! A list of videos searchable by vPDQ: every distinct frame hash of every
//! video goes once into a [`PdqIndex`] (frame → records), so a video query
//! is one index probe per distinct query frame plus an aggregation, never a
//! scan over the list's videos.

use crate::core::FrameHash;
use crate::matching::{prepare, Aggregator, MatchOptions, VideoMatch};
use nigehbaan_index::{PdqIndex, PdqMatch, SearchError};
use nigehbaan_pdq::Hash256;
use std::collections::HashMap;

/// An immutable index of list videos, each under a caller-chosen record id.
pub struct VideoIndex {
    pdq: PdqIndex,
    hashes: Vec<Hash256>,
    /// `records[starts[i]..starts[i + 1]]` hold frame hash `i`.
    starts: Vec<u32>,
    records: Vec<u64>,
    record_frames: HashMap<u64, u32>,
    quality_threshold: u8,
}

impl VideoIndex {
    /// Indexes `videos` (record id, frames as hashed). Frames under
    /// `quality_threshold` are left out and identical frames of a video
    /// count once, as the matcher does; queries must use the same
    /// threshold.
    pub fn build<'a>(
        videos: impl IntoIterator<Item = (u64, &'a [FrameHash])>,
        quality_threshold: u8,
    ) -> VideoIndex {
        let mut position: HashMap<Hash256, u32> = HashMap::new();
        let mut hashes = Vec::new();
        let mut pairs: Vec<(u32, u64)> = Vec::new();
        let mut record_frames = HashMap::new();
        for (record, frames) in videos {
            let prepared = prepare(frames, quality_threshold);
            *record_frames.entry(record).or_insert(0u32) += prepared.len() as u32;
            for f in prepared {
                let id = *position.entry(f.pdq).or_insert_with(|| {
                    hashes.push(f.pdq);
                    hashes.len() as u32 - 1
                });
                pairs.push((id, record));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut starts = Vec::with_capacity(hashes.len() + 1);
        let mut records = Vec::with_capacity(pairs.len());
        let mut at = 0usize;
        for id in 0..hashes.len() as u32 {
            starts.push(records.len() as u32);
            while at < pairs.len() && pairs[at].0 == id {
                records.push(pairs[at].1);
                at += 1;
            }
        }
        starts.push(records.len() as u32);
        VideoIndex {
            pdq: PdqIndex::new(&hashes),
            hashes,
            starts,
            records,
            record_frames,
            quality_threshold,
        }
    }

    /// Distinct frame hashes indexed.
    pub fn frame_count(&self) -> usize {
        self.hashes.len()
    }

    /// Videos indexed.
    pub fn video_count(&self) -> usize {
        self.record_frames.len()
    }

    /// Approximate memory held, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.pdq.memory_bytes()
            + self.hashes.len() * 32
            + self.starts.len() * 4
            + self.records.len() * 8
            + self.record_frames.len() * 24
    }

    /// The quality threshold the index was built with.
    pub fn quality_threshold(&self) -> u8 {
        self.quality_threshold
    }

    /// Every list video the query matches under `opts` (with
    /// `only_matches`; otherwise every video sharing a frame), by record id.
    /// `opts.quality_threshold` is replaced by the index's own.
    pub fn query(
        &self,
        query: &[FrameHash],
        opts: &MatchOptions,
        only_matches: bool,
    ) -> Result<Vec<(u64, VideoMatch)>, SearchError> {
        let opts = MatchOptions {
            quality_threshold: self.quality_threshold,
            ..*opts
        };
        let q = prepare(query, opts.quality_threshold);
        let mut agg = Aggregator::new();
        let mut found: Vec<PdqMatch> = Vec::new();
        for (pos, f) in q.iter().enumerate() {
            found.clear();
            self.pdq.search_into(&f.pdq, opts.distance, &mut found)?;
            for m in &found {
                let id = m.id as usize;
                let (a, b) = (self.starts[id] as usize, self.starts[id + 1] as usize);
                for &r in &self.records[a..b] {
                    agg.add_hit(pos, r, self.hashes[id]);
                }
            }
        }
        Ok(agg.finish(
            &q,
            |r| self.record_frames.get(&r).copied().unwrap_or(0) as usize,
            &opts,
            only_matches,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::match_videos;

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    /// Against the brute-force oracle (match_videos on every list video).
    #[test]
    fn index_agrees_with_pairwise_matching() {
        let mut next = rng(0x5eed);
        let random = |n: usize, next: &mut dyn FnMut() -> u64| -> Vec<FrameHash> {
            (0..n)
                .map(|i| FrameHash {
                    frame: i as u64 * 30,
                    quality: (next() % 101) as u8,
                    pdq: Hash256([next(), next(), next(), next()]),
                    timestamp: i as f64,
                })
                .collect()
        };
        let mut list: Vec<Vec<FrameHash>> = (0..60).map(|_| random(12, &mut next)).collect();
        // Near copies: some list videos share (perturbed) frames with others
        // and with the queries.
        for v in 1..20 {
            let src = list[v - 1].clone();
            for (k, f) in list[v].iter_mut().enumerate().take(8) {
                let mut h = src[k].pdq;
                for b in 0..(next() % 40) as usize {
                    h.0[b % 4] ^= 1 << ((b * 11 + 3) % 64);
                }
                f.pdq = h;
                f.quality = src[k].quality;
            }
        }
        // A duplicate frame inside a video counts once.
        list[3][5] = list[3][4];
        let index = VideoIndex::build(list.iter().enumerate().map(|(i, v)| (i as u64, &v[..])), 50);
        let opts = MatchOptions {
            query_match_percent: 30.0,
            ..MatchOptions::default()
        };
        for qi in 0..25 {
            let query = list[qi].clone();
            let got = index.query(&query, &opts, true).unwrap();
            let want: Vec<(u64, VideoMatch)> = list
                .iter()
                .enumerate()
                .map(|(i, v)| (i as u64, match_videos(&query, v, &opts)))
                .filter(|(_, m)| m.is_match)
                .collect();
            assert_eq!(got, want, "query {qi}");
        }
        assert_eq!(index.video_count(), 60);
    }

    #[test]
    fn empty_index_and_query() {
        let index = VideoIndex::build(std::iter::empty(), 50);
        assert_eq!(
            index.query(&[], &MatchOptions::default(), true).unwrap(),
            vec![]
        );
        let f = FrameHash {
            frame: 0,
            quality: 90,
            pdq: Hash256::ZERO,
            timestamp: 0.0,
        };
        assert_eq!(
            index.query(&[f], &MatchOptions::default(), true).unwrap(),
            vec![]
        );
        let index = VideoIndex::build([(7u64, &[f][..])], 50);
        let hit = index.query(&[f], &MatchOptions::default(), true).unwrap();
        assert_eq!(hit.len(), 1);
        assert_eq!(hit[0].1.query_match_percent, 100.0);
    }
}
