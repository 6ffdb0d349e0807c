//! The on-disk list library: imported lists, each compiled into a
//! memory-mapped index that opens in milliseconds whatever its size.
//!
//! # Where it lives
//!
//! [`resolve_dir`]: the directory given (`--library DIR`), else the
//! environment variable [`ENV_VAR`] (`NIGEHBAAN_LIBRARY`), else
//! `$XDG_DATA_HOME/nigehbaan/lists`, else `~/.local/share/nigehbaan/lists`.
//!
//! # Layout
//!
//! ```text
//! LIBRARY/
//!   NAME/                      one directory per list
//!     manifest.json            Manifest (JSON), written last
//!     records.jsonl            one compact JSON record per line, in list order
//!     index.nidx               nigehbaan_index::store file (see below)
//!   .import-NAME-…/            an import in progress (ignored; removed on failure)
//! ```
//!
//! Sections of `index.nidx` (kinds): `0` header `[library format version,
//! record count]`; `10..14` MD5 [`ExactSet`]; `20..24` SHA-1; `30..34`
//! SHA-256 (ids are record numbers, 0-based lines of `records.jsonl`);
//! `40` the record number of each indexed PDQ hash; `41` the byte offset
//! of each record line (`record count + 1` entries); `100..=133` the
//! [`PdqIndex`] (its layout at `133`; fewer chunks leave kinds unused).
//!
//! Bytes per entry on disk (and mapped, touched only as queries need):
//! MD5 16 + 4 (id) + about 4–8 (directory); SHA-1 20 + 4 + 4–8; SHA-256
//! 32 + 4 + 4–8; PDQ 32 (hash) + 4 (record number) + the tables: 16 × 4
//! plus 4 MiB of bucket offsets up to a few million hashes, 12 × 4 + about
//! 13 at 10 million (see [`nigehbaan_index::Layout::for_len`]), or with
//! `compact_pdq` about 31 in all (8 × 3 + bucket bounds; see
//! [`nigehbaan_index::Layout::compact_for_len`]); 8 bytes of line offset per record; and
//! the record line itself (about 50 bytes for a bare MD5, 100–300 with a
//! name and several hashes).
//!
//! # Safety of imports
//!
//! An import builds the new list in a temporary sibling directory, syncs
//! every file and the directory, and only then renames it into place.
//! Records are written as they are read, and the digest index is built
//! from sorted runs spilled to temporary files in that directory and
//! merged at the end, so an NSRL set of any size imports in about
//! [`DEFAULT_IMPORT_RUN_BYTES`] of memory ([`Library::with_import_run_bytes`]). An
//! interrupted or failed import leaves the library as it was (at worst a
//! stray `.import-*` directory, which is never read). An existing list of
//! the same name is replaced only when asked.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use nigehbaan_index::store::{Buf, Store, StoreError};
use nigehbaan_index::{ExactSet, PdqIndex, SearchError};
use nigehbaan_pdq::Hash256;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ImportError, Warning};
use crate::hex;
use crate::import::{for_each_path, ImportOptions};
use crate::model::{
    rfc3339, Category, MediaKind, OpaqueHash, OpaqueValue, PdqHash, Provenance, Record, Scheme,
    Status, VicsFlags, EMPTY_MD5, EMPTY_SHA1, EMPTY_SHA256,
};

/// The library layout version written in manifests and index headers.
pub const LIBRARY_FORMAT_VERSION: u32 = 1;
/// The environment variable naming the library directory.
pub const ENV_VAR: &str = "NIGEHBAAN_LIBRARY";
/// File name of a list's manifest.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of a list's records.
pub const RECORDS_FILE: &str = "records.jsonl";
/// File name of a list's compiled index.
pub const INDEX_FILE: &str = "index.nidx";
/// PDQ hashes of lower quality (when the list gives it) are not indexed by
/// default, and file hashes of lower quality are not queried, as the PDQ
/// reference recommends.
pub const DEFAULT_MIN_QUALITY: u8 = nigehbaan_pdq::RECOMMENDED_MIN_QUALITY;
/// The names of the 8 dihedral variants, in the order PDQ computes them.
pub const DIHEDRAL_NAMES: [&str; 8] = [
    "orig",
    "rot90",
    "rot180",
    "rot270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
];

