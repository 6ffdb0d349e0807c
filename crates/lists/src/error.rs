//! Import errors, warnings and the import report.

use std::fmt;

use crate::import::Format;
use crate::model::Record;

/// Where in a list something was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The list as a whole.
    File,
    /// A 1-based line.
    Line(u64),
    /// A 1-based line and column.
    LineColumn(u64, u64),
    /// A record named by its position in the structure, e.g.
    /// `value[3]` or `value[0].Media[2]` (0-based, as JSON paths are).
    Record(String),
    /// A record (1-based) and the line it starts on.
    RecordAtLine(u64, u64),
    /// A 1-based row of a database table.
    Row(String, u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => f.write_str("whole file"),
            Location::Line(l) => write!(f, "line {l}"),
            Location::LineColumn(l, c) => write!(f, "line {l}, column {c}"),
            Location::Record(p) => write!(f, "record {p}"),
            Location::RecordAtLine(r, l) => write!(f, "record {r} (line {l})"),
            Location::Row(t, r) => write!(f, "table {t}, row {r}"),
        }
    }
}

/// What kind of problem stopped an import, for callers that offer a way
/// past it (the reason text says what is wrong either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportErrorKind {
    /// The list is malformed or could not be read.
    Malformed,
    /// The list holds no records at all: imported, it would match nothing.
    /// [`crate::ImportOptions::allow_empty`] accepts it.
    Empty,
    /// A record carries a hash type this crate does not know (often a typo
    /// such as `pdg` for `pdq`), which would be kept but never match.
    /// [`crate::ImportOptions::allow_unknown`] keeps such hashes as opaque
    /// values.
    UnknownType,
}

/// A list could not be imported. Nothing from it is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// The display name the caller gave for the file.
    pub file: String,
    /// Where the problem is.
    pub location: Location,
    /// What is wrong.
    pub reason: String,
    /// What kind of problem it is.
    pub kind: ImportErrorKind,
    /// The field-level problem behind it, when one record's value was at
    /// fault (also its [`std::error::Error::source`]).
    pub cause: Option<Box<FieldError>>,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.location, self.reason)
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Something odd that did not stop the import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Where.
    pub location: Location,
    /// What.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// The result of a successful import.
#[derive(Clone, Debug)]
pub struct ImportReport {
    /// The format the list was read as.
    pub format: Format,
    /// The records, in list order (NCMEC: after updates and deletions).
    pub records: Vec<Record>,
    /// Records dropped because a hash was that of the empty file.
    pub skipped_empty: usize,
    /// Entries removed by a later deletion in the same list (NCMEC), or
    /// deletions of entries that were not in the list.
    pub deleted: usize,
    /// Things that did not stop the import (at most [`MAX_WARNINGS`] kept;
    /// `warnings_dropped` counts the rest).
    pub warnings: Vec<Warning>,
    /// Warnings not kept because there were more than [`MAX_WARNINGS`].
    pub warnings_dropped: usize,
}

/// The most warnings an [`ImportReport`] keeps.
pub const MAX_WARNINGS: usize = 1000;

/// Why one field of one record could not be read. Import errors carry it as
/// their [`std::error::Error::source`]; the text is kept as data so the
/// caller decides how to show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldError {
    /// A hash value is malformed.
    Hash(crate::hex::HashTextError),
    /// A PDQ hash is malformed.
    Pdq {
        /// The text, shortened.
        text: String,
        /// What is wrong with it.
        source: nigehbaan_pdq::ParseHashError,
    },
    /// Two different values of one hash type for one record.
    Conflict {
        /// The hash type (`MD5`, `SHA-1`, `SHA-256`, `PDQ`).
        kind: &'static str,
    },
    /// A flag is not a boolean.
    NotBoolean {
        /// The text.
        text: String,
    },
    /// A PDQ quality is not a whole number 0–100.
    Quality {
        /// The text.
        text: String,
    },
    /// A PDQ quality is given without a PDQ hash.
    QualityWithoutPdq,
    /// A vPDQ value (HMA's signal string or reference-format lines) is
    /// malformed.
    Vpdq(nigehbaan_video::ParseError),
    /// A stored vPDQ frame is malformed.
    VpdqFrame {
        /// The frame number.
        frame: u64,
        /// Its PDQ hash's fault; `None` when the quality or timestamp is
        /// out of range.
        source: Option<nigehbaan_pdq::ParseHashError>,
    },
    /// A size is not a whole number of bytes.
    NotWholeNumber {
        /// The text.
        text: String,
    },
    /// A JSON value is neither a number nor a string.
    NotScalar {
        /// The JSON found, as text.
        found: String,
    },
    /// A status is neither `known` nor `notable`.
    Status {
        /// The text.
        text: String,
    },
    /// A media kind is neither `image` nor `video`.
    Media {
        /// The text.
        text: String,
    },
    /// A value that must be JSON is not, or has the wrong shape.
    Json {
        /// What the JSON should be.
        expected: &'static str,
        /// The JSON parser's complaint, when it had one.
        detail: Option<String>,
    },
    /// An opaque hash entry has neither (or both) a hex and a text value.
    OpaqueValue {
        /// The hash type.
        kind: String,
    },
    /// A line does not have the shape its format requires (what is
    /// expected, in words).
    Syntax(&'static str),
    /// A database column holds a blob where text was expected.
    Blob {
        /// The column's number (0-based).
        column: usize,
    },
    /// The database could not give a value.
    Database {
        /// The database's complaint.
        detail: String,
    },
    /// An alternative hash has a value but no type name.
    HashValueWithoutName,
    /// A category is given without its scheme, or a scheme without a code.
    CategoryWithoutScheme,
    /// The problem is inside a named field or column.
    In {
        /// The field, column or path (e.g. `Tags`, `AlternativeHashes[2]`).
        field: String,
        /// The problem.
        source: Box<FieldError>,
    },
}

