//! Carving: finding pictures and videos by signature in bytes no file
//! system accounts for (unallocated space, regions outside every volume),
//! and walking each format's structure to its true end.
//!
//! [`Carver`] streams over any [`ReadAt`] range in 1 MiB blocks (memory
//! stays bounded whatever the range's size), searches each block for the
//! signatures with `memchr`'s SIMD substring search, and walks every
//! candidate with a format walker that reads ahead through a 64 KiB
//! buffer, never further than [`CarveOptions::max_size`]. Candidates whose
//! header is implausible are dropped; items whose end marker was not
//! reached (truncated, partly overwritten, cut at the maximum size) are
//! still yielded, with `complete: false`.
//!
//! Overlapping JPEGs are all reported (an embedded thumbnail is an item of
//! its own). For the formats made of a chain of chunks or boxes (PNG, GIF,
//! MP4) a candidate inside the part of an earlier item of the same kind
//! whose structure was verified is not walked again: that keeps hostile
//! data (signatures nested in signatures) from making carving quadratic,
//! and a damaged item hides nothing past the point where its structure
//! stopped making sense.

mod cursor;
mod formats;

use crate::container::verify::fill_lossy;
use crate::read::ReadAt;
use crate::unreadable::Unreadable;
use cursor::Cursor;
use memchr::memmem::Finder;
use std::collections::VecDeque;

/// A format the carver finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG.
    Png,
    /// GIF87a / GIF89a.
    Gif,
    /// WebP (RIFF … WEBP).
    Webp,
    /// Windows bitmap (`BM` with a plausible header).
    Bmp,
    /// MP4, MOV, 3GP, HEIF: ISO base media with an `ftyp` box first.
    Mp4,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::Jpeg,
        Kind::Png,
        Kind::Gif,
        Kind::Webp,
        Kind::Bmp,
        Kind::Mp4,
    ];

    /// The usual file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Bmp => "bmp",
            Kind::Mp4 => "mp4",
        }
    }
}

/// One carved item: `len` bytes at `offset` of the carved reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carved {
    /// Where it starts, in the coordinates of the reader carved.
    pub offset: u64,
    /// Its length.
    pub len: u64,
    /// Its format.
    pub kind: Kind,
    /// True when the walk reached the format's end marker (EOI, IEND,
    /// trailer, the stated size); false for an item cut by the end of the
    /// range, the maximum size, or data that stops making sense.
    pub complete: bool,
}

/// Carving settings.
#[derive(Debug, Clone)]
pub struct CarveOptions {
    /// Largest item carved; longer ones are cut here (`complete: false`).
    pub max_size: u64,
    /// The formats searched for.
    pub kinds: Vec<Kind>,
    /// Check every PNG chunk's CRC (an item ends at the first bad one).
    pub png_crc: bool,
}

impl Default for CarveOptions {
    fn default() -> CarveOptions {
        CarveOptions {
            max_size: 256 << 20,
            kinds: Kind::ALL.to_vec(),
            png_crc: false,
        }
    }
}

const BLOCK: u64 = 1 << 20;
/// Bytes each block reads past its end so that signatures straddling a
/// boundary are seen (the longest is 8, and `ftyp` sits 4 bytes in).
const OVERLAP: u64 = 8;

struct Pattern {
    finder: Finder<'static>,
    /// How far the signature sits after the item's start.
    back: u64,
    kind: Kind,
}

fn patterns(kinds: &[Kind]) -> Vec<Pattern> {
    // One search per kind (GIF87a and GIF89a share "GIF8"; the walkers
    // check the full signatures).
    let table: [(&'static [u8], u64, Kind); 6] = [
        (b"\xFF\xD8\xFF", 0, Kind::Jpeg),
        (b"\x89PNG\r\n\x1a\n", 0, Kind::Png),
        (b"GIF8", 0, Kind::Gif),
        (b"RIFF", 0, Kind::Webp),
        (b"BM", 0, Kind::Bmp),
        (b"ftyp", 4, Kind::Mp4),
    ];
    table
        .into_iter()
        .filter(|t| kinds.contains(&t.2))
        .map(|(sig, back, kind)| Pattern {
            finder: Finder::new(sig),
            back,
            kind,
        })
        .collect()
}

/// Streams over `[start, end)` of a reader, yielding carved items in order
/// of offset, and the ranges it could not read (as `Err`; carving goes on
/// after them).
pub struct Carver<'a> {
    r: &'a dyn ReadAt,
    end: u64,
    next_block: u64,
    opts: CarveOptions,
    patterns: Vec<Pattern>,
    pending: VecDeque<Result<Carved, Unreadable>>,
    block: Vec<u8>,
    last_bad: Option<Unreadable>,
    /// Per kind, the end of the structure the walks verified (chain
    /// formats only: PNG, GIF, MP4).
    walked: [u64; 6],
}

