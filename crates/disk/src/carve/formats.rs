//! Structure walkers: from a candidate signature, follow each format's
//! structure to its true end. Each returns `None` when the candidate's
//! header is not plausible, or the length reached and whether the walk
//! ended at the format's own end marker.

use super::cursor::Cursor;

/// The outcome of a walk with a plausible header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Walk {
    pub(crate) len: u64,
    pub(crate) complete: bool,
}

fn truncated(len: u64) -> Option<Walk> {
    Some(Walk {
        len,
        complete: false,
    })
}

fn done(len: u64) -> Option<Walk> {
    Some(Walk {
        len,
        complete: true,
    })
}

/// Segments a JPEG walk follows at most (real files have tens; a hostile
/// chain of tiny segments would otherwise make nested candidates costly).
const MAX_JPEG_SEGMENTS: u32 = 4096;

/// JPEG markers that may follow another segment or a scan.
fn jpeg_marker_ok(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF | 0xD8..=0xDF | 0xE0..=0xEF | 0xFE) && m != 0xC8 && m != 0xD8
}

/// JPEG: segments after SOI, entropy-coded data after each SOS (where 0xFF
/// is stuffed with 0x00 or is a restart marker), to EOI.
pub(crate) fn jpeg(c: &mut Cursor) -> Option<Walk> {
    if c.get(0, 3)? != [0xFF, 0xD8, 0xFF] || !jpeg_marker_ok(c.byte(3)?) {
        return None;
    }
    let mut pos = 2u64;
    let mut scanned = false;
    let mut segments = 0u32;
    loop {
        segments += 1;
        if segments > MAX_JPEG_SEGMENTS {
            return if scanned { truncated(pos) } else { None };
        }
        // At a marker: 0xFF (fill bytes allowed), then the code.
        if c.byte(pos) != Some(0xFF) {
            return if scanned {
                truncated(pos.min(c.limit()))
            } else {
                None
            };
        }
        let mut m = c.byte(pos + 1);
        while m == Some(0xFF) {
            pos += 1;
            m = c.byte(pos + 1);
        }
        let Some(m) = m else {
            return if scanned { truncated(c.limit()) } else { None };
        };
        if m == 0xD9 {
            return if scanned { done(pos + 2) } else { None };
        }
        if (0xD0..=0xD7).contains(&m) || m == 0x01 {
            pos += 2;
            continue;
        }
        if !jpeg_marker_ok(m) {
            return if scanned { truncated(pos) } else { None };
        }
        let Some(len) = c.u16_be(pos + 2) else {
            return if scanned { truncated(c.limit()) } else { None };
        };
        if len < 2 {
            return if scanned { truncated(pos) } else { None };
        }
        pos += 2 + u64::from(len);
        if m != 0xDA {
            continue;
        }
        scanned = true;
        // Entropy-coded data: to the next 0xFF that starts a real marker.
        loop {
            let Some(ff) = c.find_ff(pos) else {
                return truncated(c.limit());
            };
            match c.byte(ff + 1) {
                None => return truncated(c.limit()),
                Some(0x00) | Some(0xD0..=0xD7) => pos = ff + 2,
                Some(0xFF) => pos = ff + 1,
                Some(_) => {
                    pos = ff;
                    break;
                }
            }
        }
    }
}

/// PNG: chunks after the signature, the first IHDR (its CRC checked), to
/// IEND. `check_crc` checks every chunk's CRC (an item whose CRC fails
/// ends there, truncated).
pub(crate) fn png(c: &mut Cursor, check_crc: bool) -> Option<Walk> {
    if c.get(0, 8)? != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    let ihdr = c.get(8, 25)?.to_vec();
    if ihdr[..8] != *b"\0\0\0\x0dIHDR"
        || crc32fast::hash(&ihdr[4..21])
            != u32::from_be_bytes([ihdr[21], ihdr[22], ihdr[23], ihdr[24]])
    {
        return None;
    }
    let mut pos = 33u64;
    loop {
        c.mark(pos);
        let Some(head) = c.get(pos, 8).map(|h| h.to_vec()) else {
            return truncated(pos.min(c.limit()));
        };
        let len = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        if len > 0x7FFF_FFFF || !head[4..8].iter().all(u8::is_ascii_alphabetic) {
            return truncated(pos);
        }
        let end = pos + 12 + len;
        if end > c.limit() {
            return truncated(c.limit());
        }
        if check_crc && len <= 60_000 {
            let body = c.get(pos + 4, 4 + len as usize + 4)?;
            let n = body.len() - 4;
            let want = u32::from_be_bytes([body[n], body[n + 1], body[n + 2], body[n + 3]]);
            if crc32fast::hash(&body[..n]) != want {
                return truncated(pos);
            }
        }
        if &head[4..8] == b"IEND" {
            return done(end);
        }
        pos = end;
    }
}

