//! The fixed-layout structures of an EWF version 1 (E01) segment file,
//! parsed from bytes: file header, section descriptors, volume, table,
//! hash and digest sections, error2 lists. Pure functions, no I/O.

/// The 8-byte signature of an EWF version 1 segment file (E01, S01).
pub const EVF1: [u8; 8] = *b"EVF\x09\x0d\x0a\xff\x00";
/// The signature of an EWF version 2 segment file (Ex01).
pub const EVF2: [u8; 8] = *b"EVF2\x0d\x0a\x81\x00";
/// The signature of a logical evidence file (L01).
pub const LVF1: [u8; 8] = *b"LVF\x09\x0d\x0a\xff\x00";
/// The signature of a version 2 logical evidence file (Lx01).
pub const LEF2: [u8; 8] = *b"LEF2\x0d\x0a\x81\x00";

/// Size of the segment file header.
pub const FILE_HEADER_LEN: u64 = 13;
/// Size of a section descriptor.
pub const DESCRIPTOR_LEN: u64 = 76;
/// Size of a table section's header.
pub const TABLE_HEADER_LEN: u64 = 24;

/// Adler-32 as EWF uses it (zlib's, seeded with 1).
pub fn adler32(data: &[u8]) -> u32 {
    let mut a = adler2::Adler32::new();
    a.write_slice(data);
    a.checksum()
}

use crate::le::{u32_at, u64_at};

/// The segment number of a segment file header, if the signature is EWF 1.
pub fn segment_number(header: &[u8; 13]) -> Option<u16> {
    (header[..8] == EVF1).then(|| u16::from_le_bytes([header[9], header[10]]))
}

/// A section descriptor: the type, where the next one is, and the size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The section type (`header2`, `volume`, `sectors`, `table`, …).
    pub kind: String,
    /// Offset of the next descriptor in the same segment file.
    pub next: u64,
    /// Size of the section, descriptor included.
    pub size: u64,
}

/// Parses a section descriptor; `None` when its Adler-32 does not match.
pub fn descriptor(b: &[u8; 76]) -> Option<Descriptor> {
    if adler32(&b[..72]) != u32_at(b, 72) {
        return None;
    }
    let end = b[..16].iter().position(|&c| c == 0).unwrap_or(16);
    let kind = String::from_utf8_lossy(&b[..end]).into_owned();
    Some(Descriptor {
        kind,
        next: u64_at(b, 16),
        size: u64_at(b, 24),
    })
}

/// The geometry from a `volume`, `disk` or `data` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Number of chunks.
    pub chunks: u32,
    /// Sectors in one chunk.
    pub sectors_per_chunk: u32,
    /// Bytes in one sector.
    pub bytes_per_sector: u32,
    /// Number of sectors in the media.
    pub sectors: u64,
}

impl Geometry {
    /// Bytes in one chunk.
    pub fn chunk_size(&self) -> u64 {
        u64::from(self.sectors_per_chunk) * u64::from(self.bytes_per_sector)
    }

    /// Bytes of media.
    pub fn media_size(&self) -> u64 {
        self.sectors
            .saturating_mul(u64::from(self.bytes_per_sector))
    }
}

/// The largest chunk accepted (EnCase writes 32 KiB; libewf allows up to
/// 32768 sectors, 16 MiB).
pub const MAX_CHUNK: u64 = 16 << 20;

/// Parses volume data (the E01 1052-byte layout, or the 94-byte S01 one).
/// `None` for impossible geometry.
pub fn geometry(b: &[u8]) -> Option<Geometry> {
    if b.len() < 24 {
        return None;
    }
    let mut sectors = u64_at(b, 16);
    if b.len() < 1052 {
        // S01 layout: a 32-bit sector count.
        sectors = u64::from(u32_at(b, 16));
    }
    let g = Geometry {
        chunks: u32_at(b, 4),
        sectors_per_chunk: u32_at(b, 8),
        bytes_per_sector: u32_at(b, 12),
        sectors,
    };
    let ok = g.sectors_per_chunk > 0
        && (1..=65536).contains(&g.bytes_per_sector)
        && g.chunk_size() <= MAX_CHUNK
        && g.sectors
            .checked_mul(u64::from(g.bytes_per_sector))
            .is_some();
    ok.then_some(g)
}

