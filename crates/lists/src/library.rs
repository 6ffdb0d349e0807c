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
//!   .import-NAME-PID-NANOS/    an import in progress (ignored; removed on failure)
//!   .import-NAME-PID-NANOS.lock   held locked by that import while it runs
//! ```
//!
//! Files are created `0600` and directories `0700` (hash lists are
//! confidential), whatever the umask; [`Library::loose_permissions`] finds
//! older ones. A list's index is checked at every open: the SHA-256 of the
//! mapped bytes must equal the manifest's `index_sha256`
//! ([`LibraryError::IndexMismatch`] otherwise).
//!
//! Sections of `index.nidx` (kinds): `0` header `[library format version,
//! record count]`; `10..14` MD5 [`nigehbaan_index::ExactSet`]; `20..24` SHA-1; `30..34`
//! SHA-256 (ids are record numbers, 0-based lines of `records.jsonl`);
//! `40` the record number of each indexed PDQ hash; `41` the byte offset
//! of each record line (`record count + 1` entries); `100..=133` the
//! [`nigehbaan_index::PdqIndex`] (its layout at `133`; fewer chunks leave kinds unused).
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
//! the same name is replaced only when asked. A killed import's staging
//! directory is removed by the next import or [`Library::open_all`]
//! ([`Library::sweep_staging`]): its lock file is no longer locked.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ImportError, Warning};
use crate::hex;
use crate::import::{for_each_path, ImportOptions};
use crate::model::{Provenance, Scheme};

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
/// The names of the 8 dihedral variants (re-exported from the PDQ crate).
pub use nigehbaan_pdq::DIHEDRAL_NAMES;

mod build;
mod open;
mod private;
mod staging;
mod stored;

use stored::Stored;

use build::Builder;
pub use build::DEFAULT_IMPORT_RUN_BYTES;
pub use open::{OpenList, PdqHit, VpdqHit};
pub use private::{LoosePermission, DIR_MODE, FILE_MODE};
pub use staging::{Sweep, STALE_AFTER};

const SEC_HEADER: u32 = 0;
const SEC_MD5: u32 = 10;
const SEC_SHA1: u32 = 20;
const SEC_SHA256: u32 = 30;
const SEC_PDQ_RECORDS: u32 = 40;
const SEC_OFFSETS: u32 = 41;
const SEC_PDQ: u32 = 100;
/// The video index (vPDQ frames → records), `SEC_VPDQ..SEC_VPDQ +
/// VideoIndex::SECTION_SPAN`; absent in lists written before it existed.
const SEC_VPDQ: u32 = 200;
/// Frames of list videos under this quality are not indexed (as
/// python-threatexchange's matcher drops them).
pub const VPDQ_QUALITY_THRESHOLD: u8 = 50;
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
    /// A list's index file is not the one its manifest records (damaged,
    /// or changed since the import): nothing may be matched against it.
    IndexMismatch {
        /// The list.
        list: String,
        /// The index file.
        path: PathBuf,
        /// SHA-256 the manifest records (hex).
        expected: String,
        /// Size the manifest records.
        expected_bytes: u64,
        /// SHA-256 of the bytes found (hex).
        actual: String,
        /// Size found.
        actual_bytes: u64,
    },
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
            LibraryError::IndexMismatch {
                list,
                path,
                expected,
                expected_bytes,
                actual,
                actual_bytes,
            } => write!(
                f,
                "list {list:?}: its index {} is damaged or was changed since the import: \
                 SHA-256 {actual} ({actual_bytes} bytes), but the manifest records {expected} \
                 ({expected_bytes} bytes); nothing can be matched against it. Run \
                 `nigehbaan lists verify {list}` and re-import the list",
                path.display()
            ),
        }
    }
}

impl std::error::Error for LibraryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LibraryError::Import(e) => Some(e),
            LibraryError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

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

