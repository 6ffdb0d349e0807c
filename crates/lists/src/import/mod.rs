//! Importers: format detection by content, options, and the shared
//! machinery that enforces the rules every importer follows (empty-file
//! hashes dropped, strict hash parsing, all-or-nothing).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use nigehbaan_pdq::Hash256;

use crate::error::{
    FieldError, ImportError, ImportErrorKind, ImportReport, Location, SpecError, Warning,
    MAX_WARNINGS,
};
use crate::hex;
use crate::model::{
    MediaKind, OpaqueHash, OpaqueValue, PdqHash, Provenance, Record, Scheme, Status,
};

pub mod csv_generic;
pub mod hashsum;
pub mod hma;
pub mod ncmec;
pub mod nsrl;
pub mod vics;
pub mod vpdq;

pub use csv_generic::ColumnMap;

/// A list format this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Project VIC / VICS JSON 1.x or 2.0 (`#Media` or `#Cases`).
    VicsJson,
    /// NCMEC hash-sharing XML (`queryResult` with `images` / `videos`).
    NcmecXml,
    /// Hasher-Matcher-Actioner / python-threatexchange CSV
    /// (`signal_type,signal,…`, or headerless `pdq,<hex>` rows).
    HmaCsv,
    /// Hasher-Matcher-Actioner / python-threatexchange `type hash` text.
    HmaText,
    /// md5sum / sha1sum / sha256sum output (GNU or BSD style).
    HashSum,
    /// hashdeep text (`%%%% HASHDEEP-1.0`).
    Hashdeep,
    /// NIST NSRL RDSv3 SQLite (table `FILE`). Imported as `known`.
    NsrlSqlite,
    /// CSV with a caller-given [`ColumnMap`]. Never auto-detected.
    GenericCsv,
    /// The CSV this crate exports ([`crate::export::write_csv`]).
    NigehbaanCsv,
    /// The reference vPDQ tool's per-video file (one file = one video
    /// record; a directory of them = one list).
    Vpdq,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 10] = [
        Format::VicsJson,
        Format::NcmecXml,
        Format::HmaCsv,
        Format::HmaText,
        Format::HashSum,
        Format::Hashdeep,
        Format::NsrlSqlite,
        Format::GenericCsv,
        Format::NigehbaanCsv,
        Format::Vpdq,
    ];

    /// The name used on the command line (`--format NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Format::VicsJson => "vics",
            Format::NcmecXml => "ncmec",
            Format::HmaCsv => "hma-csv",
            Format::HmaText => "hma-text",
            Format::HashSum => "hashsum",
            Format::Hashdeep => "hashdeep",
            Format::NsrlSqlite => "nsrl",
            Format::GenericCsv => "csv",
            Format::NigehbaanCsv => "nigehbaan-csv",
            Format::Vpdq => "vpdq",
        }
    }

    /// The status records get unless the caller says otherwise.
    pub fn default_status(self) -> Status {
        match self {
            Format::NsrlSqlite => Status::Known,
            _ => Status::Notable,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = SpecError;
    /// Accepts [`Format::name`] and the aliases `md5sum`, `sha1sum`,
    /// `sha256sum`, `vics-json`, `projectvic`, `ncmec-xml`, `nsrl-rds`.
    fn from_str(s: &str) -> Result<Format, SpecError> {
        let s = s.trim().to_ascii_lowercase();
        let alias = match s.as_str() {
            "md5sum" | "sha1sum" | "sha256sum" => Some(Format::HashSum),
            "vics-json" | "projectvic" => Some(Format::VicsJson),
            "ncmec-xml" => Some(Format::NcmecXml),
            "nsrl-rds" | "rdsv3" => Some(Format::NsrlSqlite),
            _ => None,
        };
        alias
            .or_else(|| Format::ALL.into_iter().find(|f| f.name() == s))
            .ok_or(SpecError::UnknownFormat { name: s })
    }
}

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// Recognises a list's format from its content (never its name). Generic
/// CSV is never detected: it needs a [`ColumnMap`]. Returns `None` when
/// unsure.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(SQLITE_MAGIC) {
        return Some(Format::NsrlSqlite);
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let head = String::from_utf8_lossy(head);
    let trimmed = head.trim_start();
    if trimmed.starts_with('{') {
        return (head.contains("\"odata.metadata\"") || head.contains("\"@odata.context\""))
            .then_some(Format::VicsJson);
    }
    if trimmed.starts_with('<') {
        return (head.contains("hashsharing.ncmec.org") || head.contains("<queryResult"))
            .then_some(Format::NcmecXml);
    }
    if trimmed.starts_with("%%%% HASHDEEP") {
        return Some(Format::Hashdeep);
    }
    let line = trimmed
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    if line.starts_with(csv_generic::EXPORT_HEADER_START) {
        return Some(Format::NigehbaanCsv);
    }
    if vpdq::looks_like_line(line) {
        return Some(Format::Vpdq);
    }
    if hma::looks_like_csv_header(line) || hma::looks_like_csv_row(line) {
        return Some(Format::HmaCsv);
    }
    if hashsum::looks_like_line(line) {
        return Some(Format::HashSum);
    }
    if hma::looks_like_text_line(line) {
        return Some(Format::HmaText);
    }
    None
}

