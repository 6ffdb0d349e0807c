//! minisign's key and signature files, implemented from its format
//! description (<https://jedisct1.github.io/minisign/>) on Ed25519
//! (`ed25519-dalek`), BLAKE2b (`blake2`) and scrypt (`scrypt`).
//!
//! - public key: an untrusted comment line, then base64 of `Ed` ‖ key id
//!   (8 bytes) ‖ Ed25519 public key (32 bytes);
//! - secret key: an untrusted comment line, then base64 of `Ed` ‖ KDF
//!   (`Sc` scrypt, or two zero bytes for an unencrypted key) ‖ `B2` ‖ salt
//!   (32) ‖ opslimit (u64 LE) ‖ memlimit (u64 LE) ‖ the 104 bytes key id ‖
//!   Ed25519 secret key (64) ‖ BLAKE2b-256 checksum, XOR-ed with the scrypt
//!   output when encrypted;
//! - signature: `untrusted comment: …`, base64 of `ED` (Ed25519 over the
//!   BLAKE2b-512 of the file; `Ed` is the legacy form over the file itself)
//!   ‖ key id ‖ signature (64), `trusted comment: …`, and base64 of the
//!   Ed25519 signature of signature ‖ trusted comment.

mod keys;
mod signature;

pub use keys::{KdfParams, Protection, PublicKey, SecretKey, SecretKeyFile};
pub use signature::{SigAlgorithm, Signature};

use crate::error::{FileKind, ParseError, ParseReason};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::fmt;

/// The prefix of an untrusted comment line.
pub const UNTRUSTED_PREFIX: &str = "untrusted comment: ";
/// The prefix of a trusted comment line.
pub const TRUSTED_PREFIX: &str = "trusted comment: ";

/// A minisign key id: 8 random bytes naming a key pair, shown as 16
/// upper-case hex digits of their little-endian value (as minisign does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

/// The lines of a key or signature file, as minisign reads them: split at
/// `\n`, one trailing `\r` removed, any other control character refused.
pub(crate) struct Lines<'a> {
    kind: FileKind,
    rest: std::str::Split<'a, char>,
    line: usize,
}

impl<'a> Lines<'a> {
    /// The lines of `bytes`, which must be UTF-8.
    pub(crate) fn new(kind: FileKind, bytes: &'a [u8]) -> Result<Self, ParseError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ParseError::new(kind, 1, ParseReason::NotText))?;
        Ok(Lines {
            kind,
            rest: text.split('\n'),
            line: 0,
        })
    }

    /// An error about the line just read.
    pub(crate) fn error(&self, reason: ParseReason) -> ParseError {
        ParseError::new(self.kind, self.line.max(1), reason)
    }

    /// The next line; tabs are allowed, other control characters are not.
    pub(crate) fn next_line(&mut self) -> Result<&'a str, ParseError> {
        self.line += 1;
        let line = match self.rest.next() {
            Some(l) => l,
            None => return Err(self.error(ParseReason::MissingLine)),
        };
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() && self.rest.clone().next().is_none() {
            // The empty piece after the file's last newline.
            return Err(self.error(ParseReason::MissingLine));
        }
        if line.chars().any(|c| c != '\t' && c.is_control()) {
            return Err(self.error(ParseReason::ControlCharacter));
        }
        Ok(line)
    }

    /// The next line, which must start with `prefix`; the text after it.
    pub(crate) fn prefixed(&mut self, prefix: &'static str) -> Result<&'a str, ParseError> {
        let line = self.next_line()?;
        line.strip_prefix(prefix)
            .ok_or_else(|| self.error(ParseReason::MissingPrefix { expected: prefix }))
    }

    /// The next line as base64 of exactly `N` bytes.
    pub(crate) fn base64<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        let line = self.next_line()?;
        let bytes = STANDARD
            .decode(line.trim_end_matches([' ', '\t']))
            .map_err(|_| self.error(ParseReason::Base64))?;
        <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
            self.error(ParseReason::Length {
                expected: N,
                found: bytes.len(),
            })
        })
    }
}

/// `bytes` as one line of base64, with its newline.
pub(crate) fn base64_line(bytes: &[u8]) -> String {
    let mut s = STANDARD.encode(bytes);
    s.push('\n');
    s
}

/// Whether minisign accepts `comment` as a comment line: no line break and
/// no control character other than tab.
pub(crate) fn printable(comment: &str) -> bool {
    !comment.chars().any(|c| c != '\t' && c.is_control())
}
