//! # nigehbaan-video
//!
//! Video as a first-class medium: detection by content, vPDQ-compatible
//! per-frame PDQ hashes (frames decoded by the `ffmpeg` program run as a
//! child process, never linked), and vPDQ matching as python-threatexchange
//! does it.

#![warn(missing_docs)]