/// GIF sub-blocks from `pos` to their zero terminator; the position after.
fn gif_sub_blocks(c: &mut Cursor, mut pos: u64) -> Option<u64> {
    loop {
        let n = c.byte(pos)?;
        pos += 1 + u64::from(n);
        if n == 0 {
            return Some(pos);
        }
    }
}

/// GIF: logical screen, optional global colour table, then image
/// descriptors and extensions (sub-blocks) to the trailer 0x3B.
pub(crate) fn gif(c: &mut Cursor) -> Option<Walk> {
    let h = c.get(0, 13)?.to_vec();
    if &h[..6] != b"GIF87a" && &h[..6] != b"GIF89a" {
        return None;
    }
    let (w, hgt) = (
        u16::from_le_bytes([h[6], h[7]]),
        u16::from_le_bytes([h[8], h[9]]),
    );
    if w == 0 || hgt == 0 {
        return None;
    }
    let mut pos = 13u64;
    if h[10] & 0x80 != 0 {
        pos += 3 << ((h[10] & 7) + 1);
    }
    let mut images = 0;
    loop {
        c.mark(pos);
        let Some(b) = c.byte(pos) else {
            return truncated(pos.min(c.limit()));
        };
        match b {
            0x3B if images > 0 => return done(pos + 1),
            0x2C => {
                let Some(d) = c.get(pos, 10).map(|d| d.to_vec()) else {
                    return truncated(c.limit());
                };
                let mut p = pos + 10;
                if d[9] & 0x80 != 0 {
                    p += 3 << ((d[9] & 7) + 1);
                }
                match c.byte(p) {
                    Some(1..=12) => {}
                    Some(_) => return truncated(pos),
                    None => return truncated(c.limit()),
                }
                match gif_sub_blocks(c, p + 1) {
                    Some(e) => pos = e,
                    None => return truncated(c.limit()),
                }
                images += 1;
            }
            0x21 => match gif_sub_blocks(c, pos + 2) {
                Some(e) => pos = e,
                None => return truncated(c.limit()),
            },
            _ => {
                return if pos > 13 { truncated(pos) } else { None };
            }
        }
    }
}

/// WebP: a RIFF container whose form type is WEBP and whose first chunk is
/// VP8, VP8L or VP8X; its length is the RIFF size (padded to even).
pub(crate) fn webp(c: &mut Cursor) -> Option<Walk> {
    let h = c.get(0, 16)?;
    if &h[..4] != b"RIFF"
        || &h[8..12] != b"WEBP"
        || !matches!(&h[12..16], b"VP8 " | b"VP8L" | b"VP8X")
    {
        return None;
    }
    let size = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
    if size < 12 {
        return None;
    }
    let total = 8 + size + (size & 1);
    if total > c.limit() {
        return truncated(c.limit());
    }
    done(total)
}

/// BMP: the 14-byte file header and a known DIB header (planes 1, a usual
/// bit depth); the length is the file size field, or computed from the
/// dimensions when that is 0 for uncompressed data.
pub(crate) fn bmp(c: &mut Cursor) -> Option<Walk> {
    let h = c.get(0, 30)?.to_vec();
    if &h[..2] != b"BM" || h[6..10] != [0, 0, 0, 0] {
        return None;
    }
    let le32 = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    let le16 = |at: usize| u16::from_le_bytes([h[at], h[at + 1]]);
    let size = u64::from(le32(2));
    let data_at = u64::from(le32(10));
    let dib = le32(14);
    let (w, hgt, planes, bpp, compression) = match dib {
        12 => (
            u64::from(le16(18)),
            u64::from(le16(20)),
            le16(22),
            le16(24),
            0,
        ),
        40 | 52 | 56 | 64 | 108 | 124 => {
            let w = le32(18) as i32;
            let hh = le32(22) as i32;
            if w <= 0 || hh == 0 {
                return None;
            }
            let more = c.get(30, 4)?;
            let comp = u32::from_le_bytes([more[0], more[1], more[2], more[3]]);
            (
                w as u64,
                u64::from(hh.unsigned_abs()),
                le16(26),
                le16(28),
                comp,
            )
        }
        _ => return None,
    };
    if planes != 1
        || !matches!(bpp, 1 | 2 | 4 | 8 | 16 | 24 | 32)
        || compression > 13
        || w == 0
        || hgt == 0
    {
        return None;
    }
    if w > 1 << 16 || hgt > 1 << 16 || data_at < 14 + u64::from(dib) {
        return None;
    }
    let row = (w * u64::from(bpp)).div_ceil(32) * 4;
    let pixels = row * hgt;
    let len = if size != 0 {
        // Uncompressed data must fit in the stated size.
        if size < data_at || (compression == 0 && size < data_at + pixels) {
            return None;
        }
        size
    } else if compression == 0 {
        data_at + pixels
    } else {
        return None;
    };
    if len > c.limit() {
        return truncated(c.limit());
    }
    done(len)
}

