//! The report directory: `report.json` (complete, machine-readable; schema
//! in `docs/scan-report.md`), its SHA-256 beside it, `hits.csv`, a
//! self-contained `report.html` (no images at all) and a VICS 2.0 `#Cases`
//! export.

mod csv;
pub mod display;
mod html;
mod html_images;
mod html_parts;
#[cfg(test)]
mod html_scale;
pub mod i18n;
pub mod images;
mod spill;
mod stream;
mod vics;

pub use i18n::{Lang, LangError, Langs};
pub use spill::SpillError;
pub(crate) use stream::{write_report, Items, Parts};
pub use stream::{ReportError, ITEMS_IN_MEMORY};

use crate::archive::ArchiveLimits;
use crate::group::Group;
use crate::host::Stamp;
use crate::matcher::MatchSettings;
use crate::model::{Disposition, Exclusion, Item};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The schema identifier `report.json` carries.
pub const SCHEMA: &str = "nigehbaan-scan-report/1";

/// Names of the files in a report directory.
pub mod files {
    /// The complete report.
    pub const JSON: &str = "report.json";
    /// `sha256sum` line of `report.json`.
    pub const JSON_SHA256: &str = "report.json.sha256";
    /// One row per hit.
    pub const HITS_CSV: &str = "hits.csv";
    /// The human-readable report.
    pub const HTML: &str = "report.html";
    /// VICS 2.0 `#Cases` export.
    pub const VICS: &str = "vics-cases.json";
}

/// Everything a scan reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// Who made the report: the chain of custody.
    pub custody: Custody,
    /// How the scan was run.
    pub settings: Settings,
    /// Whether the scan examined everything.
    pub status: RunStatus,
    /// Counts.
    pub summary: Summary,
    /// Every disk image opened: container, partitions, file systems and
    /// what each gave (see [`images`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<images::ImageRecord>,
    /// Every file hashed, sorted by exhibit and path.
    pub items: Vec<Item>,
    /// Exact duplicates.
    pub duplicate_groups: Vec<Group>,
    /// PDQ near-duplicates among unmatched images.
    pub near_duplicate_groups: Vec<Group>,
    /// What was not hashed, or needs attention, and why.
    pub exclusions: Vec<Exclusion>,
    /// Items whose hashes are incomplete, with the reason.
    pub errors: Vec<ErrorEntry>,
    /// True in the report a scan returns when it had more than
    /// [`ITEMS_IN_MEMORY`] items: `items` then holds only hits (at most
    /// that many), `errors` at most that many, and the groups no members;
    /// `report.json` holds everything. Never in `report.json`.
    #[serde(skip)]
    pub partial: bool,
}

/// The chain of custody.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Custody {
    /// Case number.
    pub case_number: Option<String>,
    /// The examiner.
    pub examiner: Option<String>,
    /// The agency.
    pub agency: Option<String>,
    /// The case's own fields (FIR, police station, court, seals, lab,
    /// designation, laws), each present only when given.
    #[serde(flatten, default)]
    pub case: crate::model::CaseFields,
    /// The exhibits scanned.
    pub exhibits: Vec<ExhibitCustody>,
    /// `nigehbaan`.
    pub tool_name: String,
    /// The tool's version.
    pub tool_version: String,
    /// The machine the scan ran on.
    pub host: String,
    /// The operating system and architecture.
    pub platform: String,
    /// The command line, as given (the first run's, when resumed).
    pub command_line: String,
    /// When the scan started (the first run, when resumed).
    pub started: Stamp,
    /// When it finished.
    pub finished: Stamp,
    /// Every run that made this report (more than one when resumed), each
    /// with its command line, times and examiner.
    pub runs: Vec<crate::runs::Run>,
    /// Each list matched against, with what identifies its content.
    pub lists: Vec<ListCustody>,
    /// Each disk image opened: its acquisition metadata and stored hashes,
    /// and the hashes computed when `--verify-image` was given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<images::ImageCustody>,
}

/// One exhibit in the chain of custody.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExhibitCustody {
    /// Its id.
    pub id: String,
    /// Its paths as given.
    pub paths: Vec<String>,
    /// Files on disk found in it.
    pub files_on_disk: u64,
    /// Their total size.
    pub bytes_on_disk: u64,
}

/// One list in the chain of custody.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListCustody {
    /// Its name in the library.
    pub name: String,
    /// Version, as the issuer labels it.
    pub version: Option<String>,
    /// Issuing organisation.
    pub source: Option<String>,
    /// The list's own date.
    pub list_date: Option<String>,
    /// `known` or `notable`.
    pub status: String,
    /// Format it was imported from.
    pub format: String,
    /// Number of records.
    pub record_count: u64,
    /// When it was imported into the library.
    pub imported_at: String,
    /// SHA-256 of the file it was imported from.
    pub source_sha256: String,
    /// SHA-256 of the library's records file (its content as matched).
    pub records_sha256: String,
    /// SHA-256 of the library's index file.
    pub index_sha256: String,
}

/// How the scan was run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// Digests computed for every file.
    pub digests: Vec<String>,
    /// Whether PDQ was computed for images.
    pub pdq: bool,
    /// `full`, `reference-cli`, or `fast`.
    pub pdq_pipeline: String,
    /// Matching thresholds.
    pub matching: MatchSettings,
    /// Container limits.
    pub limits: ArchiveLimits,
    /// Whether symbolic links inside directories were followed.
    pub follow_symlinks: bool,
    /// Whether disk images' unallocated space and unpartitioned regions
    /// were carved.
    #[serde(default)]
    pub carve: bool,
    /// Whether disk images were verified against the hashes they store.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify_image: bool,
    /// Worker threads.
    pub threads: usize,
    /// How videos were hashed and matched (when PDQ was computed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<crate::video::VideoReport>,
    /// The languages of `report.html` (`--lang`), as BCP 47 tags in the
    /// page's order (`["en", "ur"]` for a bilingual report). Filled when
    /// the report is written; empty (and absent from JSON) before that,
    /// so a change of language does not refuse `--resume`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
}

