//! Writes an index file holding N PDQ hashes and M MD5s (default 10M and
//! 100M), then measures how long opening it takes and how much memory that
//! costs beyond the mapping.
//!
//! `cargo run --release -p nigehbaan-index --example open_bench [N] [M] [FILE]`
use nigehbaan_index::store::{Store, StoreWriter};
use nigehbaan_index::{ExactSet, PdqIndex};
use nigehbaan_pdq::Hash256;
use std::time::Instant;

fn mix(i: u64) -> u64 {
    let mut a = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D;
    a ^= a >> 29;
    a = a.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    a ^ (a >> 32)
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let m: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000_000);
    let path = std::path::PathBuf::from(
        args.get(2)
            .cloned()
            .unwrap_or_else(|| "/tmp/nigehbaan-open-bench.nidx".into()),
    );
    {
        let t = Instant::now();
        let mut w = StoreWriter::new();
        let hashes: Vec<Hash256> = (0..n)
            .map(|i| Hash256([mix(4 * i), mix(4 * i + 1), mix(4 * i + 2), mix(4 * i + 3)]))
            .collect();
        PdqIndex::new(&hashes).write_sections(&mut w, 100);
        drop(hashes);
        let md5: Vec<([u8; 16], u32)> = (0..m)
            .map(|i| {
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&mix(i).to_be_bytes());
                k[8..].copy_from_slice(&i.to_le_bytes());
                (k, i as u32)
            })
            .collect();
        ExactSet::new(md5).write_sections(&mut w, 10);
        w.write(&path).expect("write index");
        println!(
            "wrote {} ({:.1} GB) in {:.1}s",
            path.display(),
            std::fs::metadata(&path).unwrap().len() as f64 / 1e9,
            t.elapsed().as_secs_f64()
        );
    }
    let rss0 = rss_kb();
    let t = Instant::now();
    // SAFETY: the benchmark's index file is written above and not modified
    // while mapped.
    let store = unsafe { Store::open(&path) }.expect("open");
    let pdq = PdqIndex::from_store(&store, 100).expect("pdq");
    let md5 = ExactSet::<16>::from_store(&store, 10).expect("md5");
    let dt = t.elapsed().as_secs_f64();
    let rss1 = rss_kb();
    println!(
        "opened {} PDQ + {} MD5 entries in {:.3}s; resident memory grew by {:.1} MB (file {:.1} GB, mapped)",
        pdq.len(), md5.len(), dt, (rss1.saturating_sub(rss0)) as f64 / 1024.0, store.len() as f64 / 1e9
    );
    let q = Hash256([mix(40), mix(41), mix(42), mix(43)]);
    let t = Instant::now();
    let hits = pdq.search(&q, 31).expect("radius").len();
    println!(
        "first query on the cold mapping: {} match(es) in {:.1} ms",
        hits,
        t.elapsed().as_secs_f64() * 1e3
    );
    std::fs::remove_file(&path).ok();
}
