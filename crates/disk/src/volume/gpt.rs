//! The GUID partition table: a CRC-checked header at LBA 1 (and a backup
//! at the last LBA) pointing to an array of CRC-checked entries.

use super::{Problem, Volume, VolumeKind};
use crate::read::ReadAt;
use std::fmt;

/// Entry arrays larger than this are not read (the standard is 16 KiB).
const MAX_ENTRIES_BYTES: u64 = 1 << 20;

/// A GUID, as stored on disk (first three fields little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9]
        )?;
        for x in &b[10..] {
            write!(f, "{x:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Guid {
    /// True for the all-zero GUID (an unused entry).
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

/// A name for common partition type GUIDs.
pub fn type_name(g: &Guid) -> Option<&'static str> {
    Some(match g.to_string().as_str() {
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" => "EFI System",
        "21686148-6449-6E6F-744E-656564454649" => "BIOS boot",
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" => "Microsoft basic data",
        "E3C9E316-0B5C-4DB8-817D-F92DF00215AE" => "Microsoft reserved",
        "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC" => "Windows recovery",
        "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3" => "Windows LDM metadata",
        "AF9B60A0-1431-4F62-BC68-3311714A69AD" => "Windows LDM data",
        "E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D" => "Windows storage spaces",
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4" => "Linux filesystem",
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709" => "Linux root (x86-64)",
        "933AC7E1-2EB4-4F13-B844-0E14E2AEF915" => "Linux home",
        "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F" => "Linux swap",
        "E6D6D379-F507-44C2-A23C-238F2A3DF928" => "Linux LVM",
        "A19D880F-05FC-4D3B-A006-743F0F84911E" => "Linux RAID",
        "CA7D7CCB-63ED-4C53-861C-1742536059CC" => "Linux LUKS",
        "48465300-0000-11AA-AA11-00306543ECAC" => "Apple HFS+",
        "7C3457EF-0000-11AA-AA11-00306543ECAC" => "Apple APFS",
        "426F6F74-0000-11AA-AA11-00306543ECAC" => "Apple boot",
        "516E7CB4-6ECF-11D6-8FF8-00022D09712B" => "FreeBSD UFS",
        "6A898CC3-1DD2-11B2-99A6-080020736631" => "ZFS",
        _ => return None,
    })
}

/// A parsed, CRC-checked GPT header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// LBA of this header.
    pub my_lba: u64,
    /// LBA of the other copy.
    pub alternate_lba: u64,
    /// First and last LBA partitions may use.
    pub usable: (u64, u64),
    /// LBA of the entry array.
    pub entries_lba: u64,
    /// Number of entries.
    pub entries: u32,
    /// Bytes per entry.
    pub entry_size: u32,
    /// CRC-32 of the entry array.
    pub entries_crc: u32,
}

use crate::le::{u32_at, u64_at};

/// Parses a GPT header sector: signature, size, header CRC-32, sane entry
/// array geometry. `None` when any check fails.
pub fn header(b: &[u8]) -> Option<Header> {
    if b.len() < 92 || &b[..8] != b"EFI PART" {
        return None;
    }
    let size = u32_at(b, 12) as usize;
    if size < 92 || size > b.len() {
        return None;
    }
    let mut copy = b[..size].to_vec();
    copy[16..20].fill(0);
    if crc32fast::hash(&copy) != u32_at(b, 16) {
        return None;
    }
    let h = Header {
        my_lba: u64_at(b, 24),
        alternate_lba: u64_at(b, 32),
        usable: (u64_at(b, 40), u64_at(b, 48)),
        entries_lba: u64_at(b, 72),
        entries: u32_at(b, 80),
        entry_size: u32_at(b, 84),
        entries_crc: u32_at(b, 88),
    };
    let ok = h.entry_size >= 128
        && h.entry_size.is_multiple_of(8)
        && u64::from(h.entries) * u64::from(h.entry_size) <= MAX_ENTRIES_BYTES;
    ok.then_some(h)
}

/// One used entry of the array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the array (0-based).
    pub slot: u32,
    /// Partition type.
    pub type_guid: Guid,
    /// This partition's own GUID.
    pub guid: Guid,
    /// First LBA.
    pub first: u64,
    /// Last LBA (inclusive).
    pub last: u64,
    /// Attribute bits.
    pub attributes: u64,
    /// Name (UTF-16LE on disk).
    pub name: String,
}

