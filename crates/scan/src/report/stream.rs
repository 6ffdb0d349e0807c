//! Writing the report directory from items kept on disk, so that a scan's
//! memory stays bounded whatever its item count.
//!
//! Items arrive in any order and go to a [`Spill`] sorted by exhibit and
//! path. A first pass over them counts and collects compact keys (item
//! number with SHA-256, or with PDQ for images that may be grouped); the
//! groups are found from those keys. A second pass writes `report.json`,
//! setting aside, in order, the members of each group, the hits and the
//! errors; `hits.csv` and `report.html` are written from those while,
//! on a second thread, a third pass writes the VICS export. What stays in memory per item is
//! about 44 bytes of keys and group numbers.

use super::spill::{Spill, SpillError};
use super::{
    csv, files, html, vics, write_atomic, Custody, ErrorEntry, HashingWriter, Report, RunStatus,
    Settings, Summary, SCHEMA,
};
use crate::group::{self, Group};
use crate::model::{Disposition, Exclusion, Hex, Hit, Item};
use crate::{EXIT_CLEAN, EXIT_HITS, EXIT_INCOMPLETE};
use nigehbaan_pdq::Hash256;
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most items (or, beyond that, hits and errors) the [`Report`] a scan
/// returns holds in memory; `report.json` always holds them all.
pub const ITEMS_IN_MEMORY: usize = 10_000;

/// An item's place in the report: its exhibit (in the order given), its
/// path, its exact bytes.
type ItemKey = (u32, String, Option<String>);

/// The items of a scan, kept on disk in report order.
pub(crate) struct Items {
    spill: Spill<ItemKey, Item>,
    exhibits: Vec<String>,
    /// Bytes of records each spill of the report holds in memory.
    budget: usize,
}

impl Items {
    /// No items yet; runs go to `dir` (the report directory), each spill
    /// holding at most about `budget` bytes of records in memory.
    pub fn new(dir: &Path, exhibits: Vec<String>, budget: usize) -> Items {
        Items {
            spill: Spill::new(dir, "items", budget),
            exhibits,
            budget,
        }
    }

    /// Adds an item.
    pub fn push(&mut self, it: Item) {
        let ex = self.exhibits.iter().position(|e| *e == it.exhibit);
        let key = (
            ex.map_or(u32::MAX, |p| p as u32),
            it.path.clone(),
            it.path_bytes.clone(),
        );
        let bytes = approx_bytes(&it);
        self.spill.push(key, it, bytes);
    }

    /// Items so far.
    pub fn len(&self) -> u64 {
        self.spill.len()
    }
}

/// About the memory an item holds (its key included).
fn approx_bytes(it: &Item) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    std::mem::size_of::<Item>()
        + it.exhibit.len()
        + 2 * (it.path.len() + text(&it.path_bytes))
        + text(&it.modified)
        + text(&it.accessed)
        + text(&it.created)
        + text(&it.error)
        + it.notes.iter().map(String::len).sum::<usize>()
        + it.hits.len() * (std::mem::size_of::<Hit>() + 160)
        + it.vpdq_frames.len() * 100
}

/// What the report says besides its items.
pub(crate) struct Parts {
    /// The chain of custody.
    pub custody: Custody,
    /// How the scan was run.
    pub settings: Settings,
    /// What was not examined, or needs attention (sorted).
    pub exclusions: Vec<Exclusion>,
    /// The scan was stopped before its end.
    pub interrupted: bool,
    /// Every disk image opened.
    pub images: Vec<super::images::ImageRecord>,
    /// The languages of `report.html`.
    pub lang: super::Langs,
}

/// A report file that could not be written.
#[derive(Debug)]
pub struct ReportError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: io::Error,
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: cannot write: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn spilled(e: SpillError) -> io::Error {
    io::Error::other(e)
}

/// How long each pass of [`write_report`] took, in wall-clock and in the
/// CPU time of the thread that ran it (the scale test prints them).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Timings {
    /// Counting and grouping.
    pub count: Pass,
    /// `report.json` (and setting aside hits, groups and errors).
    pub json: Pass,
    /// `hits.csv`.
    pub csv: Pass,
    /// `report.html`.
    pub html: Pass,
    /// The VICS export (on a thread of its own, beside `hits.csv` and
    /// `report.html`).
    pub vics: Pass,
}

