//! Walking the MFT: a first pass collects the directories (name, parent,
//! sequence number), a second emits every named record's streams with
//! paths built from `$FILE_NAME` parent references.

use std::collections::HashMap;

use super::record::{self, Attr, Body, FileName, Record};
use super::Ntfs;
use crate::fs::time::filetime;
use crate::fs::{push_utf16, DataRef, Entry, EntryKind, FsError, Recovery, Structure, Times};
use crate::ReadAt;

/// The root directory's record number.
const ROOT: u64 = 5;
/// Records read per MFT read.
const CHUNK: u64 = 64;
/// Deeper parent chains are taken for cycles.
const MAX_DEPTH: usize = 256;

/// A directory as the first pass saw it.
struct Dir {
    in_use: bool,
    seq: u16,
    parent: u64,
    parent_seq: u16,
    name: Box<[u16]>,
}

/// The best `$FILE_NAME` of a list of attributes.
fn best_name(attrs: &[Attr]) -> Option<FileName> {
    attrs
        .iter()
        .filter(|a| a.kind == record::FILE_NAME)
        .filter_map(|a| match &a.body {
            Body::Resident(v) => FileName::parse(v),
            _ => None,
        })
        .min_by_key(|f| f.rank())
}

/// Calls `f` with every record number and parsed record (or error).
fn each_record(ntfs: &Ntfs, f: &mut dyn FnMut(u64, Result<Option<Record>, FsError>)) {
    let rs = ntfs.record_size as usize;
    let mut buf = vec![0u8; rs * CHUNK as usize];
    let mut n = 0;
    while n < ntfs.records {
        let count = CHUNK.min(ntfs.records - n);
        let chunk = &mut buf[..rs * count as usize];
        if ntfs.mft.read_exact_at(n * ntfs.record_size, chunk).is_ok() {
            for i in 0..count {
                let one = &mut chunk[i as usize * rs..(i as usize + 1) * rs];
                f(n + i, ntfs.parse_record(n + i, one));
            }
        } else {
            for i in 0..count {
                f(n + i, ntfs.record(n + i));
            }
        }
        n += count;
    }
}

/// Paths of directories, resolved once each.
struct Paths {
    dirs: HashMap<u64, Dir>,
    memo: HashMap<(u64, u16), Option<Vec<u8>>>,
}

impl Paths {
    /// The path of directory (`n`, `seq`), or `None` when the chain does
    /// not reach the root (an orphan) or loops.
    fn dir_path(&mut self, n: u64, seq: u16) -> Option<Vec<u8>> {
        if n == ROOT {
            return Some(Vec::new());
        }
        if let Some(p) = self.memo.get(&(n, seq)) {
            return p.clone();
        }
        // walk up until the root or a memoised directory
        let mut chain: Vec<(u64, u16)> = Vec::new();
        let mut cur = (n, seq);
        let mut base: Option<Vec<u8>> = None;
        loop {
            if cur.0 == ROOT {
                base = Some(Vec::new());
                break;
            }
            if let Some(p) = self.memo.get(&cur) {
                base = p.clone();
                break;
            }
            if chain.len() > MAX_DEPTH || chain.iter().any(|c| c.0 == cur.0) {
                break;
            }
            let Some(d) = self.dirs.get(&cur.0) else {
                break;
            };
            let same = d.seq == cur.1 || (!d.in_use && d.seq == cur.1.wrapping_add(1));
            if !same {
                break;
            }
            chain.push(cur);
            cur = (d.parent, d.parent_seq);
        }
        // build the chain's paths from the top down (or mark them orphans)
        for c in chain.iter().rev() {
            let p = base.as_ref().map(|b| {
                let mut p = b.clone();
                p.push(b'/');
                push_name(&mut p, &self.dirs[&c.0].name);
                p
            });
            self.memo.insert(*c, p.clone());
            base = p;
        }
        self.memo.get(&(n, seq)).cloned().flatten()
    }
}

/// Appends a UTF-16 name, with `/` and NUL made harmless.
fn push_name(out: &mut Vec<u8>, name: &[u16]) {
    let start = out.len();
    push_utf16(out, name);
    for b in &mut out[start..] {
        if *b == b'/' || *b == 0 {
            *b = b'_';
        }
    }
}

