//! Volume-system detection (MBR with EBR chains, GPT with backup) on an
//! arbitrary disk: volumes stay inside the disk, no panic or loop.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let disk = data.to_vec();
    let vs = nigehbaan_disk::volume::detect(&disk);
    for v in &vs.volumes {
        assert!(v.start + v.len <= data.len() as u64);
    }
    let gaps = vs.unallocated_regions();
    let covered: u64 = gaps.iter().map(|g| g.end - g.start).sum();
    assert!(covered <= data.len() as u64);
});
