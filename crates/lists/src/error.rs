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
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.location, self.reason)
    }
}

impl std::error::Error for ImportError {}

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
