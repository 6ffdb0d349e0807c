//! A zip whose central directory is missing or damaged is recovered by
//! walking its local headers: whatever follows a local-header signature,
//! the walk must never panic, loop or read out of bounds, and must respect
//! the limits.
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
    // Every input starts as a zip's first local header, so the bytes after
    // it reach the local-header walker (no central directory is found).
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend_from_slice(data);
    let (found, _) = entries_of(&zip, "fuzz.zip", limits);
    assert!(found.len() <= 1000);
});
