//! Video entries: how a bank entry's vPDQ frame set is stored (a blob
//! column of `entries`), and the live in-memory frame index every instance
//! keeps, like the PDQ index: each distinct usable frame hash (quality ≥
//! [`QUALITY_THRESHOLD`], duplicates of a video once) in a
//! [`LivePdqIndex`], mapped to the video entries holding it. A video query
//! is one index probe per distinct query frame plus the vPDQ aggregation
//! of `nigehbaan-video` ([`Aggregator`]): never a scan over the banks'
//! videos.
//!
//! The change feed carries video entries by id (`op` 2: added, 3:
//! removed); an instance reads an added entry's frames from the database.

use std::collections::HashMap;
use std::sync::RwLock;

use nigehbaan_index::{LivePdqIndex, LiveStats, SearchError};
use nigehbaan_lists::hex;
use serde::Deserialize;

use crate::api::{ApiError, ApiResult};
use nigehbaan_pdq::Hash256;
use nigehbaan_video::matching::prepare;
use nigehbaan_video::{Aggregator, FrameHash, MatchOptions, VideoMatch};

/// Frames under this PDQ quality take no part in matching (both sides), as
/// in python-threatexchange.
pub const QUALITY_THRESHOLD: u8 = 50;

/// Most frames one video entry (or one query) may carry.
pub const MAX_FRAMES: usize = 200_000;

const BLOB_VERSION: u8 = 1;
const FRAME_BYTES: usize = 8 + 1 + 32 + 8;

/// A frame set as stored in the `vpdq` column: a version byte, then per
/// frame its number (u64 LE), quality, PDQ hash (32 bytes) and timestamp
/// (f64 LE).
pub fn encode(frames: &[FrameHash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + frames.len() * FRAME_BYTES);
    out.push(BLOB_VERSION);
    for f in frames {
        out.extend_from_slice(&f.frame.to_le_bytes());
        out.push(f.quality);
        out.extend_from_slice(&f.pdq.to_bytes());
        out.extend_from_slice(&f.timestamp.to_le_bytes());
    }
    out
}

/// Reads a frame set written by [`encode`]; `None` when it is damaged.
pub fn decode(blob: &[u8]) -> Option<Vec<FrameHash>> {
    let (&version, rest) = blob.split_first()?;
    if version != BLOB_VERSION || rest.len() % FRAME_BYTES != 0 {
        return None;
    }
    rest.chunks_exact(FRAME_BYTES)
        .map(|c| {
            let pdq: &[u8; 32] = c[9..41].try_into().ok()?;
            Some(FrameHash {
                frame: u64::from_le_bytes(c[0..8].try_into().ok()?),
                quality: c[8],
                pdq: Hash256::from_bytes(pdq),
                timestamp: f64::from_le_bytes(c[41..49].try_into().ok()?),
            })
        })
        .collect()
}

/// One vPDQ frame as a request gives it: `{pdq, quality, timestamp}`,
/// with its `frame` number when known (else its position).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FrameIn {
    /// Frame number in decoder order (default: the frame's position in the
    /// array).
    pub frame: Option<u64>,
    /// PDQ hash, 64 hex digits.
    pub pdq: String,
    /// PDQ quality 0–100.
    pub quality: u8,
    /// Seconds from the start.
    #[serde(default)]
    pub timestamp: f64,
}

/// Checks a frame set: 1 to [`MAX_FRAMES`] frames, PDQ hex, quality ≤ 100,
/// finite timestamps ≥ 0.
pub fn parse_frames(frames: &[FrameIn]) -> ApiResult<Vec<FrameHash>> {
    if frames.is_empty() || frames.len() > MAX_FRAMES {
        return Err(ApiError::bad(
            "bad_vpdq",
            format!(
                "a vPDQ feature set has 1 to {MAX_FRAMES} frames, not {}",
                frames.len()
            ),
        ));
    }
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let bad = |why: String| ApiError::bad("bad_vpdq", format!("vpdq frame {i}: {why}"));
            let pdq = hex::decode_hash::<32>(&f.pdq, "pdq").map_err(|e| bad(e.to_string()))?;
            if f.quality > 100 {
                return Err(bad("quality is 0 to 100".into()));
            }
            if !(f.timestamp.is_finite() && f.timestamp >= 0.0) {
                return Err(bad("timestamp must be a number of seconds ≥ 0".into()));
            }
            Ok(FrameHash {
                frame: f.frame.unwrap_or(i as u64),
                quality: f.quality,
                pdq: Hash256::from_bytes(&pdq),
                timestamp: f.timestamp,
            })
        })
        .collect()
}

