//! A small least-recently-used map for decoded chunks and table entries,
//! bounded by entry count. Lookups are linear-free (hash map); eviction
//! scans for the oldest entry, which is cheap at the sizes used here.

use std::collections::HashMap;

/// A map from `u64` keys that keeps at most `cap` entries, forgetting the
/// least recently used one first.
pub(crate) struct Lru<V> {
    cap: usize,
    tick: u64,
    map: HashMap<u64, (V, u64)>,
}

impl<V: Clone> Lru<V> {
    /// An empty map holding at most `cap` (at least 1) entries.
    pub(crate) fn new(cap: usize) -> Lru<V> {
        Lru {
            cap: cap.max(1),
            tick: 0,
            map: HashMap::new(),
        }
    }

    /// The value for `key`, marked as just used.
    pub(crate) fn get(&mut self, key: u64) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(&key).map(|e| {
            e.1 = tick;
            e.0.clone()
        })
    }

    /// Stores `value` under `key`, evicting the oldest entry when full.
    pub(crate) fn put(&mut self, key: u64, value: V) {
        self.tick += 1;
        if !self.map.contains_key(&key) && self.map.len() >= self.cap {
            if let Some(&old) = self.map.iter().min_by_key(|e| (e.1).1).map(|e| e.0) {
                self.map.remove(&old);
            }
        }
        self.map.insert(key, (value, self.tick));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let mut l = Lru::new(2);
        l.put(1, "a");
        l.put(2, "b");
        assert_eq!(l.get(1), Some("a"));
        l.put(3, "c");
        assert_eq!(l.get(2), None);
        assert_eq!(l.get(1), Some("a"));
        assert_eq!(l.get(3), Some("c"));
    }
}