impl<'a> Carver<'a> {
    /// A carver over `len` bytes of `r` from `start`.
    pub fn new(r: &'a dyn ReadAt, start: u64, len: u64, opts: CarveOptions) -> Carver<'a> {
        let end = start.saturating_add(len).min(r.len());
        Carver {
            r,
            end,
            next_block: start,
            patterns: patterns(&opts.kinds),
            opts,
            pending: VecDeque::new(),
            block: Vec::new(),
            last_bad: None,
            walked: [0; 6],
        }
    }

    fn walk(&mut self, at: u64, kind: Kind) -> Option<Carved> {
        let slot = kind as usize;
        if at < self.walked[slot] {
            // Inside the chunk or box structure of an earlier item of this
            // kind: walking again would re-walk the same chain.
            return None;
        }
        let limit = (self.end - at).min(self.opts.max_size);
        let mut c = Cursor::new(self.r, at, limit);
        let w = match kind {
            Kind::Jpeg => formats::jpeg(&mut c),
            Kind::Png => formats::png(&mut c, self.opts.png_crc),
            Kind::Gif => formats::gif(&mut c),
            Kind::Webp => formats::webp(&mut c),
            Kind::Bmp => formats::bmp(&mut c),
            Kind::Mp4 => formats::mp4(&mut c),
        }?;
        if matches!(kind, Kind::Png | Kind::Gif | Kind::Mp4) {
            let parsed = if w.complete { w.len } else { c.marked() };
            self.walked[slot] = self.walked[slot].max(at + parsed);
        }
        // A walker may stop at a position a length field pointed past the
        // data: the item never reaches beyond what was there.
        let len = w.len.min(limit);
        (len > 0).then_some(Carved {
            offset: at,
            len,
            kind,
            complete: w.complete && len == w.len,
        })
    }

    /// Searches the next block; false when the range is done.
    fn fill(&mut self) -> bool {
        let bstart = self.next_block;
        if bstart >= self.end {
            return false;
        }
        let own = (self.end - bstart).min(BLOCK);
        let n = (self.end - bstart).min(BLOCK + OVERLAP) as usize;
        self.next_block = bstart + own;
        let mut block = std::mem::take(&mut self.block);
        block.resize(n, 0);
        let mut bad = Vec::new();
        fill_lossy(self.r, bstart, &mut block, &mut bad);
        for u in bad {
            // A range at a block's end is seen again by the next block.
            if self.last_bad.as_ref() != Some(&u) {
                self.last_bad = Some(u.clone());
                self.pending.push_back(Err(u));
            }
        }
        let mut found: Vec<(u64, Kind)> = Vec::new();
        // Zeroed free space (new, wiped or trimmed disks) holds no
        // signature: one pass says so instead of a search per kind.
        let patterns: &[Pattern] = if all_zero(&block) {
            &[]
        } else {
            &self.patterns
        };
        for p in patterns {
            for i in p.finder.find_iter(&block) {
                let Some(rel) = (i as u64).checked_sub(p.back) else {
                    continue; // belongs to the previous block
                };
                if rel < own {
                    found.push((bstart + rel, p.kind));
                }
            }
        }
        self.block = block;
        found.sort_unstable();
        found.dedup();
        for (at, kind) in found {
            if let Some(c) = self.walk(at, kind) {
                self.pending.push_back(Ok(c));
            }
        }
        true
    }
}

/// True when every byte is zero (checked a page at a time, each page in
/// one vectorised pass).
fn all_zero(b: &[u8]) -> bool {
    b.chunks(4096)
        .all(|page| page.iter().fold(0u8, |acc, &x| acc | x) == 0)
}

impl Iterator for Carver<'_> {
    type Item = Result<Carved, Unreadable>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(x) = self.pending.pop_front() {
                return Some(x);
            }
            if !self.fill() {
                return None;
            }
        }
    }
}

/// Carves all of `r` with default options, collecting the items found.
pub fn carve_all(r: &dyn ReadAt) -> (Vec<Carved>, Vec<Unreadable>) {
    let mut items = Vec::new();
    let mut bad = Vec::new();
    for x in Carver::new(r, 0, r.len(), CarveOptions::default()) {
        match x {
            Ok(c) => items.push(c),
            Err(u) => bad.push(u),
        }
    }
    (items, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A complete 1x1 GIF.
    const GIF: &[u8] = b"GIF89a\x01\0\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";

    #[test]
    fn zeroed_blocks_are_skipped_without_losing_items_beside_them() {
        let b = BLOCK as usize;
        // Items at a block's end (signature in its own range, bytes in the
        // next), after a wholly zero block, and with the signature's first
        // bytes in the overlap of a block that is otherwise zero.
        let at = [b - 5, 2 * b + 100, 4 * b - 2, 6 * b - 3];
        let mut disk = vec![0u8; 9 * b];
        for &a in &at {
            disk[a..a + GIF.len()].copy_from_slice(GIF);
        }
        // An MP4 whose `ftyp` (4 bytes in) lies in the overlap of a block
        // whose own bytes are all zero: its size field starts with zeros.
        let mp4 = 8 * b - 2;
        disk[mp4..mp4 + 24].copy_from_slice(b"\0\0\0\x10ftypisom\0\0\0\0\0\0\0\x08moov");
        let (items, bad) = carve_all(&disk);
        assert!(bad.is_empty());
        let found: Vec<(u64, Kind)> = items.iter().map(|c| (c.offset, c.kind)).collect();
        let mut want: Vec<(u64, Kind)> = at.iter().map(|&a| (a as u64, Kind::Gif)).collect();
        want.push((mp4 as u64, Kind::Mp4));
        assert_eq!(found, want);
        assert!(items.iter().all(|c| c.complete));
        assert_eq!(items[4].len, 24);
        assert!(all_zero(&[0; 10_000]));
        let mut one = vec![0u8; 10_000];
        one[9_999] = 1;
        assert!(!all_zero(&one));
    }
}