/// How to import a list.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The name errors give for the file (usually its path).
    pub display_name: String,
    /// Provenance stamped on every record.
    pub provenance: Provenance,
    /// The format; `None` detects it by content.
    pub format: Option<Format>,
    /// The status of every record; `None` uses [`Format::default_status`].
    pub status: Option<Status>,
    /// The category scheme for formats whose categories are bare codes
    /// (VICS JSON, HMA and generic CSV). `None`: VICS uses
    /// [`Scheme::ProjectVicUs`], CSV [`Scheme::Custom`] named after the list.
    /// NCMEC XML always uses [`Scheme::NcmecAB`].
    pub scheme: Option<Scheme>,
    /// The column mapping for [`Format::GenericCsv`].
    pub columns: Option<ColumnMap>,
    /// Accept a list with no records at all. Off by default: an empty
    /// import fails with [`ImportErrorKind::Empty`], since a list that
    /// matches nothing is almost always a wrong file or format.
    pub allow_empty: bool,
    /// Keep hashes of types not in [`KNOWN_HASH_TYPES`] as opaque values.
    /// Off by default: an unknown type (often a typo such as `pdg`) fails
    /// the import with [`ImportErrorKind::UnknownType`] and the line.
    pub allow_unknown: bool,
}

impl ImportOptions {
    /// Options with everything detected: `display_name` for errors, and a
    /// list called `list_name` imported now.
    pub fn new(display_name: &str, list_name: &str) -> ImportOptions {
        ImportOptions {
            display_name: display_name.to_string(),
            provenance: Provenance::new(list_name),
            format: None,
            status: None,
            scheme: None,
            columns: None,
            allow_empty: false,
            allow_unknown: false,
        }
    }
}

/// Imports a list held in memory. NSRL SQLite needs [`import_path`].
pub fn import_bytes(bytes: &[u8], opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    run_bytes(bytes, opts, None)
}

/// Imports `bytes`, handing records to `each` when given (else collecting
/// them), and applies the rules on the whole list (not empty).
fn run_bytes(
    bytes: &[u8],
    opts: &ImportOptions,
    each: Option<Each<'_>>,
) -> Result<ImportReport, ImportError> {
    let format = resolve_format(bytes, opts)?;
    let mut sink = Sink::new(opts, format);
    sink.each = each;
    if format == Format::NsrlSqlite {
        return Err(sink.error(
            Location::File,
            "an NSRL SQLite database must be imported from a file path".into(),
        ));
    }
    let text = sink.text(bytes);
    match format {
        Format::VicsJson => vics::import(&text, &mut sink)?,
        Format::NcmecXml => ncmec::import(&text, &mut sink)?,
        Format::HmaCsv => hma::import_csv(&text, &mut sink)?,
        Format::HmaText => hma::import_text(&text, &mut sink)?,
        Format::HashSum => hashsum::import_hashsum(&text, &mut sink)?,
        Format::Hashdeep => hashsum::import_hashdeep(&text, &mut sink)?,
        Format::GenericCsv => {
            let Some(map) = &opts.columns else {
                return Err(sink.error(Location::File, "generic CSV needs a column mapping".into()));
            };
            csv_generic::import_mapped(&text, map, &mut sink)?
        }
        Format::NigehbaanCsv => csv_generic::import_export_csv(&text, &mut sink)?,
        Format::Vpdq => vpdq::import_file(&text, &opts.display_name, &mut sink)?,
        Format::NsrlSqlite => unreachable!("handled above"),
    }
    sink.finish()
}

