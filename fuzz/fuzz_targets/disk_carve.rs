//! The carver and its format walkers on arbitrary bytes: items stay
//! inside the data, no panic or hang. The same bytes are then carved again
//! straddling the carver's 1 MiB block boundary inside zeroed space (which
//! the carver skips without searching): every complete JPEG, BMP and WebP
//! found alone must be found there too, at the shifted offset and with the
//! same length (those walkers depend only on the item's own bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nigehbaan_disk::carve::{CarveOptions, Carver, Kind};

const BLOCK: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let disk = data.to_vec();
    let opts = || CarveOptions {
        png_crc: data.first().is_some_and(|b| b & 1 == 1),
        ..CarveOptions::default()
    };
    let alone: Vec<_> = Carver::new(&disk, 0, disk.len() as u64, opts())
        .flatten()
        .collect();
    for item in &alone {
        assert!(item.offset + item.len <= data.len() as u64);
    }
    let checked = |c: &&nigehbaan_disk::carve::Carved| {
        c.complete && matches!(c.kind, Kind::Jpeg | Kind::Bmp | Kind::Webp)
    };
    // Carving 1 MiB of zeros costs ~5 ms: done for inputs with an item to
    // compare and for one in four others (no panic, items in bounds).
    if !alone.iter().any(|c| checked(&c)) && data.first().is_none_or(|b| b % 4 != 0) {
        return;
    }
    // The data from `BLOCK - shift`, zeros on both sides.
    let shift = data.len() / 2 + data.first().map_or(0, |&b| usize::from(b) % 9);
    let at = BLOCK - shift.min(BLOCK);
    let mut big = vec![0u8; at + data.len() + 64];
    big[at..at + data.len()].copy_from_slice(data);
    let embedded: Vec<_> = Carver::new(&big, 0, big.len() as u64, opts())
        .flatten()
        .collect();
    for item in &embedded {
        assert!(item.offset + item.len <= big.len() as u64);
    }
    for a in alone.iter().filter(checked) {
        let want = a.offset + at as u64;
        assert!(
            embedded
                .iter()
                .any(|e| e.offset == want && e.kind == a.kind && e.len == a.len),
            "{a:?} not found at {want} among {embedded:?}"
        );
    }
});
