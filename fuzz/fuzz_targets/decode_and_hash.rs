//! Any bytes through the full decode-and-hash path, full and fast modes:
//! must return (hashes or an error), never panic, never exhaust memory.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nigehbaan_filehash::{hash_bytes, FileError, Options};
use nigehbaan_media::{Limits, MediaError};
use nigehbaan_pdq::Hasher;

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run quick; the size checks themselves are
    // what is being exercised.
    let limits = Limits { max_side: 4096, max_pixels: 4_000_000, max_alloc: 64 << 20 };
    let mut hasher = Hasher::new();
    for fast in [false, true] {
        let opts = Options { limits, fast, dihedral: true, ..Options::default() };
        let r = hash_bytes(data, &opts, &mut hasher);
        assert!(r.digests.is_some());
        if let Some(err) = &r.error {
            // Errors carry a reason, and a caught decoder panic shows up
            // as DecoderCrashed: report it as a finding (by type, not by
            // the message's wording).
            assert!(!err.to_string().is_empty());
            assert!(
                !matches!(err, FileError::Decode(MediaError::DecoderCrashed(_))),
                "decoder panicked: {err}"
            );
        }
    }
});
