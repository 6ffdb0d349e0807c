//! The library's trust rules (issue 13): an index is checked against its
//! manifest at every open, whatever byte is damaged; files are private;
//! killed imports' staging directories are swept. Benign test data only.

use std::fs;
use std::path::{Path, PathBuf};

use nigehbaan_lists::library::{sha256_file, ImportRequest, Library, LibraryError};
use nigehbaan_lists::{ImportErrorKind, ImportOptions};

const L_MD5: &str = "a622aaf671d0916f92b6bbc89db19633";
const L_PDQ: &str = "191b8f45eec034bfc1d4acac14af53d2cb2c94a663d32b29b44baad34b3cf434";

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "nigehbaan-lists-trust-{}-{name}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn import(lib: &Library, list: &Path, name: &str) -> Result<(), LibraryError> {
    let req = ImportRequest {
        path: list.to_path_buf(),
        options: ImportOptions::new("list.txt", name),
        replace: false,
        min_quality: 0,
        compact_pdq: false,
    };
    lib.import(&req).map(|_| ())
}

fn small_library(dir: &Path) -> Library {
    let list = dir.join("list.txt");
    fs::write(&list, format!("pdq {L_PDQ}\nmd5 {L_MD5}\n")).unwrap();
    let lib = Library::new(dir.join("lib"));
    import(&lib, &list, "l").unwrap();
    lib
}

