//! Signature files (`*.minisig`).

use super::{base64_line, KeyId, Lines, TRUSTED_PREFIX, UNTRUSTED_PREFIX};
use crate::error::{Error, FileKind, ParseError, ParseReason};
use std::path::Path;

/// What the signature is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigAlgorithm {
    /// `ED`: Ed25519 over the BLAKE2b-512 of the file (minisign's default
    /// since 0.8; the only kind this crate makes).
    Prehashed,
    /// `Ed`: Ed25519 over the file itself (older minisign, `-l`).
    Legacy,
}

impl SigAlgorithm {
    fn tag(self) -> [u8; 2] {
        match self {
            SigAlgorithm::Prehashed => *b"ED",
            SigAlgorithm::Legacy => *b"Ed",
        }
    }
}

/// A minisign signature, as in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The first line's text after `untrusted comment: ` (not signed).
    pub untrusted_comment: String,
    /// What the signature is over.
    pub algorithm: SigAlgorithm,
    /// The key that signed.
    pub key_id: KeyId,
    /// The Ed25519 signature of the file (or of its hash).
    pub signature: [u8; 64],
    /// The third line's text after `trusted comment: ` (signed).
    pub trusted_comment: String,
    /// The Ed25519 signature of `signature` ‖ `trusted_comment`.
    pub global_signature: [u8; 64],
}

impl Signature {
    /// Parses a signature file as minisign does: four lines (anything after
    /// them is ignored).
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut lines = Lines::new(FileKind::Signature, bytes)?;
        let untrusted_comment = lines.prefixed(UNTRUSTED_PREFIX)?.to_string();
        let b: [u8; 74] = lines.base64()?;
        let algorithm = match [b[0], b[1]] {
            [b'E', b'D'] => SigAlgorithm::Prehashed,
            [b'E', b'd'] => SigAlgorithm::Legacy,
            other => return Err(lines.error(ParseReason::SignatureAlgorithm(other))),
        };
        let key_id = KeyId(b[2..10].try_into().expect("8 bytes"));
        let signature: [u8; 64] = b[10..].try_into().expect("64 bytes");
        let trusted_comment = lines.prefixed(TRUSTED_PREFIX)?.to_string();
        let global_signature = lines.base64::<64>()?;
        Ok(Signature {
            untrusted_comment,
            algorithm,
            key_id,
            signature,
            trusted_comment,
            global_signature,
        })
    }

    /// Reads and parses the signature file at `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&bytes).map_err(|e| e.at(path))
    }

    /// The signature file's text, as `minisign -S` writes it.
    pub fn to_file_string(&self) -> String {
        let mut b = Vec::with_capacity(74);
        b.extend_from_slice(&self.algorithm.tag());
        b.extend_from_slice(&self.key_id.0);
        b.extend_from_slice(&self.signature);
        let mut s = format!("{UNTRUSTED_PREFIX}{}\n", self.untrusted_comment);
        s.push_str(&base64_line(&b));
        s.push_str(TRUSTED_PREFIX);
        s.push_str(&self.trusted_comment);
        s.push('\n');
        s.push_str(&base64_line(&self.global_signature));
        s
    }
}
