//! # nigehbaan-disk
//!
//! Forensic disk images, read-only and without mounting: the layers a
//! seized device is read through, each behind the one [`ReadAt`] trait so
//! that any layer can sit on any other.
//!
//! ```text
//! container (raw, split raw, E01, block device)      -> ReadAt over the whole disk
//!   volume system (MBR with logical partitions, GPT) -> a ReadAt window per partition
//!     file system (FAT, exFAT, NTFS, ext2/3/4)       -> live and deleted files, each a ReadAt
//!     unallocated space and uncovered regions        -> carving by signature
//! ```
//!
//! Nothing here ever writes: every reader is opened read-only and the
//! traits have no write methods.

#![warn(missing_docs)]

pub mod carve;
pub mod container;
pub mod fs;
mod le;
pub mod read;
pub mod unreadable;
pub mod volume;

pub use container::{open_image, ContainerKind, Image, ImageError};
pub use read::{ReadAt, Window};
pub use unreadable::Unreadable;