/// The time one pass took.
#[derive(Clone, Copy, Debug, Default)]
// Read by the scale test (`bench/report.sh`) only.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Pass {
    /// Wall-clock time.
    pub wall: Duration,
    /// CPU time (user and system) of the thread that ran it; zero where
    /// the system does not tell (Linux only).
    pub cpu: Duration,
}

/// A pass's start.
struct Clock(Instant, Duration);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), thread_cpu())
    }
    fn pass(&self) -> Pass {
        Pass {
            wall: self.0.elapsed(),
            cpu: thread_cpu().saturating_sub(self.1),
        }
    }
}

/// The calling thread's CPU time so far (Linux: `/proc/thread-self/stat`,
/// in clock ticks taken as 1/100 s); zero elsewhere.
fn thread_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces).
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split(' ').collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        });
    Duration::from_millis(ticks.unwrap_or(0) * 10)
}

/// Writes every file of the report into `dir` and returns the report as
/// the caller gets it (every item when there are at most
/// [`ITEMS_IN_MEMORY`], else only hits: see [`Report::partial`]) with the
/// SHA-256 of `report.json`.
pub(crate) fn write_report(
    dir: &Path,
    items: Items,
    parts: Parts,
) -> Result<(Report, String), ReportError> {
    write_report_timed(dir, items, parts, &mut Timings::default())
}

