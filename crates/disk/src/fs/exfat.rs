//! exFAT: boot sector, FAT, allocation bitmap, directory entry sets (file,
//! stream extension, file names), the NoFatChain flag, and deleted entry
//! sets (in-use bit clear).

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use super::error::read_exact;
use super::fat::{follow_chain, ChainGeometry, Next};
use super::le::{u16, u32, u64};
use super::runs::{offset_in_runs, Run};
use super::time::dos;
use super::{
    free_ranges_from_bitmap, merge_ranges, push_utf16, DataRef, Entry, EntryKind, FileSystem,
    FsError, FsKind, Recovery, Structure, Times, Timestamp,
};
use crate::ReadAt;

/// The largest FAT held in memory; bigger ones are read entry by entry.
const FAT_IN_MEMORY_MAX: u64 = 64 << 20;
/// The largest directory read (the specification allows 256 MiB).
const DIR_MAX: u64 = 256 << 20;
/// The largest allocation bitmap loaded.
const BITMAP_MAX: u64 = 512 << 20;
/// Directory nesting deeper than this is not followed.
const MAX_DEPTH: usize = 128;

/// An opened exFAT volume.
pub(crate) struct ExFat {
    volume: Arc<dyn ReadAt>,
    geo: ChainGeometry,
    root: u32,
    fat: Option<Vec<u8>>,
    /// The allocation bitmap's first cluster and length, from the root.
    bitmap: OnceLock<Result<Vec<u8>, FsError>>,
}

/// A file directory entry set, parsed.
struct Set {
    /// Byte offset of the file entry in the directory.
    index: usize,
    deleted: bool,
    is_dir: bool,
    no_fat_chain: bool,
    first_cluster: u32,
    valid_length: u64,
    length: u64,
    name: Vec<u16>,
    times: Times,
    checksum_ok: bool,
}

fn timestamp(ts: u32, tenms: u8, utc: u8) -> Option<Timestamp> {
    let offset = (utc & 0x80 != 0).then_some(((utc << 1) as i8) >> 1);
    dos((ts >> 16) as u16, ts as u16, tenms, offset)
}

/// The entry set checksum (over all entries, skipping its own field).
fn set_checksum(entries: &[u8]) -> u16 {
    let mut sum: u16 = 0;
    for (i, &b) in entries.iter().enumerate() {
        if i == 2 || i == 3 {
            continue;
        }
        sum = sum.rotate_right(1).wrapping_add(b as u16);
    }
    sum
}

/// Parses a directory's entry sets (live and deleted), and the allocation
/// bitmap entry if present.
fn parse_dir(b: &[u8]) -> (Vec<Set>, Option<(u32, u64)>) {
    let mut sets = Vec::new();
    let mut bitmap = None;
    let n = b.len() / 32;
    let mut i = 0;
    while i < n {
        let e = &b[i * 32..i * 32 + 32];
        let t = e[0];
        if t == 0 {
            break;
        }
        if t == 0x81 && bitmap.is_none() {
            bitmap = Some((u32(e, 20), u64(e, 24)));
        }
        if t & 0x7F != 0x05 {
            i += 1;
            continue;
        }
        let deleted = t & 0x80 == 0;
        let secondary = e[1] as usize;
        if !(2..=18).contains(&secondary) || i + secondary >= n {
            i += 1;
            continue;
        }
        let s = &b[(i + 1) * 32..(i + 2) * 32];
        let in_use_bit = if deleted { 0 } else { 0x80 };
        if s[0] != (0x40 | in_use_bit) {
            i += 1;
            continue;
        }
        let name_len = s[3] as usize;
        let mut name = Vec::with_capacity(name_len);
        for k in 2..=secondary {
            let ne = &b[(i + k) * 32..(i + k + 1) * 32];
            if ne[0] != (0x41 | in_use_bit) {
                break;
            }
            for c in 0..15 {
                if name.len() < name_len {
                    name.push(u16(ne, 2 + c * 2));
                }
            }
        }
        let mut whole = b[i * 32..(i + secondary + 1) * 32].to_vec();
        if deleted {
            for k in 0..=secondary {
                whole[k * 32] |= 0x80;
            }
        }
        let checksum_ok = set_checksum(&whole) == u16(e, 2);
        sets.push(Set {
            index: i * 32,
            deleted,
            is_dir: u16(e, 4) & 0x10 != 0,
            no_fat_chain: s[1] & 0x02 != 0,
            first_cluster: u32(s, 20),
            valid_length: u64(s, 8),
            length: u64(s, 24),
            name,
            times: Times {
                created: timestamp(u32(e, 8), e[20], e[22]),
                modified: timestamp(u32(e, 12), e[21], e[23]),
                accessed: timestamp(u32(e, 16), 0, e[24]),
                changed: None,
            },
            checksum_ok,
        });
        i += secondary + 1;
    }
    (sets, bitmap)
}

