//! The scan itself: one thread walks the evidence and opens containers,
//! workers hash and match in parallel, and this thread collects results,
//! writing each to the checkpoint as it arrives.
//!
//! Memory stays bounded: files on disk are streamed by the workers (images
//! up to the decode limit are read whole), container entries travel as
//! in-memory buffers under a byte budget, the job queue is bounded, and
//! finished items go to disk in sorted runs ([`Items`]).

use crate::archive::{detect, Container, Data, Entry, Expander, Source, Stop, DETECT_BYTES};
use crate::checkpoint::Checkpoint;
use crate::evidence::{display, open_read_only, walk, FoundFile, Times};
use crate::matcher::match_file;
use crate::model::ExclusionKind;
use crate::model::{split_name, Exclusion, Hex, Item};
use crate::report::Items;
use crate::video::Held;
use crate::{Progress, ScanConfig};
use crossbeam_channel::{bounded, Receiver, Sender};
use nigehbaan_filehash::{hash_bytes_with, hash_open_file_with, FileError, FileHashes, ImageMemo};
use nigehbaan_lists::library::OpenList;
use nigehbaan_pdq::Hasher;
use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// What a worker is handed.
struct Job {
    exhibit: u32,
    path: String,
    depth: u32,
    times: Times,
    data: JobData,
    /// Bytes of the budget this job holds.
    held: u64,
    /// What a disk image's file system says about it.
    extra: Extra,
    /// The file's path on disk (files of the evidence only): a video that
    /// cannot be read as a stream is opened by it.
    disk_path: Option<std::path::PathBuf>,
}

/// Item details only files inside disk images have.
#[derive(Default)]
struct Extra {
    deleted: bool,
    recovery: Option<&'static str>,
    notes: Vec<String>,
}

enum JobData {
    File(std::fs::File),
    Bytes(Arc<[u8]>),
    Lazy {
        size: u64,
        read: crate::archive::LazyRead,
    },
    Digested {
        digests: nigehbaan_filehash::Digests,
        size: u64,
        image: bool,
    },
    /// A file inside a disk image: read whole when it fits in memory,
    /// otherwise digested as a stream.
    Reader(Box<dyn nigehbaan_disk::ReadAt>),
    /// A disk image examined file system by file system, not digested as a
    /// whole (only `--verify-image` reads every byte of it): its item
    /// carries its size and a note saying so.
    NotDigested {
        size: u64,
    },
}

/// How many pictures a scan remembers by SHA-256 so that a second copy
/// (a deleted picture carved again from the space it left, a copy in
/// another folder) is not decoded again: ~400 bytes each, ~26 MB in all.
const MEMO_PICTURES: usize = 1 << 16;

/// The note on a disk image's own item when it was not digested as a whole.
pub(crate) const IMAGE_NOT_DIGESTED: &str =
    "disk image: examined partition by partition and file by \
     file (see the images section); the image itself was not digested as a whole \
     (--verify-image digests it and checks the hashes it stores)";

/// A cap on the bytes of container entries in flight.
struct Budget {
    used: Mutex<u64>,
    freed: Condvar,
    cap: u64,
}