/// [`write_report`], recording how long each pass took in `t`.
pub(crate) fn write_report_timed(
    dir: &Path,
    mut items: Items,
    parts: Parts,
    t: &mut Timings,
) -> Result<(Report, String), ReportError> {
    let clock = Clock::start();
    items.spill.finish();
    let spill = &items.spill;
    let n_items = spill.len() as usize;
    let matching = parts.settings.matching;
    let at = |name: &str| dir.join(name);
    let fail = |name: &str| {
        let path = at(name);
        move |source| ReportError { path, source }
    };

    // Pass 1: the counts, and the keys the groups are found from.
    let mut summary = Summary::default();
    let mut sha_keys: Vec<(Hex<32>, u32)> = Vec::new();
    let mut pdq_keys: Vec<(Hash256, u32)> = Vec::new();
    let mut video_keys = group::VideoKeys::new(group::VIDEO_GROUP_FRAMES);
    let mut errors = 0u64;
    let mut merge = spill.iter().map_err(|e| fail(files::JSON)(spilled(e)))?;
    for (n, (_, it)) in (&mut merge).enumerate() {
        summary.add(&it);
        errors += u64::from(it.error.is_some());
        if let Some(h) = it.sha256 {
            sha_keys.push((h, n as u32));
        }
        let groupable = it.disposition == Disposition::Unmatched
            && it.pdq_quality.unwrap_or(0) >= matching.min_quality;
        if let (true, Some(p)) = (groupable, it.pdq) {
            pdq_keys.push((Hash256::from_bytes(&p.0), n as u32));
        }
        if group::video_groupable(&it) {
            video_keys.push(n as u32, &it.vpdq_frames);
        }
    }
    merge.check().map_err(|e| fail(files::JSON)(spilled(e)))?;
    drop(merge);
    let sets = group::exact_sets(&mut sha_keys);
    drop(sha_keys);
    let dup_of = group::numbering(n_items, &sets);
    let n_dup = sets.len();
    drop(sets);
    let image_sets = group::near_sets(&pdq_keys, matching.threshold);
    drop(pdq_keys);
    let video_sets = parts.settings.video.as_ref().map_or_else(Vec::new, |v| {
        group::video_sets(&video_keys, &v.group_options())
    });
    let (sets, near_pairs) = group::merge_near(image_sets, video_sets);
    let near_of = group::numbering(n_items, &sets);
    let n_near = sets.len();
    drop(sets);

    let Parts {
        custody,
        mut settings,
        exclusions,
        interrupted,
        images,
        lang,
    } = parts;
    settings.languages = lang.list().iter().map(|l| l.tag().to_string()).collect();
    summary.finish(&exclusions, n_dup, n_near);
    let complete = !interrupted && errors == 0 && !exclusions.iter().any(|e| e.incomplete);
    let exit_code = if !complete {
        EXIT_INCOMPLETE
    } else if summary.total.hits > 0 {
        EXIT_HITS
    } else {
        EXIT_CLEAN
    };
    let small = n_items <= ITEMS_IN_MEMORY;
    let mut report = Report {
        schema: SCHEMA.into(),
        custody,
        settings,
        status: RunStatus {
            complete,
            interrupted,
            exit_code,
        },
        summary,
        images,
        items: Vec::new(),
        duplicate_groups: Vec::new(),
        near_duplicate_groups: Vec::new(),
        exclusions,
        errors: Vec::new(),
        partial: !small,
    };

    t.count = clock.pass();
    let clock = Clock::start();

    // Pass 2: report.json; group members, hits and errors set aside.
    let budget = items.budget;
    let mut dups: Spill<(u32, u32), Item> = Spill::new(dir, "dups", budget);
    let mut near: Spill<(u32, u32), String> = Spill::new(dir, "near", budget);
    let mut hits: Spill<u32, Item> = Spill::new(dir, "hits", budget);
    let mut errs: Spill<u32, ErrorEntry> = Spill::new(dir, "errors", budget);
    let mut digest = String::new();
    write_atomic(&at(files::JSON), |w| {
        // Buffered in front of the hashing, so that SHA-256 is fed large
        // blocks rather than every small piece serde writes.
        let mut h = io::BufWriter::with_capacity(
            1 << 16,
            HashingWriter {
                inner: w,
                sha: Sha256::new(),
            },
        );
        write_head(&mut h, &report)?;
        let mut merge = spill.iter().map_err(spilled)?;
        for (n, (_, mut it)) in (&mut merge).enumerate() {
            it.duplicate_group = Some(dup_of[n]).filter(|&g| g > 0);
            it.near_group = Some(near_of[n]).filter(|&g| g > 0);
            it.vpdq_frames = Vec::new();
            if video_keys.was_left_out(n as u32) {
                it.notes.push(group::LEFT_OUT_NOTE.into());
            }
            h.write_all(if n == 0 { &b"\n"[..] } else { &b",\n"[..] })?;
            serde_json::to_writer(&mut h, &it)?;
            let at = n as u32;
            if let Some(g) = it.duplicate_group {
                dups.push((g, at), it.clone(), approx_bytes(&it));
            }
            if let Some(g) = it.near_group {
                let l = group::label(&it);
                near.push((g, at), l.clone(), l.len());
            }
            if let Some(reason) = &it.error {
                let e = ErrorEntry {
                    exhibit: it.exhibit.clone(),
                    path: it.path.clone(),
                    path_bytes: it.path_bytes.clone(),
                    reason: reason.clone(),
                };
                errs.push(at, e, reason.len() + it.path.len() + 64);
            }
            let hit = it.disposition == Disposition::Hit;
            if hit {
                hits.push(at, it.clone(), approx_bytes(&it));
            }
            if small || (hit && report.items.len() < ITEMS_IN_MEMORY) {
                report.items.push(it);
            }
        }
        merge.check().map_err(spilled)?;
        drop(merge);
        for s in [
            &mut dups as &mut dyn Finish,
            &mut near,
            &mut hits,
            &mut errs,
        ] {
            s.finish_spill();
        }
        h.write_all(b"\n],\n\"duplicate_groups\": [")?;
        let mut m = dups.iter().map_err(spilled)?;
        let keep = small.then_some(&mut report.duplicate_groups);
        write_groups(
            &mut h,
            (&mut m).map(|((g, _), it)| (g, group::label(&it), it.sha256)),
            keep,
            None,
        )?;
        m.check().map_err(spilled)?;
        h.write_all(b"],\n\"near_duplicate_groups\": [")?;
        let mut m = near.iter().map_err(spilled)?;
        let keep = small.then_some(&mut report.near_duplicate_groups);
        write_groups(
            &mut h,
            (&mut m).map(|((g, _), l)| (g, l, None)),
            keep,
            Some(&near_pairs),
        )?;
        m.check().map_err(spilled)?;
        h.write_all(b"],\n\"exclusions\": ")?;
        serde_json::to_writer_pretty(&mut h, &report.exclusions)?;
        h.write_all(b",\n\"errors\": [")?;
        let mut m = errs.iter().map_err(spilled)?;
        for (i, (_, e)) in (&mut m).enumerate() {
            h.write_all(if i == 0 { &b"\n"[..] } else { &b",\n"[..] })?;
            serde_json::to_writer(&mut h, &e)?;
            if report.errors.len() < ITEMS_IN_MEMORY {
                report.errors.push(e);
            }
        }
        m.check().map_err(spilled)?;
        h.write_all(b"\n]\n}\n")?;
        let h = h.into_inner().map_err(|e| e.into_error())?;
        digest = nigehbaan_pdq::hex::encode(&h.sha.finalize());
        Ok(())
    })
    .map_err(fail(files::JSON))?;

    let line = format!("{digest}  {}\n", files::JSON);
    write_atomic(&at(files::JSON_SHA256), |w| w.write_all(line.as_bytes()))
        .map_err(fail(files::JSON_SHA256))?;
    t.json = clock.pass();

    // Pass 3: hits.csv and report.html read the spills set aside; VICS reads the
    // items again: the two run side by side.
    let (left, right) = std::thread::scope(|scope| {
        let vics = scope.spawn(|| {
            let clock = Clock::start();
            write_vics(&at(files::VICS), &report.custody, spill, &dup_of, &dups)
                .map_err(fail(files::VICS))?;
            Ok::<_, ReportError>(clock.pass())
        });
        let clock = Clock::start();
        let left = (|| {
            write_atomic(&at(files::HITS_CSV), |w| {
                w.write_all(csv::header().as_bytes())?;
                let mut m = hits.iter().map_err(spilled)?;
                for (_, it) in &mut m {
                    w.write_all(csv::rows(&it).as_bytes())?;
                }
                m.check().map_err(spilled)
            })
            .map_err(fail(files::HITS_CSV))?;
            let csv = clock.pass();
            let clock = Clock::start();
            write_atomic(&at(files::HTML), |w| {
                let rows = SpillRows {
                    hits: &hits,
                    errors: &errs,
                    duplicates: &dups,
                    near: &near,
                };
                html::write(w, &report, &digest, &lang, &rows)
            })
            .map_err(fail(files::HTML))?;
            Ok::<_, ReportError>((csv, clock.pass()))
        })();
        let right = vics.join().unwrap_or_else(|_| {
            Err(ReportError {
                path: at(files::VICS),
                source: io::Error::other("the VICS writer failed"),
            })
        });
        (left, right)
    });
    (t.csv, t.html) = left?;
    t.vics = right?;
    Ok((report, digest))
}

