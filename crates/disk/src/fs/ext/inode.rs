//! ext inodes and where their data is: extent trees (ext4) and block
//! maps with indirect blocks (ext2/3).

use super::super::le::{u16, u32};
use super::super::runs::{push_run, Run};
use super::super::time::unix;
use super::super::{EntryKind, FsError, Structure, Times};
use super::Ext;

/// `i_flags`: the data is an extent tree.
const EXTENTS_FL: u32 = 0x0008_0000;
/// `i_flags`: the data is inline in the inode.
const INLINE_DATA_FL: u32 = 0x1000_0000;
/// `i_flags`: a hashed (htree) directory.
pub(crate) const INDEX_FL: u32 = 0x0000_1000;
/// Deepest extent tree followed (ext4 allows 5 levels).
const MAX_EXTENT_DEPTH: u16 = 5;
/// The most extents gathered for one file.
const MAX_EXTENTS: usize = 1 << 20;

/// The fields of an inode the reader uses.
#[derive(Debug, Clone)]
pub(crate) struct Inode {
    pub mode: u16,
    pub size: u64,
    pub links: u16,
    pub dtime: u32,
    pub flags: u32,
    pub block: [u8; 60],
    pub times: Times,
}

impl Inode {
    pub fn parse(b: &[u8]) -> Inode {
        let extra = if b.len() > 0x82 {
            u16(b, 0x80) as usize
        } else {
            0
        };
        let has = |at: usize| b.len() >= at + 4 && 0x80 + extra >= at + 4;
        let x = |at: usize| has(at).then(|| u32(b, at));
        let mut block = [0u8; 60];
        block.copy_from_slice(&b[0x28..0x64]);
        Inode {
            mode: u16(b, 0),
            size: u32(b, 4) as u64 | (u32(b, 0x6C) as u64) << 32,
            links: u16(b, 0x1A),
            dtime: u32(b, 0x14),
            flags: u32(b, 0x20),
            block,
            times: Times {
                accessed: unix(u32(b, 8), x(0x8C)),
                changed: unix(u32(b, 0x0C), x(0x84)),
                modified: unix(u32(b, 0x10), x(0x88)),
                created: if has(0x90) {
                    unix(u32(b, 0x90), x(0x94))
                } else {
                    None
                },
            },
        }
    }

    pub fn kind(&self) -> EntryKind {
        match self.mode & 0xF000 {
            0x8000 => EntryKind::File,
            0x4000 => EntryKind::Dir,
            0xA000 => EntryKind::Symlink,
            _ => EntryKind::Other,
        }
    }

    /// Never used (all-zero mode).
    pub fn unused(&self) -> bool {
        self.mode == 0
    }

    /// Deleted: no links left, or a deletion time set.
    pub fn deleted(&self) -> bool {
        self.links == 0 || self.dtime != 0
    }

    /// Data kept inside the inode (inline data, fast symlinks).
    pub fn inline(&self) -> Option<&[u8]> {
        let fast_link =
            self.kind() == EntryKind::Symlink && self.size < 60 && self.flags & EXTENTS_FL == 0;
        if (self.flags & INLINE_DATA_FL != 0 || fast_link) && self.size <= 60 {
            return Some(&self.block[..self.size as usize]);
        }
        None
    }
}

impl Ext {
    fn block_offset(&self, block: u64, at: u64) -> Result<u64, FsError> {
        if block >= self.sb.blocks_count {
            return Err(FsError::corrupt(
                Structure::RunList,
                at,
                "block number past the end of the volume",
            ));
        }
        Ok(block * self.sb.block_size)
    }

