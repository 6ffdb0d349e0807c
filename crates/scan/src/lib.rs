//! # nigehbaan-scan
//!
//! Evidence triage: walk exhibits (files, directories, and zip / tar /
//! tar.gz / 7z archives inside them, detected by content and nested to a
//! limit) strictly read-only; read each file once for MD5, SHA-1, SHA-256
//! and, for images, PDQ; match against the chosen lists; set known files
//! aside; group duplicates; and write a report directory a court and a
//! defence expert can check.
//!
//! - [`evidence`]: finding files read-only.
//! - [`archive`]: opening containers within limits.
//! - [`matcher`]: matching one file's hashes.
//! - [`group`]: exact and near-duplicate groups.
//! - [`report`]: `report.json`, `hits.csv`, `report.html`, VICS export.
//! - [`scan`]: the whole run.

#![warn(missing_docs)]

pub mod archive;
mod checkpoint;
pub mod evidence;
pub mod group;
pub mod host;
pub mod matcher;
pub mod model;
mod pipeline;
pub mod report;

pub use archive::ArchiveLimits;
pub use checkpoint::CHECKPOINT_FILE;
pub use evidence::Exhibit;
pub use matcher::MatchSettings;
pub use model::{Disposition, Exclusion, Hex, Hit, Item};
pub use report::Report;

use nigehbaan_lists::library::OpenList;
use report::{Custody, ExhibitCustody, ListCustody, Settings};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Exit status: the scan was complete and found no hits.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status: the scan was complete and found hits.
pub const EXIT_HITS: u8 = 1;
/// Exit status: errors (or an interruption) prevented a complete scan —
/// whatever was found is still in the report.
pub const EXIT_INCOMPLETE: u8 = 2;

/// The case details the examiner gives.
#[derive(Clone, Debug, Default)]
pub struct CaseInfo {
    /// Case number.
    pub case_number: Option<String>,
    /// Examiner.
    pub examiner: Option<String>,
    /// Agency.
    pub agency: Option<String>,
}

/// Everything a scan needs to know.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// The exhibits.
    pub exhibits: Vec<Exhibit>,
    /// The report directory (must not be inside the evidence).
    pub out_dir: PathBuf,
    /// Case details.
    pub case: CaseInfo,
    /// What to hash.
    pub hash: nigehbaan_filehash::Options,
    /// How to match.
    pub matching: MatchSettings,
    /// Container limits.
    pub limits: ArchiveLimits,
    /// Follow symbolic links inside directories.
    pub follow_symlinks: bool,
    /// Worker threads.
    pub threads: usize,
    /// Bytes of container entries in flight at once.
    pub memory_budget: u64,
    /// Continue an interrupted scan in `out_dir`.
    pub resume: bool,
    /// The command line, for the chain of custody.
    pub command_line: String,
}

/// Counters a progress display can read while the scan runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Items hashed so far (files on disk and archive entries).
    pub files_done: AtomicU64,
    /// Bytes of files on disk fully processed.
    pub bytes_done: AtomicU64,
    /// Files on disk found by the walk.
    pub total_files: AtomicU64,
    /// Their bytes.
    pub total_bytes: AtomicU64,
    /// Files that matched a notable list so far.
    pub hits: AtomicU64,
    /// Items hashed by this run (not counting those a resumed run took
    /// from the checkpoint).
    pub hashed: AtomicU64,
}

/// What a finished scan tells its caller.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The report directory.
    pub dir: PathBuf,
    /// SHA-256 of `report.json`.
    pub report_sha256: String,
    /// The whole report.
    pub report: Report,
}

impl Outcome {
    /// The exit status: [`EXIT_CLEAN`], [`EXIT_HITS`] or [`EXIT_INCOMPLETE`].
    pub fn exit_code(&self) -> u8 {
        self.report.status.exit_code
    }
}

/// A failure that stopped the scan before it could start or report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError(pub String);

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScanError {}

/// The absolute form of a path that may not exist yet.
fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) if parent != abs => absolute(parent).join(name),
        _ => abs,
    }
}

/// Refuses a report directory inside (or equal to) any evidence path.
fn check_out_dir(cfg: &ScanConfig) -> Result<(), ScanError> {
    let out = absolute(&cfg.out_dir);
    for ex in &cfg.exhibits {
        for p in &ex.paths {
            let Ok(ev) = p.canonicalize() else { continue };
            if out.starts_with(&ev) {
                return Err(ScanError(format!(
                    "the report directory {} is inside the evidence path {}; evidence is never \
                     written to: choose an --out outside it",
                    cfg.out_dir.display(),
                    p.display()
                )));
            }
        }
    }
    Ok(())
}

fn list_custody(lists: &[OpenList]) -> Vec<ListCustody> {
    lists
        .iter()
        .map(|l| {
            let m = &l.manifest;
            ListCustody {
                name: m.name.clone(),
                version: m.version.clone(),
                source: m.source.clone(),
                list_date: m.list_date.clone(),
                status: m.status.clone(),
                format: m.list_format.clone(),
                record_count: m.record_count,
                imported_at: m.imported_at.clone(),
                source_sha256: m.source_file.sha256.clone(),
                records_sha256: m.records_sha256.clone(),
                index_sha256: m.index_sha256.clone(),
            }
        })
        .collect()
}