/// A table section's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableHeader {
    /// Number of entries that follow.
    pub entries: u32,
    /// Offset every entry's offset is relative to.
    pub base: u64,
}

/// Parses a table header; `None` when its Adler-32 does not match.
pub fn table_header(b: &[u8; 24]) -> Option<TableHeader> {
    (adler32(&b[..20]) == u32_at(b, 20)).then(|| TableHeader {
        entries: u32_at(b, 0),
        base: u64_at(b, 8),
    })
}

/// Table entries (little-endian u32s) from their bytes; the Adler-32
/// that follows them is checked when present (`checksum`).
pub fn table_entries(b: &[u8], count: usize, checksum: Option<u32>) -> Option<Vec<u32>> {
    let bytes = b.get(..count.checked_mul(4)?)?;
    if let Some(c) = checksum {
        if adler32(bytes) != c {
            return None;
        }
    }
    Some(bytes.chunks_exact(4).map(|c| u32_at(c, 0)).collect())
}

/// Bit 31 of a table entry: the chunk is zlib-compressed.
pub const COMPRESSED: u32 = 1 << 31;

/// MD5 from a `hash` section's data.
pub fn hash_section(b: &[u8]) -> Option<[u8; 16]> {
    if b.len() < 36 || adler32(&b[..32]) != u32_at(b, 32) {
        return None;
    }
    let mut m = [0u8; 16];
    m.copy_from_slice(&b[..16]);
    Some(m)
}

/// MD5 and SHA-1 from a `digest` section's data.
pub fn digest_section(b: &[u8]) -> Option<([u8; 16], [u8; 20])> {
    if b.len() < 80 || adler32(&b[..76]) != u32_at(b, 76) {
        return None;
    }
    let mut m = [0u8; 16];
    m.copy_from_slice(&b[..16]);
    let mut s = [0u8; 20];
    s.copy_from_slice(&b[16..36]);
    Some((m, s))
}

/// (first sector, sector count) runs from an `error2` section's data.
pub fn error2_section(b: &[u8]) -> Option<Vec<(u32, u32)>> {
    if b.len() < 520 || adler32(&b[..516]) != u32_at(b, 516) {
        return None;
    }
    let n = u32_at(b, 0) as usize;
    let body = b.get(520..520 + n.checked_mul(8)?)?;
    Some(
        body.chunks_exact(8)
            .map(|c| (u32_at(c, 0), u32_at(c, 4)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_checksum() {
        let mut b = [0u8; 76];
        b[..6].copy_from_slice(b"volume");
        b[16..24].copy_from_slice(&1200u64.to_le_bytes());
        b[24..32].copy_from_slice(&1128u64.to_le_bytes());
        let c = adler32(&b[..72]);
        b[72..].copy_from_slice(&c.to_le_bytes());
        let d = descriptor(&b).unwrap();
        assert_eq!(d.kind, "volume");
        assert_eq!((d.next, d.size), (1200, 1128));
        b[20] ^= 1;
        assert!(descriptor(&b).is_none());
    }

    #[test]
    fn adler_matches_zlib_definition() {
        // Adler-32 of "Wikipedia" is 0x11E60398.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
    }

    #[test]
    fn geometry_rejects_nonsense() {
        let mut b = vec![0u8; 1052];
        b[4..8].copy_from_slice(&2u32.to_le_bytes());
        b[8..12].copy_from_slice(&64u32.to_le_bytes());
        b[12..16].copy_from_slice(&512u32.to_le_bytes());
        b[16..24].copy_from_slice(&100u64.to_le_bytes());
        let g = geometry(&b).unwrap();
        assert_eq!((g.chunk_size(), g.media_size()), (32768, 51200));
        b[8..12].copy_from_slice(&0u32.to_le_bytes());
        assert!(geometry(&b).is_none());
    }
}
