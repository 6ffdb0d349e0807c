//! The vPDQ text parsers (reference per-video file, HMA signal string),
//! the readers of what ffmpeg and ffprobe say about a stream (whose text
//! carries the file's own metadata) and container detection on arbitrary
//! input: no panic, and whatever parses
//! survives a write-and-parse round trip (frame, quality and hash exactly;
//! timestamps to the precision written).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nigehbaan_video::{detect, format};

fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = nigehbaan_video::ffmpeg::parse_ffmpeg_banner(text);
    let _ = nigehbaan_video::ffmpeg::parse_ffprobe_json(text);
    if let Ok(frames) = format::parse_reference(text) {
        let back = format::parse_reference(&format::write_reference(&frames)).expect("own output parses");
        assert_eq!(back.len(), frames.len());
        for (a, b) in frames.iter().zip(&back) {
            assert_eq!((a.frame, a.quality, a.pdq), (b.frame, b.quality, b.pdq));
            assert!((a.timestamp - b.timestamp).abs() <= 0.0005 + a.timestamp * 1e-12);
        }
    }
    if let Ok(frames) = format::parse_signal(text) {
        let back = format::parse_signal(&format::write_signal(&frames)).expect("own output parses");
        assert_eq!(back.len(), frames.len());
        for (a, b) in frames.iter().zip(&back) {
            assert_eq!((a.frame, a.quality, a.pdq), (b.frame, b.quality, b.pdq));
        }
    }
});
