//! Disk images opened with [`nigehbaan_disk`]: raw disks (MBR, GPT), bare
//! file systems and E01 files. Every volume's file system is walked (live
//! and deleted files, NTFS alternate data streams), each file becomes a
//! job hashed like any other, and unallocated space and disk regions no
//! volume covers are carved. Whatever cannot be examined — an unreadable
//! range, a volume with no recognised file system, a damaged directory —
//! becomes an exclusion with `incomplete: true` naming its byte range.
//!
//! Paths: `<image>!p2:ntfs/Users/x/a.jpg` (partition index from 1, file
//! system name; a disk without a partition table gives `<image>!fat16/…`),
//! carved items `<image>!p1:fat16!unallocated@0x3a41000.jpg` (offset in the
//! volume) and `<image>!unpartitioned@0x7e00.png` (offset in the disk).

use crate::evidence::Times;
use crate::model::Exclusion;
use crate::model::ExclusionKind;
use crate::report::images::{
    FileSystemRecord, ImageCounts, ImageCustody, ImageRecord, PartitionRecord, VerifyResult,
};
use nigehbaan_disk::carve::{CarveOptions, Carver};
use nigehbaan_disk::fs::{self, EntryKind, FileSystem, FsError, Timestamp};
use nigehbaan_disk::{open_image, Image, ImageError, ReadAt, Unreadable, Window};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One file found inside a disk image, ready to be hashed.
pub(crate) struct DiskFile {
    /// Its full report path (`<image>!p1:fat16/a.jpg`).
    pub path: String,
    /// Its bytes.
    pub reader: Box<dyn ReadAt>,
    /// Its times, as the file system keeps them.
    pub times: Times,
    /// True for a deleted file.
    pub deleted: bool,
    /// How far a deleted file's data can be trusted.
    pub recovery: Option<&'static str>,
    /// Remarks (`carved`, `incomplete carve`).
    pub notes: Vec<String>,
}

/// Whether the file starting with `head` is a disk image this module opens
/// (E01, raw disk with an MBR or GPT, or a bare FAT, exFAT, NTFS or ext
/// file system). Other disk formats stay unexamined (see [`crate::opaque`]).
pub(crate) fn supported(head: &[u8]) -> bool {
    match crate::opaque::detect(head) {
        Some(crate::opaque::Opaque::DiskImage(what)) => {
            what == "EWF (E01) evidence file"
                || what.starts_with("raw disk image")
                || what.ends_with("file system image")
        }
        _ => false,
    }
}

/// What [`examine`] needs besides the image.
pub(crate) struct Examine<'a> {
    /// The exhibit's id.
    pub exhibit: &'a str,
    /// The image's report path.
    pub path: &'a str,
    /// Carve unallocated space and uncovered regions.
    pub carve: bool,
    /// Set when the scan is cancelled.
    pub cancel: &'a AtomicBool,
    /// The image file's first bytes.
    pub head: &'a [u8],
    /// Stream-verify the image against the hashes it stores.
    pub verify: bool,
}

/// What [`examine`] found besides files.
#[derive(Default)]
pub(crate) struct Examined {
    /// What could not be examined.
    pub exclusions: Vec<Exclusion>,
    /// The image's layout and counts, when it could be opened.
    pub record: Option<ImageRecord>,
    /// Its chain-of-custody record, when it could be opened.
    pub custody: Option<ImageCustody>,
    /// True when what the file holds was examined: the image opened, or
    /// the file is a later segment of an image its first segment opens.
    pub opened: bool,
}

/// True for the second or a later segment of an E01 (EWF 1 segment number
/// at bytes 9..11 not 1): the first segment opens the whole image.
fn later_ewf_segment(head: &[u8]) -> bool {
    head.starts_with(b"EVF\x09\x0d\x0a\xff\x00")
        && head
            .get(9..11)
            .is_some_and(|n| u16::from_le_bytes([n[0], n[1]]) != 1)
}

/// Whether the first segment of the EWF image `file` belongs to (the same
/// name with `.E01`, `.e01`, `.s01` or `.S01`, and not `file` itself) is
/// there to open the whole image.
fn first_ewf_segment_beside(file: &Path) -> bool {
    ["E01", "e01", "s01", "S01"].iter().any(|ext| {
        let first = file.with_extension(ext);
        first != file && first.is_file()
    })
}