impl Budget {
    /// Waits until `n` bytes fit (a job larger than the cap waits until
    /// nothing else is in flight); returns what was taken.
    fn take(&self, n: u64) -> u64 {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        while *used > 0 && *used + n > self.cap {
            used = self.freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used += n;
        n
    }

    fn give(&self, n: u64) {
        if n == 0 {
            return;
        }
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        *used = used.saturating_sub(n);
        self.freed.notify_all();
    }
}

/// The key of an item for `--resume` (`path` is a lossless name: see
/// [`crate::model::raw_name`]).
pub(crate) fn done_key(exhibit: &str, path: &str) -> String {
    format!("{exhibit}\u{0}{path}")
}

/// What a run produced before the report is assembled.
pub(crate) struct Collected {
    /// Every item, kept on disk in report order.
    pub items: Items,
    pub exclusions: Vec<Exclusion>,
    pub interrupted: bool,
    /// Per exhibit: files on disk and their bytes.
    pub exhibit_files: Vec<(u64, u64)>,
    /// Every disk image opened.
    pub images: Vec<crate::report::images::ImageRecord>,
    /// Their chain-of-custody records.
    pub image_custody: Vec<crate::report::images::ImageCustody>,
}

/// Bytes of finished items (and of each list the report is built from)
/// held in memory before they go to disk: a 64th of the scan's memory
/// budget, between 1 MiB and 16 MiB.
fn spill_budget(memory_budget: u64) -> usize {
    (memory_budget / 64).clamp(1 << 20, 16 << 20) as usize
}

/// Runs the walk, the workers and the collection.
pub(crate) fn run(
    cfg: &ScanConfig,
    lists: &[OpenList],
    progress: &Progress,
    cancel: &AtomicBool,
    checkpoint: &mut Checkpoint,
    resumed: Vec<Item>,
) -> Collected {
    let done: HashSet<String> = resumed
        .iter()
        .map(|i| done_key(&i.exhibit, &i.raw_path()))
        .collect();
    let mut items = Items::new(
        &cfg.out_dir,
        cfg.exhibits.iter().map(|e| e.id.clone()).collect(),
        spill_budget(cfg.memory_budget),
    );
    for it in resumed {
        items.push(it);
    }
    let (files, mut exclusions) = walk(&cfg.exhibits, cfg.follow_symlinks);
    let mut exhibit_files = vec![(0u64, 0u64); cfg.exhibits.len()];
    for f in &files {
        let e = &mut exhibit_files[f.exhibit as usize];
        e.0 += 1;
        e.1 += f.size;
    }
    progress
        .total_bytes
        .store(files.iter().map(|f| f.size).sum(), Ordering::Relaxed);
    progress
        .total_files
        .store(files.len() as u64, Ordering::Relaxed);
    progress.files_done.store(items.len(), Ordering::Relaxed);

    let threads = cfg.threads.max(1);
    let (job_tx, job_rx) = bounded::<Job>(threads * 8);
    // Bounded: when writing items to disk falls behind, the workers wait
    // instead of piling finished items up in memory.
    let (res_tx, res_rx) = bounded::<Item>(threads * 64);
    let budget = Budget {
        used: Mutex::new(0),
        freed: Condvar::new(),
        cap: cfg.memory_budget.max(1),
    };
    let ids: Vec<&str> = cfg.exhibits.iter().map(|e| e.id.as_str()).collect();
    let memo = ImageMemo::new(MEMO_PICTURES);

    let walked = std::thread::scope(|s| {
        for _ in 0..threads {
            let rx = job_rx.clone();
            let tx = res_tx.clone();
            let (budget, ids, memo) = (&budget, &ids, &memo);
            s.spawn(move || worker(cfg, lists, rx, tx, budget, ids, cancel, memo));
        }
        drop(job_rx);
        drop(res_tx);
        let walker = {
            let (budget, ids, done) = (&budget, &ids, &done);
            let files = &files;
            s.spawn(move || walk_jobs(cfg, files, job_tx, budget, ids, done, cancel, progress))
        };
        for item in res_rx.iter() {
            progress.files_done.fetch_add(1, Ordering::Relaxed);
            progress.hashed.fetch_add(1, Ordering::Relaxed);
            progress
                .video_ms
                .fetch_add(item.video_ms, Ordering::Relaxed);
            if item.disposition == crate::model::Disposition::Hit {
                progress.hits.fetch_add(1, Ordering::Relaxed);
            }
            checkpoint.append(&item);
            items.push(item);
        }
        walker.join()
    });
    let interrupted = cancel.load(Ordering::Relaxed);
    let (mut images, mut image_custody) = (Vec::new(), Vec::new());
    match walked {
        Ok(w) => {
            exclusions.extend(w.exclusions);
            images = w.images;
            image_custody = w.image_custody;
        }
        Err(_) => exclusions.push(Exclusion {
            exhibit: String::new(),
            path: String::new(),
            kind: ExclusionKind::InternalError,
            reason: "the evidence walker stopped unexpectedly; the scan is incomplete".into(),
            incomplete: true,
            hashed: false,
        }),
    }
    Collected {
        items,
        exclusions,
        interrupted,
        exhibit_files,
        images,
        image_custody,
    }
}

/// What the walk found besides jobs.
#[derive(Default)]
struct Walked {
    exclusions: Vec<Exclusion>,
    images: Vec<crate::report::images::ImageRecord>,
    image_custody: Vec<crate::report::images::ImageCustody>,
}

#[allow(clippy::too_many_arguments)]
fn walk_jobs(
    cfg: &ScanConfig,
    files: &[FoundFile],
    tx: Sender<Job>,
    budget: &Budget,
    ids: &[&str],
    done: &HashSet<String>,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Walked {
    let mut walked = Walked::default();
    let exclusions = &mut walked.exclusions;
    let send = |job: Job| {
        // The workers hold the receiver until the channel closes; a failed
        // send only happens if they all stopped, and then nothing is lost
        // that the report does not already show as missing.
        let _ = tx.send(job);
    };
    for f in files {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let exhibit = ids[f.exhibit as usize];
        let path = display(&f.path);
        let is_done = done.contains(&done_key(exhibit, &path));
        let unreadable = |e: std::io::Error| Exclusion {
            exhibit: exhibit.to_string(),
            path: path.clone(),
            kind: ExclusionKind::Unreadable,
            reason: format!("cannot read: {e}"),
            incomplete: true,
            hashed: false,
        };
        let mut file = match open_read_only(&f.path, !f.direct) {
            Ok(file) => file,
            Err(e) => {
                exclusions.push(unreadable(e));
                progress.bytes_done.fetch_add(f.size, Ordering::Relaxed);
                continue;
            }
        };
        let mut head = Vec::with_capacity(DETECT_BYTES);
        if let Err(e) = (&mut file).take(DETECT_BYTES as u64).read_to_end(&mut head) {
            exclusions.push(unreadable(e));
            progress.bytes_done.fetch_add(f.size, Ordering::Relaxed);
            continue;
        }
        let kind = detect(&head);
        let job = |data: JobData, held: u64| Job {
            exhibit: f.exhibit,
            path: path.clone(),
            depth: 0,
            times: f.times.clone(),
            data,
            held,
            extra: Extra::default(),
            disk_path: Some(f.path.clone()),
        };
        match kind {
            None if crate::image::supported(&head) => {
                let ctx = crate::image::Examine {
                    exhibit,
                    path: &path,
                    carve: cfg.carve,
                    cancel,
                    head: &head,
                    verify: cfg.verify_image,
                };
                // Archives inside the image are opened like archives on
                // disk; what the scan does not open (a video, a nested disk
                // image, an archive too large to hold) is named, never
                // passed over in silence.
                let mut inner_excluded: Vec<Exclusion> = Vec::new();
                let mut emit = |d: crate::image::DiskFile| {
                    disk_file(
                        cfg,
                        f.exhibit,
                        exhibit,
                        d,
                        &tx,
                        budget,
                        done,
                        cancel,
                        &mut inner_excluded,
                    )
                };
                let found = crate::image::examine(&ctx, &f.path, &mut emit);
                if !is_done {
                    if found.opened && !cfg.verify_image {
                        // What the image holds was examined, file by file;
                        // digesting the whole image is verification
                        // (`--verify-image`), which the examiner asks for.
                        // An image that could not be opened is digested
                        // like any other file.
                        let mut j = job(JobData::NotDigested { size: f.size }, 0);
                        j.extra.notes.push(IMAGE_NOT_DIGESTED.to_string());
                        send(j);
                    } else if let Err(e) = file.seek(SeekFrom::Start(0)) {
                        exclusions.push(unreadable(e));
                    } else {
                        send(job(JobData::File(file), 0));
                    }
                }
                exclusions.extend(found.exclusions);
                exclusions.append(&mut inner_excluded);
                walked.images.extend(found.record);
                walked.image_custody.extend(found.custody);
            }
            None => {
                // Disk images and videos: hashed, but what they hold is not
                // examined (see `opaque`).
                exclusions.extend(crate::opaque::exclusion(
                    &head,
                    cfg.hash.pdq,
                    exhibit,
                    &path,
                ));
                if !is_done {
                    if let Err(e) = file.seek(SeekFrom::Start(0)) {
                        exclusions.push(unreadable(e));
                    } else {
                        send(job(JobData::File(file), 0));
                    }
                }
            }
            Some(kind) => {
                let in_memory = f.size <= cfg.limits.max_in_memory;
                let mut whole: Option<Arc<[u8]>> = None;
                if in_memory {
                    let mut bytes = head.clone();
                    match file.read_to_end(&mut bytes) {
                        Ok(_) => whole = Some(bytes.into()),
                        Err(e) => {
                            exclusions.push(unreadable(e));
                            progress.bytes_done.fetch_add(f.size, Ordering::Relaxed);
                            continue;
                        }
                    }
                }
                if !is_done {
                    match &whole {
                        Some(b) => {
                            let held = budget.take(b.len() as u64);
                            send(job(JobData::Bytes(b.clone()), held));
                        }
                        None => match open_read_only(&f.path, !f.direct) {
                            Ok(again) => send(job(JobData::File(again), 0)),
                            Err(e) => exclusions.push(unreadable(e)),
                        },
                    }
                }
                let stop = expand(
                    cfg, kind, exhibit, f, &path, whole, file, &tx, budget, done, cancel,
                    exclusions,
                );
                if stop == Err(Stop::Cancelled) {
                    break;
                }
            }
        }
        progress.bytes_done.fetch_add(f.size, Ordering::Relaxed);
    }
    walked
}

/// The job for an entry a container gave; `depth` is added to its own
/// (the depth of the container's file).
fn entry_job(e: Entry, exhibit: u32, depth: u32, budget: &Budget) -> Job {
    let (data, held) = match e.data {
        Data::Bytes(b) => {
            let held = budget.take(b.len() as u64);
            (JobData::Bytes(b), held)
        }
        Data::Lazy { size, read } => {
            let held = budget.take(size);
            (JobData::Lazy { size, read }, held)
        }
        Data::Digested {
            digests,
            size,
            image,
        } => (
            JobData::Digested {
                digests,
                size,
                image,
            },
            0,
        ),
    };
    Job {
        exhibit,
        path: e.path,
        depth: e.depth + depth,
        times: Times {
            modified: e.modified,
            ..Times::default()
        },
        data,
        held,
        extra: Extra::default(),
        disk_path: None,
    }
}

/// Sends the job for a file found in a disk image, and opens it when it is
/// an archive small enough to hold (its entries continue the path chain:
/// `img.E01!p1:fat16/a.zip!b.jpg`). What is not opened is recorded in
/// `excluded`.
#[allow(clippy::too_many_arguments)]
fn disk_file(
    cfg: &ScanConfig,
    exhibit_ix: u32,
    exhibit: &str,
    d: crate::image::DiskFile,
    tx: &Sender<Job>,
    budget: &Budget,
    done: &HashSet<String>,
    cancel: &AtomicBool,
    excluded: &mut Vec<Exclusion>,
) {
    let is_done = done.contains(&done_key(exhibit, &d.path));
    let size = d.reader.len();
    let mut inner_head = vec![0u8; DETECT_BYTES.min(size as usize)];
    let head_ok = d.reader.read_exact_at(0, &mut inner_head).is_ok();
    let archive = if head_ok { detect(&inner_head) } else { None };
    if head_ok && archive.is_none() {
        let note = if size <= cfg.limits.max_in_memory {
            crate::opaque::exclusion
        } else {
            crate::opaque::exclusion_unheld
        };
        excluded.extend(note(&inner_head, cfg.hash.pdq, exhibit, &d.path));
    }
    let extra = Extra {
        deleted: d.deleted,
        recovery: d.recovery,
        notes: d.notes,
    };
    let job = |data: JobData, held: u64, extra: Extra, path: String| Job {
        exhibit: exhibit_ix,
        path,
        depth: 1,
        times: d.times.clone(),
        data,
        held,
        extra,
        disk_path: None,
    };
    let Some(kind) = archive else {
        if !is_done {
            let held = if size <= cfg.limits.max_in_memory {
                budget.take(size)
            } else {
                0
            };
            let _ = tx.send(job(JobData::Reader(d.reader), held, extra, d.path));
        }
        return;
    };
    let whole = (size <= cfg.limits.max_in_memory)
        .then(|| crate::image::read_all(&*d.reader))
        .and_then(Result::ok);
    let Some(bytes) = whole else {
        excluded.push(Exclusion {
            exhibit: exhibit.to_string(),
            path: d.path.clone(),
            kind: ExclusionKind::ArchiveInDiskImage,
            reason: format!(
                "an archive inside a disk image larger than {} bytes (or unreadable) is hashed \
                 and matched as a file, but its entries are not opened",
                cfg.limits.max_in_memory
            ),
            incomplete: true,
            hashed: true,
        });
        if !is_done {
            let _ = tx.send(job(JobData::Reader(d.reader), 0, extra, d.path));
        }
        return;
    };
    let bytes: Arc<[u8]> = bytes.into();
    if !is_done {
        let held = budget.take(size);
        let _ = tx.send(job(
            JobData::Bytes(bytes.clone()),
            held,
            extra,
            d.path.clone(),
        ));
    }
    let skip = |p: &str| done.contains(&done_key(exhibit, p));
    let emit = |e: Entry| {
        let _ = tx.send(entry_job(e, exhibit_ix, 1, budget));
    };
    let mut ex = Expander::new(cfg.limits, exhibit, cancel, skip, emit).pdq(cfg.hash.pdq);
    let _ = ex.expand_file(kind, Source::Mem(bytes), &d.path, size);
    excluded.append(&mut ex.exclusions);
}

#[allow(clippy::too_many_arguments)]
fn expand(
    cfg: &ScanConfig,
    kind: Container,
    exhibit: &str,
    f: &FoundFile,
    path: &str,
    whole: Option<Arc<[u8]>>,
    mut file: std::fs::File,
    tx: &Sender<Job>,
    budget: &Budget,
    done: &HashSet<String>,
    cancel: &AtomicBool,
    exclusions: &mut Vec<Exclusion>,
) -> Result<(), Stop> {
    let skip = |p: &str| done.contains(&done_key(exhibit, p));
    let emit = |e: Entry| {
        let _ = tx.send(entry_job(e, f.exhibit, 0, budget));
    };
    let mut ex = Expander::new(cfg.limits, exhibit, cancel, skip, emit).pdq(cfg.hash.pdq);
    let src = match whole {
        Some(b) => Source::Mem(b),
        None => match file.seek(SeekFrom::Start(0)) {
            Ok(_) => Source::File(file),
            Err(e) => {
                exclusions.push(Exclusion {
                    exhibit: exhibit.to_string(),
                    path: path.to_string(),
                    kind: ExclusionKind::Unreadable,
                    reason: format!("cannot read: {e}"),
                    incomplete: true,
                    hashed: true,
                });
                return Ok(());
            }
        },
    };
    let r = ex.expand_file(kind, src, path, f.size);
    exclusions.append(&mut ex.exclusions);
    r
}

#[allow(clippy::too_many_arguments)]
fn worker(
    cfg: &ScanConfig,
    lists: &[OpenList],
    rx: Receiver<Job>,
    tx: Sender<Item>,
    budget: &Budget,
    ids: &[&str],
    cancel: &AtomicBool,
    memo: &ImageMemo,
) {
    let mut hasher = Hasher::new();
    for job in rx.iter() {
        if cancel.load(Ordering::Relaxed) {
            budget.give(job.held);
            continue;
        }
        let held = job.held;
        let (exhibit, path, depth) = (job.exhibit, job.path.clone(), job.depth);
        // A panic here would be a bug in a decoder; contain it to this file.
        let item = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hash_job(cfg, lists, job, &mut hasher, ids, memo)
        }));
        budget.give(held);
        let item = item.unwrap_or_else(|_| {
            hasher = Hasher::new();
            failed_item(ids[exhibit as usize], path, depth)
        });
        let _ = tx.send(item);
    }
}

