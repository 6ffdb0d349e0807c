//! Walking an ext volume: the directory tree from the root inode (with
//! deleted names found in directory-entry slack), then deleted inodes no
//! name reaches, as `/$OrphanFiles/OrphanFile-N`.

use std::collections::HashSet;
use std::sync::Arc;

use super::inode::{Inode, INDEX_FL};
use super::{Ext, INODE_UNINIT};
use crate::fs::le::{u16, u32};
use crate::fs::runs::RunReader;
use crate::fs::{DataRef, Entry, EntryKind, FsError, Recovery, Structure};
use crate::ReadAt;

/// The root directory's inode.
const ROOT: u64 = 2;
/// Directory nesting deeper than this is not followed.
const MAX_DEPTH: usize = 256;
/// Inodes read per inode-table read.
const TABLE_CHUNK: u64 = 1024;
/// The largest directory read (bytes).
const DIR_MAX: u64 = 256 << 20;

/// A name found in a directory block.
struct Name {
    ino: u64,
    name: Vec<u8>,
    /// Found in the slack after a live entry: a deleted name.
    deleted: bool,
}

/// Parses one directory block: live entries, and (when `slack`) deleted
/// entries in the space after each live one. A damaged entry ends the
/// block with an error.
fn parse_block(b: &[u8], inodes: u64, slack: bool) -> (Vec<Name>, Option<usize>) {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= b.len() {
        let ino = u32(b, at) as u64;
        let rec_len = u16(b, at + 4) as usize;
        let name_len = b[at + 6] as usize;
        if rec_len < 8
            || !rec_len.is_multiple_of(4)
            || at + rec_len > b.len()
            || name_len + 8 > rec_len
        {
            return (out, Some(at));
        }
        if ino != 0 && name_len > 0 {
            out.push(Name {
                ino,
                name: b[at + 8..at + 8 + name_len].to_vec(),
                deleted: false,
            });
        }
        if slack {
            let used = if ino == 0 && at == 0 {
                0
            } else {
                (8 + name_len).div_ceil(4) * 4
            };
            let mut s = at + used.max(if ino == 0 { 0 } else { 12 });
            // deleted entries in the slack, 4-byte aligned
            while s + 8 <= at + rec_len && used > 0 {
                let dino = u32(b, s) as u64;
                let dlen = b[s + 6] as usize;
                let drec = u16(b, s + 4) as usize;
                let ft = b[s + 7];
                let plausible = dino != 0
                    && dino <= inodes
                    && dlen > 0
                    && s + 8 + dlen <= at + rec_len
                    && ft <= 7
                    && drec >= 8 + dlen
                    && b[s + 8..s + 8 + dlen].iter().all(|&c| c != 0 && c != b'/');
                if plausible {
                    out.push(Name {
                        ino: dino,
                        name: b[s + 8..s + 8 + dlen].to_vec(),
                        deleted: true,
                    });
                    s += (8 + dlen).div_ceil(4) * 4;
                } else {
                    s += 4;
                }
            }
        }
        at += rec_len;
    }
    (out, None)
}

/// An entry for an inode.
fn entry(
    ino: u64,
    inode: &Inode,
    path: Vec<u8>,
    deleted: bool,
    data: DataRef,
    recovery: Option<Recovery>,
) -> Entry {
    Entry {
        path,
        size: if matches!(data, DataRef::Lazy) {
            0
        } else {
            inode.size
        },
        times: inode.times,
        kind: inode.kind(),
        deleted,
        recovery,
        stream: None,
        id: ino,
        metadata: false,
        data,
    }
}

impl Ext {
    /// The recovery note and data of a deleted inode; `None` when nothing
    /// of its data is left to read.
    fn deleted_data(&self, inode: &Inode, at: u64) -> Result<Option<(DataRef, Recovery)>, FsError> {
        if let Some(v) = inode.inline() {
            return Ok(Some((DataRef::Inline(Arc::from(v)), Recovery::Intact)));
        }
        let runs = self.runs(inode, at)?;
        if inode.size == 0 || runs.iter().all(|r| r.disk.is_none()) {
            return Ok(None);
        }
        let rec = match self.any_allocated(&runs) {
            Ok(false) => Recovery::Intact,
            _ => Recovery::PossiblyOverwritten,
        };
        Ok(Some((DataRef::Runs(runs.into()), rec)))
    }
}

