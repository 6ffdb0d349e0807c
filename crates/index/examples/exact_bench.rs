//! MD5 lookups against a large exact set: build time, lookups/s (all cores)
//! and memory per entry.
//!
//! `cargo run --release -p nigehbaan-index --example exact_bench [N] [LOOKUPS]`
use nigehbaan_index::ExactSet;
use rayon::prelude::*;
use std::time::Instant;

fn key(i: u64) -> [u8; 16] {
    // A bijective mix, so keys are distinct and look uniformly random.
    let mut a = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D;
    a ^= a >> 29;
    a = a.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    a ^= a >> 32;
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&a.to_be_bytes());
    k[8..].copy_from_slice(&i.to_le_bytes());
    k
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = *args.first().unwrap_or(&100_000_000);
    let lookups = *args.get(1).unwrap_or(&10_000_000);
    let t = Instant::now();
    let entries: Vec<([u8; 16], u32)> =
        (0..n).into_par_iter().map(|i| (key(i), i as u32)).collect();
    let set = ExactSet::new(entries);
    let build = t.elapsed().as_secs_f64();
    // Half the probes are present, half absent (keys past n).
    let probes: Vec<[u8; 16]> = (0..lookups)
        .map(|j| key(if j % 2 == 0 { (j * 7919) % n } else { n + j }))
        .collect();
    let t = Instant::now();
    let hits: usize = probes
        .par_chunks(4096)
        .map(|c| c.iter().filter(|k| set.contains(k)).count())
        .sum();
    let dt = t.elapsed().as_secs_f64();
    assert_eq!(hits as u64, lookups.div_ceil(2));
    println!(
        "exact MD5 set n={n}: build {build:.1}s, {lookups} lookups in {dt:.3}s = {:.1}M lookups/s on {} threads, {:.1} bytes/entry",
        lookups as f64 / dt / 1e6,
        rayon::current_num_threads(),
        set.memory_bytes() as f64 / n as f64
    );
}
