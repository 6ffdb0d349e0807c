//! `nigehbaan hash`.

use crate::hash_video::VpdqDir;
use crate::output::{OutputFormat, RecordWriter};
use crate::{EXIT_INCOMPLETE, EXIT_OK};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use nigehbaan_filehash::name::readable_path;
use nigehbaan_filehash::{collect_files, hash_file, Options, Record};
use nigehbaan_media::Limits;
use nigehbaan_pdq::{Hasher, Pipeline};
use nigehbaan_scan::report::display::visible;
use rayon::prelude::*;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Files hashed between two writes of output: bounds memory on huge trees
/// while keeping the output in path order.
const BATCH: usize = 2048;

/// `hash --format`: the record formats, or the reference vPDQ tool's
/// per-video files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum HashFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// The reference vPDQ tool's file for each video
    /// (`frame_number,quality,pdq_hex,timestamp`), written into `--out DIR`
    /// as `<file name>.vpdq.txt`; standard output lists the files written.
    Vpdq,
}

#[derive(Args)]
#[command(
    after_help = "EXIT STATUS:\n  0  every file was read and every image decoded\n  \
1  some files could not be read or decoded (their rows carry an `error`)\n  \
2  usage error, or the command could not run\n\n\
OUTPUT: one row per file, sorted by path, with the fields path, size, md5, sha1, sha256, pdq, \
pdq_quality, pdq_pipeline, pdq_hashable, width, height, format, orientation, error (absent \
values are null), plus pdq_dihedral with --dihedral. A path that is not UTF-8 shows its other \
bytes as \\xNN, and path_bytes holds its exact bytes (base64). EXIF orientation is reported, never \
applied before hashing, as in the PDQ references. Videos (recognised by content) add media \
(\"video\"), duration, fps, codec, rotation (reported, not applied), vpdq_pipeline, vpdq_frames \
and vpdq (an array of {frame, quality, pdq, timestamp}); without the ffmpeg program their \
error says so and how to install it."
)]
pub struct HashArgs {
    /// Files and directories (searched recursively; symbolic links inside
    /// directories are not followed).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output format (`vpdq` needs `--out DIR`).
    #[arg(long, value_enum, default_value_t = HashFormat::Jsonl)]
    format: HashFormat,
    /// With `--format vpdq`: the directory that receives one
    /// `<file name>.vpdq.txt` per video (created; files 0600; never inside
    /// an input path).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also output the 8 dihedral PDQ hashes (orig, rot90, rot180, rot270,
    /// flipx, flipy, flipplus1, flipminus1).
    #[arg(long)]
    dihedral: bool,
    /// Triage mode: decode colour JPEGs for their luma alone and large ones
    /// at a reduced DCT scale (1/2, 1/4 or 1/8, short side kept at least
    /// 512 px). Faster; those hashes are within a few bits of the full
    /// pipeline and are labelled `fast`. Digests and other images are exact.
    /// Videos: key frames only (`vpdq_pipeline: "fast"`); on generated
    /// copies (re-encoded, half size, MPEG-4, trimmed) a fast query still
    /// found 9 of 10 copies in a list hashed exactly (exact: 10 of 10), but
    /// fast against fast only 6 of 10 (see BENCHMARKS.md).
    #[arg(long)]
    fast: bool,
    /// PDQ pipeline: `full` (HMA / python-threatexchange, the default) or
    /// `reference-cli` (the C++ tool's 512×512 squash).
    #[arg(long, default_value = "full")]
    pipeline: Pipeline,
    /// Digests only: skip image decoding and PDQ (and video hashing).
    #[arg(long)]
    no_pdq: bool,
    /// Videos: hash one frame every this many seconds of video (vPDQ's
    /// sampling, frame `n` when `n % max(1, int(S × fps)) == 0`; 0 = every
    /// frame). With --fast, videos are hashed on key frames only instead
    /// (labelled `vpdq_pipeline: "fast"`). Videos need the `ffmpeg` program.
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    seconds_per_hash: f64,
    /// Refuse to decode images with more pixels than this.
    #[arg(long, default_value_t = Limits::default().max_pixels)]
    max_pixels: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Write output here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run(args: HashArgs) -> Result<u8, String> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| format!("cannot start {n} threads: {e}"))?;
    }
    let opts = Options {
        pdq: !args.no_pdq,
        pipeline: args.pipeline,
        fast: args.fast,
        dihedral: args.dihedral,
        limits: Limits {
            max_pixels: args.max_pixels,
            ..Limits::default()
        },
        ..Options::default()
    };
    if !(args.seconds_per_hash.is_finite() && args.seconds_per_hash >= 0.0) {
        return Err("--seconds-per-hash must be a number of seconds, 0 or more".into());
    }
    let video = crate::hash_video::options(args.seconds_per_hash, args.fast, args.no_pdq);
    let vpdq_dir = match (args.format, &args.out) {
        (HashFormat::Vpdq, Some(dir)) => {
            if video.is_none() {
                return Err("--format vpdq hashes videos: it cannot be used with --no-pdq".into());
            }
            Some(dir)
        }
        (HashFormat::Vpdq, None) => {
            return Err("--format vpdq writes one file per video: give --out DIR".into())
        }
        (_, Some(_)) => return Err("--out DIR goes with --format vpdq".into()),
        _ => None,
    };
    let format = match args.format {
        HashFormat::Csv => OutputFormat::Csv,
        HashFormat::Jsonl | HashFormat::Vpdq => OutputFormat::Jsonl,
    };
    let (files, issues) = collect_files(&args.paths);
    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(
            std::fs::File::create(p)
                .map_err(|e| format!("cannot create output file {}: {e}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    // Either rows, or reference files (and the list of them on `sink`).
    let (mut out, mut vpdq_dir) = match vpdq_dir {
        Some(dir) => (None, Some(VpdqDir::create(dir, &args.paths, sink)?)),
        None => (Some(RecordWriter::new(sink, format, args.dihedral)), None),
    };
    let mut incomplete = false;
    for issue in &issues {
        if issue.is_error {
            incomplete = true;
            let r = error_record(&issue.path, issue.reason.clone());
            match (&mut out, &mut vpdq_dir) {
                (Some(o), _) => o.write(&r).map_err(write_err)?,
                (None, Some(d)) => d.report_error(&r),
                (None, None) => {}
            }
        } else {
            eprintln!(
                "nigehbaan: {}",
                visible(&format!("{}: {}", readable_path(&issue.path), issue.reason))
            );
        }
    }
    let bar = progress(files.len() as u64);
    for chunk in files.chunks(BATCH) {
        let records: Vec<(Record, Option<String>)> = chunk
            .par_iter()
            .map_init(Hasher::new, |hasher, path| {
                let mut r = hash_file(path, &opts, hasher).to_record_at(path, &opts);
                let reference = crate::hash_video::add_video(&mut r, path, &video, hasher);
                bar.inc(1);
                (r, reference)
            })
            .collect();
        for (path, (r, reference)) in chunk.iter().zip(&records) {
            incomplete |= r.error.is_some();
            match (&mut out, &mut vpdq_dir) {
                (Some(o), _) => o.write(r).map_err(write_err)?,
                (None, Some(d)) => incomplete |= !d.write(path, r, reference.as_deref())?,
                (None, None) => {}
            }
        }
    }
    bar.finish_and_clear();
    if let Some(o) = out {
        o.finish().map_err(write_err)?;
    }
    if let Some(d) = vpdq_dir {
        d.finish()?;
    }
    Ok(if incomplete { EXIT_INCOMPLETE } else { EXIT_OK })
}

fn write_err(e: std::io::Error) -> String {
    format!("cannot write output: {e}")
}

fn error_record(path: &std::path::Path, error: String) -> Record {
    let (path, path_bytes) = nigehbaan_filehash::name::split_path(path);
    Record {
        path,
        path_bytes,
        size: None,
        md5: None,
        sha1: None,
        sha256: None,
        pdq: None,
        pdq_quality: None,
        pdq_pipeline: None,
        pdq_hashable: None,
        width: None,
        height: None,
        format: None,
        orientation: None,
        pdq_dihedral: None,
        error: Some(error),
        video: None,
    }
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
pub fn progress(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