pub(super) fn walk(ext: &Ext, visit: &mut dyn FnMut(Result<Entry, FsError>)) {
    let bs = ext.sb.block_size;
    let inodes = ext.sb.inodes_count as u64;
    let mut seen_dirs: HashSet<u64> = HashSet::from([ROOT]);
    let mut named_deleted: HashSet<u64> = HashSet::new();
    let mut stack: Vec<(u64, Vec<u8>, usize)> = vec![(ROOT, Vec::new(), 0)];
    let mut block = vec![0u8; bs as usize];
    while let Some((dir_ino, dir_path, depth)) = stack.pop() {
        let (dir, at) = match ext.inode(dir_ino) {
            Ok(x) => x,
            Err(e) => {
                visit(Err(e));
                continue;
            }
        };
        if dir.kind() != EntryKind::Dir {
            visit(Err(FsError::corrupt(
                Structure::Directory,
                at,
                "directory entry names a non-directory",
            )));
            continue;
        }
        let runs = match ext.runs(&dir, at) {
            Ok(r) => r,
            Err(e) => {
                visit(Err(e));
                continue;
            }
        };
        let size = dir.size.min(DIR_MAX);
        let reader = RunReader::new(ext.volume.clone(), runs.into(), size, size);
        let indexed = dir.flags & INDEX_FL != 0;
        for bi in 0..size / bs {
            if let Err(e) = reader.read_exact_at(bi * bs, &mut block) {
                visit(Err(FsError::io(at, e)));
                break;
            }
            // hashed directories: the root and interior index blocks hold
            // index data where slack would be, so only leaves are searched
            let interior =
                indexed && (bi == 0 || (u32(&block, 0) == 0 && u16(&block, 4) as u64 == bs));
            let (names, damaged) = parse_block(&block, inodes, !interior);
            if damaged.is_some() {
                // reported at the directory's inode; the rest of the block
                // is skipped, the next blocks are read
                visit(Err(FsError::corrupt(
                    Structure::Directory,
                    at,
                    "directory entry length out of range",
                )));
            }
            for n in names {
                if n.name == b"." || n.name == b".." {
                    continue;
                }
                let mut path = dir_path.clone();
                path.push(b'/');
                path.extend_from_slice(&n.name);
                let (inode, iat) = match ext.inode(n.ino) {
                    Ok(x) => x,
                    Err(e) => {
                        if !n.deleted {
                            visit(Err(e));
                        }
                        continue;
                    }
                };
                if n.deleted {
                    // a deleted name: only when its inode is deleted too
                    // (a live inode means the number was reused)
                    if inode.unused() || !inode.deleted() || !named_deleted.insert(n.ino) {
                        continue;
                    }
                    if inode.kind() == EntryKind::Dir {
                        visit(Ok(entry(n.ino, &inode, path, true, DataRef::Lazy, None)));
                        continue;
                    }
                    match ext.deleted_data(&inode, iat) {
                        Ok(Some((data, rec))) => {
                            visit(Ok(entry(n.ino, &inode, path, true, data, Some(rec))))
                        }
                        Ok(None) => {}
                        Err(e) => visit(Err(e)),
                    }
                    continue;
                }
                match inode.kind() {
                    EntryKind::Dir => {
                        visit(Ok(entry(
                            n.ino,
                            &inode,
                            path.clone(),
                            false,
                            DataRef::Lazy,
                            None,
                        )));
                        if !seen_dirs.insert(n.ino) {
                            visit(Err(FsError::corrupt(
                                Structure::Directory,
                                iat,
                                "directory reached twice (a cycle or a hard-linked directory)",
                            )));
                        } else if depth < MAX_DEPTH {
                            stack.push((n.ino, path, depth + 1));
                        }
                    }
                    EntryKind::File | EntryKind::Symlink => match ext.data_of(&inode, iat) {
                        Ok(data) => visit(Ok(entry(n.ino, &inode, path, false, data, None))),
                        Err(e) => {
                            visit(Err(e));
                            visit(Ok(entry(n.ino, &inode, path, false, DataRef::Lazy, None)));
                        }
                    },
                    EntryKind::Other => {
                        visit(Ok(entry(n.ino, &inode, path, false, DataRef::Lazy, None)))
                    }
                }
            }
        }
    }
    orphans(ext, &named_deleted, visit);
}

/// Deleted inodes no name reached, that still hold data.
fn orphans(ext: &Ext, named: &HashSet<u64>, visit: &mut dyn FnMut(Result<Entry, FsError>)) {
    let isz = ext.sb.inode_size as usize;
    let ipg = ext.sb.inodes_per_group;
    let mut table = Vec::new();
    for (g, group) in ext.groups.iter().enumerate() {
        if group.flags & INODE_UNINIT != 0 {
            continue;
        }
        let used = ipg.saturating_sub(group.itable_unused as u64);
        let at = group.inode_table.saturating_mul(ext.sb.block_size);
        if at.saturating_add(used * isz as u64) > ext.volume.len() {
            visit(Err(FsError::corrupt(
                Structure::GroupDescriptor,
                at,
                "inode table past the end of the volume",
            )));
            continue;
        }
        for i in 0..used {
            // the table is read a chunk of inodes at a time
            let k = (i % TABLE_CHUNK) as usize;
            if k == 0 {
                let n = TABLE_CHUNK.min(used - i) as usize;
                table.resize(n * isz, 0);
                if let Err(e) = ext.read(at + i * isz as u64, &mut table) {
                    visit(Err(e));
                    break;
                }
            }
            let ino = g as u64 * ipg + i + 1;
            if ino < 12 || named.contains(&ino) {
                continue;
            }
            let inode = Inode::parse(&table[k * isz..(k + 1) * isz]);
            if inode.unused() || !inode.deleted() || inode.kind() != EntryKind::File {
                continue;
            }
            let iat = at + i * isz as u64;
            match ext.deleted_data(&inode, iat) {
                Ok(Some((data, rec))) => {
                    let path = format!("/$OrphanFiles/OrphanFile-{ino}").into_bytes();
                    visit(Ok(entry(ino, &inode, path, true, data, Some(rec))));
                }
                Ok(None) => {}
                Err(e) => visit(Err(e)),
            }
        }
    }
}