impl Examine<'_> {
    pub(crate) fn exclusion(&self, path: &str, kind: ExclusionKind, reason: String) -> Exclusion {
        Exclusion {
            exhibit: self.exhibit.to_string(),
            path: path.to_string(),
            kind,
            reason,
            incomplete: true,
            hashed: false,
        }
    }

    pub(crate) fn unreadable(&self, path: &str, u: &Unreadable) -> Exclusion {
        self.exclusion(
            path,
            ExclusionKind::UnreadableRange,
            format!("not examined: {u}"),
        )
    }
}

fn time(t: Option<Timestamp>) -> Option<String> {
    t.and_then(|t| nigehbaan_time::utc(t.secs))
}

/// Opens the image at `file`, walks it and calls `emit` for every file and
/// carved item; returns what could not be examined, the image's layout and
/// counts, and its chain-of-custody record.
pub(crate) fn examine(ctx: &Examine<'_>, file: &Path, emit: &mut dyn FnMut(DiskFile)) -> Examined {
    let mut done = Examined::default();
    let out = &mut done.exclusions;
    if later_ewf_segment(ctx.head) {
        if first_ewf_segment_beside(file) {
            // Examined as part of the image its first segment starts.
            done.opened = true;
            return done;
        }
        out.push(
            ctx.exclusion(
                ctx.path,
                ExclusionKind::DiskImageError,
                "unexamined: a later segment of an EWF (E01) image whose first segment is not \
             beside it (or whose segment number is damaged): what it holds cannot be read alone"
                    .into(),
            ),
        );
        return done;
    }
    let img = match open_image(&[file]) {
        Ok(img) => img,
        Err(ImageError::NotFirstSegment { first, .. }) if first.is_file() => {
            done.opened = true;
            return done;
        }
        Err(e) => {
            out.push(ctx.exclusion(
                ctx.path,
                ExclusionKind::DiskImageError,
                format!("unexamined: the disk image could not be opened: {e}"),
            ));
            return done;
        }
    };
    done.opened = true;
    let out = &mut done.exclusions;
    for u in img.known_unreadable() {
        out.push(ctx.unreadable(ctx.path, u));
    }
    if !ctx.verify {
        let (custody, _) = crate::image_custody::record(ctx, &img, out);
        done.custody = Some(custody);
        done.record = Some(walk_image(ctx, &img, out, emit));
        return done;
    }
    // Verification reads every byte of the image: it runs beside the walk
    // (and the workers hashing what the walk finds), not before it.
    let (mut record, verified) = std::thread::scope(|s| {
        let verifier = s.spawn(|| {
            let mut failures = Vec::new();
            let r = crate::image_custody::record(ctx, &img, &mut failures);
            (r, failures)
        });
        let record = walk_image(ctx, &img, out, emit);
        (record, verifier.join())
    });
    let verification = match verified {
        Ok(((custody, verification), mut failures)) => {
            out.append(&mut failures);
            done.custody = Some(custody);
            verification
        }
        Err(_) => {
            // A bug in the verifier: the image is named as not verified.
            let plain = Examine {
                verify: false,
                ..*ctx
            };
            let (mut custody, _) = crate::image_custody::record(&plain, &img, out);
            custody.verification = VerifyResult::Unreadable;
            done.custody = Some(custody);
            out.push(ctx.exclusion(
                ctx.path,
                ExclusionKind::ImageVerification,
                "not verified: the verification stopped unexpectedly (an internal error)".into(),
            ));
            VerifyResult::Unreadable
        }
    };
    record.verification = verification;
    done.record = Some(record);
    done
}

