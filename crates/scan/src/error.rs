//! Why a scan could not start or could not write its report.

use std::io;
use std::path::PathBuf;

/// A failure that stopped the scan before it could start or report.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScanError {
    /// No list record to match against (no lists, or only empty ones): the
    /// scan could not find anything, so it is refused.
    NoListRecords {
        /// The lists that were opened (all empty), if any.
        lists: Vec<String>,
    },
    /// Two exhibits have the same id.
    DuplicateExhibit {
        /// The id.
        id: String,
    },
    /// One evidence path is the same as, or inside, another: its files
    /// would be counted twice.
    OverlappingEvidence {
        /// The enclosing path, as given.
        outer: PathBuf,
        /// The path inside it (or equal to it), as given.
        inner: PathBuf,
    },
    /// An evidence path is a device, FIFO or socket.
    NotFileOrDirectory {
        /// The path as given.
        path: PathBuf,
        /// What it is (`a block device`, …).
        what: &'static str,
    },
    /// The report directory is inside the evidence.
    OutInsideEvidence {
        /// The report directory as given.
        out: PathBuf,
        /// The evidence path it is inside.
        evidence: PathBuf,
    },
    /// The report directory exists and is not empty (and this is not a
    /// resume).
    OutNotEmpty {
        /// The report directory.
        out: PathBuf,
    },
    /// A file or directory of the report could not be created or written.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The system's error.
        source: io::Error,
    },
    /// The report directory holds no checkpoint a resume could continue.
    NotACheckpoint {
        /// The checkpoint file.
        path: PathBuf,
    },
    /// A resume was asked with a setting that differs from the interrupted
    /// scan's.
    ResumeMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Which setting differs (`case_number`, `exhibits`, `lists`, …).
        setting: String,
        /// Its value in the interrupted scan.
        was: String,
        /// Its value now.
        now: String,
    },
    /// The report writers failed.
    Report {
        /// Their message (it names the file).
        message: String,
    },
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::NoListRecords { lists } if lists.is_empty() => f.write_str(
                "no hash lists to match against: the scan could find nothing, so it was not run",
            ),
            ScanError::NoListRecords { lists } => write!(
                f,
                "the lists {} hold no records: the scan could find nothing, so it was not run",
                lists.join(", ")
            ),
            ScanError::DuplicateExhibit { id } => write!(
                f,
                "two exhibits have the id {id:?}: each exhibit needs its own id (one id for \
                 several paths makes them one exhibit)"
            ),
            ScanError::OverlappingEvidence { outer, inner } if outer == inner => write!(
                f,
                "the evidence path {} is given twice (by real path, after resolving symbolic \
                 links): its files would be counted twice",
                outer.display()
            ),
            ScanError::OverlappingEvidence { outer, inner } => write!(
                f,
                "the evidence path {} is inside {} (by real path, after resolving symbolic \
                 links): its files would be counted twice; give only {}",
                inner.display(),
                outer.display(),
                outer.display()
            ),
            ScanError::NotFileOrDirectory { path, what } => write!(
                f,
                "{}: is {what}, not a file or directory: devices are not scanned (make an image \
                 of the disk and scan its files)",
                path.display()
            ),
            ScanError::OutInsideEvidence { out, evidence } => write!(
                f,
                "the report directory {} is inside the evidence path {} (checked both as \
                 written and by real path); evidence is never written to: choose a report \
                 directory outside it",
                out.display(),
                evidence.display()
            ),
            ScanError::OutNotEmpty { out } => write!(
                f,
                "the report directory {} already exists and is not empty: reports are never \
                 overwritten",
                out.display()
            ),
            ScanError::Io {
                path,
                action,
                source,
            } => write!(f, "{}: cannot {action}: {source}", path.display()),
            ScanError::NotACheckpoint { path } => write!(
                f,
                "{}: not a Nigehbaan checkpoint of this version (was this report directory made \
                 by an interrupted scan?)",
                path.display()
            ),
            ScanError::ResumeMismatch {
                path,
                setting,
                was,
                now,
            } => write!(
                f,
                "{}: cannot resume: the {setting} changed (interrupted scan: {was}; now: \
                 {now}); resume with the same {setting}, or start a new scan in another report \
                 directory",
                path.display()
            ),
            ScanError::Report { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for ScanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScanError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
