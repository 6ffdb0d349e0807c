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
mod error;
pub mod evidence;
pub mod fsutil;
pub mod group;
pub mod host;
mod image;
mod image_custody;
pub mod matcher;
pub mod model;
pub mod opaque;
mod pipeline;
mod preflight;
pub mod report;
pub mod runs;
pub mod video;

pub use archive::ArchiveLimits;
pub use checkpoint::CHECKPOINT_FILE;
pub use error::ScanError;
pub use evidence::Exhibit;
pub use matcher::MatchSettings;
pub use model::{CaseFields, Disposition, Exclusion, Hex, Hit, Item, Seal};
pub use report::Report;

use crate::model::ExclusionKind;
use nigehbaan_lists::library::OpenList;
use report::{Custody, ExhibitCustody, ListCustody, Settings};
use runs::Run;
use std::path::PathBuf;
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
    /// The case's own fields (FIR, court, seals…).
    pub fields: model::CaseFields,
    /// The languages of `report.html`.
    pub lang: report::Langs,
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
    /// Carve unallocated space and unpartitioned regions of disk images.
    pub carve: bool,
    /// Stream-verify disk images against the MD5/SHA-1 they store (E01).
    pub verify_image: bool,
    /// The command line, for the chain of custody (kept for every run of a
    /// resumed scan).
    pub command_line: String,
    /// How videos are hashed and matched (when `hash.pdq` is on and the
    /// `ffmpeg` program is there).
    pub video: video::VideoSettings,
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
    /// Milliseconds of video hashed with vPDQ by this run.
    pub video_ms: AtomicU64,
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
        carve: cfg.carve,
        verify_image: cfg.verify_image,
        threads: cfg.threads,
        video: cfg.hash.pdq.then(|| cfg.video.report()),
        languages: Vec::new(),
    }
}

/// What must be equal for `--resume` to continue a checkpoint, part by
/// part (a refusal names the part): the case, the exhibits, the lists'
/// contents and every setting that changes results.
fn resume_key(
    cfg: &ScanConfig,
    lists: &[ListCustody],
) -> serde_json::Map<String, serde_json::Value> {
    let mut s = settings(cfg);
    s.threads = 0;
    let key = serde_json::json!({
        "case_number": cfg.case.case_number,
        "case_fields": cfg.case.fields,
        "exhibits": cfg.exhibits.iter().map(|e| (&e.id, e.paths.iter().map(|p| path_key(p)).collect::<Vec<_>>())).collect::<Vec<_>>(),
        "lists": lists.iter().map(|l| (&l.name, &l.records_sha256)).collect::<Vec<_>>(),
        "settings": s,
        "dihedral_hashes": cfg.hash.dihedral,
    });
    match key {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// A path in the resume key, losslessly: its text, or its bytes when it is
/// not UTF-8.
fn path_key(p: &std::path::Path) -> serde_json::Value {
    match p.to_str() {
        Some(s) => s.into(),
        None => p.as_os_str().as_encoded_bytes().into(),
    }
}

/// This run's custody record as it starts.
fn this_run(cfg: &ScanConfig) -> Run {
    Run {
        command_line: cfg.command_line.clone(),
        started: host::Stamp::now(),
        finished: None,
        examiner: cfg.case.examiner.clone(),
        agency: cfg.case.agency.clone(),
        host: host::hostname(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        interrupted: false,
    }
}

/// Prepares the report directory: a new, private one with a fresh
/// checkpoint, or (resuming) the interrupted scan's, whose checkpoint and
/// earlier runs are read back.
fn prepare(
    cfg: &ScanConfig,
    key: &serde_json::Map<String, serde_json::Value>,
) -> Result<(checkpoint::Checkpoint, Vec<Item>, Vec<Run>), ScanError> {
    let dir = &cfg.out_dir;
    let io = |action, source| ScanError::Io {
        path: dir.clone(),
        action,
        source,
    };
    let (cp, items, mut runs) = if cfg.resume {
        let (cp, items) = checkpoint::Checkpoint::resume(dir, key)?;
        (cp, items, runs::load(dir)?)
    } else {
        if let Ok(mut entries) = std::fs::read_dir(dir) {
            if entries.next().is_some() {
                return Err(ScanError::OutNotEmpty { out: dir.clone() });
            }
        }
        fsutil::create_private_dir(dir).map_err(|e| io("create the report directory", e))?;
        let cp = checkpoint::Checkpoint::create(dir, key)?;
        (cp, Vec::new(), Vec::new())
    };
    fsutil::restrict(dir, fsutil::PRIVATE_DIR_MODE)
        .map_err(|e| io("make the report directory private", e))?;
    runs.push(this_run(cfg));
    runs::save(dir, &runs)?;
    Ok((cp, items, runs))
}

/// Runs a scan and writes its report. `cancel` stops it cleanly (the
/// report is then written, marked incomplete, and `--resume` continues it).
pub fn scan(
    cfg: &ScanConfig,
    lists: &[OpenList],
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<Outcome, ScanError> {
    preflight::check(cfg, lists)?;
    let dir = &cfg.out_dir;
    let lists_c = list_custody(lists);
    let key = resume_key(cfg, &lists_c);
    let (mut checkpoint, items, mut runs) = prepare(cfg, &key)?;

    let collected = pipeline::run(cfg, lists, progress, cancel, &mut checkpoint, items);
    checkpoint.flush();
    let mut exclusions = collected.exclusions;
    exclusions.sort_by(|a, b| (&a.exhibit, &a.path, &a.kind).cmp(&(&b.exhibit, &b.path, &b.kind)));
    if let Some(e) = &checkpoint.error {
        exclusions.push(Exclusion {
            exhibit: String::new(),
            path: e.clone(),
            kind: ExclusionKind::CheckpointError,
            reason: "the checkpoint could not be written; --resume would redo some work".into(),
            incomplete: false,
            hashed: false,
        });
    }
    let finished = host::Stamp::now();
    if let Some(run) = runs.last_mut() {
        run.finished = Some(finished.clone());
        run.interrupted = collected.interrupted;
    }
    let first = runs[0].clone();
    let custody = Custody {
        case_number: cfg.case.case_number.clone(),
        examiner: first.examiner.clone(),
        agency: first.agency.clone(),
        case: cfg.case.fields.clone(),
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
        command_line: first.command_line.clone(),
        started: first.started.clone(),
        finished,
        runs: runs.clone(),
        lists: lists_c,
        images: collected.image_custody,
    };
    let parts = report::Parts {
        custody,
        settings: settings(cfg),
        exclusions,
        interrupted: collected.interrupted,
        images: collected.images,
        lang: cfg.case.lang.clone(),
    };
    let (report, digest) =
        report::write_report(dir, collected.items, parts).map_err(ScanError::Report)?;
    if collected.interrupted {
        runs::save(dir, &runs)?;
    } else {
        checkpoint.remove();
        let _ = std::fs::remove_file(dir.join(runs::RUN_FILE));
    }
    fsutil::restrict_files_in(dir).map_err(|source| ScanError::Io {
        path: dir.clone(),
        action: "make the report files private",
        source,
    })?;
    progress
        .files_done
        .store(report.summary.total.files, Ordering::Relaxed);
    Ok(Outcome {
        dir: dir.clone(),
        report_sha256: digest,
        report,
    })
}
