//! The indexes give exactly the brute-force answers.
use nigehbaan_index::{brute_force, ExactSet, Layout, PdqIndex};
use nigehbaan_pdq::Hash256;
use proptest::prelude::*;
use std::collections::HashMap;

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// Random hashes plus near copies of some of them, so that searches have
/// hits at every distance.
fn corpus(seed: u64, n: usize) -> Vec<Hash256> {
    let mut s = seed | 1;
    let mut out: Vec<Hash256> = (0..n)
        .map(|_| {
            Hash256([
                xorshift(&mut s),
                xorshift(&mut s),
                xorshift(&mut s),
                xorshift(&mut s),
            ])
        })
        .collect();
    for i in 0..n / 2 {
        let mut h = out[i];
        let flips = xorshift(&mut s) % 70;
        for _ in 0..flips {
            let b = (xorshift(&mut s) % 256) as usize;
            h.0[b / 64] ^= 1 << (b % 64);
        }
        out.push(h);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn pdq_search_equals_brute_force(seed in any::<u64>(), n in 1usize..400, radius in 0u32..=63) {
        let hashes = corpus(seed, n);
        let index = PdqIndex::new(&hashes);
        for q in hashes.iter().step_by(7).chain(corpus(seed ^ 0xdead, 5).iter()) {
            let got = index.search(q, radius).unwrap();
            prop_assert_eq!(got, brute_force(&hashes, q, radius));
        }
    }

    /// Every layout gives the brute-force answers at every radius (the wide
    /// layouts large indexes use, and the thresholds chosen for each radius).
    #[test]
    fn every_layout_equals_brute_force(seed in any::<u64>(), n in 1usize..300, radius in 0u32..=63, m in 12usize..=16) {
        let hashes = corpus(seed, n);
        let index = PdqIndex::with_layout(&hashes, &Layout::chunks(m));
        for q in hashes.iter().step_by(5).chain(corpus(seed ^ 0xbeef, 5).iter()) {
            let got = index.search(q, radius).unwrap();
            prop_assert_eq!(got, brute_force(&hashes, q, radius));
        }
    }

    /// Compact layouts (8 chunks covering part of the bits, packed ids,
    /// blocked bounds) too.
    #[test]
    fn compact_layout_equals_brute_force(seed in any::<u64>(), n in 1usize..300, radius in 0u32..=63) {
        let hashes = corpus(seed, n);
        let index = PdqIndex::with_layout(&hashes, &Layout::compact_for_len(hashes.len()));
        prop_assert!(index.layout().is_compact());
        for q in hashes.iter().step_by(5).chain(corpus(seed ^ 0xf00d, 5).iter()) {
            let got = index.search(q, radius).unwrap();
            prop_assert_eq!(got, brute_force(&hashes, q, radius));
        }
    }

    #[test]
    fn exact_set_equals_a_hash_map(keys in proptest::collection::vec(any::<[u8; 16]>(), 0..300), probes in proptest::collection::vec(any::<[u8; 16]>(), 0..50)) {
        let mut entries: Vec<([u8; 16], u32)> = keys.iter().enumerate().map(|(i, k)| (*k, i as u32)).collect();
        // Duplicate digests from two lists.
        entries.extend(keys.iter().take(10).enumerate().map(|(i, k)| (*k, 1000 + i as u32)));
        let set = ExactSet::new(entries.clone());
        let mut map: HashMap<[u8; 16], Vec<u32>> = HashMap::new();
        for (k, id) in &entries {
            map.entry(*k).or_default().push(*id);
        }
        for k in keys.iter().chain(probes.iter()) {
            let mut want = map.get(k).cloned().unwrap_or_default();
            want.sort();
            prop_assert_eq!(set.get(k).to_vec(), want);
        }
    }
}

#[test]
fn layouts_follow_the_index_size() {
    assert_eq!(Layout::for_len(0), Layout::chunks(16));
    assert_eq!(Layout::for_len(1_000_000), Layout::chunks(16));
    assert_eq!(Layout::for_len(10_000_000), Layout::chunks(12));
    for m in 10..=16 {
        let l = Layout::chunks(m);
        assert_eq!(l.widths().iter().map(|&w| w as u32).sum::<u32>(), 256);
    }
}

#[test]
fn compact_layout_keeps_plain_bounds_for_crowded_blocks() {
    // 70,000 hashes sharing their low 128 bits: one bucket of every chunk
    // that covers them holds them all, more than 2-byte offsets can count.
    let mut hashes = corpus(5, 46_667);
    for (i, h) in hashes.iter_mut().enumerate() {
        h.0[0] = 0x5555_5555_5555_5555;
        h.0[1] = 0x3333_3333_3333_3333;
        h.0[2] ^= i as u64;
    }
    let layout = Layout::compact_for_len(hashes.len());
    let index = PdqIndex::with_layout(&hashes, &layout);
    for q in hashes.iter().step_by(9_001).chain(corpus(9, 3).iter()) {
        assert_eq!(index.search(q, 31).unwrap(), brute_force(&hashes, q, 31));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crowded.idx");
    let mut w = nigehbaan_index::store::StoreWriter::new();
    index.write_sections(&mut w, 0);
    w.write(&path).unwrap();
    // SAFETY: the test's temporary index file is not modified while mapped.
    let store = unsafe { nigehbaan_index::store::Store::open(&path) }.unwrap();
    let mapped = PdqIndex::from_store(&store, 0).unwrap();
    assert_eq!(mapped.layout(), layout);
    let q = &hashes[1234];
    assert_eq!(mapped.search(q, 20).unwrap(), brute_force(&hashes, q, 20));
}

#[test]
fn eleven_chunks_equal_brute_force() {
    let hashes = corpus(3, 400);
    let index = PdqIndex::with_layout(&hashes, &Layout::chunks(11));
    for radius in [0, 8, 31, 45, 63] {
        for q in hashes.iter().step_by(11) {
            assert_eq!(
                index.search(q, radius).unwrap(),
                brute_force(&hashes, q, radius)
            );
        }
    }
}

#[test]
fn radius_over_63_is_refused_and_dihedral_search_dedups() {
    let hashes = corpus(7, 50);
    let index = PdqIndex::new(&hashes);
    assert!(index.search(&hashes[0], 64).is_err());
    let variants = [hashes[0], hashes[1], hashes[0]];
    let any = index.search_any(&variants, 31).unwrap();
    let mut ids: Vec<u32> = any.iter().map(|(m, _)| m.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), any.len());
    assert!(any
        .iter()
        .any(|(m, k)| m.id == 0 && m.distance == 0 && *k == 0));
}

#[test]
fn indexes_survive_a_round_trip_through_a_mapped_file() {
    use nigehbaan_index::store::{Store, StoreWriter};
    let hashes = corpus(11, 300);
    let index = PdqIndex::new(&hashes);
    let wide = PdqIndex::with_layout(&hashes, &Layout::chunks(13));
    let compact = PdqIndex::with_layout(&hashes, &Layout::compact_for_len(300));
    let md5: Vec<([u8; 16], u32)> = (0..500u32).map(|i| ([(i % 251) as u8; 16], i)).collect();
    let set = ExactSet::new(md5.clone());
    let dir = std::env::temp_dir().join(format!("nigehbaan-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bank.idx");
    let mut w = StoreWriter::new();
    index.write_sections(&mut w, 100);
    wide.write_sections(&mut w, 200);
    compact.write_sections(&mut w, 300);
    set.write_sections(&mut w, 10);
    w.write(&path).unwrap();
    // SAFETY: the test's temporary index file is not modified while mapped.
    let store = unsafe { Store::open(&path) }.unwrap();
    let mapped = PdqIndex::from_store(&store, 100).unwrap();
    let mapped_wide = PdqIndex::from_store(&store, 200).unwrap();
    assert_eq!(mapped_wide.layout(), Layout::chunks(13));
    let mapped_compact = PdqIndex::from_store(&store, 300).unwrap();
    assert!(mapped_compact.layout().is_compact());
    let mset = ExactSet::<16>::from_store(&store, 10).unwrap();
    for q in hashes.iter().step_by(13) {
        assert_eq!(mapped.search(q, 31).unwrap(), index.search(q, 31).unwrap());
        assert_eq!(
            mapped_wide.search(q, 31).unwrap(),
            index.search(q, 31).unwrap()
        );
    }
    for (k, _) in md5.iter().step_by(17) {
        assert_eq!(mset.get(k), set.get(k));
    }
    // A damaged file is refused, not trusted.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[16] = 9;
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: the test's temporary index file is not modified while mapped.
    assert!(unsafe { Store::open(&path) }.is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tiny_compact_indexes_survive_a_round_trip() {
    use nigehbaan_index::store::{Store, StoreWriter};
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=4 {
        let hashes = corpus(n as u64, n);
        let index = PdqIndex::with_layout(&hashes, &Layout::compact_for_len(n));
        let path = dir.path().join(format!("tiny{n}.idx"));
        let mut w = StoreWriter::new();
        index.write_sections(&mut w, 0);
        w.write(&path).unwrap();
        // SAFETY: the test's temporary index file is not modified while mapped.
        let mapped = PdqIndex::from_store(&unsafe { Store::open(&path) }.unwrap(), 0).unwrap();
        for q in &hashes {
            assert_eq!(mapped.search(q, 31).unwrap(), brute_force(&hashes, q, 31));
        }
    }
}