mod build;

use build::Builder;
pub use build::DEFAULT_IMPORT_RUN_BYTES;

const SEC_HEADER: u32 = 0;
const SEC_MD5: u32 = 10;
const SEC_SHA1: u32 = 20;
const SEC_SHA256: u32 = 30;
const SEC_PDQ_RECORDS: u32 = 40;
const SEC_OFFSETS: u32 = 41;
const SEC_PDQ: u32 = 100;
/// A record line longer than this is treated as damage, not read.
const MAX_RECORD_LINE: u64 = 64 << 20;

/// Why a library operation failed.
#[derive(Debug)]
pub enum LibraryError {
    /// The list file could not be imported (file, location, reason).
    Import(ImportError),
    /// Reading or writing a file failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// A list in the library is damaged or of another format version.
    Invalid {
        /// The list.
        list: String,
        /// What is wrong.
        reason: String,
    },
    /// A list of that name exists and replacing it was not asked for.
    Exists(String),
    /// No list of that name.
    NotFound(String),
    /// The list name is not allowed.
    BadName(String),
    /// No library directory was given and none could be derived.
    NoDirectory,
    /// The list has more records than an index can number.
    TooLarge(usize),
}

impl fmt::Display for LibraryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LibraryError::Import(e) => e.fmt(f),
            LibraryError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            LibraryError::Invalid { list, reason } => write!(f, "list {list:?}: {reason}"),
            LibraryError::Exists(n) => write!(
                f,
                "a list named {n:?} is already in the library (use --replace to replace it)"
            ),
            LibraryError::NotFound(n) => write!(f, "no list named {n:?} in the library"),
            LibraryError::BadName(why) => f.write_str(why),
            LibraryError::NoDirectory => write!(
                f,
                "no library directory: give --library DIR or set {ENV_VAR} (no home directory found)"
            ),
            LibraryError::TooLarge(n) => {
                write!(f, "{n} records is more than one list can hold (4294967294)")
            }
        }
    }
}

impl std::error::Error for LibraryError {}

impl From<ImportError> for LibraryError {
    fn from(e: ImportError) -> Self {
        LibraryError::Import(e)
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> LibraryError + '_ {
    move |error| LibraryError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// The library directory: `explicit` if given, else [`ENV_VAR`], else
/// `$XDG_DATA_HOME/nigehbaan/lists`, else `$HOME/.local/share/nigehbaan/lists`.
pub fn resolve_dir(explicit: Option<&Path>) -> Result<PathBuf, LibraryError> {
    if let Some(d) = explicit {
        return Ok(d.to_path_buf());
    }
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = env(ENV_VAR) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = env("XDG_DATA_HOME").map(PathBuf::from) {
        if d.is_absolute() {
            return Ok(d.join("nigehbaan").join("lists"));
        }
    }
    let home = env("HOME").or_else(|| env("USERPROFILE"));
    home.map(|h| PathBuf::from(h).join(".local/share/nigehbaan/lists"))
        .ok_or(LibraryError::NoDirectory)
}

/// Checks a list name: 1–100 characters from `A-Z a-z 0-9 . _ -`, not
/// starting with `.` or `-`.
pub fn check_name(name: &str) -> Result<(), LibraryError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(LibraryError::BadName(format!(
            "list name {name:?} is not allowed: use 1-100 letters, digits, '.', '_' or '-', \
             not starting with '.' or '-'"
        )))
    }
}

/// The file a list was imported from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Its file name (without directories).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
}

