//! `nigehbaan match` on videos: query videos (files hashed with the
//! `ffmpeg` program, or reference-format vPDQ files given with `--vpdq`)
//! matched against the lists' video indexes. The matching itself is the
//! scan library's [`nigehbaan_scan::video::vpdq_hits`] (the one `scan`
//! uses): hashes in, typed hits out.

use clap::Args;
use nigehbaan_lists::library::OpenList;
use nigehbaan_pdq::Hasher;
use nigehbaan_scan::video::ListVpdqHit as VpdqHit;
use nigehbaan_video::format::parse_reference;
use nigehbaan_video::{
    detect, hash_video, DecodeOptions, Ffmpeg, FrameHash, MatchOptions, VideoError, VideoInput,
    VideoPipeline,
};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The video options of `nigehbaan match`.
#[derive(Args)]
pub struct VideoMatchArgs {
    /// A video's vPDQ hash in the reference tool's file format
    /// (`frame,quality,pdq,timestamp` lines) to match; repeatable.
    #[arg(long, value_name = "FILE")]
    vpdq: Vec<PathBuf>,
    #[command(flatten)]
    vpdq_args: VpdqArgs,
    /// Videos: hash key frames only (triage; lower recall, see --help of
    /// `nigehbaan hash`).
    #[arg(long)]
    fast: bool,
}

/// The vPDQ thresholds and sampling, shared by `match` and `scan`.
#[derive(Args)]
pub struct VpdqArgs {
    /// Two video frames match at a PDQ Hamming distance up to this.
    #[arg(long, default_value_t = 31, value_parser = clap::value_parser!(u32).range(0..=63))]
    vpdq_distance: u32,
    /// A list video matches when at least this percentage of the query's
    /// usable frames (quality ≥ 50, duplicates once) matched…
    #[arg(long, default_value_t = 80.0, value_name = "PERCENT")]
    vpdq_query_percent: f64,
    /// …and at least this percentage of the list video's frames matched.
    #[arg(long, default_value_t = 0.0, value_name = "PERCENT")]
    vpdq_compared_percent: f64,
    /// Videos: hash one frame every this many seconds (vPDQ's
    /// seconds_per_hash; lists made by HMA use 1).
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    seconds_per_hash: f64,
}

impl VideoMatchArgs {
    /// The thresholds of a vPDQ match.
    pub fn match_options(&self) -> Result<MatchOptions, String> {
        self.vpdq_args.match_options()
    }

    /// How query videos are hashed.
    pub fn decode_options(&self) -> Result<DecodeOptions, String> {
        self.vpdq_args.decode_options(self.fast)
    }
}

impl VpdqArgs {
    /// The thresholds of a vPDQ match.
    pub fn match_options(&self) -> Result<MatchOptions, String> {
        for (name, v) in [
            ("--vpdq-query-percent", self.vpdq_query_percent),
            ("--vpdq-compared-percent", self.vpdq_compared_percent),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(format!("{name} must be 0 to 100, not {v}"));
            }
        }
        Ok(MatchOptions {
            distance: self.vpdq_distance,
            query_match_percent: self.vpdq_query_percent,
            compared_match_percent: self.vpdq_compared_percent,
            ..MatchOptions::default()
        })
    }

    /// How videos are hashed (`fast`: key frames only).
    pub fn decode_options(&self, fast: bool) -> Result<DecodeOptions, String> {
        if !(self.seconds_per_hash.is_finite() && self.seconds_per_hash >= 0.0) {
            return Err("--seconds-per-hash must be 0 or more".into());
        }
        Ok(DecodeOptions {
            seconds_per_hash: self.seconds_per_hash,
            pipeline: if fast {
                VideoPipeline::Fast
            } else {
                VideoPipeline::Exact
            },
            ..DecodeOptions::default()
        })
    }
}

impl VideoMatchArgs {
    /// The `--vpdq` files, read: (frames, the input's name for the row).
    pub fn vpdq_queries(&self) -> Result<Vec<(Vec<FrameHash>, String)>, String> {
        let mut out = Vec::new();
        for path in &self.vpdq {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--vpdq {}: cannot read: {e}", path.display()))?;
            let frames =
                parse_reference(&text).map_err(|e| format!("--vpdq {}: {e}", path.display()))?;
            out.push((frames, format!("vpdq:{}", path.display())));
        }
        Ok(out)
    }
}

/// Every video of `list` the query video matches under `opts` (the scan
/// library's matching, errors as text for the command's output).
pub fn vpdq_hits(
    list: &OpenList,
    query: &[FrameHash],
    opts: &MatchOptions,
) -> Result<Vec<VpdqHit>, String> {
    nigehbaan_scan::video::vpdq_hits(list, query, opts)
        .map_err(|e| format!("list {}: {e}", list.name()))
}

/// The match fields of a vPDQ hit (`match: "vpdq"`, both percentages,
/// frame counts, time ranges: the fields a scan report's vPDQ hit has).
pub fn hit_fields(hit: &VpdqHit) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("match".into(), json!("vpdq"));
    if let Ok(Value::Object(fields)) = serde_json::to_value(hit.detail()) {
        o.extend(fields);
    }
    o
}

/// A file's video hash when it holds a video (by content): `None` for
/// other files; an error when it is a video that could not be hashed
/// (no `ffmpeg`, a damaged file, …).
pub fn hash_file_video(
    path: &Path,
    opts: &DecodeOptions,
    hasher: &mut Hasher,
) -> Option<Result<nigehbaan_video::VideoHashes, String>> {
    let head = crate::hash_video::head(path)?;
    detect(&head)?;
    let ffmpeg = match Ffmpeg::shared() {
        Ok(f) => f,
        Err(e) => return Some(Err(e.to_string())),
    };
    Some(
        hash_video(ffmpeg, &VideoInput::Path(path), opts, hasher)
            .map_err(|e: VideoError| e.to_string()),
    )
}