/// Imports a list from a file. SQLite databases are read in place; other
/// formats are read into memory first.
pub fn import_path(path: &Path, opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    if path.is_dir() {
        return vpdq::import_dir(path, opts, None);
    }
    if is_sqlite(path, opts)? {
        let mut sink = Sink::new(opts, Format::NsrlSqlite);
        nsrl::import(path, &mut sink)?;
        return sink.finish();
    }
    let bytes = std::fs::read(path).map_err(|e| read_error(opts, e))?;
    import_bytes(&bytes, opts)
}

/// Like [`import_path`], but hands the records to `each` one by one, in
/// list order, instead of collecting them (the report's `records` is
/// empty). NSRL SQLite databases are streamed row by row; other formats
/// are read whole, and their records handed on as they are parsed (NCMEC
/// XML and VICS JSON once the document is read), so memory stays about the
/// size of the file. Stops at the first error from `each`, whose text
/// becomes the reason.
pub fn for_each_path<F>(
    path: &Path,
    opts: &ImportOptions,
    mut each: F,
) -> Result<ImportReport, ImportError>
where
    F: FnMut(Record) -> Result<(), Refusal>,
{
    if path.is_dir() {
        return vpdq::import_dir(path, opts, Some(&mut each));
    }
    if is_sqlite(path, opts)? {
        return nsrl::for_each(path, opts, each);
    }
    let bytes = std::fs::read(path).map_err(|e| read_error(opts, e))?;
    run_bytes(&bytes, opts, Some(&mut each))
}

/// Like [`import_bytes`], but hands the records to `each` one by one, in
/// list order, instead of collecting them (the report's `records` is
/// empty), so an importer of a large upload holds the upload and one batch,
/// not every record. Stops at the first error from `each`, whose text
/// becomes the reason. (NSRL SQLite needs a file: see [`for_each_path`].)
pub fn for_each_bytes<F>(
    bytes: &[u8],
    opts: &ImportOptions,
    mut each: F,
) -> Result<ImportReport, ImportError>
where
    F: FnMut(Record) -> Result<(), Refusal>,
{
    run_bytes(bytes, opts, Some(&mut each))
}

/// A callback that receives streamed records.
pub(crate) type Each<'a> = &'a mut dyn FnMut(Record) -> Result<(), Refusal>;

/// Why a caller's record callback stopped an import: any error (a string
/// converts too); its text becomes the import error's reason.
pub type Refusal = Box<dyn std::error::Error + Send + Sync>;

fn read_error(opts: &ImportOptions, e: std::io::Error) -> ImportError {
    ImportError {
        file: opts.display_name.clone(),
        location: Location::File,
        reason: format!("cannot read: {e}"),
        kind: ImportErrorKind::Malformed,
        cause: None,
    }
}

/// Whether `path` is read as an NSRL SQLite database: the format named, or
/// else the SQLite magic at its start.
fn is_sqlite(path: &Path, opts: &ImportOptions) -> Result<bool, ImportError> {
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .map_err(|e| read_error(opts, e))?
        .take(16)
        .read_to_end(&mut head)
        .map_err(|e| read_error(opts, e))?;
    Ok(match opts.format {
        Some(f) => f == Format::NsrlSqlite,
        None => head.starts_with(SQLITE_MAGIC),
    })
}

fn resolve_format(bytes: &[u8], opts: &ImportOptions) -> Result<Format, ImportError> {
    if let Some(f) = opts.format {
        return Ok(f);
    }
    detect(bytes).ok_or_else(|| ImportError {
        file: opts.display_name.clone(),
        location: Location::File,
        reason: "list format not recognised; name it explicitly (vics, ncmec, hma-csv, \
                 hma-text, hashsum, hashdeep, nsrl, vpdq, csv with a column mapping)"
            .into(),
        kind: ImportErrorKind::Malformed,
        cause: None,
    })
}