#[test]
fn every_damaged_byte_of_an_index_is_caught_at_open() {
    let dir = temp("damage");
    let lib = small_library(&dir);
    let index = lib.dir().join("l/index.nidx");
    let good = fs::read(&index).unwrap();
    let good_sha = sha256_file(&index).unwrap().0;
    let opened = lib.open("l").unwrap();
    assert_eq!(opened.index_sha256(), sha256_file(&index).unwrap().0);
    assert_eq!(opened.index_sha256(), opened.manifest.index_sha256);
    drop(opened);
    // Byte positions across the whole file, one flipped bit each: the
    // open must refuse, never succeed with different contents. The oracle
    // is the file's bytes: any change at all must be refused.
    let step = (good.len() / 97).max(1);
    for at in (0..good.len()).step_by(step) {
        let mut bad = good.clone();
        bad[at] ^= 1 << (at % 8);
        fs::write(&index, &bad).unwrap();
        match lib.open("l") {
            Err(LibraryError::IndexMismatch {
                list,
                path,
                expected,
                actual,
                ..
            }) => {
                assert_eq!(list, "l");
                assert_eq!(path, index);
                assert_eq!(expected, good_sha);
                assert_eq!(actual, sha256_file(&index).unwrap().0);
            }
            Err(e) => panic!("byte {at}: wrong error {e}"),
            Ok(_) => panic!("byte {at}: a damaged index opened"),
        }
    }
    // A truncated or swapped file too.
    fs::write(&index, &good[..good.len() - 64]).unwrap();
    assert!(matches!(
        lib.open("l"),
        Err(LibraryError::IndexMismatch { .. })
    ));
    fs::write(&index, &good).unwrap();
    let e = lib.open_all(&[]).map(|_| ());
    assert!(e.is_ok());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_mismatch_error_names_everything_and_the_hint() {
    let dir = temp("message");
    let lib = small_library(&dir);
    let index = lib.dir().join("l/index.nidx");
    let mut b = fs::read(&index).unwrap();
    let n = b.len();
    b[n / 2] ^= 0x80;
    fs::write(&index, &b).unwrap();
    let e = lib.open_all(&[]).err().expect("refused");
    let text = e.to_string();
    assert!(text.contains("nigehbaan lists verify l"), "{text}");
    assert!(text.contains(&index.display().to_string()), "{text}");
    assert!(lib.verify("l").is_err());
    fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn library_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp("private");
    let lib = small_library(&dir);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(lib.dir()), 0o700);
    assert_eq!(mode(&lib.dir().join("l")), 0o700);
    for f in ["manifest.json", "records.jsonl", "index.nidx"] {
        assert_eq!(mode(&lib.dir().join("l").join(f)), 0o600, "{f}");
    }
    assert!(lib.loose_permissions().unwrap().is_empty());
    let records = lib.dir().join("l/records.jsonl");
    fs::set_permissions(&records, fs::Permissions::from_mode(0o640)).unwrap();
    let loose = lib.loose_permissions().unwrap();
    assert_eq!(loose.len(), 1);
    assert_eq!((loose[0].path.clone(), loose[0].mode), (records, 0o640));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stale_staging_is_swept_live_staging_is_not() {
    let dir = temp("sweep");
    let lib = small_library(&dir);
    let d = lib.dir();
    // A killed import: unlocked lock file.
    fs::create_dir(d.join(".import-a-4000000-1")).unwrap();
    fs::write(d.join(".import-a-4000000-1/records.jsonl"), "x\n").unwrap();
    fs::write(d.join(".import-a-4000000-1.lock"), "").unwrap();
    // A live one: locked by this process.
    fs::create_dir(d.join(".import-b-4000001-1")).unwrap();
    let held = fs::File::create(d.join(".import-b-4000001-1.lock")).unwrap();
    held.lock().unwrap();
    // An older version's, without a lock file, of a process that is gone
    // (judged where /proc exists; else by age, and it is new).
    fs::create_dir(d.join(".import-c-4000002-1")).unwrap();
    // A killed removal, and a replaced copy whose list is in place.
    fs::create_dir(d.join(".removed-l-4000003-1")).unwrap();
    fs::create_dir(d.join(".replaced-l-4000004-1")).unwrap();
    // A replaced copy whose list is gone: the only copy, kept.
    fs::create_dir(d.join(".replaced-gone-4000005-1")).unwrap();

    let sweep = lib.sweep_staging().unwrap();
    let names = |v: &[PathBuf]| -> Vec<String> {
        v.iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    let mut removed = names(&sweep.removed);
    removed.sort();
    let mut want = vec![
        ".import-a-4000000-1",
        ".removed-l-4000003-1",
        ".replaced-l-4000004-1",
    ];
    if Path::new("/proc/self").exists() {
        want.insert(1, ".import-c-4000002-1");
    }
    assert_eq!(removed, want);
    assert_eq!(names(&sweep.in_use)[0], ".import-b-4000001-1");
    assert_eq!(sweep.kept.len(), 1);
    assert!(sweep.failed.is_empty());
    assert!(!d.join(".import-a-4000000-1.lock").exists());
    assert!(d.join(".import-b-4000001-1").exists());
    // The list itself is untouched and opens.
    assert!(lib.open("l").is_ok());
    drop(held);
    // An import sweeps too, and leaves no lock file of its own.
    let list = dir.join("list2.txt");
    fs::write(&list, format!("md5 {L_MD5}\n")).unwrap();
    import(&lib, &list, "m").unwrap();
    assert!(!d.join(".import-b-4000001-1").exists());
    let left: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".import-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_imports_leave_the_library_unchanged() {
    let dir = temp("empty");
    let lib = Library::new(dir.join("lib"));
    let list = dir.join("empty.txt");
    fs::write(&list, "# nothing\n").unwrap();
    let mut req = ImportRequest {
        path: list.clone(),
        options: ImportOptions::new("empty.txt", "e"),
        replace: false,
        min_quality: 0,
        compact_pdq: false,
    };
    req.options.format = Some(nigehbaan_lists::Format::HashSum);
    match lib.import(&req) {
        Err(LibraryError::Import(e)) => assert_eq!(e.kind, ImportErrorKind::Empty),
        other => panic!("{other:?}"),
    }
    assert!(lib.names().unwrap().is_empty());
    req.options.allow_empty = true;
    let s = lib.import(&req).unwrap();
    assert_eq!(s.manifest.record_count, 0);
    assert!(lib.open("e").is_ok());
    fs::remove_dir_all(&dir).unwrap();
}