/// The runs cut to their first `len` bytes.
fn clip_runs(runs: Vec<Run>, mut len: u64) -> Vec<Run> {
    let mut out = Vec::new();
    for r in runs {
        if len == 0 {
            break;
        }
        let n = r.len.min(len);
        out.push(Run {
            disk: r.disk,
            len: n,
        });
        len -= n;
    }
    out
}

impl ExFat {
    pub fn open(volume: Arc<dyn ReadAt>) -> Result<ExFat, FsError> {
        let mut b = [0u8; 512];
        read_exact(&*volume, 0, &mut b)?;
        let bad = |reason| FsError::corrupt(Structure::BootSector, 0, reason);
        if &b[3..11] != b"EXFAT   " {
            return Err(bad("no exFAT signature"));
        }
        let bps_shift = b[0x6C] as u32;
        let spc_shift = b[0x6D] as u32;
        if !(9..=12).contains(&bps_shift) || bps_shift + spc_shift > 25 {
            return Err(bad("sector or cluster size out of range"));
        }
        let bps = 1u64 << bps_shift;
        let fat_offset = u32(&b, 0x50) as u64 * bps;
        let fat_length = u32(&b, 0x54) as u64 * bps;
        let heap = u32(&b, 0x58) as u64 * bps;
        let clusters = u32(&b, 0x5C);
        let root = u32(&b, 0x60);
        if clusters == 0 || clusters > 0xFFFF_FFF5 || fat_length < (clusters as u64 + 2) * 4 {
            return Err(bad("cluster count does not fit the FAT"));
        }
        let geo = ChainGeometry {
            cluster_size: bps << spc_shift,
            heap,
            clusters,
            fat_offset,
            entry_width: 4,
        };
        let needed = (clusters as u64 + 2) * 4;
        if fat_offset.saturating_add(needed) > volume.len() {
            return Err(FsError::corrupt(
                Structure::Fat,
                fat_offset,
                "the FAT lies past the end of the volume",
            ));
        }
        let fat = if needed <= FAT_IN_MEMORY_MAX {
            let mut t = vec![0u8; needed as usize];
            read_exact(&*volume, fat_offset, &mut t)?;
            Some(t)
        } else {
            None
        };
        Ok(ExFat {
            volume,
            geo,
            root,
            fat,
            bitmap: OnceLock::new(),
        })
    }

    fn next(&self, c: u32) -> Result<Next, FsError> {
        let at = c as u64 * 4;
        let v = match &self.fat {
            Some(t) => u32(t, at as usize),
            None => {
                let mut b = [0u8; 4];
                read_exact(&*self.volume, self.geo.fat_offset + at, &mut b)?;
                u32::from_le_bytes(b)
            }
        };
        Ok(match v {
            0 => Next::Free,
            0xFFFF_FFF7 => Next::Bad,
            0xFFFF_FFF8..=0xFFFF_FFFF => Next::End,
            n => Next::Cluster(n),
        })
    }

    /// The runs of `length` bytes from `first`: contiguous, or a chain.
    fn runs(&self, first: u32, length: u64, contiguous: bool) -> Result<Vec<Run>, FsError> {
        if length == 0 || first == 0 {
            return Ok(Vec::new());
        }
        if contiguous {
            let run = self.geo.contiguous_run(first, length).ok_or_else(|| {
                FsError::corrupt(Structure::Directory, 0, "first cluster outside the volume")
            })?;
            return Ok(vec![run]);
        }
        follow_chain(&self.geo, first, length, &|c| self.next(c))
    }

    fn read_runs(&self, runs: &[Run]) -> Result<Vec<u8>, FsError> {
        let total: u64 = runs.iter().map(|r| r.len).sum();
        let mut out = vec![0u8; total.min(DIR_MAX) as usize];
        let mut at = 0usize;
        for r in runs {
            let n = (r.len as usize).min(out.len() - at);
            read_exact(&*self.volume, r.disk.unwrap_or(0), &mut out[at..at + n])?;
            at += n;
        }
        Ok(out)
    }

    fn bitmap(&self) -> Result<&[u8], &FsError> {
        self.bitmap
            .get_or_init(|| {
                let root = self.runs(self.root, DIR_MAX, false)?;
                let dir = self.read_runs(&root)?;
                let (_, bm) = parse_dir(&dir);
                let (first, len) = bm.ok_or_else(|| {
                    FsError::corrupt(
                        Structure::Bitmap,
                        0,
                        "no allocation bitmap entry in the root",
                    )
                })?;
                if len > BITMAP_MAX.min(self.volume.len())
                    || len < (self.geo.clusters as u64).div_ceil(8)
                {
                    return Err(FsError::corrupt(
                        Structure::Bitmap,
                        0,
                        "allocation bitmap size does not fit the volume",
                    ));
                }
                let runs = self.runs(first, len, false)?;
                let mut v = self.read_runs(&runs)?;
                v.truncate(len as usize);
                Ok(v)
            })
            .as_ref()
            .map(|v| v.as_slice())
    }

