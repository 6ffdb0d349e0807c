//! The fat reader must never panic, hang or allocate without bound,
//! whatever the volume holds (see fs_common.rs for the input format).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nigehbaan_disk::fs::FsKind;

#[path = "fs_common.rs"]
mod fs_common;

fuzz_target!(|data: &[u8]| {
    fs_common::exercise(data, &[FsKind::Fat12, FsKind::Fat16, FsKind::Fat32]);
});
