//! Volume systems: where the partitions of a disk are. MBR (with logical
//! partitions in extended boot records), GPT (with its backup copy), or
//! none at all (a bare file system: the whole disk is one volume).
//!
//! Detection never fails: damage becomes [`Problem`]s beside whatever
//! could still be read, and every byte no volume covers is listed by
//! [`VolumeSystem::unallocated_regions`] so that it can be carved.

pub mod gpt;
pub mod mbr;

use crate::read::{ReadAt, Window};
use gpt::Guid;
use std::fmt;
use std::io;
use std::ops::Range;

/// The partitioning scheme found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// DOS/MBR partition table.
    Mbr,
    /// GUID partition table.
    Gpt,
    /// No partition table: the whole disk is one volume.
    None,
}

impl Scheme {
    /// A short lowercase name (`mbr`, `gpt`, `none`).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Mbr => "mbr",
            Scheme::Gpt => "gpt",
            Scheme::None => "none",
        }
    }
}

/// What the partition table says a volume is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeKind {
    /// An MBR entry.
    Mbr {
        /// The partition type byte.
        type_byte: u8,
        /// Its common name.
        type_name: &'static str,
        /// True for a logical partition inside an extended one.
        logical: bool,
        /// True when marked active (0x80).
        bootable: bool,
    },
    /// A GPT entry.
    Gpt {
        /// The partition type GUID.
        type_guid: Guid,
        /// Its common name, when known.
        type_name: Option<&'static str>,
        /// The partition's own GUID.
        guid: Guid,
        /// The partition name.
        name: String,
        /// Attribute bits.
        attributes: u64,
    },
    /// The whole disk (no partition table).
    Whole,
}

/// One volume (partition) of a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Its number: MBR 1–4 for primary slots and 5… for logical
    /// partitions in chain order; GPT the entry's position, from 1; 0 for a
    /// whole-disk volume.
    pub index: u32,
    /// First byte on the disk.
    pub start: u64,
    /// Length in bytes (clamped to the disk).
    pub len: u64,
    /// What the table says it is.
    pub kind: VolumeKind,
    /// True when the table placed it past the disk's end and it was cut.
    pub clamped: bool,
}

impl Volume {
    /// A reader over just this volume.
    pub fn window<R: ReadAt>(&self, disk: R) -> Window<R> {
        Window::new(disk, self.start, self.len)
    }

    /// A short description of the type (`Linux`, `Microsoft basic data`,
    /// a GUID, or `whole disk`).
    pub fn type_description(&self) -> String {
        match &self.kind {
            VolumeKind::Mbr {
                type_byte,
                type_name,
                ..
            } => format!("{type_name} (0x{type_byte:02x})"),
            VolumeKind::Gpt {
                type_guid,
                type_name,
                ..
            } => match type_name {
                Some(n) => format!("{n} ({type_guid})"),
                None => type_guid.to_string(),
            },
            VolumeKind::Whole => "whole disk".to_string(),
        }
    }
}

/// Something wrong in a partition table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A partition reaches past the end of the disk (cut to the disk, or
    /// left out when it starts past it).
    PastEnd {
        /// Its index.
        index: u32,
        /// Where the table says it starts.
        start: u64,
        /// Its length per the table.
        len: u64,
        /// The disk's length.
        disk_len: u64,
    },
    /// The EBR chain comes back to a record already read.
    EbrLoop {
        /// The EBR reached a second time.
        offset: u64,
    },
    /// The EBR chain is longer than any real disk's.
    TooManyLogical {
        /// Where it was cut.
        offset: u64,
    },
    /// An EBR is missing its signature, has bad entries or is past the end.
    BadEbr {
        /// Where it should be.
        offset: u64,
    },
    /// A GPT header is missing or fails its CRC.
    GptHeader {
        /// Its LBA.
        lba: u64,
    },
    /// A GPT entry array fails its CRC.
    GptEntriesCrc {
        /// LBA of the header pointing to it.
        lba: u64,
    },
    /// The primary GPT was damaged; the backup at this LBA was used.
    GptUsedBackup {
        /// LBA of the backup header.
        lba: u64,
    },
    /// A GPT entry ends before it starts.
    BadEntry {
        /// Its index.
        index: u32,
    },
    /// A table sector could not be read.
    Unreadable {
        /// Where.
        offset: u64,
        /// The I/O error kind.
        kind: io::ErrorKind,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::PastEnd {
                index,
                start,
                len,
                disk_len,
            } => write!(
                f,
                "partition {index} ({start}+{len} bytes) reaches past the disk's end at {disk_len}"
            ),
            Problem::EbrLoop { offset } => {
                write!(f, "extended boot record chain loops at byte {offset}")
            }
            Problem::TooManyLogical { offset } => {
                write!(
                    f,
                    "extended boot record chain too long; cut at byte {offset}"
                )
            }
            Problem::BadEbr { offset } => {
                write!(f, "invalid extended boot record at byte {offset}")
            }
            Problem::GptHeader { lba } => {
                write!(f, "GPT header at LBA {lba} missing or CRC mismatch")
            }
            Problem::GptEntriesCrc { lba } => {
                write!(
                    f,
                    "GPT entry array of the header at LBA {lba} fails its CRC"
                )
            }
            Problem::GptUsedBackup { lba } => {
                write!(f, "primary GPT damaged; used the backup at LBA {lba}")
            }
            Problem::BadEntry { index } => write!(f, "GPT entry {index} ends before it starts"),
            Problem::Unreadable { offset, kind } => {
                write!(
                    f,
                    "partition table sector at byte {offset} unreadable: {kind}"
                )
            }
        }
    }
}

