//! Matching throughput of [`VideoIndex`] on synthetic vPDQ hashes:
//! `video_index_bench [LIST_VIDEOS] [FRAMES] [QUERIES] [THREADS]`
//! (default 100000 × 60, 1000 queries, 2 threads). A list video's frames
//! are a random walk (each frame 8–24 bits from the previous, as
//! neighbouring sampled frames of real videos are); half the queries are
//! re-encoded copies (every frame 0–12 bits off) of list videos, half are
//! unrelated. Prints build time, memory, query videos/s and hit counts.

use nigehbaan_pdq::Hash256;
use nigehbaan_video::{FrameHash, MatchOptions, VideoIndex};
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn flip(&mut self, h: &mut Hash256, n: u64) {
        for _ in 0..n {
            let b = (self.next() % 256) as usize;
            h.0[b / 64] ^= 1 << (b % 64);
        }
    }
    fn video(&mut self, frames: usize) -> Vec<FrameHash> {
        let mut h = Hash256([self.next(), self.next(), self.next(), self.next()]);
        (0..frames)
            .map(|i| {
                let step = 8 + self.next() % 17;
                self.flip(&mut h, step);
                FrameHash {
                    frame: i as u64 * 30,
                    quality: 60 + (self.next() % 41) as u8,
                    pdq: h,
                    timestamp: i as f64,
                }
            })
            .collect()
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(100_000);
    let frames = args.get(1).copied().unwrap_or(60);
    let queries = args.get(2).copied().unwrap_or(1000);
    let threads = args.get(3).copied().unwrap_or(2).max(1);
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let t = Instant::now();
    let list: Vec<Vec<FrameHash>> = (0..n).map(|_| rng.video(frames)).collect();
    eprintln!(
        "generated {n} videos × {frames} frames in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let index = VideoIndex::build(list.iter().enumerate().map(|(i, v)| (i as u64, &v[..])), 50);
    eprintln!(
        "built: {} distinct frames in {:.2} s, {} MB",
        index.frame_count(),
        t.elapsed().as_secs_f64(),
        index.memory_bytes() >> 20
    );
    let qs: Vec<Vec<FrameHash>> = (0..queries)
        .map(|i| {
            if i % 2 == 0 {
                let mut v = list[(rng.next() as usize) % n].clone();
                for f in &mut v {
                    let k = rng.next() % 13;
                    rng.flip(&mut f.pdq, k);
                }
                v
            } else {
                rng.video(frames)
            }
        })
        .collect();
    drop(list);
    let opts = MatchOptions::default();
    let t = Instant::now();
    let hits: usize = std::thread::scope(|s| {
        let chunk = queries.div_ceil(threads);
        let handles: Vec<_> = qs
            .chunks(chunk.max(1))
            .map(|c| {
                let index = &index;
                s.spawn(move || {
                    c.iter()
                        .map(|q| index.query(q, &opts, true).map(|r| r.len()).unwrap_or(0))
                        .sum::<usize>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let dt = t.elapsed().as_secs_f64();
    println!(
        "{queries} query videos against {n} list videos × {frames} frames on {threads} threads: {dt:.2} s, {:.1} videos/s, {hits} hits (expected ≥ {})",
        queries as f64 / dt,
        queries / 2
    );
}
