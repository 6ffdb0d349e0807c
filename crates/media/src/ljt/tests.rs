//! Decoder-level tests: round trips through an encoder, truncation, limits
//! and robustness against corrupt input.

use super::decode;
use crate::MediaError;
use image::codecs::jpeg::JpegEncoder;
use image::ExtendedColorType;
use proptest::prelude::*;

fn encode(w: u32, h: u32, grey: bool, quality: u8) -> Vec<u8> {
    let n = if grey { 1 } else { 3 };
    let mut px = Vec::with_capacity((w * h) as usize * n);
    for y in 0..h {
        for x in 0..w {
            if grey {
                px.push(((x * 7 + y * 3) % 256) as u8);
            } else {
                px.push((x * 255 / w.max(1)) as u8);
                px.push((y * 255 / h.max(1)) as u8);
                px.push(((x + y) % 256) as u8);
            }
        }
    }
    let mut out = Vec::new();
    let ty = if grey {
        ExtendedColorType::L8
    } else {
        ExtendedColorType::Rgb8
    };
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode(&px, w, h, ty)
        .expect("encode");
    out
}

#[test]
fn round_trip_colour_and_grey() {
    for (w, h) in [(1, 1), (7, 3), (16, 16), (33, 17), (100, 61)] {
        let jpg = encode(w, h, false, 95);
        let (px, dw, dh, grey) = decode(&jpg, 65535, 1 << 30).expect("decode colour");
        assert_eq!((dw, dh, grey), (w, h, false));
        assert_eq!(px.len(), (w * h * 3) as usize);
        let jpg = encode(w, h, true, 95);
        let (px, dw, dh, grey) = decode(&jpg, 65535, 1 << 30).expect("decode grey");
        assert_eq!((dw, dh, grey), (w, h, true));
        assert_eq!(px.len(), (w * h) as usize);
        // The grey ramp survives quality-95 coding closely.
        for y in 0..h {
            for x in 0..w {
                let want = ((x * 7 + y * 3) % 256) as i32;
                let got = px[(y * w + x) as usize] as i32;
                // Wrap-around edges of the ramp ring; only check smooth parts.
                if want > 24 && want < 230 && w >= 16 {
                    assert!((want - got).abs() < 40, "{x},{y}: {want} vs {got}");
                }
            }
        }
    }
}

#[test]
fn truncation_is_reported() {
    let jpg = encode(40, 24, false, 90);
    // Drop the end-of-image marker only.
    let cut = &jpg[..jpg.len() - 2];
    assert!(matches!(
        decode(cut, 65535, 1 << 30),
        Err(MediaError::Truncated(_))
    ));
    // Cut inside the entropy-coded data.
    let cut = &jpg[..jpg.len() - 40];
    assert!(matches!(
        decode(cut, 65535, 1 << 30),
        Err(MediaError::Truncated(_))
    ));
    // Every prefix fails cleanly.
    for n in 0..jpg.len() - 1 {
        assert!(decode(&jpg[..n], 65535, 1 << 30).is_err(), "prefix {n}");
    }
}

#[test]
fn limits_are_checked_before_allocation() {
    // A tiny header claiming 60000 × 60000 pixels.
    let mut jpg = encode(8, 8, true, 90);
    let sof = jpg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0");
    jpg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    match decode(&jpg, 65535, 1 << 20) {
        Err(MediaError::TooLarge { width, height, .. }) => {
            assert_eq!((width, height), (60000, 60000))
        }
        other => panic!("{:?}", other.map(|r| (r.1, r.2))),
    }
    match decode(&jpg, 1000, u64::MAX) {
        Err(MediaError::TooLarge { .. }) => {}
        other => panic!("{:?}", other.map(|r| (r.1, r.2))),
    }
}

#[test]
fn not_a_jpeg() {
    assert_eq!(decode(b"", 10, 10).err(), Some(MediaError::NotAnImage));
    assert_eq!(
        decode(b"\x89PNG", 10, 10).err(),
        Some(MediaError::NotAnImage)
    );
    assert!(decode(&[0xFF, 0xD8, 0xFF, 0xD9], 10, 10).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Corrupting, truncating or extending a valid file never panics.
    #[test]
    fn corrupt_input_never_panics(
        grey in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut jpg = encode(29, 19, grey, 80);
        for (i, b) in edits {
            let i = i.index(jpg.len());
            jpg[i] = b;
        }
        if do_cut {
            jpg.truncate(cut.index(jpg.len()));
        }
        let _ = decode(&jpg, 4096, 1 << 22);
    }

    /// Arbitrary bytes after a JPEG signature never panic.
    #[test]
    fn garbage_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut jpg = vec![0xFF, 0xD8];
        jpg.extend_from_slice(&tail);
        let _ = decode(&jpg, 4096, 1 << 22);
    }
}
