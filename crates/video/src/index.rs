//! A list of videos searchable by vPDQ: every distinct frame hash of every
//! video goes once into a [`PdqIndex`] (frame → records), so a video query
//! is one index probe per distinct query frame plus an aggregation, never a
//! scan over the list's videos.
//!
//! The index is built in memory ([`VideoIndex::build`]) and can be written
//! as sections of an index store ([`VideoIndex::write_sections`]) and used
//! mapped from one ([`VideoIndex::from_store`]), as a list library does.

use crate::core::FrameHash;
use crate::matching::{prepare, Aggregator, MatchOptions, VideoMatch};
use nigehbaan_index::store::{Buf, Store, StoreError, StoreWriter};
use nigehbaan_index::{PdqIndex, PdqMatch, SearchError};
use nigehbaan_pdq::Hash256;
use std::cell::RefCell;
use std::collections::HashMap;

/// Section kinds, relative to the base, of a stored index.
const SEC_META: u32 = 0;
const SEC_STARTS: u32 = 1;
const SEC_RECORDS: u32 = 2;
const SEC_RECORD_FRAMES: u32 = 3;
const SEC_PDQ: u32 = 10;
/// Section kinds the frame hashes' PDQ index may use.
const PDQ_SECTIONS: u32 = 34;

/// An immutable index of list videos, each under a caller-chosen record id.
pub struct VideoIndex {
    pdq: PdqIndex,
    /// `records[starts[i]..starts[i + 1]]` hold frame hash `i`.
    starts: Buf<u32>,
    records: Buf<u64>,
    /// `(record, usable frames)`, sorted by record.
    record_frames: Buf<[u64; 2]>,
    quality_threshold: u8,
}

thread_local! {
    /// Per-thread scratch for the index's hits of one query frame.
    static FOUND: RefCell<Vec<PdqMatch>> = const { RefCell::new(Vec::new()) };
}

impl VideoIndex {
    /// The section kinds a stored index may use: `base..base + SECTION_SPAN`.
    pub const SECTION_SPAN: u32 = SEC_PDQ + PDQ_SECTIONS;

    /// Indexes `videos` (record id, frames as hashed). Frames under
    /// `quality_threshold` are left out and identical frames of a video
    /// count once, as the matcher does; queries must use the same
    /// threshold. A record id given twice adds to the same video.
    pub fn build<'a>(
        videos: impl IntoIterator<Item = (u64, &'a [FrameHash])>,
        quality_threshold: u8,
    ) -> VideoIndex {
        let mut position: HashMap<Hash256, u32> = HashMap::new();
        let mut hashes = Vec::new();
        let mut pairs: Vec<(u32, u64)> = Vec::new();
        let mut record_frames: HashMap<u64, u64> = HashMap::new();
        for (record, frames) in videos {
            let prepared = prepare(frames, quality_threshold);
            *record_frames.entry(record).or_insert(0) += prepared.len() as u64;
            for f in prepared {
                let id = *position.entry(f.pdq).or_insert_with(|| {
                    hashes.push(f.pdq);
                    hashes.len() as u32 - 1
                });
                pairs.push((id, record));
            }
        }
        drop(position);
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
        let mut record_frames: Vec<[u64; 2]> =
            record_frames.into_iter().map(|(r, n)| [r, n]).collect();
        record_frames.sort_unstable();
        VideoIndex {
            pdq: PdqIndex::new(&hashes),
            starts: starts.into(),
            records: records.into(),
            record_frames: record_frames.into(),
            quality_threshold,
        }
    }

    /// Adds the index's sections to `w`, at kinds `base..base +
    /// SECTION_SPAN`.
    pub fn write_sections(&self, w: &mut StoreWriter, base: u32) {
        w.add(
            base + SEC_META,
            &[u32::from(self.quality_threshold), self.pdq.len() as u32],
        );
        w.add(base + SEC_STARTS, &self.starts);
        w.add(base + SEC_RECORDS, &self.records);
        w.add(base + SEC_RECORD_FRAMES, &self.record_frames);
        self.pdq.write_sections(w, base + SEC_PDQ);
    }

