//! Hash lists for Nigehbaan: the record model, and importers and exporters
//! for the lists authorised bodies share (Project VIC / VICS JSON, NCMEC
//! hash-sharing XML, Hasher-Matcher-Actioner exports, md5sum/sha*sum and
//! hashdeep text, NIST NSRL RDSv3 SQLite, and CSV with a column mapping).
//!
//! - [`model`]: [`Record`] and friends, [`find_conflict`].
//! - [`categories`]: what each category code means, per scheme.
//! - [`import`]: [`detect`] a list's format by content, then
//!   [`import_bytes`] or [`import_path`]. An import returns every record or
//!   an [`ImportError`] naming the file, the line or record, and the reason.
//! - [`export`]: VICS 2.0 `#Media` JSON and CSV.
//! - [`library`]: the on-disk list library (import, remove, open for
//!   matching, verify), with compiled memory-mapped indexes.
//!
//! The hash of the empty file is never imported as a match: importers drop
//! any record carrying it and count it in [`ImportReport::skipped_empty`].
//!
//! `docs/formats.md` in the repository documents every format.

#![warn(missing_docs)]

pub mod categories;
pub mod error;
pub mod export;
pub mod hex;
pub mod import;
pub mod library;
pub mod model;

pub use error::{
    FieldError, ImportError, ImportErrorKind, ImportReport, Location, SpecError, Warning,
};
pub use import::{
    detect, for_each_bytes, import_bytes, import_path, ColumnMap, Format, ImportOptions,
};
pub use model::{
    find_conflict, Category, Conflict, HashKey, HashKind, MediaKind, OpaqueHash, OpaqueValue,
    PdqHash, Provenance, Record, Scheme, Status, VicsFlags,
};
pub use nigehbaan_pdq::Hash256;
pub use nigehbaan_video::FrameHash;