/// Walks every volume of `img` (and carves, when asked): the image's layout
/// and counts, its verification left for the caller to fill in.
fn walk_image(
    ctx: &Examine<'_>,
    img: &Image,
    out: &mut Vec<Exclusion>,
    emit: &mut dyn FnMut(DiskFile),
) -> ImageRecord {
    let disk = img.reader();
    let vs = img.volumes();
    let mut record = ImageRecord {
        exhibit: ctx.exhibit.to_string(),
        path: ctx.path.to_string(),
        container: img.kind().name().to_string(),
        media_bytes: img.len(),
        partition_table: vs.scheme.name().to_string(),
        ..ImageRecord::default()
    };
    for p in &vs.problems {
        // A damaged table may hide a volume: its space is only carved.
        out.push(ctx.exclusion(
            ctx.path,
            ExclusionKind::PartitionTableProblem,
            format!("not fully examined: the partition table is damaged: {p}"),
        ));
    }
    for v in &vs.volumes {
        if ctx.cancel.load(Ordering::Relaxed) {
            break;
        }
        let part: Arc<dyn ReadAt> = Arc::new(Window::new(disk.clone(), v.start, v.len));
        let label = |kind: &str| match v.index {
            0 => format!("{}!{kind}", ctx.path),
            i => format!("{}!p{i}:{kind}", ctx.path),
        };
        let mut fsr = FileSystemRecord {
            partition: v.index,
            ..FileSystemRecord::default()
        };
        let counts = &mut fsr.counts;
        match fs::open(part.clone()) {
            Ok(filesystem) => {
                fsr.kind = filesystem.kind().name().to_string();
                fsr.path = label(&fsr.kind);
                let prefix = fsr.path.as_str();
                walk_fs(ctx, &*filesystem, prefix, v.start, counts, out, emit);
                if ctx.carve {
                    match filesystem.unallocated() {
                        Ok(free) => {
                            let name = format!("{prefix}!unallocated");
                            for (s, l) in free {
                                counts.unallocated_bytes_searched += l;
                                counts.carved += carve(ctx, &part, s, l, &name, out, emit);
                            }
                        }
                        Err(e) => out.push(fs_error(ctx, prefix, v.start, &e)),
                    }
                }
            }
            Err(e) => {
                fsr.kind = "unknown".to_string();
                fsr.path = label("unknown");
                let end = v.start + v.len;
                out.push(ctx.exclusion(
                    &fsr.path,
                    ExclusionKind::UnrecognisedVolume,
                    format!(
                        "not examined: volume {} ({}) at bytes {:#x}..{end:#x}: {e}{}",
                        v.index,
                        v.type_description(),
                        v.start,
                        if ctx.carve { "; carved only" } else { "" }
                    ),
                ));
                if ctx.carve {
                    let name = format!("{}!unallocated", fsr.path);
                    counts.unallocated_bytes_searched += v.len;
                    counts.carved += carve(ctx, &part, 0, v.len, &name, out, emit);
                }
            }
        }
        record.totals.add(&fsr.counts);
        record.partitions.push(PartitionRecord {
            index: v.index,
            kind: v.type_description(),
            start: v.start,
            length: v.len,
            clamped: v.clamped,
            file_system: (fsr.kind != "unknown").then(|| fsr.kind.clone()),
        });
        record.file_systems.push(fsr);
    }
    if ctx.carve && !ctx.cancel.load(Ordering::Relaxed) {
        for gap in vs.unallocated_regions() {
            let name = format!("{}!unpartitioned", ctx.path);
            let len = gap.end - gap.start;
            record.unpartitioned_bytes_searched += len;
            record.unpartitioned_carved += carve(ctx, &disk, gap.start, len, &name, out, emit);
        }
    }
    record.totals.add(&ImageCounts {
        carved: record.unpartitioned_carved,
        unallocated_bytes_searched: record.unpartitioned_bytes_searched,
        ..ImageCounts::default()
    });
    record
}

/// A file-system error; `start` is the volume's byte offset in the image,
/// so that the reason names where on the image the damage is.
fn fs_error(ctx: &Examine<'_>, prefix: &str, start: u64, e: &FsError) -> Exclusion {
    let at = e
        .offset()
        .map(|o| format!("; byte {:#x} of the image", start + o))
        .unwrap_or_default();
    ctx.exclusion(
        prefix,
        ExclusionKind::FileSystemError,
        format!("not examined: {e} (offsets in the volume, which starts at byte {start:#x}{at})"),
    )
}

fn walk_fs(
    ctx: &Examine<'_>,
    filesystem: &dyn FileSystem,
    prefix: &str,
    start: u64,
    counts: &mut ImageCounts,
    out: &mut Vec<Exclusion>,
    emit: &mut dyn FnMut(DiskFile),
) {
    filesystem.walk(&mut |entry| {
        if ctx.cancel.load(Ordering::Relaxed) {
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.push(fs_error(ctx, prefix, start, &e));
                return;
            }
        };
        if entry.kind != EntryKind::File || entry.metadata {
            return;
        }
        let path = format!("{prefix}{}", entry.display_path());
        match filesystem.open_file(&entry) {
            Ok(reader) => {
                if entry.deleted {
                    counts.deleted += 1;
                } else {
                    counts.live += 1;
                }
                emit(DiskFile {
                    path,
                    reader,
                    times: Times {
                        modified: time(entry.times.modified),
                        accessed: time(entry.times.accessed),
                        created: time(entry.times.created),
                    },
                    deleted: entry.deleted,
                    recovery: entry.recovery.map(|r| r.name()),
                    notes: Vec::new(),
                })
            }
            Err(e) => out.push(fs_error(ctx, &path, start, &e)),
        }
    });
}

