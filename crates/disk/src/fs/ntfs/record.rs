//! MFT records: the update-sequence fixup, the header and the attributes.

use super::super::le::{u16, u32, u64};
use super::super::{FsError, Structure};

/// `$STANDARD_INFORMATION`
pub(crate) const STANDARD_INFORMATION: u32 = 0x10;
/// `$ATTRIBUTE_LIST`
pub(crate) const ATTRIBUTE_LIST: u32 = 0x20;
/// `$FILE_NAME`
pub(crate) const FILE_NAME: u32 = 0x30;
/// `$DATA`
pub(crate) const DATA: u32 = 0x80;

/// The most attributes read from one record (a record of 64 KiB holds
/// fewer than 2,800 of the smallest attributes).
const MAX_ATTRIBUTES: usize = 4096;

/// A parsed MFT record.
#[derive(Debug)]
pub(crate) struct Record {
    pub in_use: bool,
    pub is_dir: bool,
    pub seq: u16,
    /// The base record's number for an extension record, else 0.
    pub base: u64,
    pub attrs: Vec<Attr>,
}

/// One attribute.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub kind: u32,
    pub name: Vec<u16>,
    /// Attribute flags: 0x0001 compressed, 0x4000 encrypted, 0x8000 sparse.
    pub flags: u16,
    pub body: Body,
}

/// Where an attribute's value is.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Resident(Vec<u8>),
    NonResident {
        start_vcn: u64,
        runs: Vec<u8>,
        compression_unit: u16,
        size: u64,
        initialized: u64,
    },
}

/// Why a record was not parsed, when that is no damage.
#[derive(Debug)]
pub(crate) enum NotARecord {
    /// All zeros or no signature: a record never used.
    Empty,
    /// Damaged.
    Damaged(FsError),
}

/// Applies the update-sequence fixup and parses a record; `offset` is its
/// byte offset in the volume (for errors).
pub(crate) fn parse(buf: &mut [u8], offset: u64) -> Result<Record, NotARecord> {
    let damaged =
        |reason| NotARecord::Damaged(FsError::corrupt(Structure::MftRecord, offset, reason));
    if &buf[..4] != b"FILE" {
        if &buf[..4] == b"BAAD" {
            return Err(damaged("marked BAAD (a failed multi-sector write)"));
        }
        return Err(NotARecord::Empty);
    }
    let usa_off = u16(buf, 4) as usize;
    let usa_count = u16(buf, 6) as usize;
    if usa_count == 0 || usa_off + usa_count * 2 > buf.len() || (usa_count - 1) * 512 > buf.len() {
        return Err(damaged("update sequence out of range"));
    }
    let usn = [buf[usa_off], buf[usa_off + 1]];
    for i in 1..usa_count {
        let end = i * 512 - 2;
        if buf[end..end + 2] != usn {
            return Err(damaged("update sequence mismatch (a torn write)"));
        }
        buf[end] = buf[usa_off + i * 2];
        buf[end + 1] = buf[usa_off + i * 2 + 1];
    }
    let seq = u16(buf, 0x10);
    let attrs_off = u16(buf, 0x14) as usize;
    let flags = u16(buf, 0x16);
    let used = (u32(buf, 0x18) as usize).min(buf.len());
    let base = u64(buf, 0x20) & 0x0000_FFFF_FFFF_FFFF;
    if attrs_off < 0x18 || attrs_off >= used {
        return Err(damaged("attributes start outside the record"));
    }
    let mut attrs = Vec::new();
    let mut at = attrs_off;
    while at + 4 <= used {
        let kind = u32(buf, at);
        if kind == 0xFFFF_FFFF {
            break;
        }
        let len = u32(buf, at + 4) as usize;
        if len < 24 || at + len > used || attrs.len() >= MAX_ATTRIBUTES {
            return Err(damaged("attribute length out of range"));
        }
        let a = &buf[at..at + len];
        let non_resident = a[8] != 0;
        let name_len = a[9] as usize;
        let name_off = u16(a, 10) as usize;
        let mut name = Vec::new();
        if name_len > 0 {
            if name_off + name_len * 2 > len {
                return Err(damaged("attribute name outside the attribute"));
            }
            name = (0..name_len).map(|k| u16(a, name_off + k * 2)).collect();
        }
        let aflags = u16(a, 12);
        let body = if non_resident {
            if len < 0x40 {
                return Err(damaged("non-resident attribute header too short"));
            }
            let runs_off = u16(a, 0x20) as usize;
            if runs_off > len {
                return Err(damaged("run list outside the attribute"));
            }
            Body::NonResident {
                start_vcn: u64(a, 0x10),
                runs: a[runs_off..].to_vec(),
                compression_unit: u16(a, 0x22),
                size: u64(a, 0x30),
                initialized: u64(a, 0x38),
            }
        } else {
            let vlen = u32(a, 0x10) as usize;
            let voff = u16(a, 0x14) as usize;
            if voff.checked_add(vlen).is_none_or(|e| e > len) {
                return Err(damaged("resident value outside the attribute"));
            }
            Body::Resident(a[voff..voff + vlen].to_vec())
        };
        attrs.push(Attr {
            kind,
            name,
            flags: aflags,
            body,
        });
        at += len;
    }
    Ok(Record {
        in_use: flags & 1 != 0,
        is_dir: flags & 2 != 0,
        seq,
        base,
        attrs,
    })
}

