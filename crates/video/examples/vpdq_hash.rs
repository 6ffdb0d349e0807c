//! Hashes videos with the crate (a bench and debugging aid):
//! `vpdq_hash [--fast] [--every-frame] [--workers N] [--out DIR] PATH...`
//! (files or directories, detected by content). Prints `path,frames,seconds`
//! per video and a total line with videos/s on stderr; `--out` writes the
//! reference tool's per-video files (`<name>.txt`).

use nigehbaan_pdq::Hasher;
use nigehbaan_video::{
    detect, format, hash_video, DecodeOptions, Ffmpeg, VideoInput, VideoPipeline, DETECT_HEAD_LEN,
};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            collect(&e, out);
        }
    } else {
        let mut head = vec![0u8; DETECT_HEAD_LEN];
        let n = std::fs::File::open(p)
            .and_then(|mut f| f.read(&mut head))
            .unwrap_or(0);
        if detect(&head[..n]).is_some() {
            out.push(p.to_path_buf());
        }
    }
}

fn main() {
    let mut opts = DecodeOptions::default();
    let mut workers = 1usize;
    let mut out_dir: Option<PathBuf> = None;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--fast" => opts.pipeline = VideoPipeline::Fast,
            "--every-frame" => opts.seconds_per_hash = 0.0,
            "--workers" => workers = args.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            "--threads" => opts.threads = args.next().and_then(|v| v.parse().ok()),
            "--out" => out_dir = args.next().map(PathBuf::from),
            _ => collect(Path::new(&a), &mut paths),
        }
    }
    let ffmpeg = match Ffmpeg::locate() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Some(d) = &out_dir {
        std::fs::create_dir_all(d).expect("create --out");
    }
    let t0 = Instant::now();
    let next = AtomicUsize::new(0);
    let lines = Mutex::new(());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| {
                let mut hasher = Hasher::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = paths.get(i) else { break };
                    let t = Instant::now();
                    let r = hash_video(&ffmpeg, &VideoInput::Path(p), &opts, &mut hasher);
                    let dt = t.elapsed().as_secs_f64();
                    let _g = lines.lock();
                    match r {
                        Ok(v) => {
                            println!("{},{},{dt:.3}", p.display(), v.vpdq.frames.len());
                            if let Some(d) = &out_dir {
                                let name = format!(
                                    "{}.txt",
                                    p.file_name().unwrap_or_default().to_string_lossy()
                                );
                                std::fs::write(
                                    d.join(name),
                                    format::write_reference(&v.vpdq.frames),
                                )
                                .expect("write --out file");
                            }
                        }
                        Err(e) => println!("{},-1,{dt:.3},{e}", p.display()),
                    }
                }
            });
        }
    });
    let dt = t0.elapsed().as_secs_f64();
    eprintln!(
        "# {} videos in {dt:.2} s: {:.2} videos/s",
        paths.len(),
        paths.len() as f64 / dt
    );
}
