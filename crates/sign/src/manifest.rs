//! The manifest of a report directory: every regular file with its
//! SHA-256, in `sha256sum` format (so `sha256sum -c MANIFEST.sha256` checks
//! it too), sorted by path.

use crate::error::{EntryKind, Error, FileKind, ParseError, ParseReason};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One file of a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its path relative to the directory, `/`-separated.
    pub path: String,
    /// Its SHA-256.
    pub sha256: [u8; 32],
}

/// A manifest: entries sorted by path, each path once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The files.
    pub entries: Vec<Entry>,
}

/// Whether `path` is a plain relative path inside the directory.
fn safe_name(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && !path.chars().any(char::is_control)
}

impl Manifest {
    /// The manifest's text: `<sha256 hex>  <path>` lines. Like `sha256sum`,
    /// a path holding a backslash is written escaped (`\\`) on a line that
    /// starts with a backslash.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for e in &self.entries {
            if e.path.contains('\\') {
                s.push('\\');
                s.push_str(&nigehbaan_pdq::hex::encode(&e.sha256));
                s.push_str("  ");
                s.push_str(&e.path.replace('\\', "\\\\"));
            } else {
                s.push_str(&nigehbaan_pdq::hex::encode(&e.sha256));
                s.push_str("  ");
                s.push_str(&e.path);
            }
            s.push('\n');
        }
        s
    }

    /// Parses a manifest. Every line must be `<64 hex digits>  <path>` (or
    /// ` *<path>`, `sha256sum`'s binary mode), paths relative and inside
    /// the directory, each path once.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let err = |line: usize, reason| ParseError::new(FileKind::Manifest, line, reason);
        let text = std::str::from_utf8(bytes).map_err(|_| err(1, ParseReason::NotText))?;
        let mut entries = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let body = text.strip_suffix('\n').unwrap_or(text);
        if body.is_empty() {
            return Ok(Manifest::default());
        }
        for (i, line) in body.split('\n').enumerate() {
            let n = i + 1;
            let (escaped, line) = match line.strip_prefix('\\') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let bad = || err(n, ParseReason::ManifestLine);
            let sha256 = line
                .get(..64)
                .and_then(|h| nigehbaan_pdq::hex::decode_fixed::<32>(h).ok())
                .ok_or_else(bad)?;
            let name = line
                .get(64..)
                .and_then(|r| r.strip_prefix("  ").or_else(|| r.strip_prefix(" *")))
                .ok_or_else(bad)?;
            let path = if escaped {
                unescape(name).ok_or_else(bad)?
            } else {
                name.to_string()
            };
            if !safe_name(&path) {
                return Err(err(n, ParseReason::UnsafeName(path)));
            }
            if !seen.insert(path.clone()) {
                return Err(err(n, ParseReason::DuplicateName(path)));
            }
            entries.push(Entry { path, sha256 });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Manifest { entries })
    }
}

/// `sha256sum`'s unescaping of a name on a line starting with `\`.
fn unescape(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// An entry found in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Its path relative to the directory, `/`-separated (lossy when the
    /// name is not UTF-8).
    pub path: String,
    /// Where it is.
    pub full: PathBuf,
    /// `None` for a regular file; otherwise why it may not be in a report.
    pub refused: Option<EntryKind>,
}

/// Every entry under `dir` except directories (which are entered) and the
/// top-level files named in `skip`, sorted by relative path. Symbolic links
/// are never followed; they, special files and unsafe names are returned
/// with [`Found::refused`] set.
pub fn walk(dir: &Path, skip: &[&str]) -> Result<Vec<Found>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            let full = entry.path();
            let name = entry.file_name();
            let (name, name_ok) = match name.to_str() {
                Some(n) => (n.to_string(), !n.chars().any(char::is_control)),
                None => (name.to_string_lossy().into_owned(), false),
            };
            let path = format!("{prefix}{name}");
            if prefix.is_empty() && skip.contains(&name.as_str()) {
                continue;
            }
            let ft = std::fs::symlink_metadata(&full)
                .map_err(|e| Error::io(&full, e))?
                .file_type();
            let refused = if ft.is_symlink() {
                Some(EntryKind::Symlink)
            } else if !name_ok {
                Some(EntryKind::UnsafeName)
            } else if ft.is_dir() {
                stack.push((full, format!("{path}/")));
                continue;
            } else if ft.is_file() {
                None
            } else {
                Some(EntryKind::Special)
            };
            out.push(Found {
                path,
                full,
                refused,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The SHA-256 of the file at `path`, read in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<[u8; 32], Error> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_with_backslash_names() {
        let m = Manifest {
            entries: vec![
                Entry {
                    path: "a\\b.txt".into(),
                    sha256: [1; 32],
                },
                Entry {
                    path: "report.json".into(),
                    sha256: [0xab; 32],
                },
                Entry {
                    path: "sub/x y.csv".into(),
                    sha256: [2; 32],
                },
            ],
        };
        let t = m.to_text();
        assert!(t.starts_with("\\0101"));
        assert!(t.contains(&format!("{}  report.json\n", "ab".repeat(32))));
        assert_eq!(Manifest::parse(t.as_bytes()).unwrap(), m);
    }

    #[test]
    fn binary_mode_lines_are_read() {
        let t = format!("{} *report.json\n", "00".repeat(32));
        assert_eq!(Manifest::parse(t.as_bytes()).unwrap().entries.len(), 1);
    }

    #[test]
    fn unsafe_and_duplicate_names_are_refused() {
        for name in ["/etc/passwd", "../x", "a/../../x", "a//b", "./a", ""] {
            let t = format!("{}  {name}\n", "00".repeat(32));
            let e = Manifest::parse(t.as_bytes()).unwrap_err();
            assert!(
                matches!(
                    e.reason,
                    ParseReason::UnsafeName(_) | ParseReason::ManifestLine
                ),
                "{name}: {e}"
            );
        }
        let t = format!("{0}  a\n{0}  b\n{0}  a\n", "00".repeat(32));
        let e = Manifest::parse(t.as_bytes()).unwrap_err();
        assert_eq!(e.reason, ParseReason::DuplicateName("a".into()));
        assert_eq!(e.line, 3);
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let t = format!("{}  a\nnot a line\n", "00".repeat(32));
        let e = Manifest::parse(t.as_bytes()).unwrap_err();
        assert_eq!((e.line, e.reason), (2, ParseReason::ManifestLine));
        let e = Manifest::parse(format!("{}  a", "0g".repeat(32)).as_bytes()).unwrap_err();
        assert_eq!(e.reason, ParseReason::ManifestLine);
    }
}