fn hash_job(
    cfg: &ScanConfig,
    lists: &[OpenList],
    job: Job,
    hasher: &mut Hasher,
    ids: &[&str],
    memo: &ImageMemo,
) -> Item {
    let pdq_on = cfg.hash.pdq;
    let mut video: Option<Held> = None;
    let mut held_bytes = |b: &Arc<[u8]>| {
        if crate::video::wanted(pdq_on, b) {
            video = Some(Held::Bytes(b.clone()));
        }
    };
    let h: FileHashes = match job.data {
        JobData::File(file) => {
            video = crate::video::held_file(pdq_on, &file, job.disk_path.as_deref());
            hash_open_file_with(file, &cfg.hash, hasher, Some(memo))
        }
        JobData::Bytes(b) => {
            held_bytes(&b);
            hash_bytes_with(&b, &cfg.hash, hasher, Some(memo))
        }
        JobData::Lazy { size, read } => match read() {
            Ok(b) => {
                let b: Arc<[u8]> = b.into();
                held_bytes(&b);
                hash_bytes_with(&b, &cfg.hash, hasher, Some(memo))
            }
            Err(why) => FileHashes {
                size: Some(size),
                digests: None,
                image: None,
                error: Some(FileError::Read(why.to_string())),
            },
        },
        JobData::Digested {
            digests,
            size,
            image,
        } => FileHashes {
            size: Some(size),
            digests: Some(digests),
            image: None,
            error: image.then_some(FileError::ImageTooBig(size)),
        },
        JobData::Reader(r) => hash_reader(&*r, cfg, hasher, memo, &mut held_bytes),
        JobData::NotDigested { size } => FileHashes {
            size: Some(size),
            digests: None,
            image: None,
            error: None,
        },
    };
    let mut m = match_file(lists, &h, &cfg.matching);
    let mut video_out = crate::video::Examined::default();
    if let Some(v) = video {
        let err = crate::video::examine(
            &cfg.video,
            lists,
            v,
            &job.path,
            cfg.limits.max_in_memory,
            hasher,
            &mut m,
            &mut video_out,
        );
        if let Some(e) = err {
            m.error = Some(match m.error.take() {
                Some(first) => format!("{first}; {e}"),
                None => e,
            });
        }
    }
    let img = h.image.as_ref();
    let pdq = img.and_then(|i| i.pdq.as_ref());
    let mut error = h.error.as_ref().map(|e| e.to_string());
    if let Some(e) = m.error {
        error = Some(match error {
            Some(first) => format!("{first}; {e}"),
            None => e,
        });
    }
    let (path, path_bytes) = split_name(&job.path);
    Item {
        exhibit: ids[job.exhibit as usize].to_string(),
        path,
        path_bytes,
        depth: job.depth,
        size: h.size,
        modified: job.times.modified,
        accessed: job.times.accessed,
        created: job.times.created,
        md5: h.digests.map(|d| Hex(d.md5)),
        sha1: h.digests.map(|d| Hex(d.sha1)),
        sha256: h.digests.map(|d| Hex(d.sha256)),
        pdq: pdq.map(|p| Hex(p.hash.to_bytes())),
        pdq_quality: pdq.map(|p| p.quality),
        format: img.map(|i| i.format.name().to_string()),
        width: img.map(|i| i.width),
        height: img.map(|i| i.height),
        orientation: img.and_then(|i| i.orientation),
        disposition: m.disposition,
        hits: m.hits,
        conflict: m.conflict,
        duplicate_group: None,
        near_group: None,
        vpdq_frames: video_out.group_frames,
        video_ms: video_out.video_ms,
        notes: {
            let mut notes = job.extra.notes;
            notes.extend(m.notes);
            notes
        },
        error,
        deleted: job.extra.deleted,
        recovery: job.extra.recovery.map(str::to_string),
    }
}

