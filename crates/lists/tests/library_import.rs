//! Importing into the list library in bounded memory: an NSRL database
//! imported with a tiny run budget (many sorted runs spilled and merged)
//! gives the same files, byte for byte, as with the default budget, and an
//! index identical to one built in memory the way the library always has.
//! Synthetic data only: the hashes are pseudo-random bytes.

use std::path::{Path, PathBuf};

use nigehbaan_index::store::StoreWriter;
use nigehbaan_index::{ExactSet, PdqIndex};
use nigehbaan_lists::library::{ImportRequest, Library, OpenList, DEFAULT_MIN_QUALITY};
use nigehbaan_lists::{import_path, ImportOptions, Record};

const EMPTY_MD5: &str = "D41D8CD98F00B204E9800998ECF8427E";

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "nigehbaan-lists-libimport-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::remove_file(&d);
    d
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hex(seed: u64, bytes: usize) -> String {
    (0..bytes)
        .map(|i| format!("{:02X}", splitmix(seed * 64 + i as u64) as u8))
        .collect()
}

/// An NSRL RDSv3-style database (the full set's `FILE` columns) of `rows`
/// rows: some repeat an earlier row's hashes under another name, some lack
/// a hash or a name, and two are the empty file.
fn make_nsrl(path: &Path, rows: u64) {
    let _ = std::fs::remove_file(path);
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, \
         file_name TEXT, file_size INTEGER, package_id INTEGER);",
    )
    .unwrap();
    let tx = conn.transaction().unwrap();
    for i in 0..rows {
        let h = if i % 5 == 4 { i / 3 } else { i };
        let (sha256, sha1, mut md5) = (
            Some(hex(3 * h, 32)),
            (i % 11 != 0).then(|| hex(3 * h + 1, 20)),
            Some(hex(3 * h + 2, 16)),
        );
        let sha256 = sha256.filter(|_| i % 13 != 0);
        if i == 17 || i == rows / 2 {
            md5 = Some(EMPTY_MD5.into());
        }
        let name = (i % 7 != 0).then(|| format!("dir/file-{i}.dll"));
        let size = (i % 3 != 0).then_some((splitmix(i) % 100_000) as i64);
        tx.execute(
            "INSERT INTO FILE VALUES (?1, ?2, ?3, '00000000', ?4, ?5, ?6)",
            rusqlite::params![sha256, sha1, md5, name, size, (i % 40) as i64],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn request(path: &Path) -> ImportRequest {
    let mut options = ImportOptions::new("NSRLFile.db", "nsrl");
    options.provenance.imported_at = 1_700_000_000;
    ImportRequest {
        path: path.to_path_buf(),
        options,
        replace: false,
        min_quality: DEFAULT_MIN_QUALITY,
        compact_pdq: false,
    }
}

/// The index the library built in memory before imports were streamed:
/// the documented sections, from the records, through [`StoreWriter`].
fn in_memory_index(records: &[Record], records_file: &[u8], out: &Path) -> Vec<u8> {
    let (mut md5, mut sha1, mut sha256) = (Vec::new(), Vec::new(), Vec::new());
    for (n, r) in records.iter().enumerate() {
        let n = n as u32;
        md5.extend(r.md5.map(|h| (h, n)));
        sha1.extend(r.sha1.map(|h| (h, n)));
        sha256.extend(r.sha256.map(|h| (h, n)));
    }
    let mut offsets = vec![0u64];
    for (i, b) in records_file.iter().enumerate() {
        if *b == b'\n' {
            offsets.push(i as u64 + 1);
        }
    }
    let mut w = StoreWriter::new();
    w.add(0, &[1u32, records.len() as u32]);
    ExactSet::<16>::new(md5).write_sections(&mut w, 10);
    ExactSet::<20>::new(sha1).write_sections(&mut w, 20);
    ExactSet::<32>::new(sha256).write_sections(&mut w, 30);
    PdqIndex::new(&[]).write_sections(&mut w, 100);
    w.add::<u32>(40, &[]);
    w.add(41, &offsets);
    nigehbaan_video::VideoIndex::build(std::iter::empty(), 50).write_sections(&mut w, 200);
    w.write(out).unwrap();
    std::fs::read(out).unwrap()
}

fn files(lib: &Path) -> (Vec<u8>, Vec<u8>) {
    let dir = lib.join("nsrl");
    (
        std::fs::read(dir.join("records.jsonl")).unwrap(),
        std::fs::read(dir.join("index.nidx")).unwrap(),
    )
}

fn check_lookups(list: &OpenList, records: &[Record]) {
    for (n, r) in records.iter().enumerate() {
        let n = n as u32;
        assert_eq!(list.record(n).unwrap(), *r);
        if let Some(h) = r.md5 {
            assert!(list.lookup_md5(&h).contains(&n));
        }
        if let Some(h) = r.sha1 {
            assert!(list.lookup_sha1(&h).contains(&n));
        }
        if let Some(h) = r.sha256 {
            assert!(list.lookup_sha256(&h).contains(&n));
        }
    }
    assert!(list.lookup_md5(&[0x5a; 16]).is_empty());
    assert!(list.record(records.len() as u32).is_err());
}

#[test]
fn spilled_runs_give_the_same_list_as_the_in_memory_build() {
    let db = temp("nsrl.db");
    make_nsrl(&db, 3000);
    let req = request(&db);
    let expected = import_path(&db, &req.options).unwrap();
    assert_eq!(expected.skipped_empty, 2);

    // The default budget keeps every entry in memory; 4 KiB spills dozens
    // of runs per hash type; 0 spills one entry per run, so that the runs
    // are also merged along the way (more than 256 at once).
    let mut outputs = Vec::new();
    for (tag, budget) in [("default", None), ("4k", Some(4096)), ("zero", Some(0))] {
        let dir = temp(&format!("lib-{tag}"));
        let mut lib = Library::new(&dir);
        if let Some(b) = budget {
            lib = lib.with_import_run_bytes(b);
        }
        let summary = lib.import(&req).unwrap();
        let m = &summary.manifest;
        assert_eq!(m.record_count, expected.records.len() as u64);
        assert_eq!(m.skipped_empty, 2);
        lib.verify("nsrl").unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("nsrl"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        let mut leftovers = leftovers;
        leftovers.sort();
        assert_eq!(
            leftovers,
            ["index.nidx", "manifest.json", "records.jsonl"],
            "{tag}: temporary files removed"
        );
        let list = lib.open("nsrl").unwrap();
        let records = list.records().unwrap();
        assert_eq!(records, expected.records, "{tag}");
        check_lookups(&list, &records);
        outputs.push((m.clone(), files(&dir), dir));
    }
    let (m0, (records0, index0), dir0) = &outputs[0];
    for (m, (records, index), dir) in &outputs[1..] {
        assert_eq!(m, m0, "{}", dir.display());
        assert!(
            records == records0,
            "records.jsonl differs: {}",
            dir.display()
        );
        assert!(index == index0, "index.nidx differs: {}", dir.display());
    }
    let reference = in_memory_index(&expected.records, records0, &dir0.join("reference.nidx"));
    assert!(
        *index0 == reference,
        "the streamed index differs from the in-memory build"
    );
    for (_, _, dir) in outputs {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::remove_file(&db).unwrap();
}

#[test]
fn records_are_read_from_many_threads_at_once() {
    let db = temp("threads.db");
    make_nsrl(&db, 500);
    let dir = temp("lib-threads");
    let lib = Library::new(&dir).with_import_run_bytes(1024);
    lib.import(&request(&db)).unwrap();
    let list = lib.open("nsrl").unwrap();
    let records = list.records().unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (list, records) = (&list, &records);
            s.spawn(move || {
                for _ in 0..3 {
                    for (n, r) in records.iter().enumerate().skip(t) {
                        assert_eq!(list.record(n as u32).unwrap(), *r);
                    }
                }
            });
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&db).unwrap();
}

#[test]
fn a_bad_row_after_spilled_runs_leaves_the_library_as_it_was() {
    let db = temp("bad.db");
    make_nsrl(&db, 1000);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO FILE VALUES (NULL, NULL, 'NOT-HEX', NULL, NULL, NULL, NULL)",
        [],
    )
    .unwrap();
    drop(conn);
    let dir = temp("lib-bad");
    let lib = Library::new(&dir).with_import_run_bytes(512);
    let e = lib.import(&request(&db)).unwrap_err().to_string();
    assert!(e.contains("table FILE, row 1001"), "{e}");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
    assert!(lib.names().unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&db).unwrap();
}