/// Whether the scan examined everything.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunStatus {
    /// True when every file was read and hashed fully, every container was
    /// opened to its end, and nothing hit a limit.
    pub complete: bool,
    /// True when the scan was stopped (Ctrl-C) before the end.
    pub interrupted: bool,
    /// The exit status: 0 no hits, 1 hits, 2 incomplete.
    pub exit_code: u8,
}

/// Counts for one exhibit, or for all.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Files hashed (on disk and in containers).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files that matched a notable list.
    pub hits: u64,
    /// Files set aside as known (matched only known lists).
    pub known: u64,
    /// Files that matched nothing.
    pub unmatched: u64,
    /// Files with an error.
    pub errors: u64,
    /// Hit files per category (`scheme:code`; `uncategorised` when no
    /// matching list gives one). Each file counts once, under its strongest
    /// categorised match ([`strongest`]).
    pub by_category: BTreeMap<String, u64>,
}

/// Summary counts.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// All exhibits together.
    pub total: Counts,
    /// Per exhibit id.
    pub per_exhibit: BTreeMap<String, Counts>,
    /// Exclusions recorded.
    pub exclusions: u64,
    /// Exclusions that left evidence unexamined.
    pub incomplete_exclusions: u64,
    /// Exact-duplicate groups.
    pub duplicate_groups: u64,
    /// Near-duplicate groups.
    pub near_duplicate_groups: u64,
    /// Category labels from the scheme tables, for the keys used above.
    pub category_labels: BTreeMap<String, String>,
}

/// One item whose hashes are incomplete.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorEntry {
    /// The exhibit.
    pub exhibit: String,
    /// The item's path (readable form).
    pub path: String,
    /// The path's exact bytes in base64, only when they are not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
    /// Why.
    pub reason: String,
}

/// How strong a match is, strongest first: exact SHA-256, SHA-1, MD5,
/// then PDQ by distance.
pub fn strength(h: &crate::model::Hit) -> (u8, u32) {
    use nigehbaan_match::MatchKind;
    match h.match_kind {
        MatchKind::Pdq => (3, h.distance.unwrap_or(u32::MAX)),
        // A video: the larger share of its frames that matched is stronger.
        MatchKind::Vpdq => (
            4,
            h.video.as_ref().map_or(u32::MAX, |v| {
                (1000.0 - v.query_match_percent.clamp(0.0, 100.0) * 10.0) as u32
            }),
        ),
        k => (k.strength(), 0),
    }
}

/// An item's strongest notable match (the first of equals, in list
/// order); with `categorised`, its strongest that has a category, or else
/// its strongest.
pub fn strongest(it: &Item, categorised: bool) -> Option<&crate::model::Hit> {
    fn best<'a>(hs: impl Iterator<Item = &'a crate::model::Hit>) -> Option<&'a crate::model::Hit> {
        hs.fold(None, |b, h| match b {
            Some(b) if strength(b) <= strength(h) => Some(b),
            _ => Some(h),
        })
    }
    let notable = || {
        it.hits
            .iter()
            .filter(|h| h.status == nigehbaan_lists::Status::Notable)
    };
    let with_cat = if categorised {
        best(notable().filter(|h| h.category.is_some()))
    } else {
        None
    };
    with_cat.or_else(|| best(notable()))
}

/// The counts over items.
pub fn summarise(items: &[Item], exclusions: &[Exclusion], dup: usize, near: usize) -> Summary {
    let mut s = Summary::default();
    for it in items {
        s.add(it);
    }
    s.finish(exclusions, dup, near);
    s
}

impl Summary {
    /// Counts one item.
    pub fn add(&mut self, it: &Item) {
        let ex = self.per_exhibit.entry(it.exhibit.clone()).or_default();
        for c in [&mut self.total, ex] {
            c.files += 1;
            c.bytes += it.size.unwrap_or(0);
            c.errors += u64::from(it.error.is_some());
            match it.disposition {
                Disposition::Hit => c.hits += 1,
                Disposition::Known => c.known += 1,
                Disposition::Unmatched => c.unmatched += 1,
            }
            if it.disposition == Disposition::Hit {
                let key = strongest(it, true)
                    .and_then(|h| h.category.as_ref())
                    .map_or("uncategorised".into(), |c| c.key());
                *c.by_category.entry(key).or_default() += 1;
            }
        }
        for h in &it.hits {
            if let Some(c) = &h.category {
                if let Some(l) = &c.label {
                    self.category_labels.insert(c.key(), l.clone());
                }
            }
        }
    }

    /// Adds the counts that are not per item.
    pub fn finish(&mut self, exclusions: &[Exclusion], dup: usize, near: usize) {
        self.exclusions = exclusions.len() as u64;
        self.incomplete_exclusions = exclusions.iter().filter(|e| e.incomplete).count() as u64;
        self.duplicate_groups = dup as u64;
        self.near_duplicate_groups = near as u64;
    }
}

/// Passes bytes through while hashing them.
struct HashingWriter<W> {
    inner: W,
    sha: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a file through a temporary name, so that a reader never sees
/// half of it.
fn write_atomic(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        body(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

pub use csv::csv_cell;
pub use vics::{CASES_CONTEXT, FULL_PATH_BYTES};