/// Collects (or hands on) records for one import and applies the shared
/// rules.
pub(crate) struct Sink<'a> {
    pub(crate) file: String,
    pub(crate) format: Format,
    pub(crate) status: Status,
    pub(crate) status_overridden: bool,
    pub(crate) provenance: Arc<Provenance>,
    pub(crate) scheme: Option<Scheme>,
    /// The records kept, when they are not handed to `each`.
    records: Vec<Record>,
    /// Where records go as they are accepted, instead of `records`.
    pub(crate) each: Option<Each<'a>>,
    /// Records kept or handed on.
    emitted: u64,
    pub(crate) skipped_empty: usize,
    pub(crate) deleted: usize,
    allow_empty: bool,
    allow_unknown: bool,
    warnings: Vec<Warning>,
    warnings_dropped: usize,
    unknown_categories: BTreeMap<(String, String), (usize, Location)>,
    no_hash: usize,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(opts: &ImportOptions, format: Format) -> Sink<'a> {
        Sink {
            file: opts.display_name.clone(),
            format,
            status: opts.status.unwrap_or(format.default_status()),
            status_overridden: opts.status.is_some(),
            provenance: Arc::new(opts.provenance.clone()),
            scheme: opts.scheme.clone(),
            records: Vec::new(),
            each: None,
            emitted: 0,
            skipped_empty: 0,
            deleted: 0,
            allow_empty: opts.allow_empty,
            allow_unknown: opts.allow_unknown,
            warnings: Vec::new(),
            warnings_dropped: 0,
            unknown_categories: BTreeMap::new(),
            no_hash: 0,
        }
    }

    /// The text of a list: BOM removed; invalid UTF-8 replaced (with a
    /// warning) — hashes are ASCII, so only names can be affected.
    pub(crate) fn text<'b>(&mut self, bytes: &'b [u8]) -> std::borrow::Cow<'b, str> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(s) => s.into(),
            Err(e) => {
                let line = 1 + bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                self.warn(
                    Location::Line(line as u64),
                    "not valid UTF-8; invalid bytes in names replaced by U+FFFD".into(),
                );
                String::from_utf8_lossy(bytes)
            }
        }
    }

    /// A fresh record with this import's status and provenance.
    pub(crate) fn record(&self) -> Record {
        Record::new(self.status, self.provenance.clone())
    }

    pub(crate) fn error(&self, location: Location, reason: String) -> ImportError {
        self.error_of(ImportErrorKind::Malformed, location, reason)
    }

    fn error_of(&self, kind: ImportErrorKind, location: Location, reason: String) -> ImportError {
        ImportError {
            file: self.file.clone(),
            location,
            reason,
            kind,
            cause: None,
        }
    }

    /// An error for a field of the record at `location`.
    pub(crate) fn field_error(&self, location: Location, e: FieldError) -> ImportError {
        ImportError {
            reason: e.to_string(),
            cause: Some(Box::new(e)),
            ..self.error(location, String::new())
        }
    }

    pub(crate) fn warn(&mut self, location: Location, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(Warning { location, message });
        } else {
            self.warnings_dropped += 1;
        }
    }

    /// Applies the shared rules; returns the record when it may be kept,
    /// `None` when it is dropped (empty file, no hash), and an error when
    /// it carries a hash type not in [`KNOWN_HASH_TYPES`] and unknown types
    /// were not allowed.
    pub(crate) fn accept(
        &mut self,
        rec: Record,
        location: &Location,
    ) -> Result<Option<Record>, ImportError> {
        if !self.allow_unknown {
            if let Some(o) = rec.other.iter().find(|o| !is_known_hash_type(&o.kind)) {
                return Err(self.error_of(
                    ImportErrorKind::UnknownType,
                    location.clone(),
                    unknown_type_reason(&o.kind),
                ));
            }
        }
        if rec.is_empty_file() {
            self.skipped_empty += 1;
            return Ok(None);
        }
        if !rec.has_hash() {
            self.no_hash += 1;
            if self.no_hash <= 10 {
                self.warn(location.clone(), "record has no hash; skipped".into());
            }
            return Ok(None);
        }
        if let Some(c) = &rec.category {
            if !c.is_known() {
                self.unknown_categories
                    .entry((c.scheme.name(), c.code.clone()))
                    .or_insert((0, location.clone()))
                    .0 += 1;
            }
        }
        Ok(Some(rec))
    }

    /// [`Sink::accept`], then [`Sink::emit`].
    pub(crate) fn push(&mut self, rec: Record, location: &Location) -> Result<(), ImportError> {
        match self.accept(rec, location)? {
            Some(r) => self.emit(r, location),
            None => Ok(()),
        }
    }

    /// Keeps an accepted record, or hands it on.
    pub(crate) fn emit(&mut self, rec: Record, location: &Location) -> Result<(), ImportError> {
        self.emitted += 1;
        match self.each.as_mut() {
            Some(f) => f(rec).map_err(|refusal| self.error(location.clone(), refusal.to_string())),
            None => {
                self.records.push(rec);
                Ok(())
            }
        }
    }

    /// The report, or an error when the list turned out empty (and that
    /// was not allowed).
    pub(crate) fn finish(mut self) -> Result<ImportReport, ImportError> {
        if self.emitted == 0 && !self.allow_empty {
            let mut why = String::from(
                "the list holds no records, so it would match nothing (a wrong file or format?)",
            );
            if self.skipped_empty > 0 || self.no_hash > 0 || self.deleted > 0 {
                why.push_str(&format!(
                    "; dropped: {} with the empty file's hash, {} without a hash, {} deleted",
                    self.skipped_empty, self.no_hash, self.deleted
                ));
            }
            return Err(self.error_of(ImportErrorKind::Empty, Location::File, why));
        }
        if self.no_hash > 10 {
            let n = self.no_hash;
            self.warn(
                Location::File,
                format!("{n} records in all had no hash and were skipped"),
            );
        }
        let unknown = std::mem::take(&mut self.unknown_categories);
        for ((scheme, code), (count, first)) in unknown {
            self.warn(
                first,
                format!(
                    "category {code:?} is not in the {scheme} table; kept verbatim as unknown \
                     ({count} records)"
                ),
            );
        }
        Ok(ImportReport {
            format: self.format,
            records: self.records,
            skipped_empty: self.skipped_empty,
            deleted: self.deleted,
            warnings: self.warnings,
            warnings_dropped: self.warnings_dropped,
        })
    }
}