/// A `$FILE_NAME` value.
#[derive(Debug, Clone)]
pub(crate) struct FileName {
    /// Parent record number (48 bits) and sequence number (16 bits).
    pub parent: u64,
    pub parent_seq: u16,
    /// 0 POSIX, 1 Win32, 2 DOS, 3 Win32 and DOS.
    pub namespace: u8,
    pub name: Vec<u16>,
}

impl FileName {
    pub fn parse(v: &[u8]) -> Option<FileName> {
        if v.len() < 0x42 {
            return None;
        }
        let len = v[0x40] as usize;
        if v.len() < 0x42 + len * 2 {
            return None;
        }
        let r = u64(v, 0);
        Some(FileName {
            parent: r & 0x0000_FFFF_FFFF_FFFF,
            parent_seq: (r >> 48) as u16,
            namespace: v[0x41],
            name: (0..len).map(|k| u16(v, 0x42 + k * 2)).collect(),
        })
    }

    /// Preference among a file's names: Win32 first, then POSIX, DOS last.
    pub fn rank(&self) -> u8 {
        match self.namespace {
            1 | 3 => 0,
            0 => 1,
            _ => 2,
        }
    }
}

/// One `$ATTRIBUTE_LIST` entry: where an attribute (or a piece of one) is.
#[derive(Debug, Clone)]
pub(crate) struct ListEntry {
    pub kind: u32,
    pub record: u64,
}

/// Parses an attribute list value.
pub(crate) fn parse_attribute_list(v: &[u8]) -> Vec<ListEntry> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 0x1A <= v.len() {
        let len = u16(v, at + 4) as usize;
        if len < 0x1A {
            break;
        }
        out.push(ListEntry {
            kind: u32(v, at),
            record: u64(v, at + 0x10) & 0x0000_FFFF_FFFF_FFFF,
        });
        at += len;
    }
    out
}