/// The VICS export, one Media per content, in the order of its first
/// file (`dup_of`: each item's exact-duplicate group; `dups`: the groups'
/// members, by group).
fn write_vics(
    path: &Path,
    custody: &Custody,
    spill: &Spill<ItemKey, Item>,
    dup_of: &[u32],
    dups: &Spill<(u32, u32), Item>,
) -> io::Result<()> {
    write_atomic(path, |w| {
        vics::write_head(custody, w)?;
        let mut members = dups.iter().map_err(spilled)?;
        let mut merge = spill.iter().map_err(spilled)?;
        let (mut media, mut next_group) = (0usize, 1u32);
        for (n, (_, it)) in (&mut merge).enumerate() {
            match dup_of[n] {
                0 => {
                    media += 1;
                    vics::write_media(w, media, std::iter::once(it))?;
                }
                g if g == next_group => {
                    next_group += 1;
                    media += 1;
                    let files = std::iter::from_fn(|| {
                        // Members are sorted by group: take this group's.
                        members.peek_key().filter(|k| k.0 == g)?;
                        members.next().map(|(_, it)| it)
                    });
                    vics::write_media(w, media, files)?;
                }
                _ => {}
            }
        }
        merge.check().map_err(spilled)?;
        members.check().map_err(spilled)?;
        vics::write_tail(w)
    })
}

/// The rows `report.html` lists, read from the spills.
struct SpillRows<'a> {
    hits: &'a Spill<u32, Item>,
    errors: &'a Spill<u32, ErrorEntry>,
    duplicates: &'a Spill<(u32, u32), Item>,
    near: &'a Spill<(u32, u32), String>,
}