/// Hash types the importers know: parsed (`md5`, `video_md5`, `sha1`,
/// `sha-1`, `sha256`, `sha-256`, `pdq`), decoded (`photodna`, `pdna`), or
/// kept opaque as other tools define them (the rest). Compared ignoring
/// case. Any other type fails an import unless
/// [`ImportOptions::allow_unknown`] is set.
pub const KNOWN_HASH_TYPES: &[&str] = &[
    "md5",
    "video_md5",
    "sha1",
    "sha-1",
    "sha256",
    "sha-256",
    "pdq",
    "photodna",
    "pdna",
    "vpdq",
    "tmk",
    "tmk_pdqf",
    "tmk-pdqf",
    "videntifier",
    "tiger",
    "whirlpool",
    "sha384",
    "sha512",
    "ssdeep",
    "tlsh",
    "url",
    "url_md5",
    "raw_text",
    "trend_query",
];

/// True when `kind` is one of [`KNOWN_HASH_TYPES`] (ignoring case and
/// surrounding space).
pub fn is_known_hash_type(kind: &str) -> bool {
    let kind = kind.trim();
    KNOWN_HASH_TYPES
        .iter()
        .any(|k| k.eq_ignore_ascii_case(kind))
}

fn unknown_type_reason(kind: &str) -> String {
    let lower = kind.trim().to_ascii_lowercase();
    let near = KNOWN_HASH_TYPES
        .iter()
        .filter(|k| edit_distance(k, &lower) <= 1 + usize::from(lower.len() > 5))
        .min_by_key(|k| edit_distance(k, &lower));
    let mut why = format!("unknown hash type {kind:?}");
    if let Some(k) = near {
        why.push_str(&format!(" (did you mean {k:?}?)"));
    }
    why.push_str(
        ": a hash of a type this tool does not know would never match; known types: md5, \
         sha1, sha256, pdq, photodna and the opaque types in the documentation",
    );
    why
}