fn carve(
    ctx: &Examine<'_>,
    r: &Arc<dyn ReadAt>,
    start: u64,
    len: u64,
    name: &str,
    out: &mut Vec<Exclusion>,
    emit: &mut dyn FnMut(DiskFile),
) -> u64 {
    let mut carved = 0;
    for found in Carver::new(&**r, start, len, CarveOptions::default()) {
        if ctx.cancel.load(Ordering::Relaxed) {
            break;
        }
        match found {
            Ok(c) => {
                carved += 1;
                let mut notes = vec!["carved".to_string()];
                if !c.complete {
                    notes.push("incomplete carve".to_string());
                }
                emit(DiskFile {
                    path: format!("{name}@{:#x}.{}", c.offset, c.kind.extension()),
                    reader: Box::new(Window::new(r.clone(), c.offset, c.len)),
                    times: Times::default(),
                    deleted: false,
                    recovery: None,
                    notes,
                });
            }
            Err(u) => out.push(ctx.unreadable(name, &u)),
        }
    }
    carved
}

/// Reads all of `r` (at most `cap` bytes are asked for by the caller).
pub(crate) fn read_all(r: &dyn ReadAt) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; r.len() as usize];
    r.read_exact_at(0, &mut buf)?;
    Ok(buf)
}

/// Digests `r` in chunks, never holding more than one chunk.
pub(crate) fn digest_stream(r: &dyn ReadAt) -> std::io::Result<nigehbaan_filehash::Digests> {
    let mut state = nigehbaan_filehash::DigestState::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    let len = r.len();
    while at < len {
        let n = ((len - at) as usize).min(buf.len());
        r.read_exact_at(at, &mut buf[..n])?;
        state.update(&buf[..n]);
        at += n as u64;
    }
    Ok(state.finish())
}

