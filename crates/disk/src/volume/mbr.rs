//! The MBR partition table (DOS/IBM PC): four primary entries, and
//! logical partitions in a chain of extended boot records.

use super::{Problem, Volume, VolumeKind};
use crate::read::ReadAt;

/// Sector size the MBR scheme counts in.
pub const SECTOR: u64 = 512;
/// Logical partitions followed at most (a chain longer than this loops).
pub const MAX_LOGICAL: usize = 256;

/// One 16-byte partition entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Boot indicator (0x80 active, 0x00 not).
    pub status: u8,
    /// Partition type byte.
    pub kind: u8,
    /// First sector (relative to what the scheme says).
    pub lba: u32,
    /// Number of sectors.
    pub sectors: u32,
}

/// True for the extended partition types (DOS 0x05, LBA 0x0F, Linux 0x85).
pub fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0F | 0x85)
}

/// The four entries of a sector with the 0x55AA signature whose entries
/// all have a valid boot indicator; `None` otherwise.
pub fn entries(sector: &[u8]) -> Option<[Entry; 4]> {
    if sector.len() < 512 || sector[510] != 0x55 || sector[511] != 0xAA {
        return None;
    }
    let mut out = [Entry {
        status: 0,
        kind: 0,
        lba: 0,
        sectors: 0,
    }; 4];
    for (i, e) in out.iter_mut().enumerate() {
        let b = &sector[446 + 16 * i..462 + 16 * i];
        let u = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        *e = Entry {
            status: b[0],
            kind: b[4],
            lba: u(8),
            sectors: u(12),
        };
        if e.status & 0x7F != 0 {
            return None;
        }
    }
    Some(out)
}

/// A human name for an MBR partition type byte.
pub fn type_name(kind: u8) -> &'static str {
    match kind {
        0x01 => "FAT12",
        0x04 => "FAT16 <32M",
        0x05 => "Extended",
        0x06 => "FAT16",
        0x07 => "NTFS / exFAT",
        0x0B => "FAT32",
        0x0C => "FAT32 (LBA)",
        0x0E => "FAT16 (LBA)",
        0x0F => "Extended (LBA)",
        0x11 | 0x14 | 0x16 | 0x1B | 0x1C | 0x1E => "Hidden FAT",
        0x17 => "Hidden NTFS / exFAT",
        0x27 => "Windows recovery",
        0x42 => "Windows dynamic disk",
        0x82 => "Linux swap",
        0x83 => "Linux",
        0x85 => "Linux extended",
        0x8E => "Linux LVM",
        0xA5 => "FreeBSD",
        0xA6 => "OpenBSD",
        0xA8 => "Apple UFS",
        0xA9 => "NetBSD",
        0xAB => "Apple boot",
        0xAF => "Apple HFS / HFS+",
        0xEE => "GPT protective",
        0xEF => "EFI System",
        0xFD => "Linux RAID",
        _ => "Unknown",
    }
}

fn past_end(index: u32, start: u64, len: u64, disk_len: u64) -> Problem {
    Problem::PastEnd {
        index,
        start,
        len,
        disk_len,
    }
}

/// Adds a volume, clamping it to the disk and recording a problem when it
/// reaches past the end (or starts past it, in which case it is left out).
pub(super) fn push_clamped(
    out: &mut Vec<Volume>,
    problems: &mut Vec<Problem>,
    disk_len: u64,
    index: u32,
    start: u64,
    len: u64,
    kind: VolumeKind,
) {
    if len == 0 {
        return;
    }
    if start >= disk_len {
        problems.push(past_end(index, start, len, disk_len));
        return;
    }
    let mut v = Volume {
        index,
        start,
        len,
        kind,
        clamped: false,
    };
    if start.saturating_add(len) > disk_len {
        problems.push(past_end(index, start, len, disk_len));
        v.len = disk_len - start;
        v.clamped = true;
    }
    out.push(v);
}

/// Reads the primary entries of `sector0` and the logical partitions
/// behind any extended one.
pub(super) fn volumes(
    r: &dyn ReadAt,
    table: [Entry; 4],
    problems: &mut Vec<Problem>,
) -> Vec<Volume> {
    let disk_len = r.len();
    let mut out = Vec::new();
    let mut next_logical = 5u32;
    for (slot, e) in table.iter().enumerate() {
        if e.kind == 0 || e.sectors == 0 {
            continue;
        }
        let index = slot as u32 + 1;
        let start = u64::from(e.lba) * SECTOR;
        let len = u64::from(e.sectors) * SECTOR;
        let kind = VolumeKind::Mbr {
            type_byte: e.kind,
            type_name: type_name(e.kind),
            logical: false,
            bootable: e.status == 0x80,
        };
        if is_extended(e.kind) {
            // The extended container itself is not a volume; its logical
            // partitions are.
            if start >= disk_len {
                problems.push(past_end(index, start, len, disk_len));
                continue;
            }
            logicals(r, u64::from(e.lba), &mut next_logical, &mut out, problems);
            continue;
        }
        push_clamped(&mut out, problems, disk_len, index, start, len, kind);
    }
    out
}

/// Follows the EBR chain of the extended partition starting at sector
/// `ext`, guarding against loops, chains past the end and endless chains.
fn logicals(
    r: &dyn ReadAt,
    ext: u64,
    next: &mut u32,
    out: &mut Vec<Volume>,
    problems: &mut Vec<Problem>,
) {
    let disk_len = r.len();
    let mut cur = ext;
    let mut seen = std::collections::HashSet::new();
    let mut sector = [0u8; 512];
    loop {
        let at = cur * SECTOR;
        if !seen.insert(cur) {
            problems.push(Problem::EbrLoop { offset: at });
            return;
        }
        if seen.len() > MAX_LOGICAL {
            problems.push(Problem::TooManyLogical { offset: at });
            return;
        }
        if at >= disk_len {
            problems.push(Problem::BadEbr { offset: at });
            return;
        }
        if let Err(e) = r.read_exact_at(at, &mut sector) {
            problems.push(Problem::Unreadable {
                offset: at,
                kind: e.kind(),
            });
            return;
        }
        let Some(t) = entries(&sector) else {
            problems.push(Problem::BadEbr { offset: at });
            return;
        };
        let e = t[0];
        if e.kind != 0 && e.sectors != 0 && !is_extended(e.kind) {
            let kind = VolumeKind::Mbr {
                type_byte: e.kind,
                type_name: type_name(e.kind),
                logical: true,
                bootable: e.status == 0x80,
            };
            let start = (cur + u64::from(e.lba)) * SECTOR;
            push_clamped(
                out,
                problems,
                disk_len,
                *next,
                start,
                u64::from(e.sectors) * SECTOR,
                kind,
            );
            *next += 1;
        }
        let link = t[1];
        if !is_extended(link.kind) || link.lba == 0 {
            return;
        }
        cur = ext + u64::from(link.lba);
    }
}
