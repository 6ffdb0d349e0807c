//! Videos in a scan: frames hashed with vPDQ (by the `ffmpeg` program, see
//! `nigehbaan-video`) and matched through the lists' video index.
//!
//! * [`vpdq_hits`]: one video's vPDQ hash against one opened list — the
//!   matching `nigehbaan match` and `scan` share.
//! * [`examine`]: what a scan worker does with a video it holds (an open
//!   evidence file or an archive entry's bytes): hash, match, and merge the
//!   hits into the file's result. A video that could not be hashed, or
//!   that the decoder reported damaged, gets an item error: the scan is
//!   then incomplete, and goes on.
//!
//! Files on disk are read through the scan's own read-only `O_NOATIME`
//! descriptor ([`VideoInput::Fd`]), so their access time is kept. `ffmpeg`
//! reads that descriptor front to back; a container that needs seeking (an
//! MP4 whose index sits at its end) fails so, and is then copied through
//! that same descriptor into an anonymous in-memory file (`memfd`, never on
//! disk; the access time is still kept) that `ffmpeg` opens by its `/proc`
//! name, when it fits the scan's in-memory limit. Only a larger one is
//! opened by name ([`VideoInput::Path`]): `ffmpeg` cannot open with
//! `O_NOATIME`, so its access time may change (not on a read-only mount);
//! the item says so in a note. Archive entries that need seeking go to an
//! in-memory file the same way.

use crate::matcher::Matched;
use crate::model::{CategoryRef, Disposition, Hex, Hit, MatchKind};
use nigehbaan_index::SearchError;
use nigehbaan_lists::library::OpenList;
use nigehbaan_lists::Status;
use nigehbaan_pdq::Hasher;
use nigehbaan_video::{
    hash_video, time_ranges, DecodeOptions, Ffmpeg, FrameHash, MatchOptions, MemFile, VideoError,
    VideoHashes, VideoInput, VideoMatch,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a scan hashes and matches videos.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct VideoSettings {
    /// Sampling (`seconds_per_hash`, exact or key frames) and limits.
    pub decode: DecodeOptions,
    /// The vPDQ thresholds.
    pub matching: MatchOptions,
}

/// How videos were examined, as the report's settings record it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoReport {
    /// The `ffmpeg` version that decoded the videos; `None` when it was not
    /// found (videos were then left unexamined).
    pub ffmpeg: Option<String>,
    /// vPDQ's `seconds_per_hash`.
    pub seconds_per_hash: f64,
    /// `exact` (vPDQ's sampling) or `fast` (key frames only).
    pub pipeline: String,
    /// Two frames match at a PDQ distance up to this.
    pub distance: u32,
    /// The least percentage of the scanned video's frames that matched.
    pub query_match_percent: f64,
    /// The least percentage of the listed video's frames that matched.
    pub compared_match_percent: f64,
}

impl VideoReport {
    /// The thresholds near-duplicate video groups use: the scan's, on
    /// frames already filtered by quality.
    pub fn group_options(&self) -> MatchOptions {
        MatchOptions {
            quality_threshold: 0,
            distance: self.distance,
            query_match_percent: self.query_match_percent,
            compared_match_percent: self.compared_match_percent,
        }
    }
}

impl VideoSettings {
    /// What the report records.
    pub fn report(&self) -> VideoReport {
        VideoReport {
            ffmpeg: Ffmpeg::shared().ok().map(|f| f.version().to_string()),
            seconds_per_hash: self.decode.seconds_per_hash,
            pipeline: self.decode.pipeline.name().to_string(),
            distance: self.matching.distance,
            query_match_percent: self.matching.query_match_percent,
            compared_match_percent: self.matching.compared_match_percent,
        }
    }
}

/// The vPDQ details of a hit (fields of the hit in `report.json`).
pub use nigehbaan_video::VpdqDetail;

/// One list video a scanned video matched.
#[derive(Debug, Clone, PartialEq)]
pub struct ListVpdqHit {
    /// The record number in its list.
    pub record: u32,
    /// Percentages and frame counts.
    pub matched: VideoMatch,
    /// Stretches of the query that matched, `(first, last)` seconds.
    pub time_ranges: Vec<(f64, f64)>,
}

impl ListVpdqHit {
    /// The hit's vPDQ details for a report.
    pub fn detail(&self) -> VpdqDetail {
        VpdqDetail::of(&self.matched, &self.time_ranges)
    }
}

/// Every video of `list` that `query` matches under `opts`.
pub fn vpdq_hits(
    list: &OpenList,
    query: &[FrameHash],
    opts: &MatchOptions,
) -> Result<Vec<ListVpdqHit>, SearchError> {
    Ok(list
        .search_vpdq(query, opts, true)?
        .into_iter()
        .map(|h| ListVpdqHit {
            record: h.record,
            time_ranges: time_ranges(query, &h.matched.matched_query_frame_numbers),
            matched: h.matched,
        })
        .collect())
}

/// A video a worker holds.
pub(crate) enum Held {
    /// An evidence file opened read-only (with `O_NOATIME`), and its path
    /// for the fallback by name.
    File {
        file: std::fs::File,
        path: Option<PathBuf>,
    },
    /// An archive entry or a file of a disk image.
    Bytes(Arc<[u8]>),
}

