//! What a video's first video stream declares: codec, size, frame rate,
//! rotation, duration — from `ffprobe`'s JSON, or from the banner
//! `ffmpeg -i` prints when there is no `ffprobe`.

use super::run::output_with_limit;
use super::Ffmpeg;
use crate::error::VideoError;
use crate::VideoInput;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

/// The first video stream, as declared by the container.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// Codec name as FFmpeg calls it (`h264`, `hevc`, `vp9`, `mpeg4`…).
    pub codec: String,
    /// Coded width in pixels (frames are hashed at this size).
    pub width: u32,
    /// Coded height in pixels.
    pub height: u32,
    /// Frame rate used for sampling and timestamps: the stream's average
    /// frame rate, else its base rate.
    pub fps: f64,
    /// Display rotation in degrees, 0..360, as FFmpeg reports the display
    /// matrix (counter-clockwise); reported, never applied.
    pub rotation: u32,
    /// Duration in seconds (stream's, else the container's), if declared.
    pub duration: Option<f64>,
}

fn rational(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d): (f64, f64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    let v = n / d;
    (v.is_finite() && v > 0.0).then_some(v)
}

fn normalise_rotation(r: f64) -> u32 {
    if !r.is_finite() {
        return 0;
    }
    (r.round() as i64).rem_euclid(360) as u32
}

/// Parses `ffprobe -show_entries … -of json` output. `Ok(None)` means no
/// video stream.
pub fn parse_ffprobe_json(text: &str) -> Option<Option<StreamInfo>> {
    let v: Value = serde_json::from_str(text).ok()?;
    let Some(s) = v
        .get("streams")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    else {
        return Some(None);
    };
    let str_of = |k: &str| s.get(k).and_then(Value::as_str);
    let fps = str_of("avg_frame_rate")
        .and_then(rational)
        .or_else(|| str_of("r_frame_rate").and_then(rational))
        .unwrap_or(0.0);
    let side_rotation = s
        .get("side_data_list")
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter()
                .find_map(|d| d.get("rotation").and_then(Value::as_f64))
        });
    let tag_rotation = s
        .get("tags")
        .and_then(|t| t.get("rotate"))
        .and_then(Value::as_str)
        .and_then(|r| r.trim().parse::<f64>().ok());
    let duration = str_of("duration")
        .and_then(|d| d.parse::<f64>().ok())
        .or_else(|| {
            v.get("format")
                .and_then(|f| f.get("duration"))
                .and_then(Value::as_str)
                .and_then(|d| d.parse::<f64>().ok())
        })
        .filter(|d| d.is_finite() && *d >= 0.0);
    let dim = |k: &str| {
        s.get(k)
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .min(u64::from(u32::MAX)) as u32
    };
    Some(Some(StreamInfo {
        codec: str_of("codec_name").unwrap_or("unknown").to_string(),
        width: dim("width"),
        height: dim("height"),
        fps,
        rotation: normalise_rotation(side_rotation.or(tag_rotation).unwrap_or(0.0)),
        duration,
    }))
}

/// The banner's frame rates are rounded ("29.97 fps"): the NTSC rates are
/// restored to their exact fractions.
fn refine_rate(v: f64) -> f64 {
    [
        24000.0 / 1001.0,
        30000.0 / 1001.0,
        60000.0 / 1001.0,
        120000.0 / 1001.0,
    ]
    .into_iter()
    .find(|x| (x - v).abs() < 0.006)
    .unwrap_or(v)
}

/// Parses what `ffmpeg -i IN` prints about its input (no `ffprobe`).
/// `None` when no video stream is described.
pub fn parse_ffmpeg_banner(text: &str) -> Option<StreamInfo> {
    let mut duration = None;
    let mut info: Option<StreamInfo> = None;
    let mut in_video = false;
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("Duration: ") {
            let d = rest.split(',').next().unwrap_or("");
            let parts: Vec<f64> = d.split(':').filter_map(|p| p.parse().ok()).collect();
            if parts.len() == 3 {
                duration = Some(parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]);
            }
        }
        if l.starts_with("Stream #") {
            in_video = false;
            if info.is_none() {
                if let Some((_, rest)) = l.split_once(": Video: ") {
                    in_video = true;
                    let codec = rest
                        .split([' ', ','])
                        .next()
                        .unwrap_or("unknown")
                        .to_string();
                    let (mut width, mut height, mut fps, mut tbr) = (0, 0, None, None);
                    for part in rest.split(", ") {
                        let first = part.split_whitespace().next().unwrap_or("");
                        if let Some((w, h)) = first.split_once('x') {
                            if let (Ok(w), Ok(h)) = (w.parse(), h.parse()) {
                                if width == 0 {
                                    (width, height) = (w, h);
                                }
                            }
                        }
                        let mut words = part.split_whitespace();
                        if let (Some(n), Some(unit)) = (words.next(), words.next()) {
                            let n = n.trim_end_matches('k').parse::<f64>().ok();
                            match unit {
                                "fps" => fps = n,
                                "tbr" => tbr = n,
                                _ => {}
                            }
                        }
                    }
                    info = Some(StreamInfo {
                        codec,
                        width,
                        height,
                        fps: refine_rate(fps.or(tbr).unwrap_or(0.0)),
                        rotation: 0,
                        duration: None,
                    });
                }
            }
        } else if in_video {
            if let Some(rest) = l.split_once("rotation of ").map(|(_, r)| r) {
                let deg = rest
                    .split_whitespace()
                    .next()
                    .and_then(|d| d.parse::<f64>().ok());
                if let (Some(i), Some(d)) = (info.as_mut(), deg) {
                    i.rotation = normalise_rotation(d);
                }
            }
        }
    }
    info.map(|mut i| {
        i.duration = duration;
        i
    })
}

