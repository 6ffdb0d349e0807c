//! Recovering the entries of a zip whose central directory is missing
//! (the file was cut short) or damaged, by walking its local file headers
//! from the start, as 7-Zip and IPED do.
//!
//! Each local header gives the entry's name, method and (usually) its
//! compressed size. When general-purpose flag bit 3 is set the sizes come
//! after the data, in a data descriptor: a deflate stream is then measured
//! by inflating it (deflate marks its own end), and a stored entry ends at
//! the first data descriptor whose compressed size equals the distance
//! covered. The walk stops, saying where and why, at the central
//! directory, at the end of the bytes, or at anything that is not a local
//! header; an entry cut short is not listed.

use std::ops::Range;

/// Local file header signature.
const LOCAL: &[u8; 4] = b"PK\x03\x04";
/// Data descriptor signature (optional before a descriptor).
const DESCRIPTOR: &[u8; 4] = b"PK\x07\x08";
/// Central directory header and end-of-central-directory signatures.
const CENTRAL: [&[u8; 4]; 3] = [b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06"];
/// Fixed part of a local header.
const HEADER_LEN: usize = 30;

/// One entry found by walking the local headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalEntry {
    /// Its name (lossy UTF-8).
    pub name: String,
    /// Compression method (0 stored, 8 deflate, …).
    pub method: u16,
    /// Encrypted (flag bit 0).
    pub encrypted: bool,
    /// Where its compressed data is in the zip.
    pub data: Range<usize>,
    /// MS-DOS date and time, as recorded: `(date, time)`.
    pub dos_time: (u16, u16),
}

/// Why the walk ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WalkEnd {
    /// At the central directory: every local entry was seen.
    CentralDirectory,
    /// The bytes ended where a header could start (nothing cut).
    End,
    /// Damage at `offset`, described.
    Damaged {
        /// Byte offset in the zip.
        offset: usize,
        /// What was wrong.
        why: String,
    },
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_le_bytes([x[0], x[1]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|x| {
        let mut a = [0u8; 8];
        a.copy_from_slice(x);
        u64::from_le_bytes(a)
    })
}

/// The zip64 compressed size from an extra field, when the header's is
/// `0xFFFFFFFF`.
fn zip64_compressed(extra: &[u8], usize_too: bool) -> Option<u64> {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let id = le16(extra, i)?;
        let len = le16(extra, i + 2)? as usize;
        let body = extra.get(i + 4..i + 4 + len)?;
        if id == 1 {
            // Uncompressed size first (when it overflowed too), then compressed.
            return le64(body, if usize_too { 8 } else { 0 });
        }
        i += 4 + len;
    }
    None
}

/// Walks the local headers of `zip` from its start. A deflate stream whose
/// end must be found by inflating it is inflated at most to `max_out`
/// bytes (the expansion budget); past that the walk stops there.
pub(crate) fn walk(zip: &[u8], max_out: u64) -> (Vec<LocalEntry>, WalkEnd) {
    let mut entries = Vec::new();
    let mut pos = 0usize;
    loop {
        let rest = &zip[pos..];
        if rest.is_empty() {
            return (entries, WalkEnd::End);
        }
        if CENTRAL.iter().any(|s| rest.starts_with(*s)) {
            return (entries, WalkEnd::CentralDirectory);
        }
        let damaged = |why: &str| WalkEnd::Damaged {
            offset: pos,
            why: why.to_string(),
        };
        if !rest.starts_with(LOCAL) {
            let why = if rest.len() < 4 {
                "the file ends inside a header"
            } else {
                "no local header where one should start"
            };
            return (entries, damaged(why));
        }
        match entry_at(zip, pos, max_out) {
            Ok((entry, next)) => {
                entries.push(entry);
                pos = next;
            }
            Err(why) => return (entries, damaged(why)),
        }
    }
}

/// The entry whose local header is at `pos`, and where the next header
/// would start.
fn entry_at(zip: &[u8], pos: usize, max_out: u64) -> Result<(LocalEntry, usize), &'static str> {
    let cut = "the file ends inside this entry";
    let h = zip.get(pos..pos + HEADER_LEN).ok_or(cut)?;
    let flags = le16(h, 6).ok_or(cut)?;
    let method = le16(h, 8).ok_or(cut)?;
    let dos_time = (le16(h, 12).ok_or(cut)?, le16(h, 10).ok_or(cut)?);
    let csize = le32(h, 18).ok_or(cut)?;
    let usize32 = le32(h, 22).ok_or(cut)?;
    let nlen = le16(h, 26).ok_or(cut)? as usize;
    let xlen = le16(h, 28).ok_or(cut)? as usize;
    let name_at = pos + HEADER_LEN;
    let name = zip.get(name_at..name_at + nlen).ok_or(cut)?;
    let extra = zip.get(name_at + nlen..name_at + nlen + xlen).ok_or(cut)?;
    let start = name_at + nlen + xlen;
    let deferred = flags & 8 != 0;
    let (end, next) = if csize == u32::MAX {
        let c = zip64_compressed(extra, usize32 == u32::MAX).ok_or("zip64 size missing")?;
        let end = start
            .checked_add(usize::try_from(c).map_err(|_| cut)?)
            .ok_or(cut)?;
        (end, skip_descriptor(zip, end, deferred, true))
    } else if deferred && csize == 0 {
        let end = match method {
            8 => deflate_end(zip, start, max_out)
                .ok_or("a deflate stream without its end (within the expansion limit)")?,
            _ => stored_end(zip, start).ok_or("no data descriptor after the data")?,
        };
        (end, skip_descriptor(zip, end, true, false))
    } else {
        let end = start + csize as usize;
        (end, skip_descriptor(zip, end, deferred, false))
    };
    if end > zip.len() {
        return Err(cut);
    }
    Ok((
        LocalEntry {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            encrypted: flags & 1 != 0,
            data: start..end,
            dos_time,
        },
        next.min(zip.len()),
    ))
}

