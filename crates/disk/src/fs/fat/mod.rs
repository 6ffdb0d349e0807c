//! FAT12, FAT16 and FAT32: boot sector, allocation table, directories
//! with long names, and deleted entries.

mod dir;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::error::read_exact;
use super::runs::{offset_in_runs, push_run, Run};
use super::{merge_ranges, DataRef, Entry, FileSystem, FsError, FsKind, Structure};
use crate::ReadAt;

/// The largest table loaded into memory; bigger tables are read entry by
/// entry on demand.
const FAT_IN_MEMORY_MAX: u64 = 64 << 20;
/// The largest directory read (FAT allows 65,536 entries of 32 bytes).
const DIR_MAX_BYTES: u64 = 65_536 * 32;
/// Directory nesting deeper than this is not followed.
const MAX_DEPTH: usize = 128;

/// Where everything is, from the BIOS parameter block.
#[derive(Debug, Clone)]
pub(crate) struct Geometry {
    pub kind: FsKind,
    pub cluster_size: u64,
    pub fat_offset: u64,
    pub fat_bytes: u64,
    /// FAT12/16 fixed root directory (offset, bytes).
    pub root_dir: (u64, u64),
    /// FAT32 root directory cluster.
    pub root_cluster: u32,
    pub data_start: u64,
    /// Number of data clusters (numbered from 2).
    pub clusters: u32,
}

impl Geometry {
    /// Parses and checks a boot sector against the volume length.
    pub fn parse(b: &[u8], volume_len: u64) -> Result<Geometry, FsError> {
        use super::le::{u16, u32};
        let bad = |reason| Err(FsError::corrupt(Structure::BootSector, 0, reason));
        if b.len() < 512 || b[510] != 0x55 || b[511] != 0xAA {
            return bad("no boot signature");
        }
        if !matches!(b[0], 0xEB | 0xE9) {
            return bad("no jump instruction");
        }
        let bps = u16(b, 11) as u64;
        let spc = b[13] as u64;
        let reserved = u16(b, 14) as u64;
        let nfats = b[16] as u64;
        let root_entries = u16(b, 17) as u64;
        let total16 = u16(b, 19) as u64;
        let fat16 = u16(b, 22) as u64;
        let total32 = u32(b, 32) as u64;
        if !matches!(bps, 512 | 1024 | 2048 | 4096) {
            return bad("bytes per sector is not 512, 1024, 2048 or 4096");
        }
        if spc == 0 || !spc.is_power_of_two() {
            return bad("sectors per cluster is not a power of two");
        }
        if reserved == 0 || nfats == 0 {
            return bad("no reserved sectors or no allocation table");
        }
        let fat_sectors = if fat16 != 0 { fat16 } else { u32(b, 36) as u64 };
        let total = if total16 != 0 { total16 } else { total32 };
        if fat_sectors == 0 || total == 0 {
            return bad("zero table or volume size");
        }
        let root_dir_sectors = (root_entries * 32).div_ceil(bps);
        let meta = reserved + nfats * fat_sectors + root_dir_sectors;
        if meta >= total {
            return bad("the tables fill the whole volume");
        }
        let clusters = (total - meta) / spc;
        let kind = if clusters < 4085 {
            FsKind::Fat12
        } else if clusters < 65525 {
            FsKind::Fat16
        } else {
            FsKind::Fat32
        };
        if kind == FsKind::Fat32 && (root_entries != 0 || fat16 != 0) {
            return bad("FAT32 volume with a FAT16 root directory");
        }
        if kind != FsKind::Fat32 && root_entries == 0 {
            return bad("FAT12/16 volume without root directory entries");
        }
        let entry_bits = match kind {
            FsKind::Fat12 => 12,
            FsKind::Fat16 => 16,
            _ => 32,
        };
        if fat_sectors * bps * 8 < (clusters + 2) * entry_bits {
            return bad("the allocation table is too small for the clusters");
        }
        let clusters = u32::try_from(clusters.min(0x0FFF_FFF5))
            .map_err(|_| FsError::corrupt(Structure::BootSector, 0, "too many clusters"))?;
        let data_start = meta * bps;
        // A volume shorter than its boot sector says (a truncated image) is
        // read as far as it goes; reads past the end fail as errors.
        let _ = volume_len;
        Ok(Geometry {
            kind,
            cluster_size: spc * bps,
            fat_offset: reserved * bps,
            fat_bytes: fat_sectors * bps,
            root_dir: (
                (reserved + nfats * fat_sectors) * bps,
                root_dir_sectors * bps,
            ),
            root_cluster: if kind == FsKind::Fat32 { u32(b, 44) } else { 0 },
            data_start,
            clusters,
        })
    }

