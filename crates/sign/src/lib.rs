//! # nigehbaan-sign
//!
//! Signed report directories: a manifest naming every report file with its
//! SHA-256 (`MANIFEST.sha256`, in `sha256sum` format), and a detached
//! signature of the manifest in minisign's format
//! (`MANIFEST.sha256.minisig`), so that anyone can check a report with the
//! standard `minisign` and `sha256sum` tools, without Nigehbaan:
//!
//! ```text
//! minisign -V -p examiner.pub -m MANIFEST.sha256 && sha256sum -c MANIFEST.sha256
//! ```
//!
//! The minisign formats are implemented here ([`minisign`]) on the
//! `ed25519-dalek`, `blake2` and `scrypt` crates.

#![warn(missing_docs)]

mod error;
mod keyfile;
pub mod manifest;
pub mod minisign;
mod report;

pub use error::{EntryKind, Error, FileKind, ParseError, ParseReason};
pub use keyfile::write_key_pair;
pub use report::{
    report_case_number, sign_report_dir, verify_report_dir, Problem, SignOptions, Signed,
    Verification, MANIFEST_NAME, SIGNATURE_NAME,
};
