//! Times the PDQ core (luma → hash, no decoding) on a synthetic 12 MP image.
//!
//! `cargo run --release -p nigehbaan-pdq --example core_time [WIDTH HEIGHT]`
use nigehbaan_pdq::{Hasher, ImageView, Pipeline};
use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (w, h) = if args.len() == 2 {
        (args[0], args[1])
    } else {
        (4032, 3024)
    };
    let mut s: u32 = 2463534242;
    let rgb: Vec<u8> = (0..w * h * 3)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            ((i / 3 % w) as u32 / 16 + (s & 31)) as u8
        })
        .collect();
    let img = ImageView::rgb(&rgb, w, h).expect("buffer size");
    let mut hasher = Hasher::new();
    let first = hasher.hash(&img, Pipeline::Full);
    let runs = 20;
    let t = Instant::now();
    let cpu0 = thread_cpu_ns();
    for _ in 0..runs {
        let out = hasher.hash(&img, Pipeline::Full);
        assert_eq!(out.hash, first.hash);
    }
    let cpu = thread_cpu_ns()
        .zip(cpu0)
        .map(|(b, a)| (b - a) as f64 / 1e6 / runs as f64);
    let ms = t.elapsed().as_secs_f64() * 1e3 / runs as f64;
    let cpu = cpu.map(|c| format!("{c:.1} ms CPU, ")).unwrap_or_default();
    println!(
        "PDQ core, {w}x{h} RGB, single thread: {cpu}{ms:.1} ms wall per image ({})",
        first.hash
    );
}

/// CPU time of this thread in nanoseconds (Linux), so that a busy machine
/// does not distort the figure.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