/// SHA-256 (hex) and size of an imported source: a file's bytes, or for a
/// directory (of vPDQ files) the SHA-256 of its lines `<sha256>  <name>`
/// for each regular file in name order, and their total size.
fn sha256_source(path: &Path) -> io::Result<(String, u64)> {
    if !path.is_dir() {
        return sha256_file(path);
    }
    let mut names = Vec::new();
    for e in fs::read_dir(path)? {
        let e = e?;
        if e.file_type()?.is_file() && !e.file_name().to_string_lossy().starts_with('.') {
            names.push(e.file_name());
        }
    }
    names.sort();
    let mut h = Sha256::new();
    let mut total = 0u64;
    for n in names {
        let (sha, len) = sha256_file(&path.join(&n))?;
        h.update(format!("{sha}  {}\n", n.to_string_lossy()).as_bytes());
        total += len;
    }
    Ok((hex::encode(&h.finalize()), total))
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

    /// Removes the staging directories killed imports (and removals) left
    /// in the library — they hold list records in plain text — leaving
    /// those a live import is writing; says what it found. See
    /// [`Sweep`] and the `staging` rules in the module documentation.
    pub fn sweep_staging(&self) -> Result<Sweep, LibraryError> {
        staging::sweep(&self.dir)
    }

    /// The library directory and the files and directories in it that
    /// others than their owner may read or enter (libraries written before
    /// files were created `0600` and directories `0700`, or changed since).
    pub fn loose_permissions(&self) -> Result<Vec<LoosePermission>, LibraryError> {
        private::loose(&self.dir).map_err(io_at(&self.dir))
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
        private::create_dir_all(&self.dir).map_err(io_at(&self.dir))?;
        // What killed imports left behind holds list records: remove it
        // (best effort; `lists verify` reports what remains).
        let _ = self.sweep_staging();
        let (tmp, _lock) = staging::begin(&self.dir, &name)?;
        let mut guard = TempDir(Some(tmp.clone()));

        // Records, and the index entries pointing at them, as they arrive.
        let mut builder = Builder::new(&tmp, req.min_quality, self.run_bytes)?;
        builder.compact_pdq = req.compact_pdq;
        let mut failed = None;
        let imported = for_each_path(&req.path, &req.options, |r| {
            builder.push(&r).map_err(|e| {
                let why: crate::import::Refusal = e.to_string().into();
                failed = Some(e);
                why
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let report = imported?;
        let (source_sha, source_size) = sha256_source(&req.path).map_err(io_at(&req.path))?;
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
            imported_at: prov.imported_at_rfc3339(),
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
        let mut f = private::create_file(&manifest_path).map_err(io_at(&manifest_path))?;
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

    /// Opens one list for matching: maps its index and checks the SHA-256
    /// of the mapped bytes against the manifest (no records are read). A
    /// damaged or changed index gives [`LibraryError::IndexMismatch`].
    pub fn open(&self, name: &str) -> Result<OpenList, LibraryError> {
        let manifest = self.manifest(name)?;
        OpenList::open(self.dir.join(name), manifest)
    }

    /// Opens the named lists, or every list when `names` is empty, as
    /// [`Library::open`] does; their indexes are hashed in parallel. Stale
    /// staging directories of killed imports are removed first.
    pub fn open_all(&self, names: &[String]) -> Result<Vec<OpenList>, LibraryError> {
        // Best effort: what remains is reported by `lists verify`.
        let _ = self.sweep_staging();
        let names = if names.is_empty() {
            self.names()?
        } else {
            names.to_vec()
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut out = Vec::with_capacity(names.len());
        for batch in names.chunks(threads.max(1)) {
            let opened: Vec<Result<OpenList, LibraryError>> = std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .iter()
                    .map(|n| s.spawn(move || self.open(n)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            for o in opened {
                out.push(o?);
            }
        }
        Ok(out)
    }

    /// Checks a list: the records file has the SHA-256 the manifest
    /// records, the index opens (which checks its SHA-256) and agrees with
    /// the manifest, and every record parses.
    pub fn verify(&self, name: &str) -> Result<(), LibraryError> {
        let manifest = self.manifest(name)?;
        let dir = self.dir.join(name);
        let bad = |reason: String| LibraryError::Invalid {
            list: name.to_string(),
            reason,
        };
        let path = dir.join(RECORDS_FILE);
        let (got, len) = sha256_file(&path).map_err(io_at(&path))?;
        let (want, want_len) = (&manifest.records_sha256, manifest.records_bytes);
        if &got != want || len != want_len {
            return Err(bad(format!(
                "{RECORDS_FILE}: SHA-256 {got} ({len} bytes), manifest says {want} ({want_len} bytes)"
            )));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("ncmec-2024.06_a").is_ok());
        for bad in ["", ".x", "-x", "a/b", "a b", "..", &"x".repeat(101)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
