//! The runs that made a report: a scan interrupted and resumed has
//! several, and each keeps its command line, times and examiner in the
//! chain of custody. They are kept in `run.json` in the report directory
//! while the scan is unfinished.

use crate::error::ScanError;
use crate::fsutil::create_private_file;
use crate::host::Stamp;
use std::io::Write;
use std::path::Path;

/// The file in an unfinished report directory that holds the runs so far.
pub const RUN_FILE: &str = "run.json";

/// One run of a scan.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Run {
    /// The command line, as given (arguments that are not plain words are
    /// quoted shell-style; bytes that are not UTF-8 are written `\xNN`).
    pub command_line: String,
    /// When the run started.
    pub started: Stamp,
    /// When it ended (absent only if it never reached its report).
    pub finished: Option<Stamp>,
    /// The examiner who ran it.
    pub examiner: Option<String>,
    /// The examiner's agency.
    pub agency: Option<String>,
    /// The machine it ran on.
    pub host: String,
    /// The tool's version.
    pub tool_version: String,
    /// True when it was stopped before the end.
    pub interrupted: bool,
}

/// Reads the runs an interrupted scan left.
pub(crate) fn load(dir: &Path) -> Result<Vec<Run>, ScanError> {
    let path = dir.join(RUN_FILE);
    let bytes = std::fs::read(&path).map_err(|source| ScanError::Io {
        path: path.clone(),
        action: "read the earlier runs' custody",
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ScanError::Io {
        path,
        action: "read the earlier runs' custody",
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// Writes the runs so far (owner-only, like every report file).
pub(crate) fn save(dir: &Path, runs: &[Run]) -> Result<(), ScanError> {
    let path = dir.join(RUN_FILE);
    let io = |source| ScanError::Io {
        path: path.clone(),
        action: "record this run's custody",
        source,
    };
    let bytes = serde_json::to_vec_pretty(runs).map_err(|e| io(std::io::Error::other(e)))?;
    let mut f = create_private_file(&path).map_err(io)?;
    f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(io)
}

/// The runs in one line, for the HTML report: how many, then each run's
/// start, examiner and whether it was interrupted.
pub fn describe(runs: &[Run]) -> String {
    let each: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let by = r.examiner.as_deref().unwrap_or("examiner not given");
            let end = if r.interrupted { ", interrupted" } else { "" };
            format!(
                "#{} {} by {by} on {}{end}: {}",
                i + 1,
                r.started.utc,
                r.host,
                r.command_line
            )
        })
        .collect();
    format!("{}: {}", runs.len(), each.join("; "))
}
