//! vPDQ records in lists: the reference tool's per-video files (one file,
//! or a directory of them as one list), HMA rows of signal type `vpdq`, our
//! CSV export's `vpdq` column, and matching through the library's video
//! index against the direct comparison (python-threatexchange's rules).
//! Synthetic hashes only.

use std::path::{Path, PathBuf};

use nigehbaan_lists::export::write_csv;
use nigehbaan_lists::library::{ImportRequest, Library, DEFAULT_MIN_QUALITY};
use nigehbaan_lists::{import_bytes, import_path, Format, FrameHash, ImportOptions, MediaKind};
use nigehbaan_video::format::{write_reference, write_signal};
use nigehbaan_video::synthetic::SyntheticVideos as Rng;
use nigehbaan_video::{match_videos, MatchOptions};

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "nigehbaan-lists-vpdq-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn request(path: &Path, name: &str) -> ImportRequest {
    let mut options = ImportOptions::new(&path.display().to_string(), name);
    options.provenance.imported_at = 1_700_000_000;
    ImportRequest {
        path: path.to_path_buf(),
        options,
        replace: false,
        min_quality: DEFAULT_MIN_QUALITY,
        compact_pdq: false,
    }
}

/// Reference-format timestamps have 3 decimals: compare frames as written.
fn as_written(v: &[FrameHash]) -> Vec<FrameHash> {
    nigehbaan_video::format::parse_reference(&write_reference(v)).unwrap()
}

