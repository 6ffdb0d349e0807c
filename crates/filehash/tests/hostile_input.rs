//! Property tests: mutated and truncated images of every supported format
//! go through the decode-and-hash path without a panic escaping, keep their
//! digests, and either hash or carry an error with a reason.

use image::{ImageFormat, Rgb, RgbImage};
use nigehbaan_filehash::{hash_bytes, FileError, Options};
use nigehbaan_media::{Limits, MediaError};
use nigehbaan_pdq::Hasher;
use proptest::prelude::*;
use std::sync::OnceLock;

fn samples() -> &'static Vec<Vec<u8>> {
    static S: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    S.get_or_init(|| {
        let img = RgbImage::from_fn(40, 30, |x, y| {
            Rgb([(x * 6) as u8, (y * 8) as u8, ((x ^ y) * 4) as u8])
        });
        [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::Gif,
            ImageFormat::Bmp,
            ImageFormat::Tiff,
            ImageFormat::WebP,
        ]
        .iter()
        .map(|f| {
            let mut buf = std::io::Cursor::new(Vec::new());
            img.write_to(&mut buf, *f).unwrap();
            buf.into_inner()
        })
        .collect()
    })
}

fn opts(fast: bool) -> Options {
    Options {
        limits: Limits {
            max_side: 4096,
            max_pixels: 4_000_000,
            max_alloc: 64 << 20,
        },
        fast,
        ..Options::default()
    }
}

fn check(bytes: &[u8], fast: bool) {
    let mut h = Hasher::new();
    let r = hash_bytes(bytes, &opts(fast), &mut h);
    assert!(r.digests.is_some());
    match &r.error {
        None => {}
        Some(FileError::Decode(e)) => {
            assert!(!e.to_string().is_empty());
            if let MediaError::DecoderCrashed(why) = e {
                // Contained, but worth knowing about.
                eprintln!("contained decoder panic: {why}");
            }
        }
        Some(other) => panic!("unexpected error kind: {other}"),
    }
}

#[test]
fn clean_samples_hash() {
    for (i, s) in samples().iter().enumerate() {
        let mut h = Hasher::new();
        let r = hash_bytes(s, &opts(false), &mut h);
        assert!(r.error.is_none(), "sample {i}: {:?}", r.error);
        assert!(r.image.unwrap().pdq.is_some());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_images_never_panic(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        fast in any::<bool>(),
    ) {
        let mut bytes = samples()[which].clone();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if truncate {
            let n = cut.index(bytes.len());
            bytes.truncate(n.max(1));
        }
        check(&bytes, fast);
    }

    #[test]
    fn random_bytes_with_image_magic_never_panic(
        which in 0usize..6,
        tail in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = samples()[which][..12.min(samples()[which].len())].to_vec();
        bytes.extend(tail);
        check(&bytes, false);
    }
}
