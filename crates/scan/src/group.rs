//! Grouping what an examiner would otherwise review many times: exact
//! duplicates (same SHA-256), unmatched images that are PDQ
//! near-duplicates of each other (distance ≤ the match threshold), and
//! unmatched videos that are vPDQ near-duplicates of each other (each
//! matches the other under the scan's vPDQ thresholds).
//!
//! Groups are found from compact keys — an item's number in the sorted
//! item list and its SHA-256 or PDQ hash, or an unmatched video's usable
//! frame hashes — so that a scan of millions of items never holds the
//! items themselves. Video frames are held up to a budget
//! ([`VIDEO_GROUP_FRAMES`]); videos past it are named, not grouped.

use crate::model::{Hex, Item};
use nigehbaan_index::PdqIndex;
use nigehbaan_pdq::Hash256;
use nigehbaan_video::{FrameHash, MatchOptions, VideoIndex};
use std::collections::HashMap;

/// A group of items.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    /// The group's number (1-based, in the order of its first member).
    pub id: u32,
    /// The SHA-256 every member shares (exact duplicates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The member to review (the first by path).
    pub representative: String,
    /// Every member's path (`exhibit: path`).
    pub members: Vec<String>,
    /// Near-duplicate groups only: `pdq` (images) or `vpdq` (videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<NearKind>,
    /// `vpdq` groups: every pair of members that matched each other.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<VideoPair>,
}

/// What made a near-duplicate group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NearKind {
    /// Images whose PDQ hashes are within the threshold.
    Pdq,
    /// Videos whose vPDQ frame sets match each other.
    Vpdq,
}

/// Two videos of a `vpdq` group that met the vPDQ thresholds both ways.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoPair {
    /// The two members, as positions in the group's `members`.
    pub members: [u32; 2],
    /// For each of the two: the share, in percent, of its usable frames
    /// (quality ≥ the threshold, duplicates once) within the vPDQ distance
    /// of some frame of the other.
    pub match_percent: [f64; 2],
}

// Percentages are never NaN (0 when a side has no usable frame).
impl Eq for VideoPair {}

/// The most video frames the report holds to find near-duplicate video
/// groups (about 130 MB with their index: 277 hours of video at vPDQ's
/// one frame a second).
pub const VIDEO_GROUP_FRAMES: usize = 1_000_000;

/// Whether `it` is a video that may join a near-duplicate video group:
/// unmatched, with usable vPDQ frames (a scan keeps them for unmatched
/// videos only).
pub fn video_groupable(it: &Item) -> bool {
    it.disposition == crate::model::Disposition::Unmatched && !it.vpdq_frames.is_empty()
}

/// The usable frames of the unmatched videos that may be grouped, by item
/// number, up to a frame budget.
#[derive(Debug)]
pub struct VideoKeys {
    videos: Vec<(u32, Vec<FrameHash>)>,
    frames: usize,
    budget: usize,
    /// Item numbers of the videos left out because the budget was used up,
    /// ascending.
    pub left_out: Vec<u32>,
}

impl VideoKeys {
    /// No videos yet; at most `budget` frames will be held.
    pub fn new(budget: usize) -> VideoKeys {
        VideoKeys {
            videos: Vec::new(),
            frames: 0,
            budget,
            left_out: Vec::new(),
        }
    }

    /// Adds video `item` (item numbers ascending) with its usable frame
    /// hashes, or names it in [`VideoKeys::left_out`] when they do not fit.
    pub fn push(&mut self, item: u32, frames: &[Hex<32>]) {
        if frames.is_empty() {
            return;
        }
        if self.frames + frames.len() > self.budget {
            self.left_out.push(item);
            return;
        }
        self.frames += frames.len();
        let frames = frames
            .iter()
            .enumerate()
            .map(|(k, h)| FrameHash {
                frame: k as u64,
                quality: 100,
                pdq: Hash256::from_bytes(&h.0),
                timestamp: 0.0,
            })
            .collect();
        self.videos.push((item, frames));
    }