impl FieldError {
    /// This problem, placed in `field`.
    pub fn in_field(self, field: impl Into<String>) -> FieldError {
        FieldError::In {
            field: field.into(),
            source: Box::new(self),
        }
    }
}

impl From<crate::hex::HashTextError> for FieldError {
    fn from(e: crate::hex::HashTextError) -> FieldError {
        FieldError::Hash(e)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Hash(e) => e.fmt(f),
            FieldError::Pdq { text, source } => write!(f, "bad PDQ hash ({source}): {text}"),
            FieldError::Conflict { kind } => {
                write!(f, "two different {kind} values for one record")
            }
            FieldError::NotBoolean { text } => write!(f, "{text:?} is not a boolean (true/false)"),
            FieldError::Quality { text } => write!(f, "PDQ quality must be 0-100, found {text:?}"),
            FieldError::QualityWithoutPdq => f.write_str("a PDQ quality without a PDQ hash"),
            FieldError::Vpdq(e) => write!(f, "vPDQ: {e}"),
            FieldError::VpdqFrame { frame, source } => match source {
                Some(e) => write!(f, "vPDQ frame {frame}: {e}"),
                None => write!(f, "vPDQ frame {frame}: bad quality or timestamp"),
            },
            FieldError::NotWholeNumber { text } => {
                write!(f, "{text:?} is not a whole number of bytes")
            }
            FieldError::NotScalar { found } => {
                write!(f, "expected a number or string, found {found}")
            }
            FieldError::Status { text } => write!(f, "status {text:?} is not known or notable"),
            FieldError::Media { text } => write!(f, "media {text:?} is not image or video"),
            FieldError::Json { expected, detail } => match detail {
                Some(d) => write!(f, "must be {expected}: {d}"),
                None => write!(f, "must be {expected}"),
            },
            FieldError::OpaqueValue { kind } => {
                write!(f, "opaque hash {kind:?} needs one of \"hex\" or \"text\"")
            }
            FieldError::CategoryWithoutScheme => f.write_str("category without scheme"),
            FieldError::Syntax(what) => f.write_str(what),
            FieldError::Blob { column } => write!(f, "column {column} is a blob, expected text"),
            FieldError::Database { detail } => f.write_str(detail),
            FieldError::HashValueWithoutName => f.write_str("has a HashValue but no HashName"),
            FieldError::In { field, source } => write!(f, "{field}: {source}"),
        }
    }
}

impl std::error::Error for FieldError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FieldError::Hash(e) => Some(e),
            FieldError::Pdq { source, .. } => Some(source),
            FieldError::Vpdq(e) => Some(e),
            FieldError::VpdqFrame {
                source: Some(e), ..
            } => Some(e),
            FieldError::In { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// A `--columns`-style mapping or a list format name that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecError {
    /// No list format has this name.
    UnknownFormat {
        /// The name given (lower-cased).
        name: String,
    },
    /// A mapping part is not `field=Header`.
    NotFieldEqualsHeader {
        /// The part.
        part: String,
    },
    /// A mapping field that must be one character is not.
    NotOneCharacter {
        /// The field.
        field: String,
    },
    /// The delimiter is not ASCII.
    DelimiterNotAscii,
    /// A mapping names a field that does not exist.
    UnknownField {
        /// The field.
        field: String,
    },
    /// The mapping names no hash column.
    NoHashColumn,
    /// A mapped column is not in the file's header.
    MissingColumn {
        /// The column.
        column: String,
    },
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::UnknownFormat { name } => {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                write!(
                    f,
                    "unknown list format {name:?} (one of: {})",
                    names.join(", ")
                )
            }
            SpecError::NotFieldEqualsHeader { part } => write!(f, "{part:?} is not field=Header"),
            SpecError::NotOneCharacter { field } => write!(f, "{field} must be one character"),
            SpecError::DelimiterNotAscii => f.write_str("delimiter must be an ASCII character"),
            SpecError::UnknownField { field } => write!(f, "unknown field {field:?}"),
            SpecError::NoHashColumn => f.write_str("the mapping names no hash column"),
            SpecError::MissingColumn { column } => {
                write!(f, "column {column:?} is not in the header")
            }
        }
    }
}

impl std::error::Error for SpecError {}
