//! Matching on real decoded videos: re-encodes, a half-size copy, another
//! codec and container, a frame-rate change and a trim of one generated
//! video all match it; an unrelated video does not.
//!
//! Runs when ffmpeg is present; fails under CI=true when it is missing;
//! otherwise skips with a one-line note.

use nigehbaan_pdq::Hasher;
use nigehbaan_video::{
    hash_video, match_videos, DecodeOptions, Ffmpeg, FrameHash, MatchOptions, VideoInput,
};
use std::path::{Path, PathBuf};

mod common;

fn ffmpeg() -> Option<Ffmpeg> {
    common::ffmpeg("the video matching tests")
}

fn make(ff: &Ffmpeg, name: &str, args: &[&str]) -> PathBuf {
    common::make(ff, "video-match-tests", name, args)
}

fn frames(ff: &Ffmpeg, path: &Path, opts: &DecodeOptions) -> Vec<FrameHash> {
    hash_video(ff, &VideoInput::Path(path), opts, &mut Hasher::new())
        .unwrap()
        .vpdq
        .frames
}

#[test]
fn copies_match_and_strangers_do_not() {
    let Some(ff) = ffmpeg() else { return };
    // Every frame hashed: the clips are short.
    let opts = DecodeOptions {
        seconds_per_hash: 0.0,
        ..DecodeOptions::default()
    };
    let original = make(
        &ff,
        "original.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=192x128:rate=10",
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-crf",
            "18",
        ],
    );
    let src = original.to_str().unwrap();
    let copies = [
        make(
            &ff,
            "reencode.mp4",
            &["-i", src, "-c:v", "libx264", "-crf", "32"],
        ),
        make(
            &ff,
            "half.mkv",
            &["-i", src, "-vf", "scale=96:64", "-c:v", "libx264"],
        ),
        make(
            &ff,
            "vp9.webm",
            &[
                "-i",
                src,
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
            ],
        ),
        make(&ff, "mpeg4.avi", &["-i", src, "-c:v", "mpeg4", "-q:v", "4"]),
        make(
            &ff,
            "fps5.mp4",
            &["-i", src, "-vf", "fps=5", "-c:v", "libx264"],
        ),
        make(
            &ff,
            "trim.mp4",
            &["-ss", "1.5", "-i", src, "-t", "2", "-c:v", "libx264"],
        ),
    ];
    let stranger = make(
        &ff,
        "stranger.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=192x128:rate=10",
            "-t",
            "4",
            "-c:v",
            "libx264",
        ],
    );
    let base = frames(&ff, &original, &opts);
    assert_eq!(base.len(), 40);
    let m = MatchOptions::default();
    for copy in &copies {
        let q = frames(&ff, copy, &opts);
        let r = match_videos(&q, &base, &m);
        assert!(r.is_match, "{}: {r:?}", copy.display());
        assert!(r.query_match_percent >= 90.0, "{}: {r:?}", copy.display());
    }
    let q = frames(&ff, &stranger, &opts);
    let r = match_videos(&q, &base, &m);
    assert!(!r.is_match, "{r:?}");
    assert!(r.query_match_percent < 10.0, "{r:?}");
}