/// The I/O error in words, naming the unreadable image range when a disk
/// layer reported one.
pub(crate) fn read_error(e: &std::io::Error) -> String {
    match Unreadable::find(e) {
        Some(u) => u.to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(seed: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8 ^ seed, (y * 5) as u8, seed.wrapping_mul(7)])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    /// A 64 KiB raw disk: an MBR with one partition of an unknown type at
    /// sector 16 (8 KiB long) holding a JPEG, and a second JPEG in the
    /// region after it that no partition covers.
    fn disk(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; 64 << 10];
        let e = 446;
        d[e + 4] = 0x83;
        d[e + 8..e + 12].copy_from_slice(&16u32.to_le_bytes());
        d[e + 12..e + 16].copy_from_slice(&16u32.to_le_bytes());
        d[510] = 0x55;
        d[511] = 0xaa;
        d[16 * 512 + 100..16 * 512 + 100 + a.len()].copy_from_slice(a);
        d[40 << 10..(40 << 10) + b.len()].copy_from_slice(b);
        d
    }

    struct Found {
        files: Vec<(String, Vec<u8>, Vec<String>)>,
        exclusions: Vec<Exclusion>,
    }

    fn examine_bytes(name: &str, bytes: &[u8], carve: bool) -> Found {
        let dir =
            std::env::temp_dir().join(format!("nigehbaan-image-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("disk.img");
        std::fs::write(&file, bytes).unwrap();
        let cancel = AtomicBool::new(false);
        let ctx = Examine {
            exhibit: "EX",
            path: "ev/disk.img",
            carve,
            cancel: &cancel,
            head: &bytes[..bytes.len().min(4096)],
            verify: false,
        };
        let mut files = Vec::new();
        let exclusions = examine(&ctx, &file, &mut |d: DiskFile| {
            files.push((d.path, read_all(&*d.reader).unwrap(), d.notes));
        })
        .exclusions;
        std::fs::remove_dir_all(&dir).unwrap();
        Found { files, exclusions }
    }

    #[test]
    fn later_e01_segments_are_left_to_the_first() {
        let mut h = b"EVF\x09\x0d\x0a\xff\x00\x01\x02\x00".to_vec();
        assert!(later_ewf_segment(&h));
        h[9] = 1;
        assert!(!later_ewf_segment(&h));
        let ctx = Examine {
            exhibit: "EX",
            path: "ev/disk.E02",
            carve: true,
            cancel: &AtomicBool::new(false),
            head: b"EVF\x09\x0d\x0a\xff\x00\x01\x02\x00",
            verify: false,
        };
        // Without its first segment beside it, a later segment is named
        // (and, not opened, it is digested like any file).
        let alone = examine(&ctx, Path::new("/nonexistent/disk.E02"), &mut |_| {
            panic!("nothing to emit")
        });
        assert!(!alone.opened);
        let ex = alone.exclusions;
        assert_eq!(ex.len(), 1);
        assert!(ex[0].incomplete);
        // With it, the first segment's examination covers it.
        let dir = std::env::temp_dir().join(format!("nigehbaan-e02-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("disk.E01"), b"first").unwrap();
        let beside = examine(&ctx, &dir.join("disk.E02"), &mut |_| {
            panic!("nothing to emit")
        });
        assert!(beside.opened);
        assert!(beside.exclusions.is_empty());
        // A file named .E01 whose segment number is not 1 is damaged.
        let ex = examine(&ctx, &dir.join("disk.E01"), &mut |_| {
            panic!("nothing to emit")
        })
        .exclusions;
        assert_eq!(ex.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn supported_formats() {
        let d = disk(&jpeg(1), &jpeg(2));
        assert!(supported(&d[..4096]));
        assert!(!supported(b"EVF2\r\n\x81\x00 Ex01 stays unexamined"));
        assert!(!supported(b"QFI\xfb qcow"));
        assert!(!supported(&[0u8; 4096]));
    }

    #[test]
    fn unknown_volume_and_gap_are_carved_and_reported() {
        let (a, b) = (jpeg(1), jpeg(2));
        let found = examine_bytes("carve", &disk(&a, &b), true);
        let names: Vec<&str> = found.files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "ev/disk.img!p1:unknown!unallocated@0x64.jpg",
                "ev/disk.img!unpartitioned@0xa000.jpg",
            ]
        );
        assert_eq!(found.files[0].1, a);
        assert_eq!(found.files[1].1, b);
        assert_eq!(found.files[0].2, ["carved"]);
        // The volume with no file system is not examined, and says where.
        let ex = &found.exclusions;
        assert_eq!(ex.len(), 1, "{ex:?}");
        assert_eq!(ex[0].kind, ExclusionKind::UnrecognisedVolume);
        assert!(ex[0].incomplete);
        assert!(ex[0].reason.contains("0x2000..0x4000"), "{}", ex[0].reason);
    }

    #[test]
    fn a_damaged_partition_table_makes_the_scan_incomplete() {
        let mut d = disk(&jpeg(1), &jpeg(2));
        // The partition now reaches past the disk's end (128 sectors).
        d[446 + 8..446 + 12].copy_from_slice(&120u32.to_le_bytes());
        let found = examine_bytes("damaged", &d, false);
        let ex: Vec<ExclusionKind> = found.exclusions.iter().map(|e| e.kind).collect();
        assert!(ex.contains(&ExclusionKind::PartitionTableProblem), "{ex:?}");
        assert!(found.exclusions.iter().all(|e| e.incomplete));
    }

    #[test]
    fn no_carve_reports_the_volume_only() {
        let found = examine_bytes("nocarve", &disk(&jpeg(1), &jpeg(2)), false);
        assert!(found.files.is_empty());
        assert_eq!(found.exclusions.len(), 1);
        assert!(found.exclusions[0].incomplete);
    }

    #[test]
    fn an_unopenable_image_is_an_incomplete_exclusion() {
        let ctx = Examine {
            exhibit: "EX",
            path: "ev/missing.img",
            carve: true,
            cancel: &AtomicBool::new(false),
            head: &[],
            verify: false,
        };
        let found = examine(
            &ctx,
            Path::new("/nonexistent/nigehbaan/missing.img"),
            &mut |_| panic!("nothing to emit"),
        );
        assert!(!found.opened);
        let ex = found.exclusions;
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].kind, ExclusionKind::DiskImageError);
        assert!(ex[0].incomplete);
    }
}
