//! The one error type of the file-system readers.

use std::fmt;
use std::io;

/// Which on-disk structure an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// The boot sector (FAT, exFAT, NTFS).
    BootSector,
    /// The ext superblock.
    Superblock,
    /// An ext block group descriptor.
    GroupDescriptor,
    /// A file allocation table or a cluster chain in it.
    Fat,
    /// An allocation bitmap (exFAT bitmap, NTFS `$Bitmap`, ext block bitmap).
    Bitmap,
    /// A directory or one of its entries.
    Directory,
    /// An NTFS MFT record or its attributes.
    MftRecord,
    /// An NTFS run list or an ext extent tree / indirect block.
    RunList,
    /// An ext inode.
    Inode,
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Structure::BootSector => "boot sector",
            Structure::Superblock => "superblock",
            Structure::GroupDescriptor => "group descriptor",
            Structure::Fat => "file allocation table",
            Structure::Bitmap => "allocation bitmap",
            Structure::Directory => "directory",
            Structure::MftRecord => "MFT record",
            Structure::RunList => "run list",
            Structure::Inode => "inode",
        })
    }
}

/// Why a file system, or part of one, could not be read.
#[derive(Debug)]
pub enum FsError {
    /// No supported file system was recognised.
    Unrecognised,
    /// Reading the volume failed.
    Io {
        /// Byte offset in the volume where the read started.
        offset: u64,
        /// The underlying error.
        source: io::Error,
    },
    /// A structure is damaged or inconsistent.
    Corrupt {
        /// The structure.
        structure: Structure,
        /// Its byte offset in the volume.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A feature this reader does not implement (NTFS compression, ext
    /// `meta_bg`, …), so the data could not be read.
    Unsupported {
        /// The structure using the feature.
        structure: Structure,
        /// Its byte offset in the volume.
        offset: u64,
        /// The feature.
        feature: &'static str,
    },
}

impl FsError {
    /// The byte offset in the volume the error is about, when there is one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            FsError::Unrecognised => None,
            FsError::Io { offset, .. }
            | FsError::Corrupt { offset, .. }
            | FsError::Unsupported { offset, .. } => Some(*offset),
        }
    }

    pub(crate) fn corrupt(structure: Structure, offset: u64, reason: &'static str) -> FsError {
        FsError::Corrupt {
            structure,
            offset,
            reason,
        }
    }

    pub(crate) fn io(offset: u64, source: io::Error) -> FsError {
        FsError::Io { offset, source }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::Unrecognised => f.write_str("no supported file system recognised"),
            FsError::Io { offset, .. } => write!(f, "read failed at byte {offset}"),
            FsError::Corrupt {
                structure,
                offset,
                reason,
            } => write!(f, "damaged {structure} at byte {offset}: {reason}"),
            FsError::Unsupported {
                structure,
                offset,
                feature,
            } => write!(
                f,
                "{structure} at byte {offset} uses {feature}, which is not supported"
            ),
        }
    }
}

impl std::error::Error for FsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, as an [`FsError::Io`] on failure.
pub(crate) fn read_exact(
    r: &dyn crate::ReadAt,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), FsError> {
    r.read_exact_at(offset, buf)
        .map_err(|e| FsError::io(offset, e))
}
