//! The E01 reader on an arbitrary segment file: opening, reading chunks,
//! never a panic, hang or unbounded allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nigehbaan_disk::container::ewf::{Ewf, Segment};
use nigehbaan_disk::ReadAt;

fuzz_target!(|data: &[u8]| {
    let seg = Segment {
        path: "fuzz.E01".into(),
        reader: Box::new(data.to_vec()),
    };
    let Ok(e) = Ewf::open(vec![seg]) else { return };
    let len = e.len();
    let mut buf = vec![0u8; 70_000];
    for at in [0, 1, len / 2, len.saturating_sub(10)] {
        let _ = e.read_at(at, &mut buf);
    }
    let _ = e.acquisition();
    let _ = e.missing_ranges();
});