    /// Whether `item` was left out of grouping for want of budget.
    pub fn was_left_out(&self, item: u32) -> bool {
        self.left_out.binary_search(&item).is_ok()
    }
}

/// A near-duplicate video group: its item numbers (ascending) and the
/// pairs that matched.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoSet {
    /// Item numbers, ascending.
    pub members: Vec<u32>,
    /// The pairs (positions in `members`) that matched both ways.
    pub pairs: Vec<VideoPair>,
}

/// The groups of videos in `keys` that match each other both ways under
/// `opts` (transitively), ordered by first member: every video's frames
/// go into one frame index (frame hash → videos), and each video is
/// matched against it as a list video would be, so the percentages are
/// those `match` and `scan` report. The frames were filtered by quality
/// when collected; `opts.quality_threshold` is not applied again.
pub fn video_sets(keys: &VideoKeys, opts: &MatchOptions) -> Vec<VideoSet> {
    let videos = &keys.videos;
    if videos.len() < 2 {
        return Vec::new();
    }
    let index = VideoIndex::build(
        videos
            .iter()
            .enumerate()
            .map(|(k, (_, f))| (k as u64, &f[..])),
        0,
    );
    // (a, b) → a's and b's percentages, when a as the query matches b.
    let mut one_way: HashMap<(usize, usize), [f64; 2]> = HashMap::new();
    for (a, (_, frames)) in videos.iter().enumerate() {
        let Ok(found) = index.query(frames, opts, true) else {
            return Vec::new();
        };
        for (b, m) in found {
            let b = b as usize;
            if b != a {
                one_way.insert((a, b), [m.query_match_percent, m.compared_match_percent]);
            }
        }
    }
    let mut edges: Vec<(usize, usize, [f64; 2])> = one_way
        .iter()
        .filter(|(&(a, b), _)| a < b && one_way.contains_key(&(b, a)))
        .map(|(&(a, b), &p)| (a, b, p))
        .collect();
    edges.sort_unstable_by_key(|e| (e.0, e.1));
    let mut parent: Vec<usize> = (0..videos.len()).collect();
    for &(a, b, _) in &edges {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut sets: HashMap<usize, Vec<usize>> = HashMap::new();
    for v in 0..videos.len() {
        let r = root(&mut parent, v);
        sets.entry(r).or_default().push(v);
    }
    let mut out: Vec<VideoSet> = sets
        .into_values()
        .filter(|s| s.len() > 1)
        .map(|s| {
            // Positions are ascending, and so are their item numbers.
            let at = |v: usize| s.binary_search(&v).unwrap_or(0) as u32;
            VideoSet {
                members: s.iter().map(|&v| videos[v].0).collect(),
                pairs: edges
                    .iter()
                    .filter(|e| s.binary_search(&e.0).is_ok())
                    .map(|&(a, b, p)| VideoPair {
                        members: [at(a), at(b)],
                        match_percent: p,
                    })
                    .collect(),
            }
        })
        .collect();
    out.sort_unstable_by_key(|s| s.members[0]);
    out
}

/// The note on a video left out of near-duplicate video grouping.
pub const LEFT_OUT_NOTE: &str = "not compared with other videos for near-duplicate \
     groups: the report's budget of video frames for grouping was used up";

/// A near group's kind and video pairs for `report.json`, from the
/// per-group pairs [`merge_near`] gave (`None` for exact groups).
pub fn near_kind(
    near: Option<&[Option<Vec<VideoPair>>]>,
    g: u32,
) -> (Option<NearKind>, Vec<VideoPair>) {
    match near.and_then(|n| n.get((g as usize).checked_sub(1)?)) {
        None => (None, Vec::new()),
        Some(None) => (Some(NearKind::Pdq), Vec::new()),
        Some(Some(p)) => (Some(NearKind::Vpdq), p.clone()),
    }
}

/// Image sets and video sets as one list of near-duplicate groups, ordered
/// by first member: the item numbers of each group, and for each group its
/// video pairs (`None` for an image group).
pub fn merge_near(
    images: Vec<Vec<u32>>,
    videos: Vec<VideoSet>,
) -> (Vec<Vec<u32>>, Vec<Option<Vec<VideoPair>>>) {
    let mut all: Vec<(Vec<u32>, Option<Vec<VideoPair>>)> = images
        .into_iter()
        .map(|s| (s, None))
        .chain(videos.into_iter().map(|v| (v.members, Some(v.pairs))))
        .collect();
    all.sort_unstable_by_key(|(s, _)| s[0]);
    all.into_iter().unzip()
}

fn root(p: &mut [usize], mut x: usize) -> usize {
    while p[x] != x {
        p[x] = p[p[x]];
        x = p[x];
    }
    x
}

/// How a group lists an item: `exhibit: path`.
pub fn label(i: &Item) -> String {
    format!("{}: {}", i.exhibit, i.path)
}

/// The sets of item numbers that share a SHA-256, each in ascending order,
/// the sets ordered by their first member. `keys` holds (SHA-256, item
/// number) for every item with a SHA-256; it is sorted here.
pub fn exact_sets(keys: &mut [(Hex<32>, u32)]) -> Vec<Vec<u32>> {
    keys.sort_unstable();
    let mut sets: Vec<Vec<u32>> = keys
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .map(|run| run.iter().map(|k| k.1).collect())
        .collect();
    sets.sort_unstable_by_key(|s| s[0]);
    sets
}

/// The sets of item numbers whose PDQ hashes are within `threshold` of
/// each other (transitively), each ascending, ordered by first member.
/// `keys` holds (PDQ hash, item number) for every image that may be
/// grouped (unmatched, quality high enough), in ascending item order.
pub fn near_sets(keys: &[(Hash256, u32)], threshold: u32) -> Vec<Vec<u32>> {
    if keys.len() < 2 {
        return Vec::new();
    }
    let hashes: Vec<Hash256> = keys.iter().map(|k| k.0).collect();
    let index = PdqIndex::new(&hashes);
    drop(hashes);
    let mut parent: Vec<usize> = (0..keys.len()).collect();
    let mut found = Vec::new();
    for (a, (h, _)) in keys.iter().enumerate() {
        found.clear();
        if index.search_into(h, threshold, &mut found).is_err() {
            return Vec::new();
        }
        for m in &found {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, m.id as usize));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut sets: HashMap<usize, Vec<u32>> = HashMap::new();
    for (k, key) in keys.iter().enumerate() {
        let r = root(&mut parent, k);
        sets.entry(r).or_default().push(key.1);
    }
    let mut sets: Vec<Vec<u32>> = sets.into_values().filter(|v| v.len() > 1).collect();
    for s in &mut sets {
        s.sort_unstable();
    }
    sets.sort_unstable_by_key(|s| s[0]);
    sets
}

/// For `n` items, the 1-based group number of each (0: in no group).
pub fn numbering(n: usize, sets: &[Vec<u32>]) -> Vec<u32> {
    let mut of = vec![0u32; n];
    for (g, set) in sets.iter().enumerate() {
        for &i in set {
            if let Some(slot) = of.get_mut(i as usize) {
                *slot = g as u32 + 1;
            }
        }
    }
    of
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A hash with the first `n` bits set: distance(h(a), h(b)) = |a − b|.
    fn h(n: usize) -> Hex<32> {
        let mut x = [0u8; 32];
        for k in 0..n {
            x[k / 8] |= 1 << (k % 8);
        }
        Hex(x)
    }

    fn video(bits: &[usize]) -> Vec<Hex<32>> {
        bits.iter().map(|&b| h(b)).collect()
    }

    /// Random hashes far (≈128 bits) from each other and from `h(_)`.
    fn unrelated(n: usize, seed: u64) -> Vec<Hex<32>> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                let mut x = [0u8; 32];
                for b in &mut x {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    *b = s as u8;
                }
                Hex(x)
            })
            .collect()
    }

    fn keys(videos: &[(u32, Vec<Hex<32>>)]) -> VideoKeys {
        let mut k = VideoKeys::new(VIDEO_GROUP_FRAMES);
        for (item, frames) in videos {
            k.push(*item, frames);
        }
        k
    }

    #[test]
    fn videos_matching_both_ways_are_grouped_with_their_percentages() {
        // A's frames 0, 40, 80, 120 are within 5 bits of B's 5, 45, 85,
        // 125; A's 160 is 35 from B's 125 and B's 250 is 90 from A's 160:
        // 4 of 5 frames match on each side, 80 % both ways (the default
        // thresholds: query ≥ 80 %, compared ≥ 0 %, distance ≤ 31).
        let a = video(&[0, 40, 80, 120, 160]);
        let b = video(&[5, 45, 85, 125, 250]);
        let sets = video_sets(
            &keys(&[(2, a), (4, unrelated(6, 9)), (7, b)]),
            &MatchOptions::default(),
        );
        assert_eq!(
            sets,
            vec![VideoSet {
                members: vec![2, 7],
                pairs: vec![VideoPair {
                    members: [0, 1],
                    match_percent: [80.0, 80.0],
                }],
            }]
        );
        // Asking for 81 % of the query's frames: no group.
        let strict = MatchOptions {
            query_match_percent: 81.0,
            ..MatchOptions::default()
        };
        let a = video(&[0, 40, 80, 120, 160]);
        let b = video(&[5, 45, 85, 125, 250]);
        assert!(video_sets(&keys(&[(2, a), (7, b)]), &strict).is_empty());
    }

    #[test]
    fn a_video_matching_only_one_way_is_not_grouped() {
        // B is A's first two seconds: B as the query matches A (100 % of
        // B, 40 % of A ≥ 0 %), but A as the query does not match B (40 %
        // of A < 80 %).
        let a = video(&[0, 40, 80, 120, 160]);
        let b = video(&[0, 40]);
        assert!(video_sets(&keys(&[(0, a), (1, b)]), &MatchOptions::default()).is_empty());
        // With a 40 % query threshold both ways hold: grouped, and the
        // percentages say how much of each matched.
        let loose = MatchOptions {
            query_match_percent: 40.0,
            ..MatchOptions::default()
        };
        let a = video(&[0, 40, 80, 120, 160]);
        let b = video(&[0, 40]);
        let sets = video_sets(&keys(&[(0, a), (1, b)]), &loose);
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].pairs[0].match_percent, [40.0, 100.0]);
    }

    #[test]
    fn groups_are_transitive_and_list_every_matching_pair() {
        // A ~ B (20 bits apart frame for frame), B ~ C (20 apart), but A
        // and C are 40 apart: one group of three with two pairs.
        let a = video(&[0, 100, 200]);
        let b = video(&[20, 120, 220]);
        let c = video(&[40, 140, 240]);
        let sets = video_sets(
            &keys(&[(1, a), (3, b), (5, c), (6, unrelated(3, 5))]),
            &MatchOptions::default(),
        );
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].members, vec![1, 3, 5]);
        let pairs: Vec<[u32; 2]> = sets[0].pairs.iter().map(|p| p.members).collect();
        assert_eq!(pairs, vec![[0, 1], [1, 2]]);
        assert!(sets[0]
            .pairs
            .iter()
            .all(|p| p.match_percent == [100.0, 100.0]));
    }

    #[test]
    fn matched_videos_and_videos_past_the_budget_are_not_grouped() {
        let mut it: Item = serde_json::from_value(serde_json::json!({
            "exhibit": "E1", "path": "v.mp4", "depth": 0, "size": 1,
            "modified": null, "md5": null, "sha1": null, "sha256": null,
            "pdq": null, "pdq_quality": null, "format": null,
            "width": null, "height": null, "disposition": "unmatched",
            "error": null,
        }))
        .unwrap();
        assert!(!video_groupable(&it), "no frames: not a hashed video");
        it.vpdq_frames = video(&[0, 40]);
        assert!(video_groupable(&it));
        it.disposition = crate::model::Disposition::Hit;
        assert!(!video_groupable(&it));
        it.disposition = crate::model::Disposition::Known;
        assert!(!video_groupable(&it));
        // A budget of 8 frames holds the first 5-frame video, not the
        // second: that one is named, and nothing is grouped.
        let mut k = VideoKeys::new(8);
        k.push(0, &video(&[0, 40, 80, 120, 160]));
        k.push(1, &video(&[0, 40, 80, 120, 160]));
        assert_eq!(k.left_out, vec![1]);
        assert!(k.was_left_out(1) && !k.was_left_out(0));
        assert!(video_sets(&k, &MatchOptions::default()).is_empty());
    }

    #[test]
    fn near_groups_of_both_kinds_are_numbered_by_first_member() {
        let (sets, pairs) = merge_near(
            vec![vec![0, 9], vec![4, 5]],
            vec![VideoSet {
                members: vec![2, 3],
                pairs: Vec::new(),
            }],
        );
        assert_eq!(sets, vec![vec![0, 9], vec![2, 3], vec![4, 5]]);
        assert_eq!(pairs, vec![None, Some(Vec::new()), None]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The oracle: grouping by brute force over every pair.
        #[test]
        fn exact_sets_match_brute_force(hashes in proptest::collection::vec(0u8..6, 0..60)) {
            let mut keys: Vec<(Hex<32>, u32)> = hashes
                .iter()
                .enumerate()
                .map(|(i, &h)| (Hex([h; 32]), i as u32))
                .collect();
            let sets = exact_sets(&mut keys);
            let mut want: Vec<Vec<u32>> = Vec::new();
            for (i, &h) in hashes.iter().enumerate() {
                if want.iter().any(|s| hashes[s[0] as usize] == h) {
                    continue;
                }
                let same: Vec<u32> = (i..hashes.len())
                    .filter(|&j| hashes[j] == h)
                    .map(|j| j as u32)
                    .collect();
                if same.len() > 1 {
                    want.push(same);
                }
            }
            prop_assert_eq!(sets, want);
        }

        #[test]
        fn near_sets_match_brute_force(
            seeds in proptest::collection::vec((0u8..4, proptest::collection::vec(0usize..256, 0..40)), 0..24),
        ) {
            // Hashes near one of four far-apart bases.
            let bases = [[0u8; 32], [0xff; 32], [0x0f; 32], [0xaa; 32]];
            let hashes: Vec<Hash256> = seeds
                .iter()
                .map(|(b, flips)| {
                    let mut h = bases[*b as usize];
                    for &f in flips {
                        h[f / 8] ^= 1 << (f % 8);
                    }
                    Hash256::from_bytes(&h)
                })
                .collect();
            let keys: Vec<(Hash256, u32)> = hashes.iter().enumerate().map(|(i, h)| (*h, i as u32)).collect();
            let sets = near_sets(&keys, 31);
            // Brute force: union over all pairs within the threshold.
            let n = hashes.len();
            let mut comp: Vec<usize> = (0..n).collect();
            loop {
                let mut changed = false;
                for a in 0..n {
                    for b in 0..n {
                        if hashes[a].distance(&hashes[b]) <= 31 && comp[a] != comp[b] {
                            let m = comp[a].min(comp[b]);
                            comp[a] = m;
                            comp[b] = m;
                            changed = true;
                        }
                    }
                }
                if !changed {
                    break;
                }
            }
            let mut want: Vec<Vec<u32>> = Vec::new();
            for c in 0..n {
                let members: Vec<u32> = (0..n).filter(|&i| comp[i] == c).map(|i| i as u32).collect();
                if members.len() > 1 {
                    want.push(members);
                }
            }
            want.sort_by_key(|s| s[0]);
            prop_assert_eq!(sets, want);
        }
    }
}