/// Parses a vPDQ value given as text (a query parameter): HMA's signal
/// string (a JSON array of `"pdq_hex,quality,timestamp"` strings) or the
/// reference tool's `frame,quality,pdq_hex,timestamp` lines separated by
/// `;` — the lists' own parser.
pub fn parse_frames_text(text: &str) -> ApiResult<Vec<FrameHash>> {
    let frames = nigehbaan_lists::import::vpdq::parse_text(text)
        .map_err(|e| ApiError::bad("bad_vpdq", format!("vpdq: {e}")))?;
    if frames.is_empty() || frames.len() > MAX_FRAMES {
        return Err(ApiError::bad(
            "bad_vpdq",
            format!(
                "a vPDQ feature set has 1 to {MAX_FRAMES} frames, not {}",
                frames.len()
            ),
        ));
    }
    Ok(frames)
}

#[derive(Default)]
struct Frames {
    /// Distinct usable frame hash → (its id, the entries holding it).
    holders: HashMap<Hash256, (u64, Vec<i64>)>,
    /// Entry → its distinct usable frame hashes.
    entries: HashMap<i64, Vec<Hash256>>,
    next_id: u64,
}

/// The live frame index of the video entries (see the module
/// documentation). All methods take `&self`.
#[derive(Default)]
pub struct VideoBank {
    index: LivePdqIndex,
    frames: RwLock<Frames>,
}

/// Sizes, for the index status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoStats {
    /// Video entries indexed.
    pub entries: usize,
    /// Distinct usable frame hashes indexed.
    pub frames: usize,
    /// The frame index's parts.
    pub index: LiveStats,
}

