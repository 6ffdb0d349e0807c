//! Byte ranges a reader could not deliver, carried inside [`std::io::Error`]
//! so that every layer above (volume, file system, carving) can name the
//! exact range of the image it had to skip.
//!
//! Ranges are always in the coordinates of the whole image (the
//! container), whatever window the read went through: a report lists them
//! as they are on the exhibit.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A range of the image that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// First byte of the range, in image coordinates.
    pub start: u64,
    /// Length of the range in bytes.
    pub len: u64,
    /// Why it could not be read.
    pub cause: Cause,
}

/// Why a range could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// A segment file of a split image is missing.
    MissingSegment {
        /// The file that should hold the range.
        path: PathBuf,
    },
    /// An E01 chunk failed to decompress or its checksum did not match.
    CorruptChunk {
        /// The chunk's number (0-based).
        chunk: u64,
        /// What was wrong with it.
        problem: ChunkProblem,
    },
    /// No table entry says where the chunk is (a truncated or damaged
    /// E01 segment).
    MissingChunk {
        /// The chunk's number (0-based).
        chunk: u64,
    },
    /// The acquiring tool recorded a read error for these sectors (E01
    /// `error2` section): the data there is filler, not the device's.
    AcquisitionError,
    /// The operating system refused the read.
    Io {
        /// The error kind the operating system reported.
        kind: io::ErrorKind,
        /// The file read.
        path: PathBuf,
    },
}

/// What was wrong with a corrupt E01 chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkProblem {
    /// The zlib stream did not decompress (or its Adler-32 failed).
    Inflate,
    /// It decompressed to fewer bytes than a chunk holds.
    Short {
        /// Bytes produced.
        got: usize,
    },
    /// The Adler-32 stored after an uncompressed chunk did not match.
    Checksum,
    /// Its stored size is impossible (negative or far larger than a chunk).
    BadSize {
        /// The stored size in bytes.
        size: u64,
    },
    /// Its data lies past the end of its segment file (a truncated segment).
    PastSegmentEnd,
}

impl fmt::Display for ChunkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkProblem::Inflate => write!(f, "compressed data is corrupt"),
            ChunkProblem::Short { got } => write!(f, "decompressed to only {got} bytes"),
            ChunkProblem::Checksum => write!(f, "Adler-32 checksum mismatch"),
            ChunkProblem::BadSize { size } => write!(f, "impossible stored size {size}"),
            ChunkProblem::PastSegmentEnd => write!(f, "data lies past the end of its segment file"),
        }
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self.start.saturating_add(self.len);
        write!(f, "bytes {:#x}..{:#x} unreadable: ", self.start, end)?;
        match &self.cause {
            Cause::MissingSegment { path } => {
                write!(f, "segment file {} is missing", path.display())
            }
            Cause::CorruptChunk { chunk, problem } => write!(f, "E01 chunk {chunk}: {problem}"),
            Cause::MissingChunk { chunk } => {
                write!(f, "E01 chunk {chunk} has no table entry (truncated image?)")
            }
            Cause::AcquisitionError => {
                write!(f, "the acquiring tool recorded a read error here")
            }
            Cause::Io { kind, path } => write!(f, "{} ({kind})", path.display()),
        }
    }
}

impl std::error::Error for Unreadable {}

impl Unreadable {
    /// The exclusive end of the range.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }

    /// Wraps this into an [`io::Error`] (kind `InvalidData`) that
    /// [`Unreadable::find`] recovers.
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The unreadable range an I/O error carries, if it came from a layer
    /// of this crate.
    pub fn find(err: &io::Error) -> Option<&Unreadable> {
        err.get_ref()?.downcast_ref::<Unreadable>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_io_error() {
        let u = Unreadable {
            start: 0x8000,
            len: 0x8000,
            cause: Cause::CorruptChunk {
                chunk: 1,
                problem: ChunkProblem::Checksum,
            },
        };
        let e = u.clone().into_io();
        assert_eq!(Unreadable::find(&e), Some(&u));
        assert!(e.to_string().contains("0x8000..0x10000"));
        assert!(Unreadable::find(&io::Error::other("x")).is_none());
    }
}
