//! Property tests of the text parsers (a quick stand-in for the
//! `vpdq_formats` fuzz target): no panic on arbitrary text, and what parses
//! survives writing and parsing again.

use nigehbaan_pdq::Hash256;
use nigehbaan_video::{detect, format, FrameHash};
use proptest::prelude::*;

fn frame() -> impl Strategy<Value = FrameHash> {
    (any::<u64>(), 0u8..=100, any::<[u64; 4]>(), 0.0f64..1e6).prop_map(|(frame, quality, h, t)| {
        FrameHash {
            frame,
            quality,
            pdq: Hash256(h),
            timestamp: t,
        }
    })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}", bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = format::parse_reference(&text);
        let _ = format::parse_signal(&text);
        let _ = detect(&bytes);
    }

    #[test]
    fn near_valid_lines_never_panic(lines in proptest::collection::vec("[0-9a-fA-F,.\\-+ eE]{0,90}", 0..6)) {
        let text = lines.join("\n");
        let _ = format::parse_reference(&text);
        let _ = format::parse_signal(&format!("[\"{}\"]", lines.join("\",\"")));
    }

    #[test]
    fn written_frames_parse_back(frames in proptest::collection::vec(frame(), 0..20)) {
        let back = format::parse_reference(&format::write_reference(&frames)).unwrap();
        prop_assert_eq!(back.len(), frames.len());
        for (a, b) in frames.iter().zip(&back) {
            prop_assert_eq!((a.frame, a.quality, a.pdq), (b.frame, b.quality, b.pdq));
            prop_assert!((a.timestamp - b.timestamp).abs() <= 0.0005 + 1e-9);
        }
        let back = format::parse_signal(&format::write_signal(&frames)).unwrap();
        prop_assert_eq!(back.len(), frames.len());
        for (i, (a, b)) in frames.iter().zip(&back).enumerate() {
            prop_assert_eq!((i as u64, a.quality, a.pdq), (b.frame, b.quality, b.pdq));
            // Three significant digits.
            prop_assert!((a.timestamp - b.timestamp).abs() <= a.timestamp * 0.005 + 1e-12);
        }
    }
}