    fn any_allocated(&self, runs: &[Run]) -> bool {
        let Ok(bm) = self.bitmap() else { return true };
        let cs = self.geo.cluster_size;
        runs.iter()
            .filter_map(|r| r.disk.map(|d| (d, r.len)))
            .any(|(d, len)| {
                let first = (d - self.geo.heap) / cs;
                (first..first + len.div_ceil(cs)).any(|i| {
                    bm.get((i / 8) as usize)
                        .is_none_or(|b| b >> (i % 8) & 1 == 1)
                })
            })
    }

    fn walk_dir(
        &self,
        runs: &[Run],
        dir_deleted: bool,
        path: &[u8],
        depth: usize,
        seen: &mut HashSet<u32>,
        visit: &mut dyn FnMut(Result<Entry, FsError>),
    ) {
        let bytes = match self.read_runs(runs) {
            Ok(b) => b,
            Err(e) => {
                visit(Err(e));
                return;
            }
        };
        let offset_of = |i: usize| offset_in_runs(runs, i as u64).unwrap_or(0);
        let (sets, _) = parse_dir(&bytes);
        for s in sets {
            let id = offset_of(s.index);
            if !s.deleted && !s.checksum_ok {
                visit(Err(FsError::corrupt(
                    Structure::Directory,
                    id,
                    "entry set checksum mismatch",
                )));
                continue;
            }
            let deleted = dir_deleted || s.deleted;
            let mut p = path.to_vec();
            p.push(b'/');
            let start = p.len();
            push_utf16(&mut p, &s.name);
            for b in &mut p[start..] {
                if *b == b'/' || *b == 0 {
                    *b = b'_';
                }
            }
            // a deleted file's chain may be gone: read it contiguously
            let contiguous = s.no_fat_chain || deleted;
            let runs = self.runs(s.first_cluster, s.length, contiguous);
            let recovery = deleted.then(|| {
                let allocated = runs.as_ref().map_or(true, |r| self.any_allocated(r));
                match (allocated, s.no_fat_chain) {
                    (true, _) => Recovery::PossiblyOverwritten,
                    (false, true) => Recovery::Intact,
                    (false, false) => Recovery::ContiguousGuess,
                }
            });
            let mut runs = match runs {
                Ok(r) => r,
                Err(e) => {
                    visit(Err(e));
                    Vec::new()
                }
            };
            if !s.is_dir && s.valid_length < s.length {
                // bytes past the valid data length read as zeros
                runs = clip_runs(runs, s.valid_length);
                runs.push(Run {
                    disk: None,
                    len: s.length - s.valid_length,
                });
            }
            let mut entry = Entry {
                path: p.clone(),
                size: s.length,
                times: s.times,
                kind: if s.is_dir {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                },
                deleted,
                recovery: if s.is_dir { None } else { recovery },
                stream: None,
                id,
                metadata: false,
                data: DataRef::Runs(runs.clone().into()),
            };
            if s.is_dir {
                entry.size = 0;
                entry.data = DataRef::Runs(Arc::from(Vec::new()));
                visit(Ok(entry));
                if depth >= MAX_DEPTH || runs.is_empty() {
                    continue;
                }
                if deleted
                    && recovery != Some(Recovery::Intact)
                    && recovery != Some(Recovery::ContiguousGuess)
                {
                    continue;
                }
                if seen.insert(s.first_cluster) {
                    self.walk_dir(&runs, deleted, &p, depth + 1, seen, visit);
                } else {
                    visit(Err(FsError::corrupt(
                        Structure::Directory,
                        id,
                        "directory already visited (a cycle or a shared cluster)",
                    )));
                }
                continue;
            }
            visit(Ok(entry));
        }
    }
}

impl FileSystem for ExFat {
    fn kind(&self) -> FsKind {
        FsKind::ExFat
    }

    fn walk(&self, visit: &mut dyn FnMut(Result<Entry, FsError>)) {
        let root = match self.runs(self.root, DIR_MAX, false) {
            Ok(r) => r,
            Err(e) => {
                visit(Err(e));
                return;
            }
        };
        let mut seen = HashSet::from([self.root]);
        self.walk_dir(&root, false, b"", 0, &mut seen, visit);
    }

    fn open_file(&self, entry: &Entry) -> Result<Box<dyn ReadAt>, FsError> {
        Ok(super::open_runs(&self.volume, entry))
    }

    fn unallocated(&self) -> Result<Vec<(u64, u64)>, FsError> {
        let bm = self.bitmap().map_err(|e| {
            FsError::corrupt(
                Structure::Bitmap,
                e.offset().unwrap_or(0),
                "allocation bitmap unreadable",
            )
        })?;
        Ok(merge_ranges(
            free_ranges_from_bitmap(
                bm,
                self.geo.clusters as u64,
                self.geo.heap,
                self.geo.cluster_size,
            ),
            self.volume.len(),
        ))
    }
}
