//! Raw (dd) images: one file, a file split into numbered or lettered
//! segments (`.001 .002 …`, `.aa .ab …`), or a block device.

use crate::read::ReadAt;
use crate::unreadable::{Cause, Unreadable};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// One piece of a segmented raw image.
enum Part {
    /// A segment file present on disk.
    File(File),
    /// A missing segment, assumed as long as the first one.
    Missing,
}

/// A raw image made of one or more segment files read back to back.
/// Missing middle segments are holes: reads there fail with an
/// [`Unreadable`] naming the file and the byte range.
pub struct SplitRaw {
    /// (start, len, path, part), in order, starts ascending.
    parts: Vec<(u64, u64, PathBuf, Part)>,
    len: u64,
}

impl SplitRaw {
    /// The segment files in order (missing ones included).
    pub fn paths(&self) -> Vec<PathBuf> {
        self.parts.iter().map(|p| p.2.clone()).collect()
    }

    /// The ranges of missing segments.
    pub fn holes(&self) -> Vec<Unreadable> {
        self.parts
            .iter()
            .filter(|p| matches!(p.3, Part::Missing))
            .map(|p| hole(p.0, p.1, &p.2))
            .collect()
    }
}

fn hole(start: u64, len: u64, path: &Path) -> Unreadable {
    Unreadable {
        start,
        len,
        cause: Cause::MissingSegment {
            path: path.to_path_buf(),
        },
    }
}

impl ReadAt for SplitRaw {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let i = self.parts.partition_point(|p| p.0 + p.1 <= offset);
        let Some((start, len, path, part)) = self.parts.get(i) else {
            return Ok(0);
        };
        let within = offset - start;
        let n = (buf.len() as u64).min(len - within) as usize;
        match part {
            Part::Missing => Err(hole(*start, *len, path).into_io()),
            Part::File(f) => f.read_at(within, &mut buf[..n]).map_err(|e| {
                Unreadable {
                    start: offset,
                    len: n as u64,
                    cause: Cause::Io {
                        kind: e.kind(),
                        path: path.clone(),
                    },
                }
                .into_io()
            }),
        }
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// Opens a file read-only without updating its access time when the
/// system allows that (`O_NOATIME` needs ownership or CAP_FOWNER).
pub(crate) fn open_read_only(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path)
    {
        Ok(f) => Ok(f),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => File::open(path),
        Err(e) => Err(e),
    }
}

/// The size of an open file or block device (block devices report 0 as
/// their metadata length, so seek to the end instead).
pub(crate) fn size_of(file: &File) -> io::Result<u64> {
    use std::io::Seek;
    let meta = file.metadata()?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    let mut f = file;
    let end = f.seek(io::SeekFrom::End(0))?;
    f.seek(io::SeekFrom::Start(0))?;
    Ok(end)
}

/// A block device (or any file) opened read-only, with its size read once.
pub struct Device {
    file: File,
    len: u64,
    path: PathBuf,
}

impl Device {
    /// Opens `path` read-only (`O_RDONLY`).
    pub fn open(path: &Path) -> io::Result<Device> {
        let file = open_read_only(path)?;
        let len = size_of(&file)?;
        Ok(Device {
            file,
            len,
            path: path.to_path_buf(),
        })
    }
}

impl ReadAt for Device {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(self.len - offset) as usize;
        ReadAt::read_at(&self.file, offset, &mut buf[..n]).map_err(|e| {
            Unreadable {
                start: offset,
                len: n as u64,
                cause: Cause::Io {
                    kind: e.kind(),
                    path: self.path.clone(),
                },
            }
            .into_io()
        })
    }

    fn len(&self) -> u64 {
        self.len
    }
}

/// The shape of a split-image extension: how to count from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Decimal digits of a fixed width (`001`).
    Digits(usize),
    /// Letters of a fixed width, lower or upper case (`aa`).
    Letters(usize, bool),
}

fn shape_of(ext: &str) -> Option<(Shape, u64)> {
    if ext.len() >= 2 && ext.len() <= 4 && ext.bytes().all(|b| b.is_ascii_digit()) {
        return Some((Shape::Digits(ext.len()), ext.parse().ok()?));
    }
    let upper = ext.bytes().all(|b| b.is_ascii_uppercase());
    let lower = ext.bytes().all(|b| b.is_ascii_lowercase());
    if ext.len() == 2 && (upper || lower) {
        let n = ext.bytes().fold(0u64, |n, b| {
            n * 26 + u64::from(b.to_ascii_lowercase() - b'a')
        });
        return Some((Shape::Letters(ext.len(), upper), n));
    }
    None
}