/// What `manifest.json` holds about one list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`LIBRARY_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The list's name in the library.
    pub name: String,
    /// The list's version as its issuer labels it.
    pub version: Option<String>,
    /// The issuing organisation.
    pub source: Option<String>,
    /// The list's own date, as given at import.
    pub list_date: Option<String>,
    /// `known` or `notable`: the status given to its records.
    pub status: String,
    /// The category scheme of its records (the first one seen), if any.
    pub scheme: Option<String>,
    /// The format it was read as (`vics`, `ncmec`, …).
    pub list_format: String,
    /// Number of records (lines of the records file).
    pub record_count: u64,
    /// Records carrying each hash type (`md5`, `sha1`, `sha256`, `pdq`,
    /// and opaque kinds such as `photodna`).
    pub counts: BTreeMap<String, u64>,
    /// PDQ hashes in the index.
    pub pdq_indexed: u64,
    /// PDQ hashes left out of the index: quality below `min_quality`, or
    /// the all-zero hash.
    pub pdq_not_indexed: u64,
    /// The PDQ quality threshold used when indexing.
    pub min_quality: u8,
    /// True when the PDQ index was built in the compact layout.
    #[serde(default)]
    pub pdq_compact: bool,
    /// Records the importer dropped because they carried the empty file's hash.
    pub skipped_empty: u64,
    /// Warnings the importer gave.
    pub warnings: u64,
    /// When it was imported (RFC 3339, UTC).
    pub imported_at: String,
    /// The same, in seconds since the Unix epoch.
    pub imported_at_unix: u64,
    /// The imported file.
    pub source_file: SourceFile,
    /// SHA-256 of `records.jsonl`.
    pub records_sha256: String,
    /// Size of `records.jsonl` in bytes.
    pub records_bytes: u64,
    /// SHA-256 of `index.nidx`.
    pub index_sha256: String,
    /// Size of `index.nidx` in bytes.
    pub index_bytes: u64,
}

impl Manifest {
    /// The provenance records of this list carry.
    pub fn provenance(&self) -> Provenance {
        Provenance {
            list_name: self.name.clone(),
            source: self.source.clone(),
            version: self.version.clone(),
            date: self.list_date.clone(),
            imported_at: self.imported_at_unix,
        }
    }
}

/// A record as stored: one compact JSON object per line, absent fields
/// left out. Provenance is in the manifest.
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pdq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    other: Vec<StoredOpaque>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vi: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oi: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dist: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    series: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    /// Status: `k` known, `n` notable.
    st: char,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    /// `i` image, `v` video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media: Option<char>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredOpaque {
    k: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

impl Stored {
    fn from_record(r: &Record) -> Stored {
        Stored {
            md5: r.md5.map(|h| hex::encode(&h)),
            sha1: r.sha1.map(|h| hex::encode(&h)),
            sha256: r.sha256.map(|h| hex::encode(&h)),
            pdq: r.pdq.map(|p| p.hash.to_hex()),
            q: r.pdq.and_then(|p| p.quality),
            other: r
                .other
                .iter()
                .map(|o| match &o.value {
                    OpaqueValue::Bytes(b) => StoredOpaque {
                        k: o.kind.clone(),
                        hex: Some(hex::encode(b)),
                        text: None,
                    },
                    OpaqueValue::Text(t) => StoredOpaque {
                        k: o.kind.clone(),
                        hex: None,
                        text: Some(t.clone()),
                    },
                })
                .collect(),
            scheme: r.category.as_ref().map(|c| c.scheme.name()),
            cat: r.category.as_ref().map(|c| c.code.clone()),
            vi: r.flags.victim_identified,
            oi: r.flags.offender_identified,
            dist: r.flags.distributed,
            series: r.flags.series.clone(),
            tags: r.flags.tags.clone(),
            st: match r.status {
                Status::Known => 'k',
                Status::Notable => 'n',
            },
            id: r.id.clone(),
            name: r.name.clone(),
            size: r.size,
            media: r.media.map(|m| match m {
                MediaKind::Image => 'i',
                MediaKind::Video => 'v',
            }),
        }
    }

