//! Whole scans through the library: resume after an interruption, evidence
//! left untouched, the report directory kept out of the evidence, groups.

use nigehbaan_lists::library::{ImportRequest, Library, OpenList};
use nigehbaan_lists::{Format, ImportOptions, Status};
use nigehbaan_scan::{
    scan, ArchiveLimits, CaseInfo, Disposition, Exhibit, MatchSettings, Progress, ScanConfig,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "nigehbaan-scan-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A benign noise picture, different for each seed.
fn picture(seed: u32, w: u32, h: u32) -> image::RgbImage {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    image::RgbImage::from_fn(w, h, |x, y| {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        let v = ((x / 16 + y / 16 + seed) % 7) as u8 * 30;
        image::Rgb([v, (s & 0x3f) as u8 + v / 2, (seed * 40 % 255) as u8])
    })
}

fn png(img: &image::RgbImage) -> Vec<u8> {
    let mut c = std::io::Cursor::new(Vec::new());
    img.write_to(&mut c, image::ImageFormat::Png).unwrap();
    c.into_inner()
}

fn config(ev: &Path, out: &Path) -> ScanConfig {
    ScanConfig {
        exhibits: vec![Exhibit {
            id: "EX1".into(),
            paths: vec![ev.to_path_buf()],
        }],
        out_dir: out.to_path_buf(),
        case: CaseInfo {
            case_number: Some("T-1".into()),
            examiner: Some("tester".into()),
            agency: None,
            ..Default::default()
        },
        hash: nigehbaan_filehash::Options::default(),
        matching: MatchSettings {
            threshold: 31,
            min_quality: 50,
            dihedral: false,
        },
        limits: ArchiveLimits::default(),
        follow_symlinks: false,
        threads: 1,
        memory_budget: 64 << 20,
        resume: false,
        carve: true,
        verify_image: false,
        video: Default::default(),
        command_line: "test".into(),
    }
}

fn list_of(dir: &Path, md5s: &[String]) -> Vec<OpenList> {
    std::fs::create_dir_all(dir).unwrap();
    let lib = Library::new(dir.join("library"));
    let file = dir.join("list.md5");
    // TEST DATA: an unused placeholder hash keeps an "empty" list valid.
    let mut text = "00000000000000000000000000000001  placeholder\n".to_string();
    text.extend(md5s.iter().map(|m| format!("{m}  x\n")));
    std::fs::write(&file, text).unwrap();
    let mut options = ImportOptions::new("list.md5", "test-list");
    options.status = Some(Status::Notable);
    options.format = Some(Format::HashSum);
    lib.import(&ImportRequest {
        path: file,
        options,
        replace: true,
        min_quality: 50,
        compact_pdq: false,
    })
    .unwrap();
    lib.open_all(&[]).unwrap()
}

fn md5(bytes: &[u8]) -> String {
    nigehbaan_pdq::hex::encode(&nigehbaan_filehash::Digests::of(bytes).md5)
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let m = std::fs::metadata(&p).unwrap().modified().unwrap();
                out.push((p.clone(), std::fs::read(&p).unwrap(), m));
            }
        }
    }
    out.sort();
    out
}

/// A scan stopped (as by Ctrl-C) once `n` items are hashed.
fn interrupted_after(cfg: &ScanConfig, lists: &[OpenList], n: u64) -> nigehbaan_scan::Outcome {
    let progress = Progress::default();
    let cancel = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while progress.hashed.load(Ordering::Relaxed) < n {
                std::thread::yield_now();
            }
            cancel.store(true, Ordering::Relaxed);
        });
        scan(cfg, lists, &progress, &cancel).unwrap()
    })
}