/// Decodes a run list into (first cluster or `None` for sparse, cluster
/// count) pairs, checked against the volume's cluster count.
pub(crate) fn decode_runs(
    raw: &[u8],
    total_clusters: u64,
    offset: u64,
) -> Result<Vec<(Option<u64>, u64)>, FsError> {
    let bad = |reason| FsError::corrupt(Structure::RunList, offset, reason);
    let mut out = Vec::new();
    let mut at = 0;
    let mut lcn: i64 = 0;
    let mut vcns: u64 = 0;
    while at < raw.len() {
        let head = raw[at];
        if head == 0 {
            break;
        }
        let len_bytes = (head & 0x0F) as usize;
        let off_bytes = (head >> 4) as usize;
        if len_bytes == 0
            || len_bytes > 8
            || off_bytes > 8
            || at + 1 + len_bytes + off_bytes > raw.len()
        {
            return Err(bad("run header out of range"));
        }
        let mut count: u64 = 0;
        for k in 0..len_bytes {
            count |= (raw[at + 1 + k] as u64) << (8 * k);
        }
        let start = if off_bytes == 0 {
            None
        } else {
            let mut delta: i64 = 0;
            for k in 0..off_bytes {
                delta |= (raw[at + 1 + len_bytes + k] as i64) << (8 * k);
            }
            // sign-extend
            let shift = 64 - 8 * off_bytes as u32;
            delta = if shift < 64 {
                (delta << shift) >> shift
            } else {
                delta
            };
            lcn = lcn
                .checked_add(delta)
                .ok_or_else(|| bad("run offset overflows"))?;
            if lcn < 0
                || (lcn as u64)
                    .checked_add(count)
                    .is_none_or(|e| e > total_clusters)
            {
                return Err(bad("run lies outside the volume"));
            }
            Some(lcn as u64)
        };
        vcns = vcns
            .checked_add(count)
            .ok_or_else(|| bad("run lengths overflow"))?;
        if vcns > 1 << 48 {
            return Err(bad("run list longer than any volume"));
        }
        out.push((start, count));
        at += 1 + len_bytes + off_bytes;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 KiB record with a resident unnamed $DATA "hi", fixups applied.
    fn record() -> Vec<u8> {
        let mut r = vec![0u8; 1024];
        r[..4].copy_from_slice(b"FILE");
        r[4] = 0x30; // update sequence at 0x30, 3 entries (USN + 2 sectors)
        r[6] = 3;
        r[0x10] = 7; // sequence number
        r[0x14] = 0x38; // attributes
        r[0x16] = 1; // in use
        r[0x18..0x1C].copy_from_slice(&0x100u32.to_le_bytes());
        let a = 0x38;
        r[a..a + 4].copy_from_slice(&DATA.to_le_bytes());
        r[a + 4..a + 8].copy_from_slice(&0x20u32.to_le_bytes());
        r[a + 0x10..a + 0x14].copy_from_slice(&2u32.to_le_bytes());
        r[a + 0x14] = 0x18;
        r[a + 0x18..a + 0x1A].copy_from_slice(b"hi");
        r[a + 0x20..a + 0x24].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        // the sectors' last two bytes move to the array; the USN replaces them
        r[0x30..0x32].copy_from_slice(&[0xAB, 0xCD]);
        for i in 1..3 {
            let end = i * 512 - 2;
            r[0x30 + i * 2] = r[end];
            r[0x31 + i * 2] = r[end + 1];
            r[end] = 0xAB;
            r[end + 1] = 0xCD;
        }
        r
    }

    #[test]
    fn fixups_and_resident_data() {
        let mut r = record();
        let rec = parse(&mut r, 0).unwrap();
        assert!(rec.in_use && !rec.is_dir);
        assert_eq!(rec.seq, 7);
        assert!(matches!(&rec.attrs[0].body, Body::Resident(v) if v == b"hi"));
        // a torn write: one sector's tail does not carry the USN
        let mut torn = record();
        torn[1022] = 0;
        assert!(matches!(parse(&mut torn, 0), Err(NotARecord::Damaged(_))));
        let mut baad = record();
        baad[..4].copy_from_slice(b"BAAD");
        assert!(matches!(parse(&mut baad, 0), Err(NotARecord::Damaged(_))));
        let mut empty = vec![0u8; 1024];
        assert!(matches!(parse(&mut empty, 0), Err(NotARecord::Empty)));
        // an attribute longer than the record
        let mut long = record();
        long[0x3C] = 0xF0;
        long[0x3D] = 0x0F;
        assert!(matches!(parse(&mut long, 0), Err(NotARecord::Damaged(_))));
    }

    #[test]
    fn runs_decode_with_negative_offsets_and_sparse() {
        // 0x21: 1 length byte, 2 offset bytes
        let raw = [0x21, 0x10, 0x00, 0x01, 0x01, 0x05, 0x11, 0x04, 0xF0, 0x00];
        let runs = decode_runs(&raw, 1000, 0).unwrap();
        assert_eq!(runs, vec![(Some(256), 16), (None, 5), (Some(240), 4)]);
        assert!(decode_runs(&[0x21, 0x10, 0x00, 0x10], 1000, 0).is_err());
    }
}