/// Whether a file starting with `head` is a video this scan hashes (PDQ
/// on, `ffmpeg` found).
pub(crate) fn wanted(pdq: bool, head: &[u8]) -> bool {
    let head = &head[..head.len().min(crate::opaque::OPAQUE_DETECT_BYTES)];
    pdq && matches!(
        crate::opaque::detect(head),
        Some(crate::opaque::Opaque::Video(_))
    ) && Ffmpeg::shared().is_ok()
}

/// The video of an open file, when it is one this scan hashes (a second
/// descriptor of the same open file; the caller's offset is untouched).
pub(crate) fn held_file(pdq: bool, file: &std::fs::File, path: Option<&Path>) -> Option<Held> {
    use std::os::unix::fs::FileExt;
    let mut head = vec![0u8; crate::opaque::OPAQUE_DETECT_BYTES];
    let mut n = 0;
    while n < head.len() {
        match file.read_at(&mut head[n..], n as u64) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    if !wanted(pdq, &head[..n]) {
        return None;
    }
    Some(Held::File {
        file: file.try_clone().ok()?,
        path: path.map(Path::to_path_buf),
    })
}

/// Hashes the held video `name` (a file that needs seeking is copied into
/// memory when it is at most `mem_limit` bytes), matches it against
/// `lists`, and merges
/// the hits, notes and any error into `m`. When the file is then still
/// unmatched, its usable frame hashes go to `out` (for near-duplicate
/// video groups), with the video's length (for progress). Returns the error text for the item when
/// the video could not be (fully) examined.
#[allow(clippy::too_many_arguments)]
pub(crate) fn examine(
    settings: &VideoSettings,
    lists: &[OpenList],
    held: Held,
    name: &str,
    mem_limit: u64,
    hasher: &mut Hasher,
    m: &mut Matched,
    out: &mut Examined,
) -> Option<String> {
    let ffmpeg = match Ffmpeg::shared() {
        Ok(f) => f,
        // The walk already named it (`unexamined-video`).
        Err(_) => return None,
    };
    let shown = Path::new(name);
    let hashed = match &held {
        Held::File { file, path } => {
            use std::os::fd::AsFd;
            let first = hash_video(
                ffmpeg,
                &VideoInput::Fd {
                    fd: file.as_fd(),
                    name: shown,
                },
                &settings.decode,
                hasher,
            );
            let small = file.metadata().is_ok_and(|md| md.len() <= mem_limit);
            match (first, path) {
                // Copied through the scan's own descriptor into memory:
                // the access time is kept.
                (Err(e), _) if small && needs_seeking(&e) => {
                    from_memory(ffmpeg, MemFile::copy_of(file), e, name, settings, hasher)
                }
                (Err(e), Some(p)) if needs_seeking(&e) => {
                    m.notes.push(
                        "video read by name (it needs seeking and is too large to hold in \
                         memory): its access time may have changed"
                            .into(),
                    );
                    hash_video(ffmpeg, &VideoInput::Path(p), &settings.decode, hasher)
                        .map_err(|e| e.to_string())
                }
                (r, _) => r.map_err(|e| e.to_string()),
            }
        }
        Held::Bytes(bytes) => {
            let first = hash_video(
                ffmpeg,
                &VideoInput::Bytes {
                    bytes: bytes.clone(),
                    name: shown,
                },
                &settings.decode,
                hasher,
            );
            match first {
                Err(e) if needs_seeking(&e) => {
                    from_memory(ffmpeg, MemFile::new(bytes), e, name, settings, hasher)
                }
                r => r.map_err(|e| e.to_string()),
            }
        }
    };
    let hashed: VideoHashes = match hashed {
        Ok(h) => h,
        Err(e) => return Some(format!("video frames not examined: {e}")),
    };
    m.notes.push(format!(
        "video: {} frames hashed with vPDQ ({}×{}, {})",
        hashed.vpdq.frames.len(),
        hashed.info.width,
        hashed.info.height,
        hashed.info.codec
    ));
    let mut error = None;
    if !hashed.decoder_messages.is_empty() {
        error = Some(format!(
            "video partly decoded (damaged or truncated; frames may be missing): {}",
            hashed.decoder_messages.trim()
        ));
    }
    if let Some(e) = merge_hits(lists, &hashed.vpdq.frames, &settings.matching, m) {
        error = Some(match error {
            Some(first) => format!("{first}; {e}"),
            None => e,
        });
    }
    if m.disposition == Disposition::Unmatched {
        out.group_frames = usable_frames(&hashed.vpdq.frames, &settings.matching);
    }
    // The video's length as declared, else up to its last hashed frame.
    let seconds = hashed
        .info
        .duration
        .filter(|d| d.is_finite() && *d >= 0.0)
        .or_else(|| hashed.vpdq.frames.last().map(|f| f.timestamp))
        .unwrap_or(0.0);
    out.video_ms = (seconds * 1000.0).min(u64::MAX as f64) as u64;
    error
}

/// What [`examine`] gives the item besides its hits.
#[derive(Debug, Default)]
pub(crate) struct Examined {
    /// For an unmatched video: its usable frame hashes (near-duplicate
    /// video groups).
    pub group_frames: Vec<Hex<32>>,
    /// Milliseconds of video hashed (progress).
    pub video_ms: u64,
}

/// The frame hashes of `frames` that take part in matching under `opts`
/// (quality ≥ the threshold, the first of identical hashes), compact.
pub(crate) fn usable_frames(frames: &[FrameHash], opts: &MatchOptions) -> Vec<Hex<32>> {
    nigehbaan_video::matching::prepare(frames, opts.quality_threshold)
        .iter()
        .map(|f| Hex(f.pdq.to_bytes()))
        .collect()
}

/// Hashes a video from its in-memory copy `mem` after reading it as a
/// stream failed with `first`; errors name the video by `name`, not by
/// the copy's `/proc` path.
fn from_memory(
    ffmpeg: &Ffmpeg,
    mem: std::io::Result<MemFile>,
    first: VideoError,
    name: &str,
    settings: &VideoSettings,
    hasher: &mut Hasher,
) -> Result<VideoHashes, String> {
    let Ok(mem) = mem else {
        return Err(first.to_string());
    };
    hash_video(
        ffmpeg,
        &VideoInput::Path(mem.proc_path()),
        &settings.decode,
        hasher,
    )
    .map_err(|e| {
        e.to_string()
            .replace(&*mem.proc_path().to_string_lossy(), name)
    })
}

/// Whether a failure reading a video front to back may be a container
/// that needs seeking (an MP4 with its index at the end reports itself as
/// unreadable, or as a decode failure with no frame): worth one retry from
/// a seekable file. Not when `ffmpeg` itself is missing or unusable.
fn needs_seeking(e: &VideoError) -> bool {
    !matches!(
        e,
        VideoError::FfmpegNotFound | VideoError::FfmpegUnusable { .. }
    )
}

/// Matches `query` against every list and adds the hits to `m` (and
/// raises its disposition); returns a list's read error.
pub fn merge_hits(
    lists: &[OpenList],
    query: &[FrameHash],
    opts: &MatchOptions,
    m: &mut Matched,
) -> Option<String> {
    let mut error = None;
    for list in lists {
        let found = match vpdq_hits(list, query, opts) {
            Ok(f) => f,
            Err(e) => {
                error = Some(format!("list {}: {e}", list.name()));
                continue;
            }
        };
        for h in found {
            let r = match list.record(h.record) {
                Ok(r) => r,
                Err(e) => {
                    error = Some(e.to_string());
                    continue;
                }
            };
            match r.status {
                Status::Notable => m.disposition = Disposition::Hit,
                _ if m.disposition == Disposition::Unmatched => m.disposition = Disposition::Known,
                _ => {}
            }
            m.hits.push(Hit {
                list: list.name().to_string(),
                list_version: list.manifest.version.clone(),
                record: h.record,
                match_kind: MatchKind::Vpdq,
                matched_hashes: vec![MatchKind::Vpdq],
                distance: None,
                variant: None,
                listed_hash: None,
                category: r.category.as_ref().map(CategoryRef::of),
                status: r.status,
                record_id: r.id.clone(),
                series: r.flags.series.clone(),
                video: Some(h.detail()),
            });
        }
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(video: Option<VpdqDetail>) -> Hit {
        Hit {
            list: "videos".into(),
            list_version: None,
            record: 3,
            match_kind: MatchKind::Vpdq,
            matched_hashes: vec![MatchKind::Vpdq],
            distance: None,
            variant: None,
            listed_hash: None,
            category: None,
            status: nigehbaan_lists::Status::Notable,
            record_id: None,
            series: None,
            video,
        }
    }

    #[test]
    fn vpdq_details_are_fields_of_the_hit_and_read_back() {
        let detail = ListVpdqHit {
            record: 3,
            matched: VideoMatch {
                query_match_percent: 100.0,
                compared_match_percent: 62.5,
                matched_query_frames: 5,
                query_frames: 5,
                matched_compared_frames: 5,
                compared_frames: 8,
                is_match: true,
                matched_query_frame_numbers: vec![0, 25],
            },
            time_ranges: vec![(0.0, 4.00049)],
        }
        .detail();
        assert_eq!(detail.time_ranges, vec![[0.0, 4.0]]);
        let h = hit(Some(detail));
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["query_match_percent"], 100.0);
        assert_eq!(v["compared_match_percent"], 62.5);
        assert_eq!(v["listed_frames"], 8);
        assert!(v.get("video").is_none());
        let back: Hit = serde_json::from_value(v).unwrap();
        assert_eq!(back, h);
        assert!(back.how().contains("vpdq 100.0%"));
        // A hit without vPDQ details has none of the fields, and reads back
        // without them.
        let plain = hit(None);
        let v = serde_json::to_value(&plain).unwrap();
        assert!(v.get("query_match_percent").is_none());
        let back: Hit = serde_json::from_value(v).unwrap();
        assert_eq!(back, plain);
    }
}
