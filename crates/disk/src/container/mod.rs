//! Image containers, detected by content: raw (dd) files, split raw
//! images, block devices, and EnCase E01. [`open_image`] gives an
//! [`Image`]: a [`ReadAt`] over the whole disk plus what the container
//! says about it (acquisition metadata, stored hashes, damage).
//!
//! ```no_run
//! use nigehbaan_disk::carve::{CarveOptions, Carver};
//! use nigehbaan_disk::open_image;
//!
//! let img = open_image(&["laptop.E01"])?;
//! if let Some(a) = img.acquisition() {
//!     println!("case {:?}, examiner {:?}", a.case_number, a.examiner);
//! }
//! let check = img.verify(); // streams every byte: MD5 and SHA-1
//! println!("verified: {}", check.verified());
//! let vs = img.volumes();
//! for v in &vs.volumes {
//!     let part = img.region(v.start, v.len); // hand to a file system reader
//!     println!("p{} at {}: {}", v.index, v.start, v.type_description());
//! }
//! let disk = img.reader();
//! for gap in vs.unallocated_regions() {
//!     for item in Carver::new(&*disk, gap.start, gap.end - gap.start, CarveOptions::default()) {
//!         match item {
//!             Ok(c) => println!("{}@{:#x}: {} bytes", c.kind.extension(), c.offset, c.len),
//!             Err(bad) => println!("excluded: {bad}"), // a byte range with its cause
//!         }
//!     }
//! }
//! # Ok::<(), nigehbaan_disk::ImageError>(())
//! ```

mod cache;
pub mod ewf;
pub mod raw;
pub mod verify;

use crate::read::ReadAt;
use crate::unreadable::Unreadable;
use crate::volume::{self, VolumeSystem};
pub use ewf::{Acquisition, Damage, Ewf, EwfError, StoredHashes};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
pub use verify::Digests;

/// What kind of container an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// One raw (dd) file.
    Raw,
    /// A raw image split into numbered or lettered segment files.
    SplitRaw,
    /// A block device, read directly.
    Device,
    /// An EnCase E01 (EWF version 1), one or more segment files.
    E01,
}

impl ContainerKind {
    /// A short lowercase name (`raw`, `split-raw`, `device`, `e01`).
    pub fn name(self) -> &'static str {
        match self {
            ContainerKind::Raw => "raw",
            ContainerKind::SplitRaw => "split-raw",
            ContainerKind::Device => "device",
            ContainerKind::E01 => "e01",
        }
    }
}

/// Why an image could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum ImageError {
    /// No path was given.
    NoPaths,
    /// Opening or reading a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A container format this reader does not support.
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The format's name (`Ex01`, `L01`, `Lx01`).
        format: &'static str,
    },
    /// The path names a later segment; the image starts at `first`.
    NotFirstSegment {
        /// The path given.
        path: PathBuf,
        /// The first segment.
        first: PathBuf,
    },
    /// An E01 segment says another follows, and that file is missing.
    MissingSegment {
        /// The expected file.
        path: PathBuf,
    },
    /// The E01 structure is unusable.
    Ewf(EwfError),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::NoPaths => write!(f, "no image file given"),
            ImageError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            ImageError::Unsupported { path, format } => {
                write!(f, "{}: unsupported image format: {format}", path.display())
            }
            ImageError::NotFirstSegment { path, first } => write!(
                f,
                "{} is not the first segment of its image; open {}",
                path.display(),
                first.display()
            ),
            ImageError::MissingSegment { path } => {
                write!(f, "segment file {} is missing", path.display())
            }
            ImageError::Ewf(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImageError::Io { source, .. } => Some(source),
            ImageError::Ewf(e) => Some(e),
            _ => None,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ImageError + '_ {
    move |source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The result of [`Image::verify`]: computed hashes beside the stored ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Hashes the container stores (none for raw images).
    pub stored: StoredHashes,
    /// Hashes of the data as read now.
    pub computed: Digests,
}

impl Verification {
    /// Whether the MD5 matches; `None` when none is stored.
    pub fn md5_matches(&self) -> Option<bool> {
        self.stored.md5.map(|m| m == self.computed.md5)
    }

    /// Whether the SHA-1 matches; `None` when none is stored.
    pub fn sha1_matches(&self) -> Option<bool> {
        self.stored.sha1.map(|s| s == self.computed.sha1)
    }

    /// True when at least one hash is stored, every stored hash matches and
    /// every byte was readable.
    pub fn verified(&self) -> bool {
        let any = self.stored.md5.is_some() || self.stored.sha1.is_some();
        any && self.md5_matches() != Some(false)
            && self.sha1_matches() != Some(false)
            && self.computed.unreadable.is_empty()
    }
}

