//! `nigehbaan match` on videos: query videos (files hashed with the
//! `ffmpeg` program, or reference-format vPDQ files given with `--vpdq`)
//! matched against the lists' video indexes. The matching itself is
//! [`vpdq_hits`]: hashes in, typed hits out.

use clap::Args;
use nigehbaan_lists::library::OpenList;
use nigehbaan_pdq::Hasher;
use nigehbaan_video::format::parse_reference;
use nigehbaan_video::{
    detect, hash_video, time_ranges, DecodeOptions, Ffmpeg, FrameHash, MatchOptions, VideoError,
    VideoInput, VideoMatch, VideoPipeline,
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
    /// Videos: hash key frames only (triage; lower recall, see --help of
    /// `nigehbaan hash`).
    #[arg(long)]
    fast: bool,
}

impl VideoMatchArgs {
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

    /// How query videos are hashed.
    pub fn decode_options(&self) -> Result<DecodeOptions, String> {
        if !(self.seconds_per_hash.is_finite() && self.seconds_per_hash >= 0.0) {
            return Err("--seconds-per-hash must be 0 or more".into());
        }
        Ok(DecodeOptions {
            seconds_per_hash: self.seconds_per_hash,
            pipeline: if self.fast {
                VideoPipeline::Fast
            } else {
                VideoPipeline::Exact
            },
            ..DecodeOptions::default()
        })
    }

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

/// One list video a query video matched.
#[derive(Debug, Clone, PartialEq)]
pub struct VpdqHit {
    /// The record number in its list.
    pub record: u32,
    /// Percentages and frame counts.
    pub matched: VideoMatch,
    /// Stretches of the query that matched, `(first, last)` seconds.
    pub time_ranges: Vec<(f64, f64)>,
}

/// Every video of `list` the query video matches under `opts`.
pub fn vpdq_hits(
    list: &OpenList,
    query: &[FrameHash],
    opts: &MatchOptions,
) -> Result<Vec<VpdqHit>, String> {
    let found = list
        .search_vpdq(query, opts, true)
        .map_err(|e| format!("list {}: {e}", list.name()))?;
    Ok(found
        .into_iter()
        .map(|h| VpdqHit {
            record: h.record,
            time_ranges: time_ranges(query, &h.matched.matched_query_frame_numbers),
            matched: h.matched,
        })
        .collect())
}

/// The match fields of a vPDQ hit (`match: "vpdq"`, both percentages,
/// frame counts, time ranges).
pub fn hit_fields(hit: &VpdqHit) -> Map<String, Value> {
    let m = &hit.matched;
    let mut o = Map::new();
    o.insert("match".into(), json!("vpdq"));
    o.insert("query_match_percent".into(), json!(m.query_match_percent));
    o.insert(
        "compared_match_percent".into(),
        json!(m.compared_match_percent),
    );
    o.insert("matched_frames".into(), json!(m.matched_query_frames));
    o.insert("query_frames".into(), json!(m.query_frames));
    o.insert(
        "matched_listed_frames".into(),
        json!(m.matched_compared_frames),
    );
    o.insert("listed_frames".into(), json!(m.compared_frames));
    o.insert(
        "time_ranges".into(),
        json!(hit
            .time_ranges
            .iter()
            .map(|(a, b)| [round3(*a), round3(*b)])
            .collect::<Vec<_>>()),
    );
    o
}

fn round3(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
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