#[test]
fn interrupted_scan_resumes_without_rehashing() {
    let dir = tempdir("resume");
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let mut listed = Vec::new();
    for i in 0..120u32 {
        let b = png(&picture(i, 320, 240));
        if i % 10 == 0 {
            listed.push(md5(&b));
        }
        std::fs::write(ev.join(format!("img{i:03}.png")), b).unwrap();
    }
    let lists = list_of(&dir, &listed);
    let out = dir.join("report");
    let cfg = config(&ev, &out);

    let first = interrupted_after(&cfg, &lists, 10);
    let done_first = first.report.items.len();
    assert!(first.report.status.interrupted);
    assert!(!first.report.status.complete);
    assert_eq!(first.exit_code(), 2);
    assert!(
        (10..120).contains(&done_first),
        "interrupted after {done_first}"
    );
    assert!(out.join(nigehbaan_scan::CHECKPOINT_FILE).exists());

    // Resuming without --resume is refused: reports are never overwritten.
    let again = scan(&cfg, &lists, &Progress::default(), &AtomicBool::new(false));
    assert!(matches!(
        again.unwrap_err(),
        nigehbaan_scan::ScanError::OutNotEmpty { .. }
    ));

    let mut cfg2 = cfg.clone();
    cfg2.resume = true;
    let p2 = Progress::default();
    let second = scan(&cfg2, &lists, &p2, &AtomicBool::new(false)).unwrap();
    let r = &second.report;
    assert!(r.status.complete, "{:?}", r.exclusions);
    assert_eq!(r.items.len(), 120);
    assert_eq!(
        p2.hashed.load(Ordering::Relaxed) as usize,
        120 - done_first,
        "only what was not done is hashed"
    );
    assert_eq!(r.summary.total.hits, 12);
    assert_eq!(r.custody.runs.len(), 2);
    assert!(r.custody.runs[0].interrupted && !r.custody.runs[1].interrupted);
    assert_eq!(r.custody.started, r.custody.runs[0].started);
    assert_eq!(second.exit_code(), 1);
    assert!(!out.join(nigehbaan_scan::CHECKPOINT_FILE).exists());
    // Items taken from the checkpoint are the ones the first run wrote.
    for it in &first.report.items {
        let same = r.items.iter().find(|i| i.path == it.path).unwrap();
        assert_eq!(same.sha256, it.sha256);
        assert_eq!(same.disposition, it.disposition);
    }

    // A different list is a different scan: resume refuses.
    let other = list_of(&dir.join("other"), &listed[..1]);
    let mut cfg3 = cfg.clone();
    cfg3.out_dir = dir.join("report3");
    let p3 = Progress::default();
    let c3 = AtomicBool::new(true);
    let _ = scan(&cfg3, &lists, &p3, &c3).unwrap();
    cfg3.resume = true;
    let err = scan(&cfg3, &other, &Progress::default(), &AtomicBool::new(false)).unwrap_err();
    assert!(err.to_string().contains("the lists changed"), "{err}");
}