#[test]
fn a_directory_of_reference_files_is_one_list_matched_through_its_index() {
    let dir = temp("dir");
    let src = dir.join("vpdq");
    std::fs::create_dir_all(&src).unwrap();
    let mut rng = Rng::new(0x5151_7777);
    let videos: Vec<Vec<FrameHash>> = (0..12).map(|_| rng.video(40, 40)).collect();
    for (i, v) in videos.iter().enumerate() {
        std::fs::write(
            src.join(format!("v{i:02}.mp4.vpdq.txt")),
            write_reference(v),
        )
        .unwrap();
    }
    std::fs::write(src.join(".hidden"), "not a list").unwrap();
    let lib = Library::new(dir.join("lib"));
    let summary = lib.import(&request(&src, "videos")).unwrap();
    assert_eq!(summary.manifest.record_count, 12);
    assert_eq!(summary.manifest.list_format, "vpdq");
    assert_eq!(summary.manifest.counts.get("vpdq"), Some(&12));
    let list = lib.open("videos").unwrap();
    assert_eq!(list.video_count(), 12);
    let r = list.record(3).unwrap();
    assert_eq!(r.name.as_deref(), Some("v03.mp4.vpdq.txt"));
    assert_eq!(r.media, Some(MediaKind::Video));
    assert_eq!(r.vpdq, as_written(&videos[3]));

    let opts = MatchOptions::default();
    for (i, v) in videos.iter().enumerate() {
        // A re-encoded copy finds its original, with the percentages of the
        // direct comparison; an unrelated video finds nothing.
        let q = rng.copy(v);
        let hits = list.search_vpdq(&q, &opts, true).unwrap();
        assert_eq!(hits.len(), 1, "video {i}");
        assert_eq!(hits[0].record, i as u32);
        assert_eq!(hits[0].matched, match_videos(&q, &videos[i], &opts));
        let other = rng.video(40, 40);
        assert!(list.search_vpdq(&other, &opts, true).unwrap().is_empty());
        // Without only_matches every sharing video is reported, with its
        // percentages, the same as the direct comparison.
        for h in list.search_vpdq(&q, &opts, false).unwrap() {
            assert_eq!(
                h.matched,
                match_videos(&q, &videos[h.record as usize], &opts)
            );
        }
    }
    // Export and re-import keeps every frame (numbers included).
    let records = list.records().unwrap();
    let mut csv = Vec::new();
    write_csv(&records, &mut csv).unwrap();
    let back = import_bytes(&csv, &ImportOptions::new("export.csv", "again")).unwrap();
    assert_eq!(back.format, Format::NigehbaanCsv);
    for (a, b) in records.iter().zip(&back.records) {
        assert_eq!(a.vpdq, b.vpdq);
        assert_eq!(b.media, Some(MediaKind::Video));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_reference_file_is_one_record_and_damage_names_the_file() {
    let dir = temp("one");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng::new(42);
    let v = rng.video(5, 40);
    let path = dir.join("clip.vpdq.txt");
    std::fs::write(&path, write_reference(&v)).unwrap();
    // Detected by content.
    let rep = import_path(&path, &ImportOptions::new("clip.vpdq.txt", "one")).unwrap();
    assert_eq!(rep.format, Format::Vpdq);
    assert_eq!(rep.records.len(), 1);
    assert_eq!(rep.records[0].vpdq, as_written(&v));
    // A damaged file in a directory fails the import and is named.
    let bad = dir.join("d");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("a.txt"), write_reference(&v)).unwrap();
    std::fs::write(bad.join("b.txt"), "0,100,zz,0.000\n").unwrap();
    let e = import_path(&bad, &ImportOptions::new("d", "bad")).unwrap_err();
    assert!(e.file.ends_with("b.txt"), "{e}");
    // An empty file is not a video.
    std::fs::write(bad.join("b.txt"), "").unwrap();
    assert!(import_path(&bad, &ImportOptions::new("d", "bad")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hma_rows_of_signal_type_vpdq_and_video_md5() {
    let mut rng = Rng::new(7);
    let v = rng.video(4, 40);
    let signal = write_signal(&v);
    let csv = format!(
        "signal_type,signal,content_id\nvpdq,\"{}\",v1\nvideo_md5,0123456789abcdef0123456789abcdef,v2\n",
        signal.replace('"', "\"\"")
    );
    let rep = import_bytes(csv.as_bytes(), &ImportOptions::new("hma.csv", "hma")).unwrap();
    assert_eq!(rep.format, Format::HmaCsv);
    assert_eq!(rep.records.len(), 2);
    let got = &rep.records[0].vpdq;
    assert_eq!(got.len(), 4);
    // The signal string numbers frames by position and carries timestamps
    // to 3 significant digits.
    for (i, (a, b)) in got.iter().zip(&v).enumerate() {
        assert_eq!(a.frame, i as u64);
        assert_eq!((a.pdq, a.quality), (b.pdq, b.quality));
    }
    assert_eq!(rep.records[0].media, Some(MediaKind::Video));
    assert_eq!(rep.records[1].media, Some(MediaKind::Video));
    assert!(rep.records[1].md5.is_some());
    let text = format!("vpdq {signal}\n");
    let rep = import_bytes(text.as_bytes(), &ImportOptions::new("hma.txt", "t"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rep.records[0].vpdq.len(), 4);
    // A damaged signal is an error naming the line.
    let e = import_bytes(
        b"signal_type,signal\nvpdq,\"[\"\"zz,1,0\"\"]\"\n",
        &ImportOptions::new("hma.csv", "h"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("vPDQ"), "{e}");
}

/// 100,000 list videos × 60 frames imported into the library and matched
/// (release build: `cargo test --release -p nigehbaan-lists --test vpdq --
/// --ignored`).
#[test]
#[ignore]
fn a_hundred_thousand_videos() {
    let dir = temp("big");
    let src = dir.join("list.csv");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng::new(0xb16);
    let n = 100_000;
    let mut out = String::from(nigehbaan_lists::import::csv_generic::EXPORT_HEADER);
    out.push('\n');
    let mut keep = Vec::new();
    for i in 0..n {
        let v = rng.video(60, 40);
        let text = nigehbaan_lists::import::vpdq::to_text(&v);
        out.push_str(&format!(
            ",,,,,,,,notable,,,,,,v{i},,,video,big,,,,\"{text}\"\n"
        ));
        if i % 1000 == 0 {
            keep.push((i, v));
        }
    }
    std::fs::write(&src, out).unwrap();
    let lib = Library::new(dir.join("lib"));
    let t = std::time::Instant::now();
    lib.import(&request(&src, "big")).unwrap();
    eprintln!("imported {n} videos in {:.1} s", t.elapsed().as_secs_f64());
    let list = lib.open("big").unwrap();
    assert_eq!(list.video_count(), n);
    let opts = MatchOptions::default();
    let t = std::time::Instant::now();
    for (i, v) in &keep {
        let q = rng.copy(v);
        let hits = list.search_vpdq(&q, &opts, true).unwrap();
        assert!(hits.iter().any(|h| h.record == *i as u32), "video {i}");
        assert!(list
            .search_vpdq(&rng.video(60, 40), &opts, true)
            .unwrap()
            .is_empty());
    }
    eprintln!(
        "{} queries in {:.2} s",
        keep.len() * 2,
        t.elapsed().as_secs_f64()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