    /// The index written by [`VideoIndex::write_sections`] at `base`,
    /// mapped, with its structure checked (so that a damaged file gives an
    /// error, never a wrong answer or a panic).
    pub fn from_store(store: &Store, base: u32) -> Result<VideoIndex, StoreError> {
        let invalid = |why: &str| StoreError::Invalid(format!("video index: {why}"));
        let meta: Buf<u32> = store.section(base + SEC_META)?;
        let pdq = PdqIndex::from_store(store, base + SEC_PDQ)?;
        let starts: Buf<u32> = store.section(base + SEC_STARTS)?;
        let records: Buf<u64> = store.section(base + SEC_RECORDS)?;
        let record_frames: Buf<[u64; 2]> = store.section(base + SEC_RECORD_FRAMES)?;
        if meta.len() != 2 || meta[0] > 100 || meta[1] as usize != pdq.len() {
            return Err(invalid("header disagrees with its frame index"));
        }
        if starts.len() != pdq.len() + 1
            || starts.first() != Some(&0)
            || starts.windows(2).any(|w| w[0] > w[1])
            || starts.last().map(|&e| e as usize) != Some(records.len())
        {
            return Err(invalid("frame → record map is damaged"));
        }
        if record_frames.windows(2).any(|w| w[0][0] >= w[1][0]) {
            return Err(invalid("record frame counts are not sorted"));
        }
        Ok(VideoIndex {
            pdq,
            starts,
            records,
            record_frames,
            quality_threshold: meta[0] as u8,
        })
    }

    /// True when `store` holds a video index at `base`.
    pub fn is_in_store(store: &Store, base: u32) -> bool {
        store.has_section(base + SEC_META)
    }

    /// Distinct frame hashes indexed.
    pub fn frame_count(&self) -> usize {
        self.pdq.len()
    }

    /// Videos indexed.
    pub fn video_count(&self) -> usize {
        self.record_frames.len()
    }

    /// Approximate memory held, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.pdq.memory_bytes()
            + self.starts.len() * 4
            + self.records.len() * 8
            + self.record_frames.len() * 16
    }

    /// The quality threshold the index was built with.
    pub fn quality_threshold(&self) -> u8 {
        self.quality_threshold
    }

    /// The usable (filtered, de-duplicated) frame count of a record.
    pub fn record_frames(&self, record: u64) -> usize {
        self.record_frames
            .binary_search_by_key(&record, |e| e[0])
            .map_or(0, |i| self.record_frames[i][1] as usize)
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
        FOUND.with(|found| -> Result<(), SearchError> {
            let found = &mut *found.borrow_mut();
            for (pos, f) in q.iter().enumerate() {
                found.clear();
                self.pdq.search_into(&f.pdq, opts.distance, found)?;
                for m in found.iter() {
                    let id = m.id as usize;
                    let (Some(&a), Some(&b)) = (self.starts.get(id), self.starts.get(id + 1))
                    else {
                        return Err(SearchError::Damaged);
                    };
                    for &r in self.records.get(a as usize..b as usize).unwrap_or(&[]) {
                        agg.add_hit(pos, r, u64::from(m.id));
                    }
                }
            }
            Ok(())
        })?;
        Ok(agg.finish(&q, |r| self.record_frames(r), &opts, only_matches))
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

    #[test]
    fn stored_index_answers_as_the_built_one() {
        let mut next = rng(0xabc);
        let videos: Vec<Vec<FrameHash>> = (0..30)
            .map(|v| {
                (0..10)
                    .map(|i| FrameHash {
                        frame: i,
                        quality: 40 + (next() % 60) as u8,
                        pdq: Hash256([next(), next(), v, next()]),
                        timestamp: i as f64,
                    })
                    .collect()
            })
            .collect();
        let built = VideoIndex::build(
            videos
                .iter()
                .enumerate()
                .map(|(i, v)| (i as u64 * 3, &v[..])),
            50,
        );
        let mut w = StoreWriter::new();
        w.add(1, &[7u32]);
        built.write_sections(&mut w, 200);
        let dir = std::env::temp_dir().join(format!("vidx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("i.nidx");
        w.write(&path).unwrap();
        // SAFETY: the file was written above in this test's own temporary
        // directory and nothing modifies it while it is mapped.
        let store = unsafe { Store::open(&path) }.unwrap();
        assert!(VideoIndex::is_in_store(&store, 200));
        assert!(!VideoIndex::is_in_store(&store, 300));
        let mapped = VideoIndex::from_store(&store, 200).unwrap();
        assert_eq!(mapped.video_count(), 30);
        assert_eq!(mapped.frame_count(), built.frame_count());
        let opts = MatchOptions::default();
        for v in &videos {
            assert_eq!(
                mapped.query(v, &opts, false).unwrap(),
                built.query(v, &opts, false).unwrap()
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