/// An open image: the whole disk as a [`ReadAt`], read-only.
pub struct Image {
    kind: ContainerKind,
    paths: Vec<PathBuf>,
    reader: Arc<dyn ReadAt>,
    ewf: Option<Arc<Ewf>>,
    known_unreadable: Vec<Unreadable>,
}

/// Names of E01 segments after `first` (`.E02 … .E99 .EAA … .ZZZ`),
/// keeping the case of the first one's extension.
fn ewf_segment_name(first: &Path, n: u32) -> Option<PathBuf> {
    let ext = first.extension()?.to_str()?;
    let upper = ext.chars().next()?.is_ascii_uppercase();
    // E01 … for EnCase, s01 … for SMART.
    let letter = ext.bytes().next()?.to_ascii_uppercase();
    let ext = if n < 100 {
        format!("{}{n:02}", letter as char)
    } else {
        let k = n - 100;
        let lead = letter + (k / 676) as u8;
        if lead > b'Z' {
            return None;
        }
        let a = b'A' + ((k / 26) % 26) as u8;
        let b = b'A' + (k % 26) as u8;
        String::from_utf8(vec![lead, a, b]).ok()?
    };
    let ext = if upper { ext } else { ext.to_ascii_lowercase() };
    Some(first.with_extension(ext))
}

/// Opens an image read-only, detecting its container from its content.
///
/// `paths` is usually one path: a raw file, a block device, the first
/// segment of a split raw image (`.001`, `.000` or `.aa`: the others are
/// found beside it) or of an E01 (`.E01`: `.E02 …` are found beside it).
/// Several paths are taken as the segments of one image, in order.
pub fn open_image<P: AsRef<Path>>(paths: &[P]) -> Result<Image, ImageError> {
    let first = paths.first().ok_or(ImageError::NoPaths)?.as_ref();
    let file = raw::open_read_only(first).map_err(io_err(first))?;
    let mut sig = [0u8; 8];
    let got = ReadAt::read_at(&file, 0, &mut sig).map_err(io_err(first))?;
    let meta = file.metadata().map_err(io_err(first))?;
    drop(file);
    if got == 8 {
        let unsupported = match sig {
            ewf::sections::EVF2 => Some("Ex01"),
            ewf::sections::LVF1 => Some("L01"),
            ewf::sections::LEF2 => Some("Lx01"),
            _ => None,
        };
        if let Some(format) = unsupported {
            return Err(ImageError::Unsupported {
                path: first.to_path_buf(),
                format,
            });
        }
        if sig == ewf::sections::EVF1 {
            return open_ewf(paths);
        }
    }
    use std::os::unix::fs::FileTypeExt;
    if meta.file_type().is_block_device() || meta.file_type().is_char_device() {
        let d = raw::Device::open(first).map_err(io_err(first))?;
        return Ok(Image::plain(
            ContainerKind::Device,
            vec![first.to_path_buf()],
            Arc::new(d),
        ));
    }
    let segments: Vec<(PathBuf, bool)> = if paths.len() > 1 {
        paths
            .iter()
            .map(|p| (p.as_ref().to_path_buf(), true))
            .collect()
    } else {
        if let Some(earlier) = raw::earlier_segment(first) {
            let mut f = earlier;
            while let Some(e) = raw::earlier_segment(&f) {
                f = e;
            }
            return Err(ImageError::NotFirstSegment {
                path: first.to_path_buf(),
                first: f,
            });
        }
        raw::split_segments(first).unwrap_or_else(|| vec![(first.to_path_buf(), true)])
    };
    let kind = if segments.len() > 1 {
        ContainerKind::SplitRaw
    } else {
        ContainerKind::Raw
    };
    let split = raw::open_split(&segments).map_err(io_err(first))?;
    let holes = split.holes();
    let mut img = Image::plain(kind, split.paths(), Arc::new(split));
    img.known_unreadable = holes;
    Ok(img)
}