    /// The runs of an inode's data, covering its size (holes as zeros);
    /// `at` is the inode's byte offset (for errors).
    pub(crate) fn runs(&self, inode: &Inode, at: u64) -> Result<Vec<Run>, FsError> {
        if inode.flags & INLINE_DATA_FL != 0 {
            return Err(FsError::Unsupported {
                structure: Structure::Inode,
                offset: at,
                feature: "inline data longer than the inode",
            });
        }
        let bs = self.sb.block_size;
        let blocks = inode.size.div_ceil(bs);
        if blocks > self.sb.blocks_count.saturating_mul(16) {
            return Err(FsError::corrupt(
                Structure::Inode,
                at,
                "file size far past the volume",
            ));
        }
        let mut runs = Vec::new();
        // A file cannot hold more blocks than the volume: on-disk pointers
        // read past that are garbage, and would cost unbounded reads.
        let mut budget = self.volume.len() / bs + 64;
        if inode.flags & EXTENTS_FL != 0 {
            let mut extents = Vec::new();
            self.extent_node(&inode.block, 0, at, &mut extents, &mut budget)?;
            extents.sort_unstable_by_key(|e| e.0);
            let mut next = 0u64;
            for (logical, len, phys, uninit) in extents {
                if logical >= blocks {
                    break;
                }
                if logical < next {
                    return Err(FsError::corrupt(Structure::RunList, at, "extents overlap"));
                }
                let len = len.min(blocks - logical);
                push_run(
                    &mut runs,
                    Run {
                        disk: None,
                        len: (logical - next) * bs,
                    },
                );
                let start = self.block_offset(phys, at)?;
                if phys + len > self.sb.blocks_count {
                    return Err(FsError::corrupt(
                        Structure::RunList,
                        at,
                        "extent runs past the end of the volume",
                    ));
                }
                push_run(
                    &mut runs,
                    Run {
                        disk: (!uninit).then_some(start),
                        len: len * bs,
                    },
                );
                next = logical + len;
            }
            push_run(
                &mut runs,
                Run {
                    disk: None,
                    len: (blocks - next) * bs,
                },
            );
        } else {
            let mut left = blocks;
            let ptrs: Vec<u32> = (0..15).map(|i| u32(&inode.block, i * 4)).collect();
            for &p in &ptrs[..12] {
                if left == 0 {
                    break;
                }
                self.map_block(p, 0, &mut left, &mut runs, at, &mut budget)?;
            }
            for (level, &p) in ptrs[12..].iter().enumerate() {
                if left == 0 {
                    break;
                }
                self.map_block(p, level as u32 + 1, &mut left, &mut runs, at, &mut budget)?;
            }
        }
        Ok(runs)
    }

    /// One block-map pointer at indirection `level` (0 = data block),
    /// covering up to `left` more blocks.
    fn map_block(
        &self,
        p: u32,
        level: u32,
        left: &mut u64,
        runs: &mut Vec<Run>,
        at: u64,
        budget: &mut u64,
    ) -> Result<(), FsError> {
        let bs = self.sb.block_size;
        let per = bs / 4;
        let span = per.pow(level).min(*left);
        if p == 0 {
            push_run(
                runs,
                Run {
                    disk: None,
                    len: span * bs,
                },
            );
            *left -= span;
            return Ok(());
        }
        if *budget == 0 {
            return Err(FsError::corrupt(
                Structure::RunList,
                at,
                "block map lists more blocks than the volume has",
            ));
        }
        *budget -= 1;
        let off = self.block_offset(p as u64, at)?;
        if level == 0 {
            push_run(
                runs,
                Run {
                    disk: Some(off),
                    len: bs,
                },
            );
            *left -= 1;
            return Ok(());
        }
        let mut buf = vec![0u8; bs as usize];
        self.read(off, &mut buf)?;
        for i in 0..per as usize {
            if *left == 0 {
                break;
            }
            self.map_block(u32(&buf, i * 4), level - 1, left, runs, at, budget)?;
        }
        Ok(())
    }

    /// Gathers the leaf extents (logical, length, physical, uninitialised)
    /// of an extent-tree node.
    fn extent_node(
        &self,
        node: &[u8],
        depth_seen: u16,
        at: u64,
        out: &mut Vec<(u64, u64, u64, bool)>,
        budget: &mut u64,
    ) -> Result<(), FsError> {
        let bad = |reason| FsError::corrupt(Structure::RunList, at, reason);
        if u16(node, 0) != 0xF30A {
            return Err(bad("extent header magic missing"));
        }
        let entries = u16(node, 2) as usize;
        let depth = u16(node, 6);
        if entries > (node.len() - 12) / 12 {
            return Err(bad("more extents than the node holds"));
        }
        if depth > MAX_EXTENT_DEPTH || depth_seen > MAX_EXTENT_DEPTH {
            return Err(bad("extent tree too deep"));
        }
        for i in 0..entries {
            let e = &node[12 + i * 12..24 + i * 12];
            if depth == 0 {
                let raw_len = u16(e, 4) as u64;
                let (len, uninit) = if raw_len > 32768 {
                    (raw_len - 32768, true)
                } else {
                    (raw_len, false)
                };
                let phys = (u16(e, 6) as u64) << 32 | u32(e, 8) as u64;
                if out.len() >= MAX_EXTENTS {
                    return Err(bad("too many extents"));
                }
                out.push((u32(e, 0) as u64, len, phys, uninit));
            } else {
                if *budget == 0 {
                    return Err(bad("extent tree has more nodes than the volume has blocks"));
                }
                *budget -= 1;
                let child = (u16(e, 8) as u64) << 32 | u32(e, 4) as u64;
                let off = self.block_offset(child, at)?;
                let mut buf = vec![0u8; self.sb.block_size as usize];
                self.read(off, &mut buf)?;
                if u16(&buf, 6) >= depth {
                    return Err(bad("extent tree level does not descend"));
                }
                self.extent_node(&buf, depth_seen + 1, off, out, budget)?;
            }
        }
        Ok(())
    }
}
