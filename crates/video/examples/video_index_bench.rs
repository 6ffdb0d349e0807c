//! Matching throughput of [`VideoIndex`] on synthetic vPDQ hashes:
//! `video_index_bench [LIST_VIDEOS] [FRAMES] [QUERIES] [THREADS]`
//! (default 100000 × 60, 1000 queries, 2 threads). A list video's frames
//! are a random walk (each frame 8–24 bits from the previous, as
//! neighbouring sampled frames of real videos are); half the queries are
//! re-encoded copies (every frame 0–12 bits off) of list videos, half are
//! unrelated. Prints build time, memory, query videos/s and hit counts,
//! and for each query thread where its wall time went (on a CPU, waiting
//! for one, blocked), which tells the machine's load from contention.

use nigehbaan_video::synthetic::SyntheticVideos;
use nigehbaan_video::{FrameHash, MatchOptions, VideoIndex};
use std::time::Instant;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(100_000);
    let frames = args.get(1).copied().unwrap_or(60);
    let queries = args.get(2).copied().unwrap_or(1000);
    let threads = args.get(3).copied().unwrap_or(2).max(1);
    let mut rng = SyntheticVideos::new(0x1234_5678_9abc_def1);
    let t = Instant::now();
    let list: Vec<Vec<FrameHash>> = (0..n).map(|_| rng.video(frames, 60)).collect();
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
                let i = (rng.next_u64() as usize) % n;
                rng.copy(&list[i])
            } else {
                rng.video(frames, 60)
            }
        })
        .collect();
    drop(list);
    let opts = MatchOptions::default();
    let cpu0 = cpu_seconds();
    let t = Instant::now();
    let per_thread: Vec<(usize, f64, Option<[f64; 2]>)> = std::thread::scope(|s| {
        let chunk = queries.div_ceil(threads);
        let handles: Vec<_> = qs
            .chunks(chunk.max(1))
            .map(|c| {
                let index = &index;
                s.spawn(move || {
                    let t = Instant::now();
                    let before = schedstat();
                    let hits = c
                        .iter()
                        .map(|q| index.query(q, &opts, true).map(|r| r.len()).unwrap_or(0))
                        .sum::<usize>();
                    let sched = before
                        .zip(schedstat())
                        .map(|(a, b)| [b[0] - a[0], b[1] - a[1]]);
                    (hits, t.elapsed().as_secs_f64(), sched)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((0, 0.0, None)))
            .collect()
    });
    let dt = t.elapsed().as_secs_f64();
    let hits: usize = per_thread.iter().map(|p| p.0).sum();
    // Where each thread's wall time went: on a CPU, waiting for one (the
    // machine's load), or neither (blocked: a lock, I/O, page faults).
    for (k, (_, wall, sched)) in per_thread.iter().enumerate() {
        if let Some([run, wait]) = sched {
            println!(
                "thread {k}: wall {wall:.2} s = on CPU {run:.2} s + waiting for a CPU {wait:.2} s + blocked {:.2} s",
                (wall - run - wait).max(0.0)
            );
        }
    }
    let cpu = cpu_seconds() - cpu0;
    if cpu > 0.0 {
        // On a machine shared with other work the wall clock measures the
        // contention as much as the matcher: CPU time says what it costs.
        println!(
            "query CPU time {cpu:.2} s ({:.1} videos per CPU-second, {:.1} videos/s on {threads} uncontended cores)",
            queries as f64 / cpu,
            queries as f64 / cpu * threads as f64
        );
    }
    println!(
        "{queries} query videos against {n} list videos × {frames} frames on {threads} threads: {dt:.2} s, {:.1} videos/s, {hits} hits (expected ≥ {})",
        queries as f64 / dt,
        queries / 2
    );
}

/// This thread's time on a CPU and waiting on the run queue, in seconds
/// (Linux: `/proc/thread-self/schedstat`); `None` elsewhere.
fn schedstat() -> Option<[f64; 2]> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut f = s.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([f.next()?? / 1e9, f.next()?? / 1e9])
}

/// User + system CPU seconds of this process so far (Linux: from
/// `/proc/self/stat`, in clock ticks of 1/100 s); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