    fn into_record(self, provenance: Arc<Provenance>) -> Result<Record, String> {
        let status = match self.st {
            'k' => Status::Known,
            'n' => Status::Notable,
            c => return Err(format!("bad status {c:?}")),
        };
        let mut r = Record::new(status, provenance);
        r.md5 = self.md5.map(|h| hex::decode_fixed(&h, "MD5")).transpose()?;
        r.sha1 = self
            .sha1
            .map(|h| hex::decode_fixed(&h, "SHA-1"))
            .transpose()?;
        r.sha256 = self
            .sha256
            .map(|h| hex::decode_fixed(&h, "SHA-256"))
            .transpose()?;
        r.pdq = match self.pdq {
            Some(h) => Some(PdqHash {
                hash: Hash256::from_hex(&h).map_err(|e| format!("PDQ: {e}"))?,
                quality: self.q,
            }),
            None => None,
        };
        for o in self.other {
            let value = match (o.hex, o.text) {
                (Some(h), None) => OpaqueValue::Bytes(hex::decode_vec(&h, &o.k)?),
                (None, Some(t)) => OpaqueValue::Text(t),
                _ => return Err(format!("opaque hash {:?} needs one of hex or text", o.k)),
            };
            r.other.push(OpaqueHash { kind: o.k, value });
        }
        r.category = match (self.scheme, self.cat) {
            (Some(s), Some(c)) => Some(Category::new(Scheme::from_name(&s), &c)),
            (None, None) => None,
            _ => return Err("category without scheme".into()),
        };
        r.flags = VicsFlags {
            victim_identified: self.vi,
            offender_identified: self.oi,
            distributed: self.dist,
            series: self.series,
            tags: self.tags,
        };
        r.id = self.id;
        r.name = self.name;
        r.size = self.size;
        r.media = match self.media {
            None => None,
            Some('i') => Some(MediaKind::Image),
            Some('v') => Some(MediaKind::Video),
            Some(c) => return Err(format!("bad media kind {c:?}")),
        };
        Ok(r)
    }
}

/// What to import, and how.
#[derive(Clone, Debug)]
pub struct ImportRequest {
    /// The list file.
    pub path: PathBuf,
    /// Importer options; `provenance.list_name` is the name in the library.
    pub options: ImportOptions,
    /// Replace an existing list of the same name.
    pub replace: bool,
    /// PDQ hashes whose quality is known and below this are not indexed.
    pub min_quality: u8,
    /// Build the PDQ index in the compact layout (at most about 63 bytes per
    /// hash, about a fifth of the default layout's speed; see
    /// [`nigehbaan_index::Layout::compact_for_len`]).
    pub compact_pdq: bool,
}

/// The outcome of a successful import.
#[derive(Clone, Debug)]
pub struct ImportSummary {
    /// The new list's manifest.
    pub manifest: Manifest,
    /// The importer's warnings (at most 1000).
    pub warnings: Vec<Warning>,
    /// True when an existing list was replaced.
    pub replaced: bool,
}

/// A writer that hashes what it writes.
struct HashingWriter<W: Write> {
    inner: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 (hex) and size of a file, streamed.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex::encode(&h.finalize()), len))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes a temporary directory on drop unless disarmed.
struct TempDir(Option<PathBuf>);

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = fs::remove_dir_all(d);
        }
    }
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// A list library directory.
#[derive(Clone, Debug)]
pub struct Library {
    dir: PathBuf,
    run_bytes: usize,
}

impl Library {
    /// The library at `dir` (which need not exist yet: an empty library).
    pub fn new(dir: impl Into<PathBuf>) -> Library {
        Library {
            dir: dir.into(),
            run_bytes: DEFAULT_IMPORT_RUN_BYTES,
        }
    }

    /// Sets the memory budget of imports: index entries (20–36 bytes per
    /// hash) are gathered in memory up to about `bytes`, then sorted and
    /// spilled as a run to a temporary file in the import's staging
    /// directory, and the runs merged at the end. The default is
    /// [`DEFAULT_IMPORT_RUN_BYTES`]; a smaller budget uses less memory and
    /// more temporary files. The list written is the same whatever the
    /// budget.
    pub fn with_import_run_bytes(mut self, bytes: usize) -> Library {
        self.run_bytes = bytes;
        self
    }

