//! Grouping what an examiner would otherwise review many times: exact
//! duplicates (same SHA-256), and unmatched images that are PDQ
//! near-duplicates of each other (distance ≤ the match threshold).
//!
//! Groups are found from compact keys — an item's number in the sorted
//! item list and its SHA-256 or PDQ hash — so that a scan of millions of
//! items never holds the items themselves.

use crate::model::{Hex, Item};
use nigehbaan_index::PdqIndex;
use nigehbaan_pdq::Hash256;
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
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
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
