//! The errors of this crate: typed, with their context as data.

use crate::minisign::KeyId;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Which kind of file a parse error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A minisign public key (`*.pub`).
    PublicKey,
    /// A minisign secret key (`*.key`).
    SecretKey,
    /// A minisign signature (`*.minisig`).
    Signature,
    /// A `sha256sum`-format manifest.
    Manifest,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::PublicKey => "minisign public key",
            FileKind::SecretKey => "minisign secret key",
            FileKind::Signature => "minisign signature",
            FileKind::Manifest => "manifest",
        })
    }
}

/// Why a key, signature or manifest file could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseReason {
    /// The file ends before this line.
    MissingLine,
    /// A comment line does not start with the prefix it must have.
    MissingPrefix {
        /// The prefix expected (`untrusted comment: ` or `trusted comment: `).
        expected: &'static str,
    },
    /// A line holds a carriage return or another control character.
    ControlCharacter,
    /// A line is not valid base64.
    Base64,
    /// The decoded bytes have the wrong length.
    Length {
        /// The length this field has in minisign's format.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A signature algorithm other than `Ed` (keys) or `Ed`/`ED` (signatures).
    SignatureAlgorithm([u8; 2]),
    /// A key derivation function other than scrypt (`Sc`) or none.
    KdfAlgorithm([u8; 2]),
    /// A checksum function other than BLAKE2b (`B2`).
    ChecksumAlgorithm([u8; 2]),
    /// The file is not UTF-8 text.
    NotText,
    /// A manifest line is not `<64 hex digits>  <name>`.
    ManifestLine,
    /// A manifest names the same file twice.
    DuplicateName(String),
    /// A manifest names a file outside the directory (absolute, `..`, empty).
    UnsafeName(String),
}

/// A key, signature or manifest file that is not in its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What the file should have been.
    pub kind: FileKind,
    /// The 1-based line the problem is on.
    pub line: usize,
    /// What is wrong.
    pub reason: ParseReason,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a valid {} (line {}): ", self.kind, self.line)?;
        match &self.reason {
            ParseReason::MissingLine => f.write_str("the file ends early"),
            ParseReason::MissingPrefix { expected } => {
                write!(f, "the line should start with {expected:?}")
            }
            ParseReason::ControlCharacter => f.write_str("the line holds a control character"),
            ParseReason::Base64 => f.write_str("the line is not valid base64"),
            ParseReason::Length { expected, found } => {
                write!(f, "{found} bytes where {expected} were expected")
            }
            ParseReason::SignatureAlgorithm(a) => {
                write!(
                    f,
                    "unsupported signature algorithm {:?}",
                    a.escape_ascii().to_string()
                )
            }
            ParseReason::KdfAlgorithm(a) => write!(
                f,
                "unsupported key derivation function {:?}",
                a.escape_ascii().to_string()
            ),
            ParseReason::ChecksumAlgorithm(a) => {
                write!(
                    f,
                    "unsupported checksum function {:?}",
                    a.escape_ascii().to_string()
                )
            }
            ParseReason::NotText => f.write_str("the file is not UTF-8 text"),
            ParseReason::ManifestLine => {
                f.write_str("the line is not a SHA-256 (64 hex digits), two spaces and a name")
            }
            ParseReason::DuplicateName(n) => write!(f, "{n:?} is listed twice"),
            ParseReason::UnsafeName(n) => {
                write!(f, "{n:?} is not a relative path inside the directory")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// Why a directory entry cannot be part of a signed report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A symbolic link (never followed).
    Symlink,
    /// A FIFO, socket or device.
    Special,
    /// A name that is not UTF-8, or holds a control character.
    UnsafeName,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::Symlink => "a symbolic link",
            EntryKind::Special => "not a regular file or directory",
            EntryKind::UnsafeName => "a name that is not UTF-8 or holds a control character",
        })
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A key, signature or manifest file is malformed.
    Parse {
        /// The file, when it came from one.
        path: Option<PathBuf>,
        /// What is wrong with it.
        source: ParseError,
    },
    /// The secret key is encrypted and no password was given.
    PasswordNeeded,
    /// The password does not decrypt the secret key (its checksum fails).
    WrongPassword,
    /// The secret key's scrypt parameters are invalid, or would need more
    /// memory or time than any key minisign makes (a damaged or hostile key
    /// file).
    UnsupportedKdf {
        /// log2 of scrypt's N.
        log_n: u32,
        /// scrypt's r.
        r: u32,
        /// scrypt's p.
        p: u32,
    },
    /// The secret key's two halves do not belong together.
    CorruptSecretKey,
    /// The signature was made with another key than the public key given.
    KeyMismatch {
        /// The key id in the signature.
        signature: KeyId,
        /// The key id of the public key.
        public_key: KeyId,
    },
    /// The signature does not match the signed file.
    BadSignature,
    /// The trusted comment (or its signature) has been changed.
    BadTrustedComment,
    /// The trusted comment holds a line break or a control character.
    UnprintableComment,
    /// A directory entry that a signed report may not contain.
    Entry {
        /// The entry.
        path: PathBuf,
        /// What it is.
        kind: EntryKind,
    },
    /// The report is already signed (its manifest exists).
    AlreadySigned {
        /// The manifest found.
        path: PathBuf,
    },
    /// A key file exists already.
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The operating system's random number generator failed.
    Random(getrandom::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Parse {
                path: Some(path),
                source,
            } => write!(f, "{}: {source}", path.display()),
            Error::Parse { path: None, source } => write!(f, "{source}"),
            Error::PasswordNeeded => f.write_str("the secret key is encrypted: a password is needed"),
            Error::WrongPassword => f.write_str("wrong password for this secret key"),
            Error::UnsupportedKdf { log_n, r, p } => write!(
                f,
                "the secret key asks for scrypt with N=2^{log_n}, r={r}, p={p}: invalid, or more than any minisign key uses"
            ),
            Error::CorruptSecretKey => {
                f.write_str("the secret key is damaged: its public half does not match")
            }
            Error::KeyMismatch {
                signature,
                public_key,
            } => write!(
                f,
                "signed with key {signature}, but the public key given is {public_key}"
            ),
            Error::BadSignature => f.write_str("signature verification failed: the signed file was changed, or the signature was"),
            Error::BadTrustedComment => f.write_str(
                "the trusted comment does not match its signature: the signature file was changed",
            ),
            Error::UnprintableComment => {
                f.write_str("a comment may not hold line breaks or control characters")
            }
            Error::Entry { path, kind } => {
                write!(f, "{}: {kind}; a signed report holds only regular files", path.display())
            }
            Error::AlreadySigned { path } => write!(f, "{}: the report is already signed", path.display()),
            Error::Exists { path } => write!(f, "{}: exists already; not overwritten", path.display()),
            Error::Random(e) => write!(f, "the system's random number generator failed: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Parse { source, .. } => Some(source),
            Error::Random(e) => Some(e),
            _ => None,
        }
    }
}

impl Error {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl ParseError {
    /// A parse error of `kind` on 1-based `line`.
    pub(crate) fn new(kind: FileKind, line: usize, reason: ParseReason) -> Self {
        ParseError { kind, line, reason }
    }

    /// This error as an [`Error`] about the file at `path`.
    pub(crate) fn at(self, path: impl Into<PathBuf>) -> Error {
        Error::Parse {
            path: Some(path.into()),
            source: self,
        }
    }
}

impl From<ParseError> for Error {
    fn from(source: ParseError) -> Self {
        Error::Parse { path: None, source }
    }
}