    /// The library directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The names of the lists, sorted. Directories starting with `.`
    /// (imports in progress) are not lists.
    pub fn names(&self) -> Result<Vec<String>, LibraryError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_at(&self.dir)(e)),
        };
        let mut names = Vec::new();
        for e in entries {
            let e = e.map_err(io_at(&self.dir))?;
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || !e.path().join(MANIFEST_FILE).is_file() {
                continue;
            }
            names.push(name);
        }
        names.sort();
        Ok(names)
    }

    /// Reads one list's manifest.
    pub fn manifest(&self, name: &str) -> Result<Manifest, LibraryError> {
        check_name(name)?;
        let path = self.dir.join(name).join(MANIFEST_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LibraryError::NotFound(name.to_string()))
            }
            Err(e) => return Err(io_at(&path)(e)),
        };
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| LibraryError::Invalid {
            list: name.to_string(),
            reason: format!("{MANIFEST_FILE}: {e}"),
        })?;
        if m.format_version != LIBRARY_FORMAT_VERSION {
            return Err(LibraryError::Invalid {
                list: name.to_string(),
                reason: format!(
                    "library format version {}, this build reads {LIBRARY_FORMAT_VERSION}; re-import it",
                    m.format_version
                ),
            });
        }
        if m.name != name {
            return Err(LibraryError::Invalid {
                list: name.to_string(),
                reason: format!("manifest names the list {:?}", m.name),
            });
        }
        Ok(m)
    }

    /// Every list's manifest, sorted by name.
    pub fn manifests(&self) -> Result<Vec<Manifest>, LibraryError> {
        self.names()?.iter().map(|n| self.manifest(n)).collect()
    }

    /// Imports a list file: all or nothing (see the module documentation).
    ///
    /// Records are written as the importer produces them and the index is
    /// built from sorted runs spilled to disk, so memory stays within about
    /// the run budget ([`Library::with_import_run_bytes`]) for NSRL
    /// databases of any size; other formats are read whole first.
    pub fn import(&self, req: &ImportRequest) -> Result<ImportSummary, LibraryError> {
        let name = req.options.provenance.list_name.clone();
        check_name(&name)?;
        let target = self.dir.join(&name);
        let exists = target.exists();
        if exists && !req.replace {
            return Err(LibraryError::Exists(name));
        }
        fs::create_dir_all(&self.dir).map_err(io_at(&self.dir))?;
        let tmp = self.dir.join(format!(".import-{name}-{}", unique_suffix()));
        fs::create_dir(&tmp).map_err(io_at(&tmp))?;
        let mut guard = TempDir(Some(tmp.clone()));

        // Records, and the index entries pointing at them, as they arrive.
        let mut builder = Builder::new(&tmp, req.min_quality, self.run_bytes)?;
        builder.compact_pdq = req.compact_pdq;
        let mut failed = None;
        let imported = for_each_path(&req.path, &req.options, |r| {
            builder.push(&r).map_err(|e| {
                let why = e.to_string();
                failed = Some(e);
                why
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let report = imported?;
        let (source_sha, source_size) = sha256_file(&req.path).map_err(io_at(&req.path))?;
        let mut built = builder.finish()?;
        built.skipped_empty += report.skipped_empty as u64;
        let index_path = tmp.join(INDEX_FILE);
        let (index_sha256, index_bytes) = sha256_file(&index_path).map_err(io_at(&index_path))?;

        let opts = &req.options;
        let prov = &opts.provenance;
        let status = opts.status.unwrap_or(report.format.default_status());
        let manifest = Manifest {
            format_version: LIBRARY_FORMAT_VERSION,
            name: name.clone(),
            version: prov.version.clone(),
            source: prov.source.clone(),
            list_date: prov.date.clone(),
            status: status.name().to_string(),
            scheme: opts.scheme.as_ref().map(Scheme::name).or(built.scheme),
            list_format: report.format.name().to_string(),
            record_count: built.records as u64,
            counts: built.counts,
            pdq_indexed: built.pdq_indexed,
            pdq_not_indexed: built.pdq_not_indexed,
            min_quality: req.min_quality,
            pdq_compact: req.compact_pdq,
            skipped_empty: built.skipped_empty,
            warnings: (report.warnings.len() + report.warnings_dropped) as u64,
            imported_at: rfc3339(prov.imported_at),
            imported_at_unix: prov.imported_at,
            source_file: SourceFile {
                name: req
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                size: source_size,
                sha256: source_sha,
            },
            records_sha256: built.records_sha256,
            records_bytes: built.records_bytes,
            index_sha256,
            index_bytes,
        };
        let manifest_path = tmp.join(MANIFEST_FILE);
        let mut text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
        text.push('\n');
        let mut f = File::create(&manifest_path).map_err(io_at(&manifest_path))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(io_at(&manifest_path))?;
        sync_dir(&tmp).map_err(io_at(&tmp))?;

        // Into place.
        let mut replaced = false;
        if target.exists() {
            if !req.replace {
                return Err(LibraryError::Exists(name));
            }
            let old = self
                .dir
                .join(format!(".replaced-{name}-{}", unique_suffix()));
            fs::rename(&target, &old).map_err(io_at(&target))?;
            if let Err(e) = fs::rename(&tmp, &target) {
                let _ = fs::rename(&old, &target);
                return Err(io_at(&target)(e));
            }
            let _ = fs::remove_dir_all(&old);
            replaced = true;
        } else {
            fs::rename(&tmp, &target).map_err(io_at(&target))?;
        }
        guard.0 = None;
        sync_dir(&self.dir).map_err(io_at(&self.dir))?;
        Ok(ImportSummary {
            manifest,
            warnings: report.warnings,
            replaced,
        })
    }

    /// Removes a list.
    pub fn remove(&self, name: &str) -> Result<(), LibraryError> {
        self.manifest(name)?;
        let target = self.dir.join(name);
        // Rename first, so that a half-deleted list is never seen as a list.
        let gone = self
            .dir
            .join(format!(".removed-{name}-{}", unique_suffix()));
        fs::rename(&target, &gone).map_err(io_at(&target))?;
        sync_dir(&self.dir).map_err(io_at(&self.dir))?;
        fs::remove_dir_all(&gone).map_err(io_at(&gone))
    }

    /// Opens one list for matching: maps its index (no records are read).
    pub fn open(&self, name: &str) -> Result<OpenList, LibraryError> {
        let manifest = self.manifest(name)?;
        OpenList::open(self.dir.join(name), manifest)
    }

    /// Opens the named lists, or every list when `names` is empty.
    pub fn open_all(&self, names: &[String]) -> Result<Vec<OpenList>, LibraryError> {
        let names = if names.is_empty() {
            self.names()?
        } else {
            names.to_vec()
        };
        names.iter().map(|n| self.open(n)).collect()
    }

    /// Checks a list: the records file and the index have the SHA-256 the
    /// manifest records, the index opens and agrees with the manifest, and
    /// every record parses.
    pub fn verify(&self, name: &str) -> Result<(), LibraryError> {
        let manifest = self.manifest(name)?;
        let dir = self.dir.join(name);
        let bad = |reason: String| LibraryError::Invalid {
            list: name.to_string(),
            reason,
        };
        for (file, want, want_len) in [
            (
                RECORDS_FILE,
                &manifest.records_sha256,
                manifest.records_bytes,
            ),
            (INDEX_FILE, &manifest.index_sha256, manifest.index_bytes),
        ] {
            let path = dir.join(file);
            let (got, len) = sha256_file(&path).map_err(io_at(&path))?;
            if &got != want || len != want_len {
                return Err(bad(format!(
                    "{file}: SHA-256 {got} ({len} bytes), manifest says {want} ({want_len} bytes)"
                )));
            }
        }
        let list = OpenList::open(dir, manifest.clone())?;
        let count = |k: &str| manifest.counts.get(k).copied().unwrap_or(0) as usize;
        if list.md5.len() != count("md5")
            || list.sha1.len() != count("sha1")
            || list.sha256.len() != count("sha256")
            || list.pdq.len() as u64 != manifest.pdq_indexed
        {
            return Err(bad("index entry counts disagree with the manifest".into()));
        }
        if list
            .pdq_records
            .iter()
            .any(|&r| r as u64 >= manifest.record_count)
        {
            return Err(bad("PDQ entry points past the last record".into()));
        }
        let records = list.records()?;
        if records.len() as u64 != manifest.record_count {
            return Err(bad("record count disagrees with the manifest".into()));
        }
        Ok(())
    }
}

/// One PDQ match in a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdqHit {
    /// The record number (0-based line of the records file).
    pub record: u32,
    /// Hamming distance.
    pub distance: u32,
    /// Which query variant matched (index into the variants searched).
    pub variant: usize,
}

/// A list opened for matching: its index is mapped, not read.
pub struct OpenList {
    /// Its manifest.
    pub manifest: Manifest,
    provenance: Arc<Provenance>,
    records_path: PathBuf,
    records: OnceLock<File>,
    md5: ExactSet<16>,
    sha1: ExactSet<20>,
    sha256: ExactSet<32>,
    pdq: PdqIndex,
    pdq_records: Buf<u32>,
    offsets: Buf<u64>,
}

impl OpenList {
    fn open(dir: PathBuf, manifest: Manifest) -> Result<OpenList, LibraryError> {
        let name = manifest.name.clone();
        let bad = |e: StoreError| LibraryError::Invalid {
            list: name.clone(),
            reason: format!("{INDEX_FILE}: {e}"),
        };
        let store = Store::open(&dir.join(INDEX_FILE)).map_err(bad)?;
        let header: Buf<u32> = store.section(SEC_HEADER).map_err(bad)?;
        let invalid = |reason: &str| LibraryError::Invalid {
            list: name.clone(),
            reason: format!("{INDEX_FILE}: {reason}"),
        };
        if header.len() != 2 || header[0] != LIBRARY_FORMAT_VERSION {
            return Err(invalid("header is not library format version 1"));
        }
        if header[1] as u64 != manifest.record_count {
            return Err(invalid("record count disagrees with the manifest"));
        }
        let list = OpenList {
            provenance: Arc::new(manifest.provenance()),
            records_path: dir.join(RECORDS_FILE),
            records: OnceLock::new(),
            md5: ExactSet::from_store(&store, SEC_MD5).map_err(bad)?,
            sha1: ExactSet::from_store(&store, SEC_SHA1).map_err(bad)?,
            sha256: ExactSet::from_store(&store, SEC_SHA256).map_err(bad)?,
            pdq: PdqIndex::from_store(&store, SEC_PDQ).map_err(bad)?,
            pdq_records: store.section(SEC_PDQ_RECORDS).map_err(bad)?,
            offsets: store.section(SEC_OFFSETS).map_err(bad)?,
            manifest,
        };
        if list.pdq_records.len() != list.pdq.len() {
            return Err(invalid("PDQ record map disagrees with the PDQ index"));
        }
        if list.offsets.len() as u64 != list.manifest.record_count + 1
            || list.offsets.last().copied() != Some(list.manifest.records_bytes)
        {
            return Err(invalid("record offsets disagree with the manifest"));
        }
        Ok(list)
    }

    /// The list's name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The provenance its records carry.
    pub fn provenance(&self) -> &Arc<Provenance> {
        &self.provenance
    }

    /// Records whose MD5 is `h` (never any for the empty file's MD5).
    pub fn lookup_md5(&self, h: &[u8; 16]) -> &[u32] {
        if *h == EMPTY_MD5 {
            return &[];
        }
        self.md5.get(h)
    }

    /// Records whose SHA-1 is `h` (never any for the empty file's SHA-1).
    pub fn lookup_sha1(&self, h: &[u8; 20]) -> &[u32] {
        if *h == EMPTY_SHA1 {
            return &[];
        }
        self.sha1.get(h)
    }

    /// Records whose SHA-256 is `h` (never any for the empty file's SHA-256).
    pub fn lookup_sha256(&self, h: &[u8; 32]) -> &[u32] {
        if *h == EMPTY_SHA256 {
            return &[];
        }
        self.sha256.get(h)
    }

    /// Records with an indexed PDQ hash within `radius` of any of
    /// `variants`; each record once, with the closest variant.
    pub fn search_pdq(
        &self,
        variants: &[Hash256],
        radius: u32,
    ) -> Result<Vec<PdqHit>, SearchError> {
        Ok(self
            .pdq
            .search_any(variants, radius)?
            .into_iter()
            .map(|(m, variant)| PdqHit {
                record: self.pdq_records[m.id as usize],
                distance: m.distance,
                variant,
            })
            .collect())
    }

    /// Reads record `n` (one line of the records file).
    pub fn record(&self, n: u32) -> Result<Record, LibraryError> {
        let bad = |reason: String| LibraryError::Invalid {
            list: self.manifest.name.clone(),
            reason,
        };
        let (Some(&lo), Some(&hi)) = (
            self.offsets.get(n as usize),
            self.offsets.get(n as usize + 1),
        ) else {
            return Err(bad(format!("record {n} is past the end")));
        };
        if hi <= lo || hi - lo > MAX_RECORD_LINE {
            return Err(bad(format!("record {n}: damaged offsets")));
        }
        let file = match self.records.get() {
            Some(f) => f,
            None => {
                let f = File::open(&self.records_path).map_err(io_at(&self.records_path))?;
                // Another thread may have opened it first: either will do.
                let _ = self.records.set(f);
                self.records.get().expect("set above")
            }
        };
        let mut buf = vec![0u8; (hi - lo) as usize];
        read_exact_at(file, &mut buf, lo).map_err(io_at(&self.records_path))?;
        self.parse(&buf, n)
    }

    fn parse(&self, line: &[u8], n: u32) -> Result<Record, LibraryError> {
        let stored: Stored = serde_json::from_slice(line).map_err(|e| LibraryError::Invalid {
            list: self.manifest.name.clone(),
            reason: format!("{RECORDS_FILE}: record {n}: {e}"),
        })?;
        stored
            .into_record(self.provenance.clone())
            .map_err(|e| LibraryError::Invalid {
                list: self.manifest.name.clone(),
                reason: format!("{RECORDS_FILE}: record {n}: {e}"),
            })
    }

    /// Reads every record, in list order.
    pub fn records(&self) -> Result<Vec<Record>, LibraryError> {
        let file = File::open(&self.records_path).map_err(io_at(&self.records_path))?;
        let mut out = Vec::with_capacity(self.manifest.record_count as usize);
        for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = line.map_err(io_at(&self.records_path))?;
            out.push(self.parse(&line, i as u32)?);
        }
        Ok(out)
    }
}

/// Reads `buf.len()` bytes at `offset` without moving a shared file
/// position, so that threads can read records at once without a lock.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Reads `buf.len()` bytes at `offset` without moving a shared file
/// position, so that threads can read records at once without a lock.
#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_records_round_trip() {
        let prov = Arc::new(Provenance::new("t"));
        let mut r = Record::new(Status::Known, prov.clone());
        r.md5 = Some([7; 16]);
        r.sha256 = Some([9; 32]);
        r.pdq = Some(PdqHash {
            hash: Hash256([1, 2, 3, 4]),
            quality: Some(80),
        });
        r.other.push(OpaqueHash {
            kind: "photodna".into(),
            value: OpaqueValue::Bytes(vec![1; 144]),
        });
        r.other.push(OpaqueHash {
            kind: "vpdq".into(),
            value: OpaqueValue::Text("x,y".into()),
        });
        r.category = Some(Category::new(Scheme::Custom("acme".into()), "Z"));
        r.flags.tags = vec!["a".into()];
        r.flags.victim_identified = Some(true);
        r.media = Some(MediaKind::Video);
        r.size = Some(5);
        let line = serde_json::to_string(&Stored::from_record(&r)).unwrap();
        let back: Stored = serde_json::from_str(&line).unwrap();
        assert_eq!(back.into_record(prov).unwrap(), r);
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("ncmec-2024.06_a").is_ok());
        for bad in ["", ".x", "-x", "a/b", "a b", "..", &"x".repeat(101)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