pub(super) fn walk(ntfs: &Ntfs, visit: &mut dyn FnMut(Result<Entry, FsError>)) {
    // Pass 1: directories.
    let mut dirs = HashMap::new();
    each_record(ntfs, &mut |n, r| {
        let Ok(Some(rec)) = r else { return };
        if rec.base != 0 || !rec.is_dir {
            return;
        }
        if let Some(name) = best_name(&rec.attrs) {
            dirs.insert(
                n,
                Dir {
                    in_use: rec.in_use,
                    seq: rec.seq,
                    parent: name.parent,
                    parent_seq: name.parent_seq,
                    name: name.name.into(),
                },
            );
        }
    });
    let mut paths = Paths {
        dirs,
        memo: HashMap::new(),
    };
    // Pass 2: every named base record.
    each_record(ntfs, &mut |n, r| {
        let rec = match r {
            Ok(Some(rec)) => rec,
            Ok(None) => return,
            Err(e) => {
                visit(Err(e));
                return;
            }
        };
        if rec.base != 0 || n == ROOT {
            return;
        }
        let attrs = if rec.attrs.iter().any(|a| a.kind == record::ATTRIBUTE_LIST) {
            match ntfs.all_attrs(n, &rec) {
                Ok(a) => a,
                Err(e) => {
                    visit(Err(e));
                    rec.attrs.clone()
                }
            }
        } else {
            rec.attrs.clone()
        };
        let Some(name) = best_name(&attrs) else {
            return;
        };
        let mut path = match paths.dir_path(name.parent, name.parent_seq) {
            Some(p) => p,
            None => {
                if name.parent == n {
                    visit(Err(FsError::corrupt(
                        Structure::MftRecord,
                        ntfs.record_offset(n),
                        "record names itself as its parent directory",
                    )));
                }
                b"/$OrphanFiles".to_vec()
            }
        };
        path.push(b'/');
        push_name(&mut path, &name.name);
        emit(ntfs, n, &rec, &attrs, path, visit);
    });
}

/// Emits a record's entries: the directory, or one entry per `$DATA`
/// stream.
fn emit(
    ntfs: &Ntfs,
    n: u64,
    rec: &Record,
    attrs: &[Attr],
    path: Vec<u8>,
    visit: &mut dyn FnMut(Result<Entry, FsError>),
) {
    let times = attrs
        .iter()
        .find(|a| a.kind == record::STANDARD_INFORMATION)
        .and_then(|a| match &a.body {
            Body::Resident(v) if v.len() >= 32 => Some(Times {
                created: filetime(crate::fs::le::u64(v, 0)),
                modified: filetime(crate::fs::le::u64(v, 8)),
                changed: filetime(crate::fs::le::u64(v, 16)),
                accessed: filetime(crate::fs::le::u64(v, 24)),
            }),
            _ => None,
        })
        .unwrap_or_default();
    let deleted = !rec.in_use;
    let metadata = n < 16 || path.starts_with(b"/$Extend/");
    let base = Entry {
        path,
        size: 0,
        times,
        kind: EntryKind::Dir,
        deleted,
        recovery: None,
        stream: None,
        id: n,
        metadata,
        data: DataRef::Lazy,
    };
    // distinct stream names, unnamed first
    let mut names: Vec<&[u16]> = Vec::new();
    for a in attrs.iter().filter(|a| a.kind == record::DATA) {
        if !names.contains(&a.name.as_slice()) {
            names.push(&a.name);
        }
    }
    names.sort();
    if rec.is_dir {
        visit(Ok(base.clone()));
    } else if names.first().is_none_or(|s| !s.is_empty()) {
        // a file without unnamed data: still listed, empty
        visit(Ok(Entry {
            kind: EntryKind::File,
            recovery: deleted.then_some(Recovery::Intact),
            ..base.clone()
        }));
    }
    for name in names {
        if rec.is_dir && name.is_empty() {
            continue;
        }
        let at = ntfs.record_offset(n);
        let resident = attrs.iter().find_map(|a| match &a.body {
            Body::Resident(v) if a.kind == record::DATA && a.name == name => Some(v.len() as u64),
            _ => None,
        });
        let (size, recovery) = match resident {
            Some(len) => (len, Recovery::Intact),
            None => match ntfs.stream_runs(attrs, name, at) {
                Ok((runs, size, _)) => (
                    size,
                    if deleted {
                        ntfs.recovery(&runs)
                    } else {
                        Recovery::Intact
                    },
                ),
                Err(e) => {
                    visit(Err(e));
                    let size = attrs
                        .iter()
                        .find_map(|a| match a.body {
                            Body::NonResident {
                                start_vcn: 0, size, ..
                            } if a.kind == record::DATA && a.name == name => Some(size),
                            _ => None,
                        })
                        .unwrap_or(0);
                    (size, Recovery::PossiblyOverwritten)
                }
            },
        };
        let mut e = Entry {
            size,
            kind: EntryKind::File,
            recovery: deleted.then_some(recovery),
            ..base.clone()
        };
        if !name.is_empty() {
            let s = String::from_utf16_lossy(name);
            e.path.push(b':');
            push_name(&mut e.path, name);
            e.stream = Some(s);
        }
        visit(Ok(e));
    }
}
