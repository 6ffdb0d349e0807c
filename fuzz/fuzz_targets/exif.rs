//! The EXIF orientation reader on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(o) = nigehbaan_media::exif_orientation(data) {
        assert!((1..=8).contains(&o));
    }
});