#[test]
fn evidence_is_left_untouched_and_reports_stay_outside_it() {
    let dir = tempdir("readonly");
    let ev = dir.join("ev");
    std::fs::create_dir_all(ev.join("sub")).unwrap();
    std::fs::write(ev.join("a.png"), png(&picture(1, 64, 64))).unwrap();
    std::fs::write(ev.join("sub/b.bin"), b"bytes").unwrap();
    let before = snapshot(&ev);
    let lists = list_of(&dir, &[]);
    let out = dir.join("out");
    let o = scan(
        &config(&ev, &out),
        &lists,
        &Progress::default(),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(o.exit_code(), 0);
    assert_eq!(
        snapshot(&ev),
        before,
        "evidence unchanged, nothing written in it"
    );

    let inside = scan(
        &config(&ev, &ev.join("sub/report")),
        &lists,
        &Progress::default(),
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(
        inside.to_string().contains("inside the evidence"),
        "{inside}"
    );
    assert_eq!(snapshot(&ev), before);
}

#[test]
fn duplicates_and_near_duplicates_are_grouped() {
    let dir = tempdir("groups");
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let pic = picture(7, 400, 300);
    let b = png(&pic);
    std::fs::write(ev.join("a.png"), &b).unwrap();
    std::fs::write(ev.join("copy-of-a.png"), &b).unwrap();
    let small = image::imageops::resize(&pic, 200, 150, image::imageops::FilterType::Triangle);
    std::fs::write(ev.join("a-small.png"), png(&small)).unwrap();
    std::fs::write(ev.join("other.png"), png(&picture(99, 400, 300))).unwrap();
    let lists = list_of(&dir, &[]);
    let o = scan(
        &config(&ev, &dir.join("out")),
        &lists,
        &Progress::default(),
        &AtomicBool::new(false),
    )
    .unwrap();
    let r = &o.report;
    assert_eq!(r.duplicate_groups.len(), 1);
    assert_eq!(r.duplicate_groups[0].members.len(), 2);
    assert_eq!(
        r.near_duplicate_groups.len(),
        1,
        "{:?}",
        r.near_duplicate_groups
    );
    let near = &r.near_duplicate_groups[0].members;
    assert_eq!(near.len(), 3, "{near:?}");
    assert!(!near.iter().any(|m| m.contains("other.png")));
    assert!(r
        .items
        .iter()
        .all(|i| i.disposition == Disposition::Unmatched));
}

/// Names that are not UTF-8 survive an interruption: the checkpoint keeps
/// their exact bytes, and the resumed run neither re-hashes nor merges them.
#[cfg(unix)]
#[test]
fn resume_keeps_names_that_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir("resume-names");
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    for i in 0..40u8 {
        // `bad\xff<i>.bin` and `bad\xfe<i>.bin`: lossy text would merge them.
        for lead in [0xffu8, 0xfe] {
            let name = [
                b"bad".as_slice(),
                &[lead, b'0' + i % 10, b'a' + i / 10],
                b".bin",
            ]
            .concat();
            let body = png(&picture(u32::from(i) * 2 + u32::from(lead & 1), 96, 64));
            std::fs::write(ev.join(std::ffi::OsStr::from_bytes(&name)), body).unwrap();
        }
    }
    let lists = list_of(&dir, &[]);
    let out = dir.join("report");
    let cfg = config(&ev, &out);
    let first = interrupted_after(&cfg, &lists, 5);
    let done_first = first.report.items.len();
    assert!(first.report.status.interrupted);
    let mut cfg2 = cfg.clone();
    cfg2.resume = true;
    let p2 = Progress::default();
    let second = scan(&cfg2, &lists, &p2, &AtomicBool::new(false)).unwrap();
    let r = &second.report;
    assert!(r.status.complete);
    assert_eq!(r.items.len(), 80);
    assert_eq!(p2.hashed.load(Ordering::Relaxed) as usize, 80 - done_first);
    let mut exact: Vec<Vec<u8>> = r
        .items
        .iter()
        .map(|i| nigehbaan_filehash::name::from_base64(i.path_bytes.as_deref().unwrap()).unwrap())
        .collect();
    exact.sort();
    exact.dedup();
    assert_eq!(exact.len(), 80, "every name distinct and exact");
    assert!(exact
        .iter()
        .all(|p| p.starts_with(ev.as_os_str().as_bytes())));
}

/// A tar of 12,000 tiny entries (benign bytes; every third the same): the
/// items go to disk in sorted runs and the report is built from them. The
/// returned report holds only the hits; report.json holds everything, with
/// groups and VICS media that agree with a brute-force grouping of its own
/// items; no temporary file is left behind.
#[test]
fn many_items_are_reported_from_disk() {
    let dir = tempdir("many");
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let n = 12_000u32;
    for i in (0..n).rev() {
        let body = if i % 3 == 0 {
            b"same".to_vec()
        } else {
            format!("entry {i}").into_bytes()
        };
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("d/{i:05}.bin"), body.as_slice())
            .unwrap();
    }
    std::fs::write(ev.join("many.tar"), tar.into_inner().unwrap()).unwrap();
    let lists = list_of(&dir, &[md5(b"entry 1")]);
    let out = dir.join("out");
    let mut cfg = config(&ev, &out);
    // A small budget: many sorted runs on disk.
    cfg.memory_budget = 16 << 20;
    cfg.threads = 2;
    let o = scan(&cfg, &lists, &Progress::default(), &AtomicBool::new(false)).unwrap();
    assert_eq!(o.exit_code(), 1);
    let r = &o.report;
    assert!(r.partial);
    assert_eq!(r.items.len(), 1, "only the hit is held");
    assert!(r.items[0].path.ends_with("d/00001.bin"));
    assert_eq!(r.summary.total.files, u64::from(n) + 1);

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), n as usize + 1);
    let paths: Vec<&str> = items.iter().map(|i| i["path"].as_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "items in path order");
    // Brute force over report.json's own items: groups by SHA-256.
    let mut by_sha: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (k, i) in items.iter().enumerate() {
        by_sha
            .entry(i["sha256"].as_str().unwrap())
            .or_default()
            .push(k);
    }
    let mut want: Vec<Vec<usize>> = by_sha.into_values().filter(|v| v.len() > 1).collect();
    want.sort();
    let groups = json["duplicate_groups"].as_array().unwrap();
    assert_eq!(groups.len(), want.len());
    for (g, members) in groups.iter().zip(&want) {
        let labels: Vec<String> = members
            .iter()
            .map(|&k| format!("EX1: {}", paths[k]))
            .collect();
        assert_eq!(g["members"].as_array().unwrap().len(), labels.len());
        assert_eq!(g["members"][0], labels[0]);
        assert_eq!(g["representative"], labels[0]);
        for &k in members {
            assert_eq!(items[k]["duplicate_group"], g["id"]);
        }
    }
    assert_eq!(groups[0]["members"].as_array().unwrap().len(), 4000);
    let csv = std::fs::read_to_string(out.join("hits.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2);
    let vics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("vics-cases.json")).unwrap()).unwrap();
    let media = vics["value"][0]["Media"].as_array().unwrap();
    let distinct = items.len() - want.iter().map(|m| m.len() - 1).sum::<usize>();
    assert_eq!(media.len(), distinct);
    let files: usize = media
        .iter()
        .map(|m| m["MediaFiles"].as_array().unwrap().len())
        .sum();
    assert_eq!(files, items.len());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("d/00001.bin"));
    for e in std::fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name();
        assert!(
            !name.to_string_lossy().contains("spill"),
            "temporary file left: {name:?}"
        );
    }
}

