//! The carver and its format walkers on arbitrary bytes: items stay
//! inside the data, no panic or hang.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nigehbaan_disk::carve::{CarveOptions, Carver};

fuzz_target!(|data: &[u8]| {
    let disk = data.to_vec();
    let opts = CarveOptions {
        png_crc: data.first().is_some_and(|b| b & 1 == 1),
        ..CarveOptions::default()
    };
    for item in Carver::new(&disk, 0, disk.len() as u64, opts).flatten() {
        assert!(item.offset + item.len <= data.len() as u64);
    }
});