/// The used entries of an entry array.
pub fn entries(b: &[u8], entry_size: usize) -> Vec<Entry> {
    let mut out = Vec::new();
    if entry_size < 128 {
        return out;
    }
    for (slot, e) in b.chunks_exact(entry_size).enumerate() {
        let mut t = [0u8; 16];
        t.copy_from_slice(&e[..16]);
        let type_guid = Guid(t);
        if type_guid.is_nil() {
            continue;
        }
        let mut g = [0u8; 16];
        g.copy_from_slice(&e[16..32]);
        let units: Vec<u16> = e[56..128]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        out.push(Entry {
            slot: slot as u32,
            type_guid,
            guid: Guid(g),
            first: u64_at(e, 32),
            last: u64_at(e, 40),
            attributes: u64_at(e, 48),
            name: String::from_utf16_lossy(&units),
        });
    }
    out
}

/// Reads a header at `lba` and its entry array; the flag says whether the
/// array's CRC matched.
fn read_copy(r: &dyn ReadAt, lba: u64, ss: u64) -> Option<(Header, Vec<u8>, bool)> {
    let mut b = vec![0u8; ss as usize];
    r.read_exact_at(lba.checked_mul(ss)?, &mut b).ok()?;
    let h = header(&b)?;
    if h.my_lba != lba {
        return None;
    }
    let n = u64::from(h.entries) * u64::from(h.entry_size);
    let mut e = vec![0u8; n as usize];
    r.read_exact_at(h.entries_lba.checked_mul(ss)?, &mut e)
        .ok()?;
    let good = crc32fast::hash(&e) == h.entries_crc;
    Some((h, e, good))
}

/// The sector size whose LBA 1 holds a valid GPT header (512 or 4096).
pub fn find(r: &dyn ReadAt) -> Option<u64> {
    [512u64, 4096].into_iter().find(|&ss| {
        let mut b = vec![0u8; ss as usize];
        r.read_exact_at(ss, &mut b).is_ok() && header(&b).is_some()
    })
}

/// The partitions of a GPT disk with sector size `ss`, using the backup
/// header and array when the primary ones are damaged. `None` when neither
/// copy has a valid header.
pub(super) fn volumes(r: &dyn ReadAt, ss: u64, problems: &mut Vec<Problem>) -> Option<Vec<Volume>> {
    let last_lba = (r.len() / ss).checked_sub(1)?;
    let primary = read_copy(r, 1, ss);
    let chosen = match primary {
        Some((h, e, true)) => (h, e),
        other => {
            let alt = other
                .as_ref()
                .map(|p| p.0.alternate_lba)
                .unwrap_or(last_lba);
            problems.push(if other.is_some() {
                Problem::GptEntriesCrc { lba: 1 }
            } else {
                Problem::GptHeader { lba: 1 }
            });
            match read_copy(r, alt, ss).or_else(|| read_copy(r, last_lba, ss)) {
                Some((h, e, true)) => {
                    problems.push(Problem::GptUsedBackup { lba: h.my_lba });
                    (h, e)
                }
                Some((h, e, false)) => {
                    problems.push(Problem::GptEntriesCrc { lba: h.my_lba });
                    (h, e)
                }
                None => match other {
                    // Both arrays fail their CRC: read the primary anyway,
                    // better than not looking.
                    Some((h, e, _)) => (h, e),
                    None => {
                        problems.push(Problem::GptHeader { lba: alt });
                        return None;
                    }
                },
            }
        }
    };
    let (h, raw) = chosen;
    let disk_len = r.len();
    let mut out = Vec::new();
    for e in entries(&raw, h.entry_size as usize) {
        let index = e.slot + 1;
        if e.last < e.first {
            problems.push(Problem::BadEntry { index });
            continue;
        }
        let start = e.first.saturating_mul(ss);
        let len = (e.last - e.first + 1).saturating_mul(ss);
        let kind = VolumeKind::Gpt {
            type_name: type_name(&e.type_guid),
            type_guid: e.type_guid,
            guid: e.guid,
            name: e.name,
            attributes: e.attributes,
        };
        super::mbr::push_clamped(&mut out, problems, disk_len, index, start, len, kind);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_text_is_mixed_endian() {
        let g = Guid([
            0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E,
            0xC9, 0x3B,
        ]);
        assert_eq!(g.to_string(), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
        assert_eq!(type_name(&g), Some("EFI System"));
    }
}
