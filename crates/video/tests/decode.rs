//! Decoding tests on small benign videos generated at test time with the
//! `ffmpeg` program from procedural sources (testsrc2, mandelbrot, sine).
//!
//! Run when ffmpeg is present; fail under CI=true when it is missing;
//! otherwise skip with a one-line note.

use nigehbaan_pdq::{Hasher, ImageView, Pipeline};
use nigehbaan_video::{
    core::frame_modulus, detect, hash_video, DecodeOptions, Ffmpeg, Limits, VideoError, VideoInput,
    VideoKind, VideoPipeline, INSTALL_HINT,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

const SUITE: &str = "video-decode-tests";

fn ffmpeg() -> Option<Ffmpeg> {
    common::ffmpeg("the video decoding tests")
}

fn dir() -> PathBuf {
    common::dir(SUITE)
}

fn make(ff: &Ffmpeg, name: &str, args: &[&str]) -> PathBuf {
    common::make(ff, SUITE, name, args)
}

fn opts() -> DecodeOptions {
    DecodeOptions {
        limits: Limits {
            wall_time: Duration::from_secs(60),
            ..Limits::default()
        },
        ..DecodeOptions::default()
    }
}

/// Every frame of `path` as RGB24 at its coded size, decoded by a plain
/// ffmpeg run without any frame selection: the independent oracle.
fn all_frames(ff: &Ffmpeg, path: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
    let out = Command::new(ff.program())
        .args(["-v", "error", "-nostdin", "-noautorotate", "-i"])
        .arg(path)
        .args([
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-sws_flags",
            "area",
        ])
        .args(["-pix_fmt", "rgb24", "-f", "rawvideo", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout.chunks(w * h * 3).map(<[u8]>::to_vec).collect()
}

fn head(path: &Path) -> Vec<u8> {
    let b = std::fs::read(path).unwrap();
    b[..b.len().min(1024)].to_vec()
}

#[test]
fn h264_at_29_97_matches_an_independent_decode() {
    let Some(ff) = ffmpeg() else { return };
    let v = make(
        &ff,
        "ntsc.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=30000/1001",
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-g",
            "12",
        ],
    );
    assert_eq!(detect(&head(&v)), Some(VideoKind::Mp4));
    let mut hasher = Hasher::new();
    let got = hash_video(&ff, &VideoInput::Path(&v), &opts(), &mut hasher).unwrap();
    assert_eq!(got.info.codec, "h264");
    assert_eq!((got.info.width, got.info.height), (160, 120));
    assert_eq!(got.info.fps, 30000.0 / 1001.0);
    let k = frame_modulus(1.0, got.info.fps);
    assert_eq!(k, 29);
    let frames = all_frames(&ff, &v, 160, 120);
    let expected: Vec<(u64, String)> = frames
        .iter()
        .enumerate()
        .filter(|(i, _)| (*i as u64).is_multiple_of(k))
        .map(|(i, px)| {
            let out = hasher.hash(&ImageView::rgb(px, 160, 120).unwrap(), Pipeline::Full);
            (i as u64, out.hash.to_hex())
        })
        .collect();
    let ours: Vec<(u64, String)> = got
        .vpdq
        .frames
        .iter()
        .map(|f| (f.frame, f.pdq.to_hex()))
        .collect();
    assert_eq!(ours, expected);
    let stamps: Vec<String> = got
        .vpdq
        .frames
        .iter()
        .map(|f| format!("{:.3}", f.timestamp))
        .collect();
    assert_eq!(stamps[..3], ["0.000", "0.968", "1.935"]);
    assert!(got.decoder_messages.is_empty());
}

#[test]
fn other_codecs_and_containers() {
    let Some(ff) = ffmpeg() else { return };
    let src = [
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=160x120:rate=25",
        "-t",
        "2",
    ];
    let cases: [(&str, &[&str], &str, VideoKind); 4] = [
        (
            "hevc.mov",
            &[
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=error",
                "-tag:v",
                "hvc1",
            ],
            "hevc",
            VideoKind::Mov,
        ),
        (
            "vp9.webm",
            &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
            ],
            "vp9",
            VideoKind::WebM,
        ),
        (
            "mpeg4.avi",
            &["-c:v", "mpeg4", "-q:v", "5"],
            "mpeg4",
            VideoKind::Avi,
        ),
        (
            "h264.mkv",
            &["-c:v", "libx264"],
            "h264",
            VideoKind::Matroska,
        ),
    ];
    for (name, codec, codec_name, kind) in cases {
        let args: Vec<&str> = src.iter().chain(codec.iter()).copied().collect();
        let v = make(&ff, name, &args);
        assert_eq!(detect(&head(&v)), Some(kind), "{name}");
        let got = hash_video(&ff, &VideoInput::Path(&v), &opts(), &mut Hasher::new()).unwrap();
        assert_eq!(got.info.codec, codec_name, "{name}");
        let numbers: Vec<u64> = got.vpdq.frames.iter().map(|f| f.frame).collect();
        // 50 frames at 25 fps, one hashed per 25.
        assert_eq!(numbers, vec![0, 25], "{name}");
        assert!(got.vpdq.frames.iter().all(|f| f.quality >= 50), "{name}");
    }
}

#[test]
fn rotation_is_reported_not_applied() {
    let Some(ff) = ffmpeg() else { return };
    let plain = make(
        &ff,
        "plain.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x96:rate=10",
            "-t",
            "1",
            "-c:v",
            "libx264",
        ],
    );
    let plain_str = plain.to_str().unwrap();
    let rotated = make(
        &ff,
        "rotated.mp4",
        &[
            "-i",
            plain_str,
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
    );
    let a = hash_video(&ff, &VideoInput::Path(&plain), &opts(), &mut Hasher::new()).unwrap();
    let b = hash_video(
        &ff,
        &VideoInput::Path(&rotated),
        &opts(),
        &mut Hasher::new(),
    )
    .unwrap();
    assert_eq!(a.info.rotation, 0);
    assert!(
        b.info.rotation == 90 || b.info.rotation == 270,
        "{}",
        b.info.rotation
    );
    assert_eq!((b.info.width, b.info.height), (160, 96));
    assert_eq!(a.vpdq.frames, b.vpdq.frames);
    // The fast pipeline reads the stream from the decoder's banner, not a
    // probe: the same description.
    let fast = DecodeOptions {
        pipeline: VideoPipeline::Fast,
        ..opts()
    };
    for (v, probed) in [(&plain, &a), (&rotated, &b)] {
        let f = hash_video(&ff, &VideoInput::Path(v), &fast, &mut Hasher::new()).unwrap();
        assert_eq!(f.info.rotation, probed.info.rotation);
        assert_eq!((f.info.width, f.info.height), (160, 96));
        assert_eq!(f.info.codec, probed.info.codec);
        assert_eq!(f.info.fps, probed.info.fps);
    }
}

#[test]
fn variable_frame_rate_uses_the_average_rate() {
    let Some(ff) = ffmpeg() else { return };
    // 60 frames: the first 30 at 30 fps, then a 1 s gap: the average rate
    // is no longer the base rate of 30.
    let v = make(
        &ff,
        "vfr.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=128x96:rate=30",
            "-frames:v",
            "60",
            "-vf",
            "setpts='(N+if(gte(N,30),30,0))/30/TB'",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
        ],
    );
    let got = hash_video(&ff, &VideoInput::Path(&v), &opts(), &mut Hasher::new()).unwrap();
    // 60 frames over 3 s: MP4 declares an average of 20 fps.
    assert_eq!(got.info.fps, 20.0);
    assert_eq!(frame_modulus(1.0, got.info.fps), 20);
    let numbers: Vec<u64> = got.vpdq.frames.iter().map(|f| f.frame).collect();
    let expected: Vec<u64> = vec![0, 20, 40];
    assert_eq!(numbers, expected, "fps {}", got.info.fps);
}