fn box_type_ok(t: &[u8]) -> bool {
    t.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b' ' || b == 0xA9)
}

/// MP4 / MOV / 3GP / HEIF: an `ftyp` box at the candidate, then top-level
/// boxes (32- or 64-bit sizes) while their types are plausible. Complete
/// when the walk saw a `moov` (or `meta` for HEIF) and stopped at a
/// non-box or at the limit exactly at a box boundary.
pub(crate) fn mp4(c: &mut Cursor) -> Option<Walk> {
    let h = c.get(0, 12)?;
    let size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
    if &h[4..8] != b"ftyp" || !(16..=4096).contains(&size) || !box_type_ok(&h[8..12]) {
        return None;
    }
    let mut pos = 0u64;
    let mut has_index = false;
    loop {
        c.mark(pos);
        let Some(b) = c.get(pos, 8).map(|b| b.to_vec()) else {
            // End of the region at a box boundary.
            return Some(Walk {
                len: pos.min(c.limit()),
                complete: has_index && pos == c.limit(),
            });
        };
        // A second `ftyp` is the next file.
        if !box_type_ok(&b[4..8]) || (pos > 0 && &b[4..8] == b"ftyp") {
            return Some(Walk {
                len: pos,
                complete: has_index,
            });
        }
        let mut size = u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if size == 1 {
            let Some(l) = c.get(pos + 8, 8) else {
                return truncated(c.limit());
            };
            let mut x = [0u8; 8];
            x.copy_from_slice(l);
            size = u64::from_be_bytes(x);
            if size < 16 {
                return Some(Walk {
                    len: pos,
                    complete: has_index,
                });
            }
        } else if size == 0 {
            // "To the end of the file": unknown when carving.
            return truncated(c.limit());
        } else if size < 8 {
            return Some(Walk {
                len: pos,
                complete: has_index,
            });
        }
        if matches!(&b[4..8], b"moov" | b"meta" | b"moof") {
            has_index = true;
        }
        let Some(end) = pos.checked_add(size) else {
            return truncated(c.limit());
        };
        if end > c.limit() {
            return truncated(c.limit());
        }
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(data: &[u8], f: fn(&mut Cursor) -> Option<Walk>) -> Option<Walk> {
        let v = data.to_vec();
        let mut c = Cursor::new(&v, 0, v.len() as u64);
        f(&mut c)
    }

    #[test]
    fn implausible_headers_are_not_items() {
        // "BM" followed by text, a BMP with 3 planes, a GIF of width 0.
        assert_eq!(
            walk(b"BM is just two letters in some text here......", bmp),
            None
        );
        let mut b = vec![0u8; 80];
        b[..2].copy_from_slice(b"BM");
        b[2..6].copy_from_slice(&80u32.to_le_bytes());
        b[10] = 54;
        b[14] = 40;
        b[18] = 2;
        b[22] = 2;
        b[26] = 3;
        b[28] = 24;
        assert_eq!(walk(&b, bmp), None);
        b[26] = 1;
        assert_eq!(
            walk(&b, bmp),
            Some(Walk {
                len: 80,
                complete: true
            })
        );
        let gif0 = b"GIF89a\0\0\x01\0\0\0\0;";
        assert_eq!(walk(gif0, gif), None);
        // A JPEG SOI followed by an impossible marker.
        assert_eq!(walk(b"\xFF\xD8\xFF\x00\x00\x00", jpeg), None);
        // A RIFF that is not WebP (a WAV).
        assert_eq!(walk(b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0", webp), None);
    }

    #[test]
    fn a_segment_length_past_the_end_stops_at_the_end() {
        // SOI, SOS with a tiny scan, then a DQT claiming 0x6000 bytes.
        let j = b"\xFF\xD8\xFF\xDA\x00\x02\x11\x22\xFF\xDB\x60\x00\x01";
        let w = walk(j, jpeg).unwrap();
        assert!(w.len <= j.len() as u64, "{w:?}");
        assert!(!w.complete);
    }

    #[test]
    fn a_gif_without_images_ends_nowhere() {
        // Header, no global table, then the trailer before any image: not
        // complete (a trailer needs an image before it).
        assert_eq!(walk(b"GIF89a\x01\0\x01\0\0\0\0;", gif), None);
        // One 1x1 image then the trailer.
        let g = b"GIF89a\x01\0\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";
        assert_eq!(
            walk(g, gif),
            Some(Walk {
                len: g.len() as u64,
                complete: true
            })
        );
    }
}