/// The volumes of a disk, what was wrong with its tables, and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSystem {
    /// The scheme found.
    pub scheme: Scheme,
    /// The volumes, in table order.
    pub volumes: Vec<Volume>,
    /// Damage found in the tables.
    pub problems: Vec<Problem>,
    /// Bytes of disk.
    pub disk_len: u64,
    /// The sector size the table counts in.
    pub sector_size: u64,
}

impl VolumeSystem {
    /// Ranges of the disk no volume covers (including the table sectors
    /// themselves and gaps between and after partitions), ascending.
    pub fn unallocated_regions(&self) -> Vec<Range<u64>> {
        let mut spans: Vec<(u64, u64)> = self
            .volumes
            .iter()
            .map(|v| (v.start, v.start.saturating_add(v.len).min(self.disk_len)))
            .collect();
        spans.sort_unstable();
        let mut out = Vec::new();
        let mut at = 0u64;
        for (s, e) in spans {
            if s > at {
                out.push(at..s);
            }
            at = at.max(e);
        }
        if at < self.disk_len {
            out.push(at..self.disk_len);
        }
        out
    }
}

/// True when `s` is the boot sector of a file system (NTFS, exFAT, FAT):
/// such a disk has no partition table even though it ends in 0x55AA.
pub fn looks_like_boot_sector(s: &[u8]) -> bool {
    if s.len() < 512 {
        return false;
    }
    if &s[3..11] == b"NTFS    " || &s[3..11] == b"EXFAT   " {
        return true;
    }
    let jump = s[0] == 0xEB || s[0] == 0xE9;
    let bps = u16::from_le_bytes([s[11], s[12]]);
    let spc = s[13];
    jump && bps.is_power_of_two()
        && (512..=4096).contains(&bps)
        && spc.is_power_of_two()
        && (&s[54..57] == b"FAT" || &s[82..87] == b"FAT32")
}

/// Finds the volume system of a disk.
pub fn detect(r: &dyn ReadAt) -> VolumeSystem {
    let disk_len = r.len();
    let mut problems = Vec::new();
    let whole = |problems: Vec<Problem>| VolumeSystem {
        scheme: Scheme::None,
        volumes: if disk_len > 0 {
            vec![Volume {
                index: 0,
                start: 0,
                len: disk_len,
                kind: VolumeKind::Whole,
                clamped: false,
            }]
        } else {
            Vec::new()
        },
        problems,
        disk_len,
        sector_size: mbr::SECTOR,
    };
    let mut s0 = [0u8; 512];
    if let Err(e) = r.read_exact_at(0, &mut s0) {
        if disk_len >= 512 {
            problems.push(Problem::Unreadable {
                offset: 0,
                kind: e.kind(),
            });
        }
        return whole(problems);
    }
    if looks_like_boot_sector(&s0) {
        return whole(problems);
    }
    let table = mbr::entries(&s0);
    let protective = table.is_some_and(|t| t.iter().any(|e| e.kind == 0xEE));
    if let Some(ss) = gpt::find(r).or(protective.then_some(512)) {
        if let Some(volumes) = gpt::volumes(r, ss, &mut problems) {
            return VolumeSystem {
                scheme: Scheme::Gpt,
                volumes,
                problems,
                disk_len,
                sector_size: ss,
            };
        }
    }
    match table {
        Some(t) if t.iter().any(|e| e.kind != 0 && e.kind != 0xEE) => {
            let volumes = mbr::volumes(r, t, &mut problems);
            VolumeSystem {
                scheme: Scheme::Mbr,
                volumes,
                problems,
                disk_len,
                sector_size: mbr::SECTOR,
            }
        }
        _ => whole(problems),
    }
}
