//! FAT directory entries: 8.3 names, long-name (LFN) entries checked by
//! their checksum, and deleted entries (first byte 0xE5).

use super::super::le::{u16, u32};
use super::super::time::dos;
use super::super::{push_utf16, Times};

/// One short entry with its long name, if any.
#[derive(Debug, Clone)]
pub(crate) struct DirEntry {
    /// Index of the short entry in the directory (32-byte units).
    pub index: usize,
    /// The long name when one belongs to the entry, else the 8.3 name.
    pub name: Vec<u8>,
    /// The 8.3 name as `BASE.EXT` (with `_` for a deleted first byte).
    pub short_name: Vec<u8>,
    pub is_dir: bool,
    pub deleted: bool,
    pub first_cluster: u32,
    pub size: u32,
    pub times: Times,
}

const ATTR_LFN: u8 = 0x0F;
const ATTR_VOLUME: u8 = 0x08;
const ATTR_DIR: u8 = 0x10;

/// The LFN checksum of an 11-byte short name.
pub(crate) fn lfn_checksum(short: &[u8]) -> u8 {
    short
        .iter()
        .fold(0u8, |sum, &b| sum.rotate_right(1).wrapping_add(b))
}

fn short_name(raw: &[u8], case: u8, deleted: bool) -> Vec<u8> {
    let mut base: Vec<u8> = raw[..8].to_vec();
    if deleted {
        base[0] = b'_';
    } else if base[0] == 0x05 {
        base[0] = 0xE5;
    }
    while base.last() == Some(&b' ') {
        base.pop();
    }
    let mut ext: Vec<u8> = raw[8..11].to_vec();
    while ext.last() == Some(&b' ') {
        ext.pop();
    }
    if case & 0x08 != 0 {
        base.make_ascii_lowercase();
    }
    if case & 0x10 != 0 {
        ext.make_ascii_lowercase();
    }
    if !ext.is_empty() {
        base.push(b'.');
        base.extend_from_slice(&ext);
    }
    base
}

/// Parses a directory's bytes into its entries (live and deleted), in
/// order, skipping volume labels; stops at the end marker.
pub(crate) fn parse(bytes: &[u8], fat32: bool) -> Vec<DirEntry> {
    let mut out = Vec::new();
    // long-name pieces seen since the last short entry: (checksum, 13 units)
    let mut lfn: Vec<(u8, u8, [u16; 13])> = Vec::new();
    for (index, e) in bytes.chunks_exact(32).enumerate() {
        let first = e[0];
        if first == 0 {
            break;
        }
        let deleted = first == 0xE5;
        let attr = e[11];
        if attr & 0x3F == ATTR_LFN {
            let mut units = [0u16; 13];
            for (k, at) in (1..11)
                .step_by(2)
                .chain((14..26).step_by(2))
                .chain((28..32).step_by(2))
                .enumerate()
            {
                units[k] = u16(e, at);
            }
            if !deleted && first & 0x40 != 0 {
                lfn.clear();
            }
            lfn.push((e[13], if deleted { 0 } else { first & 0x1F }, units));
            continue;
        }
        let pieces = std::mem::take(&mut lfn);
        if attr & ATTR_VOLUME != 0 {
            continue;
        }
        let raw = &e[..11];
        let short = short_name(raw, e[12], deleted);
        let mut name = short.clone();
        if !pieces.is_empty() {
            let sum = pieces[0].0;
            let sums_agree = pieces.iter().all(|p| p.0 == sum);
            let live_ok = !deleted
                && lfn_checksum(raw) == sum
                && pieces
                    .iter()
                    .rev()
                    .enumerate()
                    .all(|(i, p)| p.1 as usize == i + 1);
            // A deleted short entry lost its first byte, and every first
            // byte gives some checksum: the pieces can only be checked to
            // agree with each other.
            let deleted_ok = deleted && pieces.len() <= 20;
            if sums_agree && (live_ok || deleted_ok) {
                let mut units: Vec<u16> = Vec::with_capacity(pieces.len() * 13);
                for p in pieces.iter().rev() {
                    units.extend_from_slice(&p.2);
                }
                if let Some(end) = units.iter().position(|&u| u == 0) {
                    units.truncate(end);
                }
                while units.last() == Some(&0xFFFF) {
                    units.pop();
                }
                if !units.is_empty() {
                    name.clear();
                    push_utf16(&mut name, &units);
                }
            }
        }
        let hi = if fat32 { (u16(e, 20) as u32) << 16 } else { 0 };
        let times = Times {
            created: dos(u16(e, 16), u16(e, 14), e[13], None),
            modified: dos(u16(e, 24), u16(e, 22), 0, None),
            accessed: dos(u16(e, 18), 0, 0, None),
            changed: None,
        };
        // names may not hold '/' (it would split the path): keep the byte
        // visible but harmless
        for b in name.iter_mut() {
            if *b == b'/' || *b == 0 {
                *b = b'_';
            }
        }
        out.push(DirEntry {
            index,
            name,
            short_name: short,
            is_dir: attr & ATTR_DIR != 0,
            deleted,
            first_cluster: hi | u16(e, 26) as u32,
            size: u32(e, 28),
            times,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_the_specification_example() {
        // computed by hand with the specification's rotate-and-add loop
        let mut sum: u8 = 0;
        for &b in b"README  TXT" {
            sum = (if sum & 1 != 0 { 0x80u8 } else { 0 })
                .wrapping_add(sum >> 1)
                .wrapping_add(b);
        }
        assert_eq!(lfn_checksum(b"README  TXT"), sum);
    }

    #[test]
    fn short_names_and_end_marker() {
        let mut d = vec![0u8; 32 * 3];
        d[..11].copy_from_slice(b"HELLO   TXT");
        d[28] = 5;
        d[32..43].copy_from_slice(b"\xE5ONE    JPG");
        d[32 + 26] = 9;
        let v = parse(&d, false);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].name, b"HELLO.TXT");
        assert_eq!(v[1].name, b"_ONE.JPG");
        assert!(v[1].deleted);
        assert_eq!(v[1].first_cluster, 9);
    }
}
