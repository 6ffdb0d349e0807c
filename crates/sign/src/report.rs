//! Signing and verifying a report directory.

use crate::error::{EntryKind, Error, ParseError};
use crate::manifest::{sha256_file, walk, Entry, Manifest};
use crate::minisign::{KeyId, PublicKey, SecretKey, Signature};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The manifest's file name in a signed report directory.
pub const MANIFEST_NAME: &str = "MANIFEST.sha256";
/// The signature's file name in a signed report directory.
pub const SIGNATURE_NAME: &str = "MANIFEST.sha256.minisig";

/// How to sign.
#[derive(Clone, Debug)]
pub struct SignOptions {
    /// The tool and version named in the trusted comment.
    pub tool: String,
    /// Replace an existing manifest and signature (re-sign).
    pub overwrite: bool,
    /// The signing time recorded in the trusted comment.
    pub time: SystemTime,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            tool: format!("nigehbaan {}", env!("CARGO_PKG_VERSION")),
            overwrite: false,
            time: SystemTime::now(),
        }
    }
}

/// What [`sign_report_dir`] wrote.
#[derive(Clone, Debug)]
pub struct Signed {
    /// The manifest.
    pub manifest: PathBuf,
    /// The signature.
    pub signature: PathBuf,
    /// How many files the manifest lists.
    pub files: usize,
    /// The key that signed.
    pub key_id: KeyId,
    /// The signed trusted comment.
    pub trusted_comment: String,
}

