//! PDQ index benchmark against the hashes `peer-faiss-mih.py --write-hashes`
//! writes: builds the index, runs the queries single-threaded, prints
//! build time, queries/s (median of five passes) and memory per entry, and writes the sorted
//! `(query, id, distance)` triples for comparison with the peer's `--dump`.
//!
//! `cargo run --release -p nigehbaan-index --example pdq_bench HASHES DUMP [RADIUS [CHUNKS]]`
//! (CHUNKS, 10 to 16 or `compact`, overrides the layout the index would pick
//! for its size)
use nigehbaan_index::{Layout, PdqIndex};
use nigehbaan_pdq::Hash256;
use std::io::{BufRead, BufWriter, Write};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, dump) = (&args[1], &args[2]);
    let radius: u32 = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(31);
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("hash file"));
    let (mut db, mut qs, mut in_q) = (Vec::new(), Vec::new(), false);
    for line in file.lines() {
        let line = line.expect("read");
        if line.starts_with('#') {
            in_q = true;
            continue;
        }
        let h: Hash256 = line.trim().parse().expect("64 hex digits");
        if in_q {
            qs.push(h)
        } else {
            db.push(h)
        }
    }
    let rss0 = rss_kb();
    let t = Instant::now();
    let layout = match args.get(4).map(String::as_str) {
        Some("compact") => Layout::compact_for_len(db.len()),
        Some(m) => Layout::chunks(m.parse().expect("CHUNKS: 10 to 16, or compact")),
        None => Layout::for_len(db.len()),
    };
    let index = PdqIndex::with_layout(&db, &layout);
    let build = t.elapsed().as_secs_f64();
    // The build's temporary arrays are freed; a program that keeps the
    // index (this one, `serve`) hands their pages back so that resident
    // memory is the index's own. The library leaves that choice to it.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only returns free heap
    // memory to the kernel; no allocation is in progress on this thread.
    unsafe {
        libc::malloc_trim(0);
    }
    let rss1 = rss_kb();
    // Five passes over the queries (these shared machines are noisy); the
    // median pass is reported.
    let mut results = Vec::with_capacity(qs.len());
    let mut passes = Vec::new();
    for pass in 0..5 {
        let t = Instant::now();
        for q in &qs {
            let r = index.search(q, radius).expect("radius");
            if pass == 0 {
                results.push(r);
            }
        }
        passes.push(t.elapsed().as_secs_f64());
    }
    passes.sort_by(f64::total_cmp);
    let dt = passes[passes.len() / 2];
    let matches: usize = results.iter().map(|r| r.len()).sum();
    println!(
        "nigehbaan-index n={} chunks={}{} queries={} build={:.3}s query_total={:.4}s per_query={:.1}us qps={:.0} matches={} index_bytes_per_entry={:.1} rss_growth_per_entry={:.1}",
        db.len(), layout.widths().len(), if layout.is_compact() { format!(" compact width={}", layout.widths()[0]) } else { String::new() }, qs.len(), build, dt, dt / qs.len() as f64 * 1e6, qs.len() as f64 / dt, matches,
        index.memory_bytes() as f64 / db.len() as f64,
        (rss1.saturating_sub(rss0)) as f64 * 1024.0 / db.len() as f64,
    );
    let mut trip: Vec<(usize, u32, u32)> = results
        .iter()
        .enumerate()
        .flat_map(|(qi, r)| r.iter().map(move |m| (qi, m.id, m.distance)))
        .collect();
    trip.sort();
    let mut w = BufWriter::new(std::fs::File::create(dump).expect("dump file"));
    for (q, i, d) in trip {
        writeln!(w, "{q} {i} {d}").expect("write");
    }
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