/// Progress counts the seconds of video hashed (a benign 3 s clip made
/// with ffmpeg from a test pattern). Runs when ffmpeg is there; fails
/// under CI=true without it; otherwise skips with a note.
#[test]
fn progress_counts_seconds_of_video() {
    let ffmpeg = match nigehbaan_video::Ffmpeg::shared() {
        Ok(f) => f,
        Err(e) if std::env::var_os("CI").is_some() => panic!("CI=true but {e}"),
        Err(_) => {
            eprintln!("note: ffmpeg not found; skipping the video progress test");
            return;
        }
    };
    let dir = tempdir("video-progress");
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let made = std::process::Command::new(ffmpeg.program())
        .args(["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=160x120:rate=25:duration=3")
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(ev.join("clip.mp4"))
        .status()
        .unwrap();
    assert!(made.success());
    let progress = Progress::default();
    let o = scan(
        &config(&ev, &dir.join("out")),
        &list_of(&dir, &[]),
        &progress,
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(o.exit_code(), 0);
    let ms = progress.video_ms.load(Ordering::Relaxed);
    assert!((2500..=3500).contains(&ms), "{ms} ms of video");
}

/// A file that looks like a disk image but cannot be opened as one (here a
/// later E01 segment without its first) is named as unexamined and still
/// digested and matched like any file; one that opens is examined and not
/// digested as a whole (that is `--verify-image`).
#[test]
fn an_image_that_cannot_be_opened_is_still_digested_and_matched() {
    let dir = tempdir("unopenable-image");
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let mut e02 = b"EVF\x09\x0d\x0a\xff\x00\x01\x02\x00".to_vec();
    e02.resize(4096, 0x5a);
    std::fs::write(ev.join("lone.E02"), &e02).unwrap();
    let lists = list_of(&dir, &[md5(&e02)]);
    let o = scan(
        &config(&ev, &dir.join("out")),
        &lists,
        &Progress::default(),
        &AtomicBool::new(false),
    )
    .unwrap();
    let r = &o.report;
    let it = r
        .items
        .iter()
        .find(|i| i.path.ends_with("lone.E02"))
        .unwrap();
    assert_eq!(it.disposition, Disposition::Hit, "{it:?}");
    assert!(it.notes.is_empty(), "{it:?}");
    assert!(r
        .exclusions
        .iter()
        .any(|e| e.path.ends_with("lone.E02") && e.incomplete));
    std::fs::remove_dir_all(&dir).unwrap();
}