    /// Byte offset of a data cluster (numbered from 2).
    pub fn cluster_offset(&self, c: u32) -> u64 {
        self.data_start + (c as u64 - 2) * self.cluster_size
    }

    /// True for a cluster number that names a data cluster.
    pub fn valid(&self, c: u32) -> bool {
        c >= 2 && (c - 2) < self.clusters
    }
}

/// What a table entry says about a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Free,
    Cluster(u32),
    End,
    Bad,
}

/// An opened FAT volume.
pub(crate) struct Fat {
    volume: Arc<dyn ReadAt>,
    geo: Geometry,
    /// The first table, when small enough to hold.
    table: Option<Vec<u8>>,
}

impl Fat {
    pub fn open(volume: Arc<dyn ReadAt>) -> Result<Fat, FsError> {
        let mut boot = [0u8; 512];
        read_exact(&*volume, 0, &mut boot)?;
        let geo = Geometry::parse(&boot, volume.len())?;
        let needed = match geo.kind {
            FsKind::Fat12 => (geo.clusters as u64 + 2) * 3 / 2 + 1,
            FsKind::Fat16 => (geo.clusters as u64 + 2) * 2,
            _ => (geo.clusters as u64 + 2) * 4,
        }
        .min(geo.fat_bytes);
        if geo.fat_offset.saturating_add(needed) > volume.len() {
            return Err(FsError::corrupt(
                Structure::Fat,
                geo.fat_offset,
                "the allocation table lies past the end of the volume",
            ));
        }
        let table = if needed <= FAT_IN_MEMORY_MAX {
            let mut t = vec![0u8; needed as usize];
            read_exact(&*volume, geo.fat_offset, &mut t)?;
            Some(t)
        } else {
            None
        };
        Ok(Fat { volume, geo, table })
    }

    fn table_bytes(&self, at: u64, out: &mut [u8]) -> Result<(), FsError> {
        match &self.table {
            Some(t) => {
                let s = usize::try_from(at).unwrap_or(usize::MAX);
                match t.get(s..s.saturating_add(out.len())) {
                    Some(src) => {
                        out.copy_from_slice(src);
                        Ok(())
                    }
                    None => Err(FsError::corrupt(
                        Structure::Fat,
                        self.geo.fat_offset + at,
                        "cluster number past the table",
                    )),
                }
            }
            None => read_exact(&*self.volume, self.geo.fat_offset + at, out),
        }
    }

    /// The table entry of cluster `c`.
    pub fn next(&self, c: u32) -> Result<Next, FsError> {
        let mut b = [0u8; 4];
        let v = match self.geo.kind {
            FsKind::Fat12 => {
                let at = c as u64 + c as u64 / 2;
                self.table_bytes(at, &mut b[..2])?;
                let v = u16::from_le_bytes([b[0], b[1]]) as u32;
                let v = if c & 1 == 1 { v >> 4 } else { v & 0xFFF };
                if v >= 0xFF8 {
                    return Ok(Next::End);
                }
                if v == 0xFF7 {
                    return Ok(Next::Bad);
                }
                v
            }
            FsKind::Fat16 => {
                self.table_bytes(c as u64 * 2, &mut b[..2])?;
                let v = u16::from_le_bytes([b[0], b[1]]) as u32;
                if v >= 0xFFF8 {
                    return Ok(Next::End);
                }
                if v == 0xFFF7 {
                    return Ok(Next::Bad);
                }
                v
            }
            _ => {
                self.table_bytes(c as u64 * 4, &mut b)?;
                let v = u32::from_le_bytes(b) & 0x0FFF_FFFF;
                if v >= 0x0FFF_FFF8 {
                    return Ok(Next::End);
                }
                if v == 0x0FFF_FFF7 {
                    return Ok(Next::Bad);
                }
                v
            }
        };
        Ok(if v == 0 { Next::Free } else { Next::Cluster(v) })
    }

    /// The runs of a cluster chain from `first`, at most `max_bytes` long;
    /// a loop, a free or bad cluster, or a cluster number out of range ends
    /// the chain with an error.
    pub fn chain(&self, first: u32, max_bytes: u64) -> Result<Vec<Run>, FsError> {
        follow_chain(&self.chain_geometry(), first, max_bytes, &|c| self.next(c))
    }

