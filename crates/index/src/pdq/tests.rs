use super::*;

#[test]
fn fields_read_the_right_bits() {
    let h = [
        0x0123_4567_89ab_cdef,
        0xfedc_ba98_7654_3210,
        0xdead_beef_0bad_f00d,
        0x1357_9bdf_2468_ace0,
    ];
    let bit = |i: u32| (h[(i / 64) as usize] >> (i % 64)) & 1;
    for shift in 0..240 {
        for width in 1..=(32.min(256 - shift)) {
            let want = (0..width).fold(0u64, |v, k| v | bit(shift + k) << k);
            assert_eq!(field(&h, shift, width) as u64, want, "{shift} {width}");
        }
    }
}

#[test]
fn masks_are_every_value_within_the_threshold_once() {
    for (width, t) in [(16u32, 0i8), (16, 1), (16, 3), (21, 2), (22, 4)] {
        let mut seen = Vec::new();
        for_masks(width, t, |m| seen.push(m));
        let want = (0..1u32 << width)
            .filter(|m| m.count_ones() <= t as u32)
            .count();
        assert_eq!(seen.len(), want);
        assert!(seen
            .iter()
            .all(|m| m.count_ones() <= t as u32 && *m < 1 << width));
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), want);
    }
    let mut none = 0;
    for_masks(16, -1, |_| none += 1);
    assert_eq!(none, 0);
}

#[test]
fn files_without_a_layout_section_open_as_sixteen_chunks() {
    // What every index file held before layouts existed.
    let mut s = 7u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let hashes: Vec<Hash256> = (0..500)
        .map(|_| Hash256([next(), next(), next(), next()]))
        .collect();
    let index = PdqIndex::with_layout(&hashes, &Layout::chunks(16));
    let mut w = StoreWriter::new();
    w.add(0, &index.hashes);
    for (t, table) in index.tables.iter().enumerate() {
        w.add(1 + 2 * t as u32, &table.offsets);
        w.add(2 + 2 * t as u32, &table.ids);
    }
    let dir = std::env::temp_dir().join(format!("nigehbaan-legacy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("legacy.idx");
    w.write(&path).unwrap();
    // SAFETY: the test's temporary index file is not modified while mapped.
    let store = unsafe { Store::open(&path) }.unwrap();
    let old = PdqIndex::from_store(&store, 0).unwrap();
    assert_eq!(old.layout(), Layout::chunks(16));
    for q in hashes.iter().step_by(17) {
        assert_eq!(old.search(q, 31).unwrap(), brute_force(&hashes, q, 31));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_damaged_id_is_an_error_not_a_panic() {
    let hashes: Vec<Hash256> = (0..300u64)
        .map(|i| Hash256([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i, !i, i << 7]))
        .collect();
    for layout in [Layout::chunks(16), Layout::compact_for_len(300)] {
        // The index with every id of the first table out of range.
        let bad = PdqIndex::with_layout(&hashes, &layout);
        let t0 = &bad.tables[0];
        let ids: Vec<u32> = if t0.packed {
            pack_ids(&vec![0xff_fff0; hashes.len()])
        } else {
            vec![u32::MAX - 1; hashes.len()]
        };
        let mut w2 = StoreWriter::new();
        w2.add(0, &bad.hashes);
        for (t, table) in bad.tables.iter().enumerate() {
            w2.add(1 + 2 * t as u32, &table.offsets);
            if t == 0 {
                w2.add(2, &ids);
            } else {
                w2.add(2 + 2 * t as u32, &table.ids);
            }
        }
        let flags: Vec<u32> = bad
            .tables
            .iter()
            .map(|t| {
                t.width | if t.blocked { BLOCKED } else { 0 } | if t.packed { PACKED } else { 0 }
            })
            .collect();
        w2.add(LAYOUT_SECTION, &flags);
        let dir = std::env::temp_dir().join(format!(
            "nigehbaan-damaged-{}-{}",
            std::process::id(),
            layout.is_compact()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.idx");
        w2.write(&path).unwrap();
        // SAFETY: the test's temporary index file is not modified while mapped.
        let store = unsafe { Store::open(&path) }.unwrap();
        let opened = PdqIndex::from_store(&store, 0).unwrap();
        let mut out = vec![PdqMatch { id: 7, distance: 0 }];
        assert_eq!(
            opened.search_into(&hashes[5], 31, &mut out),
            Err(SearchError::Damaged)
        );
        assert_eq!(
            out,
            vec![PdqMatch { id: 7, distance: 0 }],
            "caller's results kept"
        );
        assert!(opened
            .search(&hashes[5], 31)
            .unwrap_err()
            .to_string()
            .contains("lists verify"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn plans_cover_every_radius() {
    for m in MIN_CHUNKS..=MAX_CHUNKS {
        let l = Layout::chunks(m);
        for n in [0, 1, 1000, 10_000_000] {
            for r in 0..=MAX_RADIUS {
                let (ts, _) = plan(&l.widths, n, r);
                assert_eq!(ts.len(), m);
                let covered: i32 = ts.iter().map(|&t| t as i32 + 1).sum();
                assert!(covered > r as i32, "m={m} n={n} r={r} {ts:?}");
            }
        }
    }
    // The classic layout at radius 31: one bit per chunk.
    assert_eq!(
        plan(&Layout::chunks(16).widths, 1_000_000, 31).0,
        vec![1; 16]
    );
}
