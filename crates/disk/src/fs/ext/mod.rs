//! ext2, ext3 and ext4: superblock, group descriptors (32- and 64-bit),
//! inodes, extents and block maps, linear directories (hashed directories
//! read linearly too), deleted names in directory slack, deleted inodes
//! that still hold their extents, and block bitmaps.

mod inode;
mod walk;

use std::sync::Arc;

use super::error::read_exact;
use super::le::{u16, u32};
use super::runs::RunReader;
use super::{
    free_ranges_from_bitmap, merge_ranges, DataRef, Entry, FileSystem, FsError, FsKind, Structure,
};
use crate::ReadAt;
use inode::Inode;

/// `s_feature_incompat`: 64-bit block numbers and descriptors.
const INCOMPAT_64BIT: u32 = 0x80;
/// `s_feature_incompat`: descriptors in meta block groups.
const INCOMPAT_META_BG: u32 = 0x10;
/// `s_feature_ro_compat`: group descriptor checksums (and `bg_itable_unused`).
const RO_COMPAT_GDT_CSUM: u32 = 0x10;
/// `s_feature_ro_compat`: metadata checksums (implies `bg_itable_unused`).
const RO_COMPAT_METADATA_CSUM: u32 = 0x400;
/// The most group descriptors read (a 1 EiB volume of 4 KiB blocks has
/// 2^33 groups; real volumes far fewer).
const MAX_GROUPS: u64 = 1 << 24;

/// The superblock fields used.
#[derive(Debug, Clone)]
pub(crate) struct Superblock {
    pub inodes_count: u32,
    pub blocks_count: u64,
    pub first_data_block: u64,
    pub block_size: u64,
    pub blocks_per_group: u64,
    pub inodes_per_group: u64,
    pub inode_size: u64,
    pub desc_size: u64,
    pub incompat: u32,
    pub ro_compat: u32,
}

impl Superblock {
    /// Reads and checks the superblock at byte 1024.
    pub fn read(r: &dyn ReadAt) -> Result<Superblock, FsError> {
        let mut b = [0u8; 1024];
        read_exact(r, 1024, &mut b)?;
        let bad = |reason| FsError::corrupt(Structure::Superblock, 1024, reason);
        if u16(&b, 0x38) != 0xEF53 {
            return Err(bad("no ext magic number"));
        }
        let log = u32(&b, 0x18);
        if log > 6 {
            return Err(bad("block size out of range"));
        }
        let block_size = 1024u64 << log;
        let incompat = u32(&b, 0x60);
        let rev = u32(&b, 0x4C);
        let inode_size = if rev == 0 { 128 } else { u16(&b, 0x58) as u64 };
        if inode_size < 128 || !inode_size.is_power_of_two() || inode_size > block_size {
            return Err(bad("inode size out of range"));
        }
        let mut blocks_count = u32(&b, 4) as u64;
        let mut desc_size = 32;
        if incompat & INCOMPAT_64BIT != 0 {
            blocks_count |= (u32(&b, 0x150) as u64) << 32;
            desc_size = u16(&b, 0xFE) as u64;
            if !(32..=1024).contains(&desc_size) || !desc_size.is_power_of_two() {
                return Err(bad("group descriptor size out of range"));
            }
        }
        let sb = Superblock {
            inodes_count: u32(&b, 0),
            blocks_count,
            first_data_block: u32(&b, 0x14) as u64,
            block_size,
            blocks_per_group: u32(&b, 0x20) as u64,
            inodes_per_group: u32(&b, 0x28) as u64,
            inode_size,
            desc_size,
            incompat,
            ro_compat: u32(&b, 0x64),
        };
        if sb.blocks_per_group == 0
            || sb.inodes_per_group == 0
            || sb.blocks_count == 0
            || sb.inodes_count == 0
        {
            return Err(bad("zero blocks or inodes per group"));
        }
        if sb.blocks_per_group > block_size * 8 || sb.inodes_per_group > block_size * 8 {
            return Err(bad("more blocks or inodes per group than a bitmap holds"));
        }
        if sb.first_data_block >= sb.blocks_count {
            return Err(bad("first data block past the end"));
        }
        Ok(sb)
    }

    fn groups(&self) -> u64 {
        (self.blocks_count - self.first_data_block).div_ceil(self.blocks_per_group)
    }
}

/// One block group's descriptor fields used.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group {
    pub block_bitmap: u64,
    pub inode_table: u64,
    pub flags: u16,
    /// Inodes at the end of the table never used (when known).
    pub itable_unused: u32,
}

/// `bg_flags`: the block bitmap is not initialised (all free).
const BLOCK_UNINIT: u16 = 0x2;
/// `bg_flags`: the inode table is not initialised.
pub(crate) const INODE_UNINIT: u16 = 0x1;

/// An opened ext volume.
pub(crate) struct Ext {
    volume: Arc<dyn ReadAt>,
    sb: Superblock,
    groups: Vec<Group>,
}