#[test]
fn fast_hashes_key_frames_only() {
    let Some(ff) = ffmpeg() else { return };
    let v = make(
        &ff,
        "gop.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=20",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-g",
            "10",
            "-sc_threshold",
            "0",
        ],
    );
    let fast = DecodeOptions {
        pipeline: VideoPipeline::Fast,
        ..opts()
    };
    let got = hash_video(&ff, &VideoInput::Path(&v), &fast, &mut Hasher::new()).unwrap();
    assert_eq!(got.vpdq.pipeline, VideoPipeline::Fast);
    let numbers: Vec<u64> = got.vpdq.frames.iter().map(|f| f.frame).collect();
    assert_eq!(numbers, vec![0, 10, 20, 30]);
    // Key frame 20 is decoded exactly as the full decode does.
    let every = DecodeOptions {
        seconds_per_hash: 0.0,
        ..opts()
    };
    let all = hash_video(&ff, &VideoInput::Path(&v), &every, &mut Hasher::new()).unwrap();
    assert_eq!(all.vpdq.frames.len(), 40);
    assert_eq!(got.vpdq.frames[2].pdq, all.vpdq.frames[20].pdq);
    assert_eq!(format!("{:.3}", got.vpdq.frames[2].timestamp), "1.000");
    // The VP9 decoder ignores -skip_frame; key frames are still all we get.
    let vp9 = make(
        &ff,
        "gop.webm",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=20",
            "-t",
            "2",
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            "10",
            "-keyint_min",
            "10",
        ],
    );
    let got = hash_video(&ff, &VideoInput::Path(&vp9), &fast, &mut Hasher::new()).unwrap();
    let numbers: Vec<u64> = got.vpdq.frames.iter().map(|f| f.frame).collect();
    assert_eq!(numbers, vec![0, 10, 20, 30]);
}

#[test]
fn bytes_hash_like_the_file() {
    let Some(ff) = ffmpeg() else { return };
    let v = make(
        &ff,
        "bytes.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=96x64:rate=10",
            "-t",
            "2",
            "-c:v",
            "libx264",
        ],
    );
    let from_file = hash_video(&ff, &VideoInput::Path(&v), &opts(), &mut Hasher::new()).unwrap();
    let bytes: std::sync::Arc<[u8]> = std::fs::read(&v).unwrap().into();
    let input = VideoInput::Bytes {
        bytes,
        name: Path::new("upload"),
    };
    let from_bytes = hash_video(&ff, &input, &opts(), &mut Hasher::new()).unwrap();
    assert_eq!(from_file.vpdq, from_bytes.vpdq);
}