fn settings(cfg: &ScanConfig) -> Settings {
    Settings {
        digests: vec!["md5".into(), "sha1".into(), "sha256".into()],
        pdq: cfg.hash.pdq,
        pdq_pipeline: if cfg.hash.fast {
            "fast".into()
        } else {
            cfg.hash.pipeline.name().into()
        },
        matching: cfg.matching,
        limits: cfg.limits,
        follow_symlinks: cfg.follow_symlinks,
        threads: cfg.threads,
    }
}

/// What must be equal for `--resume` to continue a checkpoint: the
/// exhibits, the lists' contents and every setting that changes results.
fn settings_key(cfg: &ScanConfig, lists: &[ListCustody]) -> String {
    let mut s = settings(cfg);
    s.threads = 0;
    let key = serde_json::json!({
        "exhibits": cfg.exhibits,
        "lists": lists.iter().map(|l| (&l.name, &l.records_sha256)).collect::<Vec<_>>(),
        "settings": s,
        "dihedral_hashes": cfg.hash.dihedral,
    });
    nigehbaan_filehash::hex(&Sha256::digest(key.to_string().as_bytes()))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct RunInfo {
    started: host::Stamp,
    runs: u32,
}

const RUN_FILE: &str = "run.json";

/// Runs a scan and writes its report. `cancel` stops it cleanly (the
/// report is then written, marked incomplete, and `--resume` continues it).
pub fn scan(
    cfg: &ScanConfig,
    lists: &[OpenList],
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<Outcome, ScanError> {
    check_out_dir(cfg)?;
    let dir = &cfg.out_dir;
    let lists_c = list_custody(lists);
    let key = settings_key(cfg, &lists_c);
    let (mut checkpoint, items, run) = if cfg.resume {
        let (cp, items) = checkpoint::Checkpoint::resume(dir, &key).map_err(ScanError)?;
        let run = std::fs::read(dir.join(RUN_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice::<RunInfo>(&b).ok())
            .map(|r| RunInfo {
                started: r.started,
                runs: r.runs + 1,
            })
            .unwrap_or(RunInfo {
                started: host::Stamp::now(),
                runs: 2,
            });
        (cp, items, run)
    } else {
        if let Ok(mut entries) = std::fs::read_dir(dir) {
            if entries.next().is_some() {
                return Err(ScanError(format!(
                    "the report directory {} already exists and is not empty: reports are \
                     never overwritten; choose another --out, or add --resume to continue an \
                     interrupted scan",
                    dir.display()
                )));
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            ScanError(format!(
                "{}: cannot create the report directory: {e}",
                dir.display()
            ))
        })?;
        let cp = checkpoint::Checkpoint::create(dir, &key).map_err(ScanError)?;
        let run = RunInfo {
            started: host::Stamp::now(),
            runs: 1,
        };
        (cp, Vec::new(), run)
    };
    if let Ok(b) = serde_json::to_vec(&run) {
        let _ = std::fs::write(dir.join(RUN_FILE), b);
    }

    let collected = pipeline::run(cfg, lists, progress, cancel, &mut checkpoint, items);
    checkpoint.flush();
    let mut exclusions = collected.exclusions;
    exclusions.sort_by(|a, b| (&a.exhibit, &a.path, &a.kind).cmp(&(&b.exhibit, &b.path, &b.kind)));
    if let Some(e) = &checkpoint.error {
        exclusions.push(Exclusion {
            exhibit: String::new(),
            path: e.clone(),
            kind: "checkpoint-error".into(),
            reason: "the checkpoint could not be written; --resume would redo some work".into(),
            incomplete: false,
            hashed: false,
        });
    }
    let custody = Custody {
        case_number: cfg.case.case_number.clone(),
        examiner: cfg.case.examiner.clone(),
        agency: cfg.case.agency.clone(),
        exhibits: cfg
            .exhibits
            .iter()
            .zip(&collected.exhibit_files)
            .map(|(e, &(files, bytes))| ExhibitCustody {
                id: e.id.clone(),
                paths: e.paths.iter().map(|p| p.display().to_string()).collect(),
                files_on_disk: files,
                bytes_on_disk: bytes,
            })
            .collect(),
        tool_name: "nigehbaan".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        host: host::hostname(),
        platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        command_line: cfg.command_line.clone(),
        started: run.started,
        finished: host::Stamp::now(),
        runs: run.runs,
        lists: lists_c,
    };
    let parts = report::Parts {
        custody,
        settings: settings(cfg),
        exclusions,
        interrupted: collected.interrupted,
    };
    let (report, digest) =
        report::write_report(dir, collected.items, parts).map_err(|e| ScanError(e.to_string()))?;
    if !collected.interrupted {
        checkpoint.remove();
        let _ = std::fs::remove_file(dir.join(RUN_FILE));
    }
    progress
        .files_done
        .store(report.summary.total.files, Ordering::Relaxed);
    Ok(Outcome {
        dir: dir.clone(),
        report_sha256: digest,
        report,
    })
}