fn format_shape(shape: Shape, n: u64) -> Option<String> {
    match shape {
        Shape::Digits(w) => {
            let s = format!("{n:0w$}");
            (s.len() == w).then_some(s)
        }
        Shape::Letters(w, upper) => {
            if n >= 26u64.pow(w as u32) {
                return None;
            }
            let base = if upper { b'A' } else { b'a' };
            let mut out = vec![base; w];
            let mut k = n;
            for slot in out.iter_mut().rev() {
                *slot = base + (k % 26) as u8;
                k /= 26;
            }
            String::from_utf8(out).ok()
        }
    }
}

fn with_ext(path: &Path, ext: &str) -> PathBuf {
    path.with_extension(ext)
}

/// The segment paths of a split raw image whose first segment is `first`
/// (`x.001` or `x.000` or `x.aa`), with missing middle segments flagged
/// `false`. `None` when `first` is not named like a split image's segment.
pub(crate) fn split_segments(first: &Path) -> Option<Vec<(PathBuf, bool)>> {
    let ext = first.extension()?.to_str()?;
    let (shape, n0) = shape_of(ext)?;
    // Only a first segment starts a split image: `.000`, `.001`, `.aa`.
    let first_number = match shape {
        Shape::Digits(_) => n0 <= 1,
        Shape::Letters(..) => n0 == 0,
    };
    if !first_number {
        return None;
    }
    let mut out = vec![(first.to_path_buf(), true)];
    // The highest-numbered sibling with the same stem and shape: anything
    // between is a missing middle segment.
    let stem = first.file_stem()?.to_os_string();
    let dir = match first.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut max = n0;
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.file_stem().map(|s| s.to_os_string()) != Some(stem.clone()) {
                continue;
            }
            if let Some((s, n)) = p.extension().and_then(|x| x.to_str()).and_then(shape_of) {
                if s == shape && n > max {
                    max = n;
                }
            }
        }
    }
    for n in n0 + 1..=max {
        let Some(ext) = format_shape(shape, n) else {
            break;
        };
        let p = with_ext(first, &ext);
        let present = p.is_file();
        out.push((p, present));
    }
    Some(out)
}

/// The segment that would come before `path`, if it is named like a later
/// segment of a split image and that earlier segment exists.
pub(crate) fn earlier_segment(path: &Path) -> Option<PathBuf> {
    let ext = path.extension()?.to_str()?;
    let (shape, n) = shape_of(ext)?;
    if n == 0 {
        return None;
    }
    let prev = with_ext(path, &format_shape(shape, n - 1)?);
    prev.is_file().then_some(prev)
}

/// Opens the segments in order; missing ones become holes as long as the
/// first segment.
pub(crate) fn open_split(segments: &[(PathBuf, bool)]) -> io::Result<SplitRaw> {
    let mut parts = Vec::with_capacity(segments.len());
    let mut start = 0u64;
    let mut first_len = None;
    for (path, present) in segments {
        if *present {
            let f = open_read_only(path)?;
            let len = size_of(&f)?;
            first_len.get_or_insert(len);
            parts.push((start, len, path.clone(), Part::File(f)));
            start += len;
        } else {
            let len = first_len.unwrap_or(0);
            parts.push((start, len, path.clone(), Part::Missing));
            start += len;
        }
    }
    // Zero-length segments add nothing and would confuse the lookup.
    parts.retain(|p| p.1 > 0);
    Ok(SplitRaw { parts, len: start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_counting() {
        assert_eq!(shape_of("001"), Some((Shape::Digits(3), 1)));
        assert_eq!(format_shape(Shape::Digits(3), 10).unwrap(), "010");
        assert_eq!(format_shape(Shape::Digits(3), 1000), None);
        let (s, n) = shape_of("az").unwrap();
        assert_eq!(format_shape(s, n + 1).unwrap(), "ba");
        let (s, n) = shape_of("ZZ").unwrap();
        assert_eq!(format_shape(s, n + 1), None);
        assert_eq!(format_shape(s, 1).unwrap(), "AB");
        assert_eq!(shape_of("raw"), None);
        assert_eq!(shape_of("E01"), None);
        assert_eq!(shape_of("img1"), None);
    }
}