impl VideoBank {
    /// A bank holding `videos` (entry id, frames as stored).
    pub fn new(videos: &[(i64, Vec<FrameHash>)]) -> VideoBank {
        let bank = VideoBank::default();
        bank.reset(videos);
        bank
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Frames> {
        self.frames.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Frames> {
        self.frames.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces everything with `videos` (a full load).
    pub fn reset(&self, videos: &[(i64, Vec<FrameHash>)]) {
        let mut f = self.write();
        *f = Frames::default();
        for (id, frames) in videos {
            add_to(&mut f, *id, frames);
        }
        let hashes: Vec<Hash256> = f.holders.keys().copied().collect();
        self.index.reset(&hashes);
    }

    /// Adds a video entry (nothing when it is held already: replaying the
    /// feed is harmless).
    pub fn insert(&self, entry: i64, frames: &[FrameHash]) {
        let mut f = self.write();
        for h in add_to(&mut f, entry, frames) {
            self.index.insert(h);
        }
    }

    /// Removes a video entry (nothing when it is not held).
    pub fn remove(&self, entry: i64) {
        let mut f = self.write();
        let Some(hashes) = f.entries.remove(&entry) else {
            return;
        };
        for h in hashes {
            let gone = match f.holders.get_mut(&h) {
                Some((_, ids)) => {
                    ids.retain(|&e| e != entry);
                    ids.is_empty()
                }
                None => false,
            };
            if gone {
                f.holders.remove(&h);
                self.index.remove(h);
            }
        }
    }

    /// Every video entry the query's frames match under `opts`, by entry
    /// id (only those meeting the thresholds). `opts.quality_threshold` is
    /// the bank's own ([`QUALITY_THRESHOLD`]).
    pub fn query(
        &self,
        query: &[FrameHash],
        opts: &MatchOptions,
    ) -> Result<Vec<(i64, VideoMatch)>, SearchError> {
        let opts = MatchOptions {
            quality_threshold: QUALITY_THRESHOLD,
            ..*opts
        };
        let q = prepare(query, QUALITY_THRESHOLD);
        let mut agg = Aggregator::new();
        let f = self.read();
        for (pos, frame) in q.iter().enumerate() {
            for m in self.index.search(&frame.pdq, opts.distance)? {
                if let Some((id, entries)) = f.holders.get(&m.hash) {
                    for &e in entries {
                        agg.add_hit(pos, e as u64, *id);
                    }
                }
            }
        }
        let found = agg.finish(
            &q,
            |e| f.entries.get(&(e as i64)).map_or(0, Vec::len),
            &opts,
            true,
        );
        Ok(found.into_iter().map(|(e, m)| (e as i64, m)).collect())
    }

    /// True when the frame index should be compacted.
    pub fn wants_compaction(&self) -> bool {
        self.index.wants_compaction()
    }

    /// Compacts the frame index (blocks; run on a background thread).
    pub fn compact(&self) {
        self.index.compact();
    }

    /// Sizes.
    pub fn stats(&self) -> VideoStats {
        let f = self.read();
        VideoStats {
            entries: f.entries.len(),
            frames: f.holders.len(),
            index: self.index.stats(),
        }
    }
}

/// Adds an entry's usable frames to the maps; returns the frame hashes no
/// entry held before (to insert into the index).
fn add_to(f: &mut Frames, entry: i64, frames: &[FrameHash]) -> Vec<Hash256> {
    if f.entries.contains_key(&entry) {
        return Vec::new();
    }
    let usable: Vec<Hash256> = prepare(frames, QUALITY_THRESHOLD)
        .into_iter()
        .map(|x| x.pdq)
        .collect();
    let mut new = Vec::new();
    for &h in &usable {
        let next = f.next_id;
        let slot = f.holders.entry(h).or_insert_with(|| {
            new.push(h);
            (next, Vec::new())
        });
        slot.1.push(entry);
        if slot.0 == next {
            f.next_id += 1;
        }
    }
    f.entries.insert(entry, usable);
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use nigehbaan_video::match_videos;

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut g = nigehbaan_video::synthetic::SyntheticVideos::new(seed);
        move || g.next_u64()
    }

    fn video(next: &mut impl FnMut() -> u64, n: usize) -> Vec<FrameHash> {
        (0..n)
            .map(|i| FrameHash {
                frame: i as u64 * 25,
                quality: 30 + (next() % 71) as u8,
                pdq: Hash256([next(), next(), next(), next()]),
                timestamp: i as f64,
            })
            .collect()
    }

    #[test]
    fn blobs_read_back() {
        let mut next = rng(3);
        let v = video(&mut next, 17);
        assert_eq!(decode(&encode(&v)).unwrap(), v);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
        assert!(decode(&[]).is_none());
        assert!(decode(&[2]).is_none());
        assert!(decode(&encode(&v)[..40]).is_none());
    }

    /// Against the oracle: `match_videos` of the query with every video.
    #[test]
    fn answers_as_pairwise_matching_through_adds_and_removals() {
        let mut next = rng(0x77);
        let mut list: Vec<Vec<FrameHash>> = (0..40).map(|_| video(&mut next, 15)).collect();
        for v in 1..12 {
            let src = list[v - 1].clone();
            for (k, f) in list[v].iter_mut().enumerate().take(10) {
                let mut h = src[k].pdq;
                for b in 0..(next() % 40) as usize {
                    h.0[b % 4] ^= 1 << ((b * 13 + 5) % 64);
                }
                f.pdq = h;
                f.quality = src[k].quality;
            }
        }
        // Two entries with the same frames (two banks holding a video).
        list[20] = list[3].clone();
        let videos: Vec<(i64, Vec<FrameHash>)> = list
            .iter()
            .enumerate()
            .map(|(i, v)| (i as i64 + 100, v.clone()))
            .collect();
        let bank = VideoBank::new(&videos[..30]);
        for (id, v) in &videos[30..] {
            bank.insert(*id, v);
        }
        bank.insert(100, &list[0]);
        bank.remove(105);
        bank.remove(999);
        let opts = MatchOptions {
            query_match_percent: 40.0,
            ..MatchOptions::default()
        };
        for q in list.iter().take(15) {
            let got = bank.query(q, &opts).unwrap();
            let want: Vec<(i64, VideoMatch)> = videos
                .iter()
                .filter(|(id, _)| *id != 105)
                .map(|(id, v)| (*id, match_videos(q, v, &opts)))
                .filter(|(_, m)| m.is_match)
                .collect();
            assert_eq!(got, want);
        }
        assert_eq!(bank.stats().entries, 39);
        bank.remove(103);
        bank.remove(120);
        let left: Vec<i64> = bank
            .query(&list[3], &opts)
            .unwrap()
            .iter()
            .map(|(id, _)| *id)
            .collect();
        assert!(!left.contains(&103) && !left.contains(&120), "{left:?}");
    }
}