    /// The geometry chain walks need.
    fn chain_geometry(&self) -> ChainGeometry {
        ChainGeometry {
            cluster_size: self.geo.cluster_size,
            heap: self.geo.data_start,
            clusters: self.geo.clusters,
            fat_offset: self.geo.fat_offset,
            entry_width: match self.geo.kind {
                FsKind::Fat12 => 1,
                FsKind::Fat16 => 2,
                _ => 4,
            },
        }
    }

    /// True when any cluster of `runs` is allocated in the table now.
    fn any_allocated(&self, runs: &[Run]) -> Result<bool, FsError> {
        for r in runs {
            let Some(d) = r.disk else { continue };
            let first = ((d - self.geo.data_start) / self.geo.cluster_size) as u32 + 2;
            let n = r.len.div_ceil(self.geo.cluster_size) as u32;
            for c in first..first.saturating_add(n) {
                if self.geo.valid(c) && self.next(c)? != Next::Free {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Contiguous runs from `first` for `size` bytes, clipped to the volume
    /// (what is left of a deleted file).
    fn contiguous(&self, first: u32, size: u64) -> Vec<Run> {
        if size == 0 {
            return Vec::new();
        }
        self.chain_geometry()
            .contiguous_run(first, size)
            .into_iter()
            .collect()
    }

    /// Reads a directory's bytes: the fixed FAT12/16 root, or a chain.
    fn read_dir(&self, first: u32, deleted: bool) -> Result<(Vec<Run>, Vec<u8>), FsError> {
        let runs = if first == 0 {
            let (off, len) = self.geo.root_dir;
            vec![Run {
                disk: Some(off),
                len: len.min(DIR_MAX_BYTES),
            }]
        } else if deleted {
            // a deleted directory's chain is gone: its first cluster only
            self.contiguous(first, self.geo.cluster_size)
        } else {
            self.chain(first, DIR_MAX_BYTES)?
        };
        let total: u64 = runs.iter().map(|r| r.len).sum();
        let mut out = vec![0u8; total as usize];
        let mut at = 0usize;
        for r in &runs {
            let d = r.disk.unwrap_or(0);
            read_exact(&*self.volume, d, &mut out[at..at + r.len as usize])?;
            at += r.len as usize;
        }
        Ok((runs, out))
    }

    fn walk_dir(
        &self,
        first: u32,
        dir_deleted: bool,
        path: &[u8],
        depth: usize,
        seen: &mut HashSet<u32>,
        visit: &mut dyn FnMut(Result<Entry, FsError>),
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        if first != 0 && !self.geo.valid(first) {
            visit(Err(FsError::corrupt(
                Structure::Directory,
                0,
                "directory starts outside the volume",
            )));
            return;
        }
        let (runs, bytes) = match self.read_dir(first, dir_deleted) {
            Ok(b) => b,
            Err(e) => {
                visit(Err(e));
                return;
            }
        };
        // byte offset in the volume of entry i of this directory
        let offset_of = |i: usize| offset_in_runs(&runs, i as u64 * 32).unwrap_or(0);
        for d in dir::parse(&bytes, self.geo.kind == FsKind::Fat32) {
            if d.short_name == *b"." || d.short_name == *b".." {
                continue;
            }
            let deleted = dir_deleted || d.deleted;
            let mut p = path.to_vec();
            p.push(b'/');
            p.extend_from_slice(&d.name);
            let id = offset_of(d.index);
            if d.is_dir {
                let entry = Entry {
                    path: p.clone(),
                    size: 0,
                    times: d.times,
                    kind: super::EntryKind::Dir,
                    deleted,
                    recovery: None,
                    stream: None,
                    id,
                    metadata: false,
                    data: DataRef::Runs(Arc::from(Vec::new())),
                };
                visit(Ok(entry));
                if d.first_cluster == 0 || !self.geo.valid(d.first_cluster) {
                    continue;
                }
                if deleted && matches!(self.next(d.first_cluster), Ok(n) if n != Next::Free) {
                    // the cluster belongs to something else now
                    continue;
                }
                if seen.insert(d.first_cluster) {
                    self.walk_dir(d.first_cluster, deleted, &p, depth + 1, seen, visit);
                } else {
                    visit(Err(FsError::corrupt(
                        Structure::Directory,
                        id,
                        "directory already visited (a cycle or a shared cluster)",
                    )));
                }
                continue;
            }
            let (runs, recovery) = if d.size == 0 {
                (Ok(Vec::new()), deleted.then_some(super::Recovery::Intact))
            } else if deleted {
                let runs = self.contiguous(d.first_cluster, d.size as u64);
                let rec = match self.any_allocated(&runs) {
                    Ok(true) => super::Recovery::PossiblyOverwritten,
                    _ => super::Recovery::ContiguousGuess,
                };
                (Ok(runs), Some(rec))
            } else {
                (self.chain(d.first_cluster, d.size as u64), None)
            };
            let runs = match runs {
                Ok(r) => r,
                Err(e) => {
                    visit(Err(e));
                    Vec::new()
                }
            };
            visit(Ok(Entry {
                path: p,
                size: d.size as u64,
                times: d.times,
                kind: super::EntryKind::File,
                deleted,
                recovery,
                stream: None,
                id,
                metadata: false,
                data: DataRef::Runs(runs.into()),
            }));
        }
    }
}

impl FileSystem for Fat {
    fn kind(&self) -> FsKind {
        self.geo.kind
    }

    fn walk(&self, visit: &mut dyn FnMut(Result<Entry, FsError>)) {
        let root = if self.geo.kind == FsKind::Fat32 {
            self.geo.root_cluster
        } else {
            0
        };
        let mut seen = HashSet::new();
        seen.insert(root);
        self.walk_dir(root, false, b"", 0, &mut seen, visit);
    }

    fn open_file(&self, entry: &Entry) -> Result<Box<dyn ReadAt>, FsError> {
        Ok(crate::fs::open_runs(&self.volume, entry))
    }

    fn unallocated(&self) -> Result<Vec<(u64, u64)>, FsError> {
        let mut out = Vec::new();
        let cs = self.geo.cluster_size;
        let mut start: Option<u32> = None;
        let end = self.geo.clusters + 2;
        for c in 2..end {
            let free = self.next(c)? == Next::Free;
            match (free, start) {
                (true, None) => start = Some(c),
                (false, Some(s)) => {
                    out.push((self.geo.cluster_offset(s), (c - s) as u64 * cs));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            out.push((self.geo.cluster_offset(s), (end - s) as u64 * cs));
        }
        // the volume's tail past the last whole cluster
        let data_end = self.geo.data_start + self.geo.clusters as u64 * cs;
        let vol = self.volume.len();
        if vol > data_end {
            out.push((data_end, vol - data_end));
        }
        Ok(merge_ranges(out, self.volume.len()))
    }
}

/// What following a cluster chain needs to know about a volume (FAT and
/// exFAT).
pub(crate) struct ChainGeometry {
    /// Bytes per cluster.
    pub cluster_size: u64,
    /// Byte offset of cluster 2.
    pub heap: u64,
    /// Number of data clusters.
    pub clusters: u32,
    /// Byte offset of the table (for errors).
    pub fat_offset: u64,
    /// Bytes per table entry (1 for FAT12's 1.5, for errors).
    pub entry_width: u64,
}

impl ChainGeometry {
    /// Whether `c` is a data cluster of the volume.
    pub fn valid(&self, c: u32) -> bool {
        c >= 2 && c - 2 < self.clusters
    }

    /// One run of `len` bytes from cluster `first`, clipped to the volume's
    /// last cluster (what is left of a deleted file, or an exFAT file kept
    /// without a chain); `None` when `first` is not a data cluster.
    pub fn contiguous_run(&self, first: u32, len: u64) -> Option<Run> {
        if !self.valid(first) {
            return None;
        }
        let left = (self.clusters - (first - 2)) as u64 * self.cluster_size;
        Some(Run {
            disk: Some(self.heap + (first as u64 - 2) * self.cluster_size),
            len: len.min(left),
        })
    }
}

/// The runs of a cluster chain from `first`, at most `max_bytes` long; a
/// loop (a cluster seen before), a free or bad cluster, or a cluster number
/// out of range ends the chain with an error.
pub(crate) fn follow_chain(
    g: &ChainGeometry,
    first: u32,
    max_bytes: u64,
    next: &dyn Fn(u32) -> Result<Next, FsError>,
) -> Result<Vec<Run>, FsError> {
    let cs = g.cluster_size;
    let max_clusters = max_bytes.div_ceil(cs).min(g.clusters as u64);
    let entry_offset = |c: u32| g.fat_offset + c as u64 * g.entry_width;
    let valid = |c: u32| g.valid(c);
    // earlier stretches of clusters (start -> end, exclusive), to see loops
    let mut earlier: BTreeMap<u32, u32> = BTreeMap::new();
    let mut runs = Vec::new();
    let mut current = (first, first);
    let mut c = first;
    let mut steps = 0u64;
    while steps < max_clusters {
        if !valid(c) {
            return Err(FsError::corrupt(
                Structure::Fat,
                entry_offset(c),
                "cluster chain points outside the volume",
            ));
        }
        if c != current.1 {
            earlier.insert(current.0, current.1);
            current = (c, c);
        }
        if let Some((_, &end)) = earlier.range(..=c).next_back() {
            if c < end {
                return Err(FsError::corrupt(
                    Structure::Fat,
                    entry_offset(c),
                    "cluster chain loops",
                ));
            }
        }
        current.1 = c + 1;
        push_run(
            &mut runs,
            Run {
                disk: Some(g.heap + (c as u64 - 2) * cs),
                len: cs,
            },
        );
        steps += 1;
        if steps == max_clusters {
            break;
        }
        let prev = c;
        match next(c)? {
            Next::Cluster(n) => c = n,
            Next::End => break,
            Next::Free => {
                return Err(FsError::corrupt(
                    Structure::Fat,
                    entry_offset(prev),
                    "cluster chain runs into a free cluster",
                ))
            }
            Next::Bad => {
                return Err(FsError::corrupt(
                    Structure::Fat,
                    entry_offset(prev),
                    "cluster chain runs into a bad cluster",
                ))
            }
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The chain walker against a brute-force oracle: follow the table
        /// with a visited set, one cluster at a time.
        #[test]
        fn chains_agree_with_a_visited_set_walk(
            table in prop::collection::vec(0u32..24, 22),
            first in 0u32..24,
            max in 1u64..300,
        ) {
            let g = geo();
            // entries: 0 free, 1 end (here), 23 bad, else next cluster
            let next = |c: u32| -> Result<Next, FsError> {
                Ok(match table.get(c as usize).copied().unwrap_or(0) {
                    0 => Next::Free,
                    1 => Next::End,
                    23 => Next::Bad,
                    n => Next::Cluster(n),
                })
            };
            let mut oracle: Result<Vec<u32>, ()> = Ok(Vec::new());
            let mut seen = std::collections::HashSet::new();
            let mut c = first;
            let max_clusters = max.div_ceil(10).min(20);
            loop {
                if !(2..22).contains(&c) || !seen.insert(c) {
                    oracle = Err(());
                    break;
                }
                let list = oracle.as_mut().unwrap();
                list.push(c);
                if list.len() as u64 == max_clusters {
                    break;
                }
                match next(c).unwrap() {
                    Next::Cluster(n) => c = n,
                    Next::End => break,
                    _ => {
                        oracle = Err(());
                        break;
                    }
                }
            }
            match (follow_chain(&g, first, max, &next), oracle) {
                (Ok(runs), Ok(list)) => {
                    let mut got = Vec::new();
                    for r in runs {
                        let start = (r.disk.unwrap() - 1000) / 10 + 2;
                        for k in 0..r.len / 10 {
                            got.push((start + k) as u32);
                        }
                    }
                    prop_assert_eq!(got, list);
                }
                (Err(_), Err(())) => {}
                (a, b) => prop_assert!(false, "walker {:?} oracle {:?}", a.is_ok(), b),
            }
        }
    }

    fn geo() -> ChainGeometry {
        ChainGeometry {
            cluster_size: 10,
            heap: 1000,
            clusters: 20,
            fat_offset: 0,
            entry_width: 4,
        }
    }

    #[test]
    fn chains_merge_runs_and_stop_at_loops() {
        // 2 -> 3 -> 4 -> 9 -> end
        let table = |c: u32| {
            Ok(match c {
                2 => Next::Cluster(3),
                3 => Next::Cluster(4),
                4 => Next::Cluster(9),
                9 => Next::End,
                _ => Next::Free,
            })
        };
        let runs = follow_chain(&geo(), 2, u64::MAX, &table).unwrap();
        assert_eq!(
            runs,
            vec![
                Run {
                    disk: Some(1000),
                    len: 30
                },
                Run {
                    disk: Some(1070),
                    len: 10
                }
            ]
        );
        // 2 -> 3 -> 4 -> 3: a loop, however long the size says the file is
        let looped = |c: u32| {
            Ok(if c == 4 {
                Next::Cluster(3)
            } else {
                Next::Cluster(c + 1)
            })
        };
        assert!(follow_chain(&geo(), 2, u64::MAX, &looped).is_err());
        // a self loop
        let own = |c: u32| Ok(Next::Cluster(c));
        assert!(follow_chain(&geo(), 5, u64::MAX, &own).is_err());
        // a chain into a free cluster, and one out of range
        assert!(follow_chain(&geo(), 5, u64::MAX, &table).is_err());
        assert!(follow_chain(&geo(), 40, 10, &table).is_err());
    }
}
