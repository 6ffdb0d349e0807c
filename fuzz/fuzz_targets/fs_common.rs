//! Shared by the file-system fuzz targets: the input is a sparse volume,
//! so that seeds made from real images stay small and mutations land on
//! metadata.
//!
//! Input: a little-endian `u32` volume length (at most 16 MiB), then
//! records of `u32` offset, `u16` length and that many bytes, written over
//! a zero-filled volume.

use std::sync::Arc;

use nigehbaan_disk::fs::{self, EntryKind, FsKind};
use nigehbaan_disk::ReadAt;

/// Builds the volume an input describes.
pub fn volume(data: &[u8]) -> Option<Vec<u8>> {
    let len = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let len = len.min(16 << 20);
    let mut v = vec![0u8; len];
    let mut at = 4;
    while at + 6 <= data.len() {
        let off = u32::from_le_bytes(data[at..at + 4].try_into().ok()?) as usize;
        let n = u16::from_le_bytes([data[at + 4], data[at + 5]]) as usize;
        at += 6;
        let n = n.min(data.len() - at);
        if off < len {
            let m = n.min(len - off);
            v[off..off + m].copy_from_slice(&data[at..at + m]);
        }
        at += n;
    }
    Some(v)
}

/// Opens the volume when it is of one of `kinds`, walks it, reads every
/// file (up to 64 KiB each) and asks for its free space.
pub fn exercise(data: &[u8], kinds: &[FsKind]) {
    let Some(v) = volume(data) else { return };
    match fs::detect(&v) {
        Some(k) if kinds.contains(&k) => {}
        _ => return,
    }
    let r: Arc<dyn ReadAt> = Arc::new(v);
    let Ok(fs) = fs::open(r) else { return };
    let mut files = Vec::new();
    fs.walk(&mut |e| {
        if let Ok(e) = e {
            if e.kind == EntryKind::File && files.len() < 10_000 {
                files.push(e);
            }
        }
    });
    let mut buf = vec![0u8; 64 << 10];
    for e in &files {
        if let Ok(r) = fs.open_file(e) {
            let n = (r.len() as usize).min(buf.len());
            let _ = r.read_exact_at(0, &mut buf[..n]);
        }
    }
    let _ = fs.unallocated();
}
