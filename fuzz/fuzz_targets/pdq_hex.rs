//! PDQ hash text parsing round-trips.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nigehbaan_pdq::Hash256;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(h) = Hash256::from_hex(text) {
            assert_eq!(Hash256::from_hex(&h.to_hex()), Ok(h));
        }
    }
});
