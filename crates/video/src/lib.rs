//! # nigehbaan-video
//!
//! Video as a first-class medium: detection by content, vPDQ-compatible
//! per-frame PDQ hashes (frames decoded by the `ffmpeg` program run as a
//! child process, never linked), and vPDQ matching as python-threatexchange
//! does it.
//!
//! * [`detect`]: is this a video container, by its first bytes.
//! * [`hash_video`]: probe and hash a video file (or bytes) with `ffmpeg`.
//! * [`core`]: the decoder-independent vPDQ core ([`FrameSource`],
//!   sampling, timestamps, per-frame PDQ).
//! * [`matching`]: [`match_videos`] and the [`Aggregator`] over a frame
//!   index.
//! * [`format`]: the reference tool's per-video file and HMA's signal
//!   string.
//! * [`VideoIndex`]: a list of videos in the PDQ index (frame → records).
//! * [`synthetic`]: synthetic vPDQ hashes for tests and benchmarks.
//! * `memfile` (Linux): bytes in an anonymous in-memory file that an
//!   `ffmpeg` child can seek in (uploads to the service).
//!
//! Without `ffmpeg`, [`hash_video`] fails with
//! [`VideoError::FfmpegNotFound`], whose message says how to install it.

#![warn(missing_docs)]

pub mod core;
mod detect;
mod error;
pub mod ffmpeg;
pub mod format;
mod index;
pub mod matching;
#[cfg(target_os = "linux")]
pub mod memfile;
pub mod synthetic;

pub use crate::core::{FrameHash, FrameSource, RgbFrame, VideoPipeline, VpdqHash};
pub use detect::{detect, VideoKind, DETECT_HEAD_LEN};
pub use error::{ParseError, VideoError, INSTALL_HINT};
pub use ffmpeg::{DecodeOptions, Ffmpeg, Limits, StreamInfo};
pub use index::VideoIndex;
pub use matching::{match_videos, time_ranges, Aggregator, MatchOptions, VideoMatch, VpdqDetail};
#[cfg(target_os = "linux")]
pub use memfile::MemFile;

use nigehbaan_pdq::Hasher;
use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What to hash: a file, or bytes held in memory (fed to `ffmpeg` on a
/// pipe: a container that needs seeking, such as an MP4 whose index sits at
/// its end, may then fail to open — use a file for those).
#[derive(Debug, Clone)]
pub enum VideoInput<'a> {
    /// A file on disk (opened read-only by the child).
    Path(&'a Path),
    /// Bytes, with a name for messages.
    Bytes {
        /// The video.
        bytes: Arc<[u8]>,
        /// The name errors carry.
        name: &'a Path,
    },
    /// A file the caller has already opened (for evidence: read-only, with
    /// `O_NOATIME`). The child reads through this very open file (its
    /// standard input is a duplicate of the descriptor, rewound to the
    /// start for each child), so the file's access time is not changed and
    /// nothing is opened by name. Read sequentially, like [`VideoInput::Bytes`]:
    /// a container whose index sits at its end (an MP4 written without
    /// "faststart") cannot be opened this way and fails as
    /// [`VideoError::Unreadable`]. The descriptor's offset is moved.
    #[cfg(unix)]
    Fd {
        /// The open file.
        fd: std::os::fd::BorrowedFd<'a>,
        /// The name errors carry.
        name: &'a Path,
    },
}

impl VideoInput<'_> {
    /// The path errors name.
    pub fn display_path(&self) -> &Path {
        match self {
            VideoInput::Path(p) => p,
            VideoInput::Bytes { name, .. } => name,
            #[cfg(unix)]
            VideoInput::Fd { name, .. } => name,
        }
    }

    /// The `-i` argument (a `file:` URL, so that no name is taken for a
    /// protocol or an option) and what the child reads on stdin.
    pub(crate) fn ffmpeg_input(&self) -> std::io::Result<(OsString, ffmpeg::Feed)> {
        Ok(match self {
            VideoInput::Path(p) => {
                let mut s = OsString::from("file:");
                s.push(p.as_os_str());
                (s, ffmpeg::Feed::Null)
            }
            VideoInput::Bytes { bytes, .. } => {
                (OsString::from("pipe:0"), ffmpeg::Feed::Bytes(bytes.clone()))
            }
            #[cfg(unix)]
            VideoInput::Fd { fd, .. } => (
                OsString::from("pipe:0"),
                ffmpeg::Feed::Fd(fd.try_clone_to_owned()?),
            ),
        })
    }
}

/// A hashed video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoHashes {
    /// The first video stream as declared.
    pub info: StreamInfo,
    /// Its vPDQ hash.
    pub vpdq: VpdqHash,
    /// Errors the decoder printed although it finished (damaged data it
    /// skipped); empty when none. Frames may be missing when set.
    pub decoder_messages: String,
}

/// Probes and hashes `input`'s first video stream: vPDQ's exact sampling
/// (frames `index % max(1, int(fps × seconds_per_hash)) == 0`) or key frames
/// only (`fast`). Frames are hashed as they come off the pipe.
pub fn hash_video(
    ffmpeg: &Ffmpeg,
    input: &VideoInput<'_>,
    opts: &DecodeOptions,
    hasher: &mut Hasher,
) -> Result<VideoHashes, VideoError> {
    let started = Instant::now();
    let running = ffmpeg::Running::start();
    let opts = &DecodeOptions {
        threads: opts.threads.or_else(|| Some(running.share())),
        ..*opts
    };
    let mut source = match opts.pipeline {
        // Key frames need no frame rate before decoding: the decoding
        // child describes the stream itself (one process, not two).
        VideoPipeline::Fast => ffmpeg::PipeSource::start_unprobed(ffmpeg, input, *opts, started)?,
        VideoPipeline::Exact => {
            let info = ffmpeg.probe(input, opts.limits.wall_time)?;
            ffmpeg::PipeSource::new(ffmpeg, input, info, *opts, started)?
        }
    };
    let info = source.info().clone();
    let frames = match opts.pipeline {
        VideoPipeline::Exact => core::hash_source(&mut source, opts.seconds_per_hash, hasher)?,
        VideoPipeline::Fast => {
            let fps = source.frame_rate();
            let mut out = Vec::new();
            while let Some((i, frame)) = source.next_frame()? {
                out.push(core::hash_frame(i, &frame, fps, hasher)?);
            }
            out
        }
    };
    if frames.is_empty() {
        return Err(VideoError::NoFrames {
            path: input.display_path().to_path_buf(),
            detail: source.decoder_messages().to_string(),
        });
    }
    Ok(VideoHashes {
        info,
        vpdq: VpdqHash {
            frames,
            pipeline: opts.pipeline,
        },
        decoder_messages: source.decoder_messages().to_string(),
    })
}