fn open_ewf<P: AsRef<Path>>(paths: &[P]) -> Result<Image, ImageError> {
    let first = paths[0].as_ref();
    let mut names: Vec<PathBuf> = paths.iter().map(|p| p.as_ref().to_path_buf()).collect();
    if names.len() == 1 {
        let mut n = 2;
        while let Some(p) = ewf_segment_name(first, n) {
            if !p.is_file() {
                break;
            }
            names.push(p);
            n += 1;
        }
    }
    let mut segments = Vec::with_capacity(names.len());
    for p in &names {
        let f = raw::open_read_only(p).map_err(io_err(p))?;
        let len = raw::size_of(&f).map_err(io_err(p))?;
        segments.push(ewf::Segment {
            path: p.clone(),
            reader: Box::new(crate::read::Window::new(f, 0, len)),
        });
    }
    let e = Ewf::open(segments).map_err(ImageError::Ewf)?;
    if e.wants_more_segments() {
        let path = ewf_segment_name(first, names.len() as u32 + 1)
            .unwrap_or_else(|| first.with_extension("E??"));
        return Err(ImageError::MissingSegment { path });
    }
    let mut known = e.acquisition_errors().to_vec();
    known.extend(e.missing_ranges());
    let e = Arc::new(e);
    Ok(Image {
        kind: ContainerKind::E01,
        paths: names,
        reader: e.clone(),
        ewf: Some(e),
        known_unreadable: known,
    })
}

impl Image {
    fn plain(kind: ContainerKind, paths: Vec<PathBuf>, reader: Arc<dyn ReadAt>) -> Image {
        Image {
            kind,
            paths,
            reader,
            ewf: None,
            known_unreadable: Vec::new(),
        }
    }

    /// Wraps any reader as a raw image (tests, images in memory).
    pub fn from_reader(path: PathBuf, reader: Arc<dyn ReadAt>) -> Image {
        Image::plain(ContainerKind::Raw, vec![path], reader)
    }

    /// The container kind.
    pub fn kind(&self) -> ContainerKind {
        self.kind
    }

    /// The files the image is read from, in order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The whole disk.
    pub fn reader(&self) -> Arc<dyn ReadAt> {
        self.reader.clone()
    }

    /// Bytes of disk.
    pub fn len(&self) -> u64 {
        self.reader.len()
    }

    /// True for an empty image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The E01 reader, for E01 images.
    pub fn ewf(&self) -> Option<&Ewf> {
        self.ewf.as_deref()
    }

    /// Acquisition metadata (E01 header sections).
    pub fn acquisition(&self) -> Option<&Acquisition> {
        self.ewf.as_ref().and_then(|e| e.acquisition())
    }

    /// Hashes stored in the container (none for raw images).
    pub fn stored_hashes(&self) -> StoredHashes {
        self.ewf
            .as_ref()
            .map(|e| e.stored_hashes())
            .unwrap_or_default()
    }

    /// Structural damage the container reader worked around.
    pub fn damage(&self) -> &[Damage] {
        self.ewf.as_ref().map(|e| e.damage_found()).unwrap_or(&[])
    }

    /// Ranges known unreadable without reading them: missing segments,
    /// chunks no table locates, sectors the acquiring tool could not read.
    /// Corrupt chunks are found only by reading (see [`Image::verify`]).
    pub fn known_unreadable(&self) -> &[Unreadable] {
        &self.known_unreadable
    }

    /// Streams every byte, computing MD5 and SHA-1, and compares them with
    /// the hashes the container stores.
    pub fn verify(&self) -> Verification {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        Verification {
            stored: self.stored_hashes(),
            computed: verify::digests(&*self.reader, threads),
        }
    }

    /// The volume system (partition table) on the disk.
    pub fn volumes(&self) -> VolumeSystem {
        volume::detect(&*self.reader)
    }

    /// A reader over one volume (or any region) of the disk. Unreadable
    /// ranges its reads report stay in whole-image coordinates.
    pub fn region(&self, start: u64, len: u64) -> crate::read::Window<Arc<dyn ReadAt>> {
        crate::read::Window::new(self.reader(), start, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e01_segment_names() {
        let p = Path::new("/x/disk.E01");
        assert_eq!(ewf_segment_name(p, 2).unwrap(), Path::new("/x/disk.E02"));
        assert_eq!(ewf_segment_name(p, 99).unwrap(), Path::new("/x/disk.E99"));
        assert_eq!(ewf_segment_name(p, 100).unwrap(), Path::new("/x/disk.EAA"));
        assert_eq!(ewf_segment_name(p, 101).unwrap(), Path::new("/x/disk.EAB"));
        assert_eq!(ewf_segment_name(p, 776).unwrap(), Path::new("/x/disk.FAA"));
        let q = Path::new("d.e01");
        assert_eq!(ewf_segment_name(q, 3).unwrap(), Path::new("d.e03"));
        let s = Path::new("d.s01");
        assert_eq!(ewf_segment_name(s, 2).unwrap(), Path::new("d.s02"));
    }
}
