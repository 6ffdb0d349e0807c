//! Any bytes through our JPEG decoder and libjpeg-turbo: whenever both
//! decode the file, the pixels must be identical at full scale, and the
//! sizes identical at the `--fast` rule's reduced scale (where libjpeg's
//! upsampling differs from ours in places). Build with
//! `--features jpeg-differential`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nigehbaan_media::{compare_jpeg_decoders, Agreement, DecodeOptions, Limits};

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run quick.
    let opts = DecodeOptions {
        limits: Limits { max_side: 2048, max_pixels: 1_000_000, max_alloc: 64 << 20 },
        ..DecodeOptions::default()
    };
    for fast in [false, true] {
        if let Agreement::Different { shapes, first, max_diff } =
            compare_jpeg_decoders(data, &opts, fast)
        {
            if !fast || shapes[0] != shapes[1] {
                panic!("decoders differ (fast {fast}): shapes {shapes:?}, first {first:?}, largest {max_diff}");
            }
        }
    }
});