/// Hashes a file inside a disk image: whole (with PDQ) when it fits in
/// memory, otherwise as a stream of digests.
fn hash_reader(
    r: &dyn nigehbaan_disk::ReadAt,
    cfg: &ScanConfig,
    hasher: &mut Hasher,
    memo: &ImageMemo,
    held: &mut dyn FnMut(&Arc<[u8]>),
) -> FileHashes {
    let size = r.len();
    let failed = |e: std::io::Error| FileHashes {
        size: Some(size),
        digests: None,
        image: None,
        error: Some(FileError::Read(crate::image::read_error(&e))),
    };
    if size <= cfg.limits.max_in_memory {
        return match crate::image::read_all(r) {
            Ok(b) => {
                let b: Arc<[u8]> = b.into();
                held(&b);
                hash_bytes_with(&b, &cfg.hash, hasher, Some(memo))
            }
            Err(e) => failed(e),
        };
    }
    let mut head = [0u8; 32];
    let is_image = r.read_exact_at(0, &mut head).is_ok() && nigehbaan_media::sniff_prefix(&head);
    match crate::image::digest_stream(r) {
        Ok(digests) => FileHashes {
            size: Some(size),
            digests: Some(digests),
            image: None,
            error: is_image.then_some(FileError::ImageTooBig(size)),
        },
        Err(e) => failed(e),
    }
}

/// The item for a file whose hashing failed unexpectedly.
fn failed_item(exhibit: &str, path: String, depth: u32) -> Item {
    let (path, path_bytes) = split_name(&path);
    Item {
        exhibit: exhibit.to_string(),
        path,
        path_bytes,
        depth,
        size: None,
        modified: None,
        accessed: None,
        created: None,
        md5: None,
        sha1: None,
        sha256: None,
        pdq: None,
        pdq_quality: None,
        format: None,
        width: None,
        height: None,
        orientation: None,
        disposition: crate::model::Disposition::Unmatched,
        hits: Vec::new(),
        conflict: None,
        duplicate_group: None,
        near_group: None,
        vpdq_frames: Vec::new(),
        video_ms: 0,
        notes: Vec::new(),
        error: Some("internal error while hashing this file; please report it".into()),
        deleted: false,
        recovery: None,
    }
}
