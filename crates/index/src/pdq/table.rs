//! One chunk's table: counting-sorted ids with (blocked) offsets, and the
//! bit-field helpers that probe it.

use super::*;

pub(super) struct Table {
    /// First bit of this table's chunk, and its width.
    pub(super) shift: u32,
    pub(super) width: u32,
    /// Plain: `offsets[v]..offsets[v + 1]` is bucket `v` in `ids`.
    /// Blocked: `2^(width - BLOCK_BITS) + 1` block starts, then one `u16`
    /// per bucket (two per `u32`): its start within the block.
    pub(super) offsets: Buf<u32>,
    pub(super) blocked: bool,
    /// Plain: one `u32` per id. Packed: 3 little-endian bytes per id, plus
    /// at least one byte of padding.
    pub(super) ids: Buf<u32>,
    pub(super) packed: bool,
}

impl Table {
    /// Bucket `v`'s bounds in the id array.
    #[inline(always)]
    pub(super) fn bounds(&self, v: usize) -> (u32, u32) {
        let o = &self.offsets;
        if !self.blocked {
            return (o[v], o[v + 1]);
        }
        let rel = self.within_block();
        let base = o[v >> BLOCK_BITS];
        let hi = if (v + 1) & ((1 << BLOCK_BITS) - 1) == 0 {
            o[(v + 1) >> BLOCK_BITS]
        } else {
            base + rel[v + 1] as u32
        };
        (base + rel[v] as u32, hi)
    }

    /// Where [`Table::bounds`] will read for bucket `v`.
    #[inline(always)]
    pub(super) fn bounds_addr(&self, v: usize) -> *const u8 {
        if !self.blocked {
            return &self.offsets[v] as *const u32 as *const u8;
        }
        &self.within_block()[v] as *const u16 as *const u8
    }

    /// Blocked bounds: each bucket's start within its block (after the
    /// block starts in `offsets`).
    #[inline(always)]
    pub(super) fn within_block(&self) -> &[u16] {
        let blocks = (1usize << (self.width - BLOCK_BITS)) + 1;
        bytemuck::cast_slice(&self.offsets[blocks..])
    }

    /// Appends ids `lo..hi` to `out`.
    #[inline(always)]
    pub(super) fn push_ids(&self, lo: u32, hi: u32, out: &mut Vec<u32>) {
        if !self.packed {
            out.extend_from_slice(&self.ids[lo as usize..hi as usize]);
            return;
        }
        let bytes: &[u8] = bytemuck::cast_slice(&self.ids);
        for i in lo as usize..hi as usize {
            let w: [u8; 4] = bytes[3 * i..3 * i + 4].try_into().expect("4 bytes");
            out.push(u32::from_le_bytes(w) & 0xff_ffff);
        }
    }

    /// Where [`Table::push_ids`] will read id `i`.
    #[inline(always)]
    pub(super) fn id_addr(&self, i: u32) -> *const u8 {
        let bytes: &[u8] = bytemuck::cast_slice(&self.ids);
        let at = if self.packed {
            3 * i as usize
        } else {
            4 * i as usize
        };
        bytes.get(at).map_or(bytes.as_ptr(), |b| b as *const u8)
    }

    pub(super) fn memory_bytes(&self) -> usize {
        (self.offsets.len() + self.ids.len()) * 4
    }
}

/// Plain offsets as blocked ones, or `None` when some block holds over
/// 65535 entries (then the table keeps plain offsets).
pub(super) fn block_offsets(offsets: &[u32], width: u32) -> Option<Vec<u32>> {
    let buckets = 1usize << width;
    let blocks = buckets >> BLOCK_BITS;
    let mut out: Vec<u32> = Vec::with_capacity(blocks + 1 + buckets / 2);
    huge_pages(out.spare_capacity_mut());
    out.extend((0..=blocks).map(|b| offsets[b << BLOCK_BITS]));
    let mut rel: Vec<u16> = Vec::with_capacity(buckets);
    for v in 0..buckets {
        rel.push(u16::try_from(offsets[v] - offsets[v >> BLOCK_BITS << BLOCK_BITS]).ok()?);
    }
    out.extend(
        rel.chunks(2)
            .map(|p| bytemuck::cast::<[u16; 2], u32>([p[0], p[1]])),
    );
    Some(out)
}

/// Ids packed in 3 bytes each, plus padding, in whole `u32`s.
pub(super) fn pack_ids(ids: &[u32]) -> Vec<u32> {
    let mut bytes: Vec<u8> = Vec::with_capacity(3 * ids.len() + 4);
    for id in ids {
        bytes.extend_from_slice(&id.to_le_bytes()[..3]);
    }
    bytes.resize((3 * ids.len() + 1).div_ceil(4) * 4, 0);
    let mut out: Vec<u32> = Vec::with_capacity(bytes.len() / 4);
    huge_pages(out.spare_capacity_mut());
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))),
    );
    out
}

/// The `width`-bit field of `h` starting at bit `shift` (width ≤ 32).
#[inline(always)]
pub(super) fn field(h: &[u64; 4], shift: u32, width: u32) -> u32 {
    let (i, s) = ((shift / 64) as usize, shift % 64);
    let mut v = h[i] >> s;
    if s + width > 64 {
        v |= h[i + 1] << (64 - s);
    }
    (v & ((1u64 << width) - 1)) as u32
}

/// Calls `f` with every `width`-bit mask of at most `t` set bits, fewest
/// bits first (Gosper's hack, with a shift for its division).
#[inline(always)]
pub(super) fn for_masks(width: u32, t: i8, mut f: impl FnMut(u32)) {
    if t < 0 {
        return;
    }
    f(0);
    let limit = 1u64 << width;
    for k in 1..=(t as u32).min(width) {
        let mut m: u64 = (1 << k) - 1;
        while m < limit {
            f(m as u32);
            let r = m + (m & m.wrapping_neg());
            m = r | (((m ^ r) >> 2) >> m.trailing_zeros());
        }
    }
}
