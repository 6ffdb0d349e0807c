//! The `ffmpeg` program as a child process: finding it, probing a video's
//! first video stream, and decoding its sampled frames to RGB24 on a pipe.
//! Nothing is linked and nothing is ever downloaded.

mod decode;
mod probe;
mod run;

pub(crate) use decode::Running;
pub use decode::{DecodeOptions, Limits, PipeSource};
pub use probe::{parse_ffmpeg_banner, parse_ffprobe_json, StreamInfo};
pub(crate) use run::Feed;

use crate::error::VideoError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// Environment variable naming the `ffmpeg` program to use.
pub const FFMPEG_ENV: &str = "NIGEHBAAN_FFMPEG";

/// A located and version-checked `ffmpeg` (and `ffprobe` when it sits next
/// to it).
#[derive(Debug, Clone)]
pub struct Ffmpeg {
    program: PathBuf,
    ffprobe: Option<PathBuf>,
    version: String,
    /// `-fps_mode` exists (FFmpeg ≥ 5.1); older ones take `-vsync`.
    fps_mode: bool,
}

fn exe_name(stem: &str) -> String {
    format!("{stem}{}", std::env::consts::EXE_SUFFIX)
}

fn search_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Parses `ffmpeg version X…` from the first line of `-version`; returns
/// the version text and whether `-fps_mode` is available.
fn parse_version(first_line: &str) -> Option<(String, bool)> {
    let rest = first_line.strip_prefix("ffmpeg version ")?;
    let version = rest.split_whitespace().next()?.to_string();
    let mut nums = version
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .split(|c: char| !c.is_ascii_digit());
    let major: u32 = nums.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let minor: u32 = nums.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    // Git builds say "N-12345-g…": treat as new.
    let fps_mode = version.starts_with('N') || major > 5 || (major == 5 && minor >= 1);
    Some((version, fps_mode))
}

impl Ffmpeg {
    /// Finds `ffmpeg` (`NIGEHBAAN_FFMPEG`, else `PATH`) and checks that it
    /// answers `-version` like FFmpeg.
    pub fn locate() -> Result<Ffmpeg, VideoError> {
        let program = match std::env::var_os(FFMPEG_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => search_path(&exe_name("ffmpeg")).ok_or(VideoError::FfmpegNotFound)?,
        };
        Ffmpeg::with_program(&program)
    }

    /// Like [`Ffmpeg::locate`], but done once per process and shared.
    pub fn shared() -> Result<&'static Ffmpeg, &'static VideoError> {
        static ONCE: OnceLock<Result<Ffmpeg, VideoError>> = OnceLock::new();
        ONCE.get_or_init(Ffmpeg::locate).as_ref()
    }

    /// Uses the given program, checking its version.
    pub fn with_program(program: &Path) -> Result<Ffmpeg, VideoError> {
        if !program.is_file() {
            return Err(VideoError::FfmpegNotFound);
        }
        let unusable =
            |reason: String, source: Option<std::io::Error>| VideoError::FfmpegUnusable {
                program: program.to_path_buf(),
                reason,
                source,
            };
        let mut cmd = Command::new(program);
        cmd.arg("-version")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let out = run::output_with_limit(cmd, &run::Feed::Null, Duration::from_secs(20), 1 << 16)
            .map_err(|e| unusable("could not run it".into(), Some(e)))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text.lines().next().unwrap_or("");
        let (version, fps_mode) = parse_version(first)
            .ok_or_else(|| unusable("it does not answer -version like FFmpeg".into(), None))?;
        let ffprobe = program
            .parent()
            .map(|d| d.join(exe_name("ffprobe")))
            .filter(|p| p.is_file());
        Ok(Ffmpeg {
            program: program.to_path_buf(),
            ffprobe,
            version,
            fps_mode,
        })
    }

    /// The program's path.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Its version text (`5.1.6-0+deb12u1`, …).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The `ffprobe` next to it, if there is one.
    pub fn ffprobe(&self) -> Option<&Path> {
        self.ffprobe.as_deref()
    }

    pub(crate) fn has_fps_mode(&self) -> bool {
        self.fps_mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = parse_version("ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024").unwrap();
        assert_eq!(v, ("5.1.6-0+deb12u1".to_string(), true));
        assert!(
            !parse_version("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright")
                .unwrap()
                .1
        );
        assert!(parse_version("ffmpeg version 7.0 Copyright").unwrap().1);
        assert!(parse_version("ffmpeg version n6.1.1 Copyright").unwrap().1);
        assert!(
            parse_version("ffmpeg version N-113010-g1234 Copyright")
                .unwrap()
                .1
        );
        assert!(parse_version("avconv version 9").is_none());
    }
}