impl Ext {
    pub fn open(volume: Arc<dyn ReadAt>) -> Result<Ext, FsError> {
        let sb = Superblock::read(&*volume)?;
        let gd_at = (sb.first_data_block + 1) * sb.block_size;
        if sb.incompat & INCOMPAT_META_BG != 0 {
            return Err(FsError::Unsupported {
                structure: Structure::GroupDescriptor,
                offset: gd_at,
                feature: "meta block groups (meta_bg)",
            });
        }
        let n = sb.groups();
        if n > MAX_GROUPS || n * sb.desc_size > volume.len() {
            return Err(FsError::corrupt(
                Structure::Superblock,
                1024,
                "more block groups than the volume holds",
            ));
        }
        let mut raw = vec![0u8; (n * sb.desc_size) as usize];
        read_exact(&*volume, gd_at, &mut raw)?;
        let wide = sb.desc_size >= 64;
        let itable_known = sb.ro_compat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM) != 0;
        let groups = raw
            .chunks_exact(sb.desc_size as usize)
            .map(|d| {
                let hi = |at: usize| if wide { (u32(d, at) as u64) << 32 } else { 0 };
                Group {
                    block_bitmap: u32(d, 0) as u64 | hi(0x20),
                    inode_table: u32(d, 8) as u64 | hi(0x28),
                    flags: u16(d, 0x12),
                    itable_unused: if itable_known {
                        u16(d, 0x1C) as u32 | if wide { (u16(d, 0x32) as u32) << 16 } else { 0 }
                    } else {
                        0
                    },
                }
            })
            .collect();
        Ok(Ext { volume, sb, groups })
    }

    fn read(&self, at: u64, buf: &mut [u8]) -> Result<(), FsError> {
        read_exact(&*self.volume, at, buf)
    }

    /// The byte offset of inode `ino`.
    fn inode_offset(&self, ino: u64) -> Result<u64, FsError> {
        if ino == 0 || ino > self.sb.inodes_count as u64 {
            return Err(FsError::corrupt(
                Structure::Inode,
                0,
                "inode number out of range",
            ));
        }
        let g = (ino - 1) / self.sb.inodes_per_group;
        let i = (ino - 1) % self.sb.inodes_per_group;
        let group = self.groups.get(g as usize).ok_or_else(|| {
            FsError::corrupt(Structure::Inode, 0, "inode in a group past the end")
        })?;
        if group.inode_table >= self.sb.blocks_count {
            return Err(FsError::corrupt(
                Structure::GroupDescriptor,
                0,
                "inode table past the end of the volume",
            ));
        }
        Ok(group.inode_table * self.sb.block_size + i * self.sb.inode_size)
    }

    /// Reads inode `ino` and its byte offset.
    fn inode(&self, ino: u64) -> Result<(Inode, u64), FsError> {
        let at = self.inode_offset(ino)?;
        let mut b = vec![0u8; self.sb.inode_size as usize];
        self.read(at, &mut b)?;
        Ok((Inode::parse(&b), at))
    }

    /// True when any block of `runs` is allocated in the block bitmaps.
    fn any_allocated(&self, runs: &[super::Run]) -> Result<bool, FsError> {
        let bs = self.sb.block_size;
        let mut cached: Option<(u64, Vec<u8>)> = None;
        for r in runs {
            let Some(d) = r.disk else { continue };
            for b in d / bs..(d + r.len) / bs {
                let rel = b - self.sb.first_data_block;
                let g = rel / self.sb.blocks_per_group;
                let bit = rel % self.sb.blocks_per_group;
                let Some(group) = self.groups.get(g as usize) else {
                    return Ok(true);
                };
                if group.flags & BLOCK_UNINIT != 0 {
                    continue;
                }
                if cached.as_ref().map(|c| c.0) != Some(g) {
                    let mut bm = vec![0u8; bs as usize];
                    self.read(group.block_bitmap.saturating_mul(bs), &mut bm)?;
                    cached = Some((g, bm));
                }
                let Some((_, bm)) = &cached else { continue };
                if bm
                    .get((bit / 8) as usize)
                    .is_some_and(|x| x >> (bit % 8) & 1 == 1)
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The data reference of an inode for an entry.
    fn data_of(&self, inode: &Inode, at: u64) -> Result<DataRef, FsError> {
        if let Some(v) = inode.inline() {
            return Ok(DataRef::Inline(Arc::from(v)));
        }
        Ok(DataRef::Runs(self.runs(inode, at)?.into()))
    }
}

impl FileSystem for Ext {
    fn kind(&self) -> FsKind {
        FsKind::Ext
    }

    fn walk(&self, visit: &mut dyn FnMut(Result<Entry, FsError>)) {
        walk::walk(self, visit)
    }

    fn open_file(&self, entry: &Entry) -> Result<Box<dyn ReadAt>, FsError> {
        match &entry.data {
            DataRef::Inline(v) => Ok(Box::new(v.to_vec())),
            DataRef::Runs(r) => Ok(Box::new(RunReader::new(
                self.volume.clone(),
                r.clone(),
                entry.size,
                entry.size,
            ))),
            DataRef::Lazy => {
                let (inode, at) = self.inode(entry.id)?;
                match self.data_of(&inode, at)? {
                    DataRef::Inline(v) => Ok(Box::new(v.to_vec())),
                    DataRef::Runs(r) => Ok(Box::new(RunReader::new(
                        self.volume.clone(),
                        r,
                        inode.size,
                        inode.size,
                    ))),
                    DataRef::Lazy => Ok(Box::new(Vec::new())),
                }
            }
        }
    }

    fn unallocated(&self) -> Result<Vec<(u64, u64)>, FsError> {
        let bs = self.sb.block_size;
        let mut out = Vec::new();
        let mut bm = vec![0u8; bs as usize];
        for (g, group) in self.groups.iter().enumerate() {
            let first = self.sb.first_data_block + g as u64 * self.sb.blocks_per_group;
            let count = self.sb.blocks_per_group.min(self.sb.blocks_count - first);
            if group.flags & BLOCK_UNINIT != 0 {
                out.push((first * bs, count * bs));
                continue;
            }
            if group.block_bitmap >= self.sb.blocks_count {
                return Err(FsError::corrupt(
                    Structure::GroupDescriptor,
                    0,
                    "block bitmap past the end of the volume",
                ));
            }
            self.read(group.block_bitmap * bs, &mut bm)?;
            out.extend(free_ranges_from_bitmap(&bm, count, first * bs, bs));
        }
        Ok(merge_ranges(out))
    }
}