/// Calls `f` with every record of `spill` in order, then checks that the
/// spill was read whole.
fn each<K, T, U>(
    spill: &Spill<K, T>,
    f: &mut dyn FnMut(U) -> io::Result<()>,
    map: impl Fn(K, T) -> U,
) -> io::Result<()>
where
    K: Ord + serde::Serialize + serde::de::DeserializeOwned + Clone,
    T: serde::Serialize + serde::de::DeserializeOwned + Clone,
{
    let mut m = spill.iter().map_err(spilled)?;
    for (k, t) in &mut m {
        f(map(k, t))?;
    }
    m.check().map_err(spilled)
}

impl html::Rows for SpillRows<'_> {
    fn hits(&self, f: &mut dyn FnMut(Item) -> io::Result<()>) -> io::Result<()> {
        each(self.hits, f, |_, it| it)
    }
    fn errors(&self, f: &mut dyn FnMut(ErrorEntry) -> io::Result<()>) -> io::Result<()> {
        each(self.errors, f, |_, e| e)
    }
    fn duplicates(&self, f: &mut dyn FnMut(u32, Item) -> io::Result<()>) -> io::Result<()> {
        each(self.duplicates, &mut |(g, it)| f(g, it), |(g, _), it| {
            (g, it)
        })
    }
    fn near(&self, f: &mut dyn FnMut(u32, String) -> io::Result<()>) -> io::Result<()> {
        each(self.near, &mut |(g, l)| f(g, l), |(g, _), l| (g, l))
    }
}

/// Spills of different types, finished alike.
trait Finish {
    fn finish_spill(&mut self);
}

impl<K, T> Finish for Spill<K, T>
where
    K: Ord + serde::Serialize + serde::de::DeserializeOwned + Clone,
    T: serde::Serialize + serde::de::DeserializeOwned + Clone,
{
    fn finish_spill(&mut self) {
        self.finish();
    }
}

/// `{` and every field before `items`, then `"items": [`.
fn write_head(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Head<'a> {
        schema: &'a str,
        custody: &'a Custody,
        settings: &'a Settings,
        status: &'a RunStatus,
        summary: &'a Summary,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        images: &'a [super::images::ImageRecord],
    }
    let head = serde_json::to_vec_pretty(&Head {
        schema: &r.schema,
        custody: &r.custody,
        settings: &r.settings,
        status: &r.status,
        summary: &r.summary,
        images: &r.images,
    })?;
    let open = head.strip_suffix(b"}").unwrap_or(&head);
    let open = open.trim_ascii_end();
    w.write_all(open)?;
    w.write_all(b",\n  \"items\": [")
}

/// The groups of `members` — (group, label, SHA-256), sorted by group and
/// then item — as JSON objects; kept in `keep` too when given. Near
/// groups (`near`: per group, its video pairs or `None` for images) also
/// get their kind and pairs.
fn write_groups(
    w: &mut dyn Write,
    members: impl Iterator<Item = (u32, String, Option<Hex<32>>)>,
    mut keep: Option<&mut Vec<Group>>,
    near: Option<&[Option<Vec<group::VideoPair>>]>,
) -> io::Result<()> {
    let mut current = 0u32;
    for (g, label, sha) in members {
        let text = serde_json::to_string(&label)?;
        if g != current {
            if current != 0 {
                w.write_all(b"]},\n")?;
            } else {
                w.write_all(b"\n")?;
            }
            current = g;
            let sha = sha.map(|h| h.to_string());
            write!(w, "{{\"id\":{g},")?;
            if let Some(s) = &sha {
                write!(w, "\"sha256\":\"{s}\",")?;
            }
            let (kind, pairs) = group::near_kind(near, g);
            if let Some(kind) = kind {
                write!(w, "\"kind\":{},", serde_json::to_string(&kind)?)?;
            }
            if !pairs.is_empty() {
                write!(w, "\"pairs\":{},", serde_json::to_string(&pairs)?)?;
            }
            write!(w, "\"representative\":{text},\"members\":[{text}")?;
            if let Some(k) = keep.as_deref_mut() {
                k.push(Group {
                    id: g,
                    sha256: sha,
                    representative: label.clone(),
                    members: vec![label],
                    kind,
                    pairs,
                });
            }
        } else {
            write!(w, ",{text}")?;
            if let Some(last) = keep.as_deref_mut().and_then(|k| k.last_mut()) {
                last.members.push(label);
            }
        }
    }
    if current != 0 {
        w.write_all(b"]}\n")?;
    }
    Ok(())
}