/// Where the next header starts after data ending at `end`: past a data
/// descriptor when there is one (with or without its signature).
fn skip_descriptor(zip: &[u8], end: usize, deferred: bool, zip64: bool) -> usize {
    if !deferred {
        return end;
    }
    let sizes = if zip64 { 16 } else { 8 };
    let with_sig = 8 + sizes;
    let without = 4 + sizes;
    if zip.get(end..end + 4) == Some(DESCRIPTOR) && end + with_sig <= zip.len() {
        end + with_sig
    } else if end + without <= zip.len() {
        end + without
    } else {
        end
    }
}

/// The end of a raw deflate stream starting at `start`, found by inflating
/// it (into a small reused buffer).
fn deflate_end(zip: &[u8], start: usize, max_out: u64) -> Option<usize> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut d = Decompress::new(false);
    let mut out = vec![0u8; 64 << 10];
    let input = zip.get(start..)?;
    loop {
        let before_in = d.total_in();
        let before_out = d.total_out();
        let at = usize::try_from(before_in).ok()?;
        let status = d
            .decompress(&input[at..], &mut out, FlushDecompress::None)
            .ok()?;
        if d.total_out() > max_out {
            return None;
        }
        match status {
            Status::StreamEnd => return Some(start + usize::try_from(d.total_in()).ok()?),
            _ if d.total_in() == before_in && d.total_out() == before_out => return None,
            _ => {}
        }
    }
}

/// The end of stored data starting at `start`: the first data descriptor
/// (signed or not) whose compressed size is the distance from `start`.
fn stored_end(zip: &[u8], start: usize) -> Option<usize> {
    (start..zip.len()).find(|&p| {
        let dist = (p - start) as u64;
        let signed = zip.get(p..p + 4) == Some(DESCRIPTOR)
            && le32(zip, p + 8).map(u64::from) == Some(dist)
            && le32(zip, p + 12).map(u64::from) == Some(dist);
        let unsigned = le32(zip, p + 4).map(u64::from) == Some(dist)
            && le32(zip, p + 8).map(u64::from) == Some(dist)
            && (p + 12 == zip.len() || zip.get(p + 12..p + 14) == Some(b"PK"));
        signed || unsigned
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A zip written as a stream would be: every entry with flag bit 3,
    /// zero sizes in its header and a signed data descriptor after the
    /// data; then the start of a central directory.
    pub(crate) fn streamed_zip(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut z = Vec::new();
        for (name, data, deflate) in entries {
            let body = if *deflate {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            } else {
                data.to_vec()
            };
            let mut crc = flate2::Crc::new();
            crc.update(data);
            z.extend_from_slice(LOCAL);
            z.extend_from_slice(&20u16.to_le_bytes());
            z.extend_from_slice(&8u16.to_le_bytes());
            z.extend_from_slice(&(if *deflate { 8u16 } else { 0 }).to_le_bytes());
            z.extend_from_slice(&[0x00, 0x60, 0x21, 0x5b]); // 2025-09-01 12:00
            z.extend_from_slice(&[0u8; 12]);
            z.extend_from_slice(&(name.len() as u16).to_le_bytes());
            z.extend_from_slice(&0u16.to_le_bytes());
            z.extend_from_slice(name.as_bytes());
            z.extend_from_slice(&body);
            z.extend_from_slice(DESCRIPTOR);
            z.extend_from_slice(&crc.sum().to_le_bytes());
            z.extend_from_slice(&(body.len() as u32).to_le_bytes());
            z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        }
        z.extend_from_slice(CENTRAL[0]);
        z
    }

    fn inflate(zip: &[u8], e: &LocalEntry) -> Vec<u8> {
        use std::io::Read;
        let raw = &zip[e.data.clone()];
        if e.method == 0 {
            return raw.to_vec();
        }
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(raw)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn streamed_entries_with_descriptors_are_recovered() {
        let a = b"first benign entry, repeated, repeated, repeated".repeat(20);
        let b = b"second: stored with a data descriptor".to_vec();
        let c = b"third entry".repeat(50);
        let z = streamed_zip(&[
            ("a.txt", &a, true),
            ("b.txt", &b, false),
            ("c.txt", &c, true),
        ]);
        assert_eq!(&z[6..8], &[8, 0], "bit 3 set");
        let (found, end) = walk(&z, u64::MAX);
        assert_eq!(end, WalkEnd::CentralDirectory);
        let names: Vec<&str> = found.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.txt", "b.txt", "c.txt"]);
        assert_eq!(inflate(&z, &found[0]), a);
        assert_eq!(inflate(&z, &found[1]), b);
        assert_eq!(inflate(&z, &found[2]), c);
        // Cut inside the third entry: the first two survive.
        let cut = &z[..found[2].data.start + 5];
        let (found2, end) = walk(cut, u64::MAX);
        assert_eq!(found2.len(), 2);
        assert!(matches!(end, WalkEnd::Damaged { .. }));
        // A deflate stream longer than the budget is not measured.
        let (found3, end) = walk(&z, 100);
        assert!(found3.is_empty());
        assert!(matches!(end, WalkEnd::Damaged { offset: 0, .. }));
        // Any prefix: never a panic, never more than was there.
        for n in 0..z.len() {
            let (f, _) = walk(&z[..n], u64::MAX);
            assert!(f.len() <= 3);
        }
    }
}
