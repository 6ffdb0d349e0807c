//! # nigehbaan-sign
//!
//! Signed report directories: a manifest naming every report file with its
//! SHA-256, and a detached signature of the manifest in minisign's format,
//! so that anyone can check a report with the standard `minisign` tool.

#![warn(missing_docs)]