/// Every hostile or broken input is that file's error (or, for a truncated
/// stream, a partial result that says so), within the time limit.
#[test]
fn broken_inputs_are_typed_errors() {
    let Some(ff) = ffmpeg() else { return };
    let d = dir();
    let good = make(
        &ff,
        "whole.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25",
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-movflags",
            "+faststart",
        ],
    );
    let bytes = std::fs::read(&good).unwrap();
    let truncated = d.join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let empty = d.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let garbage = d.join("garbage.mp4");
    let mut g = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    g.extend((0..20000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    std::fs::write(&garbage, &g).unwrap();
    let audio = make(
        &ff,
        "audio.m4a",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:a",
            "aac",
        ],
    );
    let huge = d.join("huge.y4m");
    std::fs::write(
        &huge,
        b"YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n",
    )
    .unwrap();

    let t = Instant::now();
    let mut h = Hasher::new();
    // Both pipelines: the fast one reads the stream from the decoding
    // child's banner instead of a probe, and must fail the same way.
    for pipeline in [VideoPipeline::Exact, VideoPipeline::Fast] {
        let o = DecodeOptions { pipeline, ..opts() };
        match hash_video(&ff, &VideoInput::Path(&truncated), &o, &mut h) {
            Ok(v) => assert!(!v.decoder_messages.is_empty() && v.vpdq.frames.len() < 3),
            Err(e) => assert!(matches!(
                e,
                VideoError::DecodeFailed { .. } | VideoError::Unreadable { .. }
            )),
        }
        let err = hash_video(&ff, &VideoInput::Path(&empty), &o, &mut h).unwrap_err();
        assert!(matches!(err, VideoError::Unreadable { .. }), "{err}");
        assert!(err.to_string().contains("empty.mp4"));
        let err = hash_video(&ff, &VideoInput::Path(&garbage), &o, &mut h).unwrap_err();
        assert!(
            matches!(
                err,
                VideoError::Unreadable { .. }
                    | VideoError::NoFrames { .. }
                    | VideoError::DecodeFailed { .. }
            ),
            "{err}"
        );
        let err = hash_video(&ff, &VideoInput::Path(&audio), &o, &mut h).unwrap_err();
        assert!(matches!(err, VideoError::NoVideoStream { .. }), "{err}");
        let err = hash_video(&ff, &VideoInput::Path(&huge), &o, &mut h).unwrap_err();
        assert!(
            matches!(
                err,
                VideoError::BadFrameSize {
                    width: 100000,
                    height: 100000,
                    ..
                } | VideoError::Unreadable { .. }
            ),
            "{err}"
        );
    }
    assert!(t.elapsed() < Duration::from_secs(90));
}

#[test]
fn limits_stop_the_child() {
    let Some(ff) = ffmpeg() else { return };
    let v = make(
        &ff,
        "limits.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25",
            "-t",
            "3",
            "-c:v",
            "libx264",
        ],
    );
    let mut o = opts();
    o.limits.max_frames = 1;
    let err = hash_video(&ff, &VideoInput::Path(&v), &o, &mut Hasher::new()).unwrap_err();
    assert!(
        matches!(
            err,
            VideoError::BudgetExceeded {
                budget: "frames",
                ..
            }
        ),
        "{err}"
    );
    let mut o = opts();
    o.limits.max_bytes = 160 * 120 * 3;
    let err = hash_video(&ff, &VideoInput::Path(&v), &o, &mut Hasher::new()).unwrap_err();
    assert!(
        matches!(
            err,
            VideoError::BudgetExceeded {
                budget: "bytes",
                ..
            }
        ),
        "{err}"
    );
    let mut o = opts();
    o.limits.max_pixels = 160 * 120 - 1;
    let err = hash_video(&ff, &VideoInput::Path(&v), &o, &mut Hasher::new()).unwrap_err();
    assert!(matches!(err, VideoError::BadFrameSize { .. }), "{err}");
    let mut o = opts();
    o.limits.wall_time = Duration::from_millis(1);
    let t = Instant::now();
    let err = hash_video(&ff, &VideoInput::Path(&v), &o, &mut Hasher::new()).unwrap_err();
    assert!(matches!(err, VideoError::TimedOut { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_missing_ffmpeg_says_how_to_install_it() {
    let err = Ffmpeg::with_program(Path::new("/nonexistent/ffmpeg")).unwrap_err();
    assert!(matches!(err, VideoError::FfmpegNotFound));
    let text = err.to_string();
    assert!(
        text.starts_with("not perceptually hashed: ffmpeg not found"),
        "{text}"
    );
    for hint in [
        "apt-get install ffmpeg",
        "brew install ffmpeg",
        "winget install ffmpeg",
    ] {
        assert!(text.contains(hint) && INSTALL_HINT.contains(hint));
    }
}