/// Levenshtein distance, for suggesting the type a typo meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Parses a boolean given as `true`/`false`, `"true"`/`"false"` (any case),
/// `1`/`0`, `"yes"`/`"no"`, or empty/null (`None`).
pub(crate) fn parse_bool_text(text: &str) -> Result<Option<bool>, FieldError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "null" => Ok(None),
        "true" | "1" | "yes" | "y" => Ok(Some(true)),
        "false" | "0" | "no" | "n" => Ok(Some(false)),
        other => Err(FieldError::NotBoolean {
            text: other.to_string(),
        }),
    }
}

/// Parses a PDQ hash of 64 hex digits.
pub(crate) fn parse_pdq(text: &str) -> Result<Hash256, FieldError> {
    let t = text.trim();
    Hash256::from_hex(t).map_err(|source| FieldError::Pdq {
        text: hex::shorten(t),
        source,
    })
}

/// Parses a PDQ quality 0–100.
pub(crate) fn parse_quality(text: &str) -> Result<Option<u8>, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<u8>() {
        Ok(q) if q <= 100 => Ok(Some(q)),
        _ => Err(FieldError::Quality {
            text: t.to_string(),
        }),
    }
}

fn set_once<T: PartialEq + Copy>(
    slot: &mut Option<T>,
    v: T,
    kind: &'static str,
) -> Result<(), FieldError> {
    match slot {
        Some(old) if *old != v => Err(FieldError::Conflict { kind }),
        _ => {
            *slot = Some(v);
            Ok(())
        }
    }
}

/// Sets a hash on a record from a type name and its text, strictly.
///
/// `md5`/`video_md5`, `sha1`, `sha256`, `pdq` are parsed; `photodna`/`pdna`
/// are decoded (hex or base64, 144 bytes) and kept opaque; any other type is
/// kept opaque as its verbatim text. An empty value sets nothing.
pub(crate) fn set_hash(rec: &mut Record, kind: &str, value: &str) -> Result<(), FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(());
    }
    let kind = kind.trim().to_ascii_lowercase();
    match kind.as_str() {
        "md5" => set_once(&mut rec.md5, hex::decode_hash(value, "MD5")?, "MD5"),
        "video_md5" => {
            rec.media.get_or_insert(MediaKind::Video);
            set_once(&mut rec.md5, hex::decode_hash(value, "MD5")?, "MD5")
        }
        "vpdq" => vpdq::set_features(rec, value),
        "sha1" | "sha-1" => set_once(&mut rec.sha1, hex::decode_hash(value, "SHA-1")?, "SHA-1"),
        "sha256" | "sha-256" => set_once(
            &mut rec.sha256,
            hex::decode_hash(value, "SHA-256")?,
            "SHA-256",
        ),
        "pdq" => {
            let hash = parse_pdq(value)?;
            match rec.pdq {
                Some(p) if p.hash != hash => Err(FieldError::Conflict { kind: "PDQ" }),
                Some(_) => Ok(()),
                None => {
                    rec.pdq = Some(PdqHash {
                        hash,
                        quality: None,
                    });
                    Ok(())
                }
            }
        }
        "photodna" | "pdna" => {
            let bytes = hex::decode_photodna(value)?;
            push_opaque(rec, OpaqueHash::PHOTODNA, OpaqueValue::Bytes(bytes));
            Ok(())
        }
        _ => {
            push_opaque(rec, &kind, OpaqueValue::Text(value.to_string()));
            Ok(())
        }
    }
}

fn push_opaque(rec: &mut Record, kind: &str, value: OpaqueValue) {
    let h = OpaqueHash {
        kind: kind.to_string(),
        value,
    };
    if !rec.other.contains(&h) {
        rec.other.push(h);
    }
}

/// Counts newlines in `bytes[from..to]`, for turning byte offsets into lines.
pub(crate) struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// The 1-based line of byte offset `at` (offsets must not go backwards
    /// by much; going backwards recounts from the start).
    pub(crate) fn line_at(&mut self, at: usize) -> u64 {
        let at = at.min(self.bytes.len());
        if at < self.pos {
            self.pos = 0;
            self.line = 1;
        }
        self.line += self.bytes[self.pos..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.pos = at;
        self.line
    }
}