/// Writes `MANIFEST.sha256` (every regular file under `dir` with its
/// SHA-256, sorted) and its minisign signature `MANIFEST.sha256.minisig`.
///
/// Refuses a directory holding a symbolic link, a special file or a name
/// that is not plain UTF-8 ([`Error::Entry`]), and an already signed one
/// unless [`SignOptions::overwrite`]. The trusted comment names the
/// minisign defaults (`timestamp`, `file`, `hashed`), the tool, the signing
/// time in UTC and the case number from `report.json` when there is one.
pub fn sign_report_dir(dir: &Path, key: &SecretKey, opts: &SignOptions) -> Result<Signed, Error> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    let manifest_path = dir.join(MANIFEST_NAME);
    let signature_path = dir.join(SIGNATURE_NAME);
    if !opts.overwrite {
        for p in [&manifest_path, &signature_path] {
            if std::fs::symlink_metadata(p).is_ok() {
                return Err(Error::AlreadySigned { path: p.clone() });
            }
        }
    }
    let mut manifest = Manifest::default();
    for found in walk(dir, &[MANIFEST_NAME, SIGNATURE_NAME])? {
        if let Some(kind) = found.refused {
            return Err(Error::Entry {
                path: found.full,
                kind,
            });
        }
        manifest.entries.push(Entry {
            sha256: sha256_file(&found.full)?,
            path: found.path,
        });
    }
    let text = manifest.to_text();
    let unix = nigehbaan_time::unix_of(opts.time).max(0);
    let mut trusted = format!(
        "timestamp:{unix}\tfile:{MANIFEST_NAME}\thashed\ttool:{}\tsigned:{}",
        comment_field(&opts.tool),
        nigehbaan_time::utc(unix).unwrap_or_default()
    );
    if let Some(case) = report_case_number(dir) {
        trusted.push_str("\tcase:");
        trusted.push_str(&comment_field(&case));
    }
    let signature = key.sign(
        text.as_bytes(),
        &trusted,
        &format!("signature from nigehbaan secret key {}", key.key_id()),
    )?;
    key.public_key().verify(text.as_bytes(), &signature)?;
    write_file(&manifest_path, text.as_bytes())?;
    write_file(&signature_path, signature.to_file_string().as_bytes())?;
    Ok(Signed {
        manifest: manifest_path,
        signature: signature_path,
        files: manifest.entries.len(),
        key_id: key.key_id(),
        trusted_comment: trusted,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// A value for the trusted comment: printable ASCII, no tab (the field
/// separator); anything else written as `\u{…}` so nothing is lost and
/// every minisign version accepts it.
fn comment_field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == ' ' || c.is_ascii_graphic() {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

/// The case number in the directory's `report.json`
/// (`custody.case_number`), when it has one.
pub fn report_case_number(dir: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Report {
        custody: Custody,
    }
    #[derive(serde::Deserialize)]
    struct Custody {
        case_number: Option<String>,
    }
    let f = std::fs::File::open(dir.join("report.json")).ok()?;
    let r: Report = serde_json::from_reader(std::io::BufReader::new(f)).ok()?;
    r.custody.case_number.filter(|c| !c.is_empty())
}

/// One thing wrong with a signed report.
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// The signature does not verify with the public key.
    Signature(Error),
    /// The manifest is malformed (no file was compared).
    Manifest(ParseError),
    /// A file's SHA-256 differs from the manifest's.
    Changed {
        /// The file, relative to the report directory.
        path: String,
    },
    /// A file the manifest lists is not there.
    Missing {
        /// The file, relative to the report directory.
        path: String,
    },
    /// A file is there that the manifest does not list.
    Extra {
        /// The file, relative to the report directory.
        path: String,
    },
    /// An entry a signed report may not hold (symbolic link, special file).
    Refused {
        /// The entry, relative to the report directory.
        path: String,
        /// What it is.
        kind: EntryKind,
    },
    /// A file that could not be read.
    Unreadable {
        /// The file, relative to the report directory.
        path: String,
        /// Why.
        error: Error,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Signature(e) => write!(f, "{SIGNATURE_NAME}: {e}"),
            Problem::Manifest(e) => write!(f, "{MANIFEST_NAME}: {e}"),
            Problem::Changed { path } => {
                write!(f, "{}: CHANGED (SHA-256 differs)", path.escape_debug())
            }
            Problem::Missing { path } => write!(f, "{}: MISSING", path.escape_debug()),
            Problem::Extra { path } => {
                write!(f, "{}: EXTRA (not in the manifest)", path.escape_debug())
            }
            Problem::Refused { path, kind } => {
                write!(f, "{}: REFUSED ({kind})", path.escape_debug())
            }
            Problem::Unreadable { path, error } => {
                write!(f, "{}: UNREADABLE ({error})", path.escape_debug())
            }
        }
    }
}

/// The result of [`verify_report_dir`].
#[derive(Debug)]
pub struct Verification {
    /// The key id in the signature.
    pub key_id: KeyId,
    /// The signature's trusted comment (signed only when no
    /// [`Problem::Signature`] is reported).
    pub trusted_comment: String,
    /// Files whose SHA-256 matched the manifest.
    pub files_ok: usize,
    /// Everything wrong, signature first, then files by path.
    pub problems: Vec<Problem>,
}

impl Verification {
    /// Whether the signature is valid and every file is as signed.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a signed report: the signature of `MANIFEST.sha256` with
/// `public_key`, then every file under `dir` against the manifest (changed,
/// missing and extra files, symbolic links and special files are all
/// problems). `Err` only when the manifest or signature cannot be read or
/// the signature file is malformed.
pub fn verify_report_dir(dir: &Path, public_key: &PublicKey) -> Result<Verification, Error> {
    let manifest_path = dir.join(MANIFEST_NAME);
    let text = std::fs::read(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
    let signature = Signature::load(&dir.join(SIGNATURE_NAME))?;
    let mut problems = Vec::new();
    if let Err(e) = public_key.verify(&text, &signature) {
        problems.push(Problem::Signature(e));
    }
    let mut out = Verification {
        key_id: signature.key_id,
        trusted_comment: signature.trusted_comment,
        files_ok: 0,
        problems,
    };
    let manifest = match Manifest::parse(&text) {
        Ok(m) => m,
        Err(e) => {
            out.problems.push(Problem::Manifest(e));
            return Ok(out);
        }
    };
    let mut listed: BTreeMap<String, [u8; 32]> = manifest
        .entries
        .into_iter()
        .map(|e| (e.path, e.sha256))
        .collect();
    let mut file_problems: Vec<(String, Problem)> = Vec::new();
    for found in walk(dir, &[MANIFEST_NAME, SIGNATURE_NAME])? {
        let path = found.path.clone();
        let expected = listed.remove(&path);
        let problem = if let Some(kind) = found.refused {
            Some(Problem::Refused { path, kind })
        } else if let Some(expected) = expected {
            match sha256_file(&found.full) {
                Ok(h) if h == expected => None,
                Ok(_) => Some(Problem::Changed { path }),
                Err(error) => Some(Problem::Unreadable { path, error }),
            }
        } else {
            Some(Problem::Extra { path })
        };
        match problem {
            Some(p) => file_problems.push((found.path, p)),
            None => out.files_ok += 1,
        }
    }
    for (path, _) in listed {
        file_problems.push((path.clone(), Problem::Missing { path }));
    }
    file_problems.sort_by(|a, b| a.0.cmp(&b.0));
    out.problems
        .extend(file_problems.into_iter().map(|(_, p)| p));
    Ok(out)
}

#[cfg(test)]
mod tests;
