//! Opening containers as `nigehbaan scan` does (zip, tar, gzip, 7z, nested)
//! must never panic, whatever the bytes, and must respect its limits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nigehbaan_scan::archive::{entries_of, ArchiveLimits};

fuzz_target!(|data: &[u8]| {
    let limits = ArchiveLimits {
        max_entries: 1000,
        max_total_bytes: 64 << 20,
        ratio_floor: 8 << 20,
        max_in_memory: 4 << 20,
        ..ArchiveLimits::default()
    };
    let (found, _) = entries_of(data, "fuzz", limits);
    assert!(found.len() <= 1000);
});
