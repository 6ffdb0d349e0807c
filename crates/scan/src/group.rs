//! Grouping what an examiner would otherwise review many times: exact
//! duplicates (same SHA-256), and unmatched images that are PDQ
//! near-duplicates of each other (distance ≤ the match threshold).

use crate::model::{Disposition, Hex, Item};
use nigehbaan_index::PdqIndex;
use nigehbaan_pdq::Hash256;
use std::collections::HashMap;

/// A group of items, by their index in the sorted item list.
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

fn label(i: &Item) -> String {
    format!("{}: {}", i.exhibit, i.path)
}

/// Sets `duplicate_group` on items sharing a SHA-256 with another item and
/// returns the groups.
pub fn exact_duplicates(items: &mut [Item]) -> Vec<Group> {
    let mut by_hash: HashMap<Hex<32>, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        if let Some(h) = it.sha256 {
            by_hash.entry(h).or_default().push(i);
        }
    }
    let mut sets: Vec<Vec<usize>> = by_hash.into_values().filter(|v| v.len() > 1).collect();
    sets.sort_by_key(|v| v[0]);
    finish(items, sets, true)
}

/// Sets `near_group` on unmatched images within `threshold` of another
/// (transitively) and returns the groups. Images whose PDQ quality is
/// below `min_quality` are left out, as they are from matching.
pub fn near_duplicates(items: &mut [Item], threshold: u32, min_quality: u8) -> Vec<Group> {
    let mut members: Vec<usize> = Vec::new();
    let mut hashes: Vec<Hash256> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if it.disposition != Disposition::Unmatched || it.pdq_quality.unwrap_or(0) < min_quality {
            continue;
        }
        if let Some(h) = it.pdq.map(|h| Hash256::from_bytes(&h.0)) {
            members.push(i);
            hashes.push(h);
        }
    }
    if hashes.len() < 2 {
        return Vec::new();
    }
    let index = PdqIndex::new(&hashes);
    let mut parent: Vec<usize> = (0..hashes.len()).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut found = Vec::new();
    for (a, h) in hashes.iter().enumerate() {
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
    let mut sets: HashMap<usize, Vec<usize>> = HashMap::new();
    for (k, &item) in members.iter().enumerate() {
        let r = root(&mut parent, k);
        sets.entry(r).or_default().push(item);
    }
    let mut sets: Vec<Vec<usize>> = sets.into_values().filter(|v| v.len() > 1).collect();
    sets.sort_by_key(|v| v[0]);
    finish(items, sets, false)
}

fn finish(items: &mut [Item], sets: Vec<Vec<usize>>, exact: bool) -> Vec<Group> {
    sets.into_iter()
        .enumerate()
        .map(|(n, set)| {
            let id = n as u32 + 1;
            for &i in &set {
                if exact {
                    items[i].duplicate_group = Some(id);
                } else {
                    items[i].near_group = Some(id);
                }
            }
            Group {
                id,
                sha256: if exact {
                    items[set[0]].sha256.map(|h| h.to_string())
                } else {
                    None
                },
                representative: label(&items[set[0]]),
                members: set.iter().map(|&i| label(&items[i])).collect(),
            }
        })
        .collect()
}
