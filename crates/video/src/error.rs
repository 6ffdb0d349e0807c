//! Typed errors. Context (path, line, frame number…) is carried as data.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// How to get the `ffmpeg` program, appended to every "not found" message.
pub const INSTALL_HINT: &str =
    "install it: apt-get install ffmpeg (Debian/Ubuntu), brew install ffmpeg (macOS), winget install ffmpeg (Windows)";

/// Why a video could not be perceptually hashed.
#[derive(Debug)]
#[non_exhaustive]
pub enum VideoError {
    /// The `ffmpeg` program was not found (neither `NIGEHBAAN_FFMPEG` nor `PATH`).
    FfmpegNotFound,
    /// `ffmpeg` was found but could not be run or did not answer `-version`
    /// like FFmpeg does.
    FfmpegUnusable {
        /// The program that was tried.
        program: PathBuf,
        /// What went wrong.
        reason: String,
        /// The underlying I/O error, if any.
        source: Option<io::Error>,
    },
    /// Starting or talking to the child process failed.
    Io {
        /// The video being hashed.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// The file has no video stream (audio only, or not a video at all).
    NoVideoStream {
        /// The video being hashed.
        path: PathBuf,
    },
    /// The probe could not read the file (malformed, truncated, unknown
    /// container); `detail` is FFmpeg's own message, shortened.
    Unreadable {
        /// The video being hashed.
        path: PathBuf,
        /// FFmpeg's message.
        detail: String,
    },
    /// The stream declares no usable frame rate.
    NoFrameRate {
        /// The video being hashed.
        path: PathBuf,
    },
    /// The stream declares a frame size larger than the limit (refused
    /// before decoding) or an empty one.
    BadFrameSize {
        /// The video being hashed.
        path: PathBuf,
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// The pixel limit in force.
        max_pixels: u64,
    },
    /// A frame is smaller than PDQ's minimum (5 px a side).
    FrameTooSmall {
        /// Frame number (decoder order, from 0).
        frame: u64,
        /// Width.
        width: usize,
        /// Height.
        height: usize,
    },
    /// The wall-time limit was reached; the child was killed.
    TimedOut {
        /// The video being hashed.
        path: PathBuf,
        /// The limit.
        limit: Duration,
        /// Frames hashed before the limit.
        frames_hashed: u64,
    },
    /// The byte or frame budget was exhausted; the child was killed.
    BudgetExceeded {
        /// The video being hashed.
        path: PathBuf,
        /// Which budget: "bytes" or "frames".
        budget: &'static str,
        /// The limit.
        limit: u64,
    },
    /// The decoder failed part way (the frames hashed so far are not a
    /// complete vPDQ hash of the file).
    DecodeFailed {
        /// The video being hashed.
        path: PathBuf,
        /// Frames hashed before the failure.
        frames_hashed: u64,
        /// Exit status of the decoder, as text.
        status: String,
        /// FFmpeg's message, shortened.
        detail: String,
    },
    /// The decoder finished without producing a single frame: nothing of
    /// the video was looked at.
    NoFrames {
        /// The video being hashed.
        path: PathBuf,
        /// FFmpeg's message, shortened (may be empty).
        detail: String,
    },
    /// A frame source (other than ffmpeg) failed.
    Source {
        /// Frame number at which it failed.
        frame: u64,
        /// The source's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl fmt::Display for VideoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VideoError::FfmpegNotFound => {
                write!(f, "not perceptually hashed: ffmpeg not found; {INSTALL_HINT}")
            }
            VideoError::FfmpegUnusable { program, reason, .. } => write!(
                f,
                "not perceptually hashed: ffmpeg at {} is unusable: {reason}",
                program.display()
            ),
            VideoError::Io { path, action, .. } => {
                write!(f, "{}: {action} failed", path.display())
            }
            VideoError::NoVideoStream { path } => {
                write!(f, "{}: no video stream", path.display())
            }
            VideoError::Unreadable { path, detail } => {
                write!(f, "{}: not a readable video: {detail}", path.display())
            }
            VideoError::NoFrameRate { path } => {
                write!(f, "{}: the video stream declares no frame rate", path.display())
            }
            VideoError::BadFrameSize {
                path,
                width,
                height,
                max_pixels,
            } => write!(
                f,
                "{}: declared frame size {width}x{height} refused (empty, or over {max_pixels} pixels)",
                path.display()
            ),
            VideoError::FrameTooSmall {
                frame,
                width,
                height,
            } => write!(
                f,
                "frame {frame} is {width}x{height}, under PDQ's minimum of 5 pixels a side"
            ),
            VideoError::TimedOut {
                path,
                limit,
                frames_hashed,
            } => write!(
                f,
                "{}: decoding exceeded the time limit of {} s after {frames_hashed} hashed frames; stopped",
                path.display(),
                limit.as_secs_f64()
            ),
            VideoError::BudgetExceeded {
                path,
                budget,
                limit,
            } => write!(
                f,
                "{}: decoding exceeded the {budget} budget of {limit}; stopped",
                path.display()
            ),
            VideoError::DecodeFailed {
                path,
                frames_hashed,
                status,
                detail,
            } => write!(
                f,
                "{}: decoding failed after {frames_hashed} hashed frames ({status}): {detail}",
                path.display()
            ),
            VideoError::NoFrames { path, detail } => {
                write!(f, "{}: no frame could be decoded", path.display())?;
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            VideoError::Source { frame, .. } => {
                write!(f, "the frame source failed at frame {frame}")
            }
        }
    }
}

impl std::error::Error for VideoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VideoError::FfmpegUnusable {
                source: Some(e), ..
            } => Some(e),
            VideoError::Io { source, .. } => Some(source),
            VideoError::Source { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// Why a reference-format file or a signal string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// A line (1-based) or array element (1-based) has the wrong number of
    /// comma-separated fields.
    FieldCount {
        /// Line or element number, from 1.
        line: usize,
        /// Fields found.
        found: usize,
        /// Fields expected.
        expected: usize,
    },
    /// A field is not what it should be.
    BadField {
        /// Line or element number, from 1.
        line: usize,
        /// The field's name ("frame_number", "quality", "pdq", "timestamp").
        field: &'static str,
    },
    /// The signal string is not a JSON array of strings.
    NotJsonArray,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::FieldCount {
                line,
                found,
                expected,
            } => write!(f, "entry {line}: {found} fields, expected {expected}"),
            ParseError::BadField { line, field } => {
                write!(f, "entry {line}: invalid {field}")
            }
            ParseError::NotJsonArray => f.write_str("not a JSON array of strings"),
        }
    }
}

impl std::error::Error for ParseError {}