fn shorten(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut s = lines.join("; ");
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

pub(crate) fn short_message(stderr: &[u8]) -> String {
    shorten(stderr)
}

impl Ffmpeg {
    /// Probes the first video stream of `input` within `timeout`.
    pub fn probe(
        &self,
        input: &VideoInput<'_>,
        timeout: Duration,
    ) -> Result<StreamInfo, VideoError> {
        let path = input.display_path().to_path_buf();
        let io_err = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::TimedOut {
                VideoError::TimedOut {
                    path: path.clone(),
                    limit: timeout,
                    frames_hashed: 0,
                }
            } else {
                VideoError::Io {
                    path: path.clone(),
                    action: "running the probe",
                    source: e,
                }
            }
        };
        let (arg, feed) = input.ffmpeg_input().map_err(|e| VideoError::Io {
            path: path.clone(),
            action: "sharing the open file with ffmpeg",
            source: e,
        })?;
        if let Some(ffprobe) = self.ffprobe() {
            let mut cmd = Command::new(ffprobe);
            cmd.args(["-v", "error", "-protocol_whitelist", feed.protocols()])
                .args(["-select_streams", "v:0", "-show_entries"])
                .arg("stream=codec_name,width,height,avg_frame_rate,r_frame_rate,duration:stream_tags=rotate:stream_side_data=rotation:format=duration")
                .args(["-of", "json", "-i"])
                .arg(arg);
            let out = output_with_limit(cmd, &feed, timeout, 1 << 20).map_err(io_err)?;
            if !out.status.success() {
                return Err(VideoError::Unreadable {
                    path,
                    detail: shorten(&out.stderr),
                });
            }
            return match parse_ffprobe_json(&String::from_utf8_lossy(&out.stdout)) {
                Some(Some(info)) => Ok(info),
                Some(None) => Err(VideoError::NoVideoStream { path }),
                None => Err(VideoError::Unreadable {
                    path,
                    detail: "ffprobe's answer is not JSON".into(),
                }),
            };
        }
        let mut cmd = Command::new(self.program());
        cmd.args([
            "-hide_banner",
            "-nostdin",
            "-protocol_whitelist",
            feed.protocols(),
            "-i",
        ])
        .arg(arg);
        let out = output_with_limit(cmd, &feed, timeout, 1 << 20).map_err(io_err)?;
        let text = String::from_utf8_lossy(&out.stderr);
        match parse_ffmpeg_banner(&text) {
            Some(info) => Ok(info),
            None if text.contains("Input #") => Err(VideoError::NoVideoStream { path }),
            None => Err(VideoError::Unreadable {
                path,
                detail: shorten(&out.stderr),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffprobe_json() {
        let text = r#"{"programs": [], "streams": [{"codec_name": "h264", "width": 160,
            "height": 120, "r_frame_rate": "30000/1001", "avg_frame_rate": "30000/1001",
            "duration": "1.001000", "tags": {}, "side_data_list": [{"rotation": -90}]}],
            "format": {"duration": "1.001000"}}"#;
        let i = parse_ffprobe_json(text).unwrap().unwrap();
        assert_eq!(i.codec, "h264");
        assert_eq!((i.width, i.height), (160, 120));
        assert_eq!(i.fps, 30000.0 / 1001.0);
        assert_eq!(i.rotation, 270);
        assert_eq!(i.duration, Some(1.001));
        // avg_frame_rate 0/0 falls back to r_frame_rate.
        let text = r#"{"streams": [{"codec_name": "vp9", "avg_frame_rate": "0/0",
            "r_frame_rate": "25/1", "tags": {"rotate": "90"}}], "format": {"duration": "2.5"}}"#;
        let i = parse_ffprobe_json(text).unwrap().unwrap();
        assert_eq!((i.fps, i.rotation, i.duration), (25.0, 90, Some(2.5)));
        assert_eq!((i.width, i.height), (0, 0));
        assert_eq!(parse_ffprobe_json(r#"{"streams": []}"#), Some(None));
        assert_eq!(parse_ffprobe_json("nope"), None);
    }

    #[test]
    fn ffmpeg_banner() {
        let text = "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'rot.mp4':
  Duration: 00:01:01.50, start: 0.000000, bitrate: 157 kb/s
  Stream #0:0[0x1](und): Audio: aac (LC), 44100 Hz, stereo, fltp, 64 kb/s
  Stream #0:1[0x2](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 160x120 [SAR 1:1 DAR 4:3], 147 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
At least one output file must be specified";
        let i = parse_ffmpeg_banner(text).unwrap();
        assert_eq!(i.codec, "h264");
        assert_eq!((i.width, i.height), (160, 120));
        assert_eq!(i.fps, 30000.0 / 1001.0);
        assert_eq!(i.rotation, 270);
        assert_eq!(i.duration, Some(61.5));
        let audio = "Input #0, wav, from 'a.wav':\n  Stream #0:0: Audio: pcm_s16le, 44100 Hz\n";
        assert_eq!(parse_ffmpeg_banner(audio), None);
    }
}
