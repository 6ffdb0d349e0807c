//! E01 images made at test time by `ewfacquire` from benign generated
//! bytes: read back byte for byte, metadata and stored hashes against
//! `ewfinfo`, verification against `md5sum`/`sha1sum` of the raw image,
//! and damage: a corrupt chunk, a truncated segment, a missing segment.

mod container_common;

use container_common::{benign_bytes, run, tempdir, tool};
use nigehbaan_disk::unreadable::{Cause, ChunkProblem};
use nigehbaan_disk::{open_image, ContainerKind, ImageError, ReadAt, Unreadable};
use std::path::Path;

const RAW_LEN: usize = 3 * 1024 * 1024 + 512 * 37;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Writes raw.dd and turns it into img.E01, img.E02, … (1 MiB segments).
fn make_e01(dir: &Path) -> Option<Vec<u8>> {
    make_e01_with(dir, "deflate:fast")
}

fn make_e01_with(dir: &Path, compression: &str) -> Option<Vec<u8>> {
    let ewfacquire = tool("ewfacquire")?;
    let raw = benign_bytes(RAW_LEN, 7);
    std::fs::write(dir.join("raw.dd"), &raw).unwrap();
    run(
        &ewfacquire,
        &[
            "-u",
            "-q",
            "-t",
            "img",
            "-f",
            "encase6",
            "-c",
            compression,
            "-S",
            "1MiB",
            "-d",
            "sha1",
            "-C",
            "CASE-42",
            "-D",
            "benign test image",
            "-e",
            "Test Examiner",
            "-E",
            "EV-1",
            "-N",
            "test data only",
            "raw.dd",
        ],
        dir,
    );
    assert!(dir.join("img.E02").exists(), "expected several segments");
    Some(raw)
}

fn field<'a>(info: &'a str, name: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .map(str::trim)
        .unwrap_or_else(|| panic!("ewfinfo has no {name}"))
}

#[test]
fn e01_reads_back_the_raw_bytes_and_metadata() {
    let d = tempdir();
    let Some(raw) = make_e01(d.path()) else {
        return;
    };
    let img = open_image(&[d.path().join("img.E01")]).unwrap();
    assert_eq!(img.kind(), ContainerKind::E01);
    assert_eq!(
        img.paths().len(),
        std::fs::read_dir(d.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x.to_string_lossy().starts_with('E')))
            .count()
    );
    assert_eq!(img.len(), raw.len() as u64);
    let r = img.reader();
    let mut all = vec![0u8; raw.len()];
    r.read_exact_at(0, &mut all).unwrap();
    assert!(all == raw, "streamed data differs from the raw image");
    // Reads straddling chunk boundaries, through the cache.
    for &(at, n) in &[
        (32_760u64, 20usize),
        (1, 70_000),
        (RAW_LEN as u64 - 5, 5),
        (1_048_000, 4096),
    ] {
        let mut b = vec![0u8; n];
        r.read_exact_at(at, &mut b).unwrap();
        assert!(b[..] == raw[at as usize..at as usize + n], "read at {at}");
    }
    assert!(img.damage().is_empty(), "{:?}", img.damage());
    assert!(img.known_unreadable().is_empty());

    // Metadata and stored hashes against ewfinfo.
    let info = run(&tool("ewfinfo").unwrap(), &["img.E01"], d.path());
    let a = img.acquisition().expect("acquisition metadata");
    assert_eq!(a.case_number.as_deref(), Some(field(&info, "Case number:")));
    assert_eq!(a.examiner.as_deref(), Some(field(&info, "Examiner name:")));
    assert_eq!(
        a.evidence_number.as_deref(),
        Some(field(&info, "Evidence number:"))
    );
    assert_eq!(a.description.as_deref(), Some(field(&info, "Description:")));
    assert_eq!(a.notes.as_deref(), Some(field(&info, "Notes:")));
    assert_eq!(
        a.software_version.as_deref(),
        Some(field(&info, "Software version used:"))
    );
    assert!(a.acquired.is_some());
    let stored = img.stored_hashes();
    assert_eq!(hex(&stored.md5.unwrap()), field(&info, "MD5:"));
    assert_eq!(hex(&stored.sha1.unwrap()), field(&info, "SHA1:"));

    // Verification against md5sum / sha1sum of the raw image.
    let v = img.verify();
    assert!(v.verified(), "{v:?}");
    let md5sum = run(&tool("md5sum").unwrap(), &["raw.dd"], d.path());
    let sha1sum = run(&tool("sha1sum").unwrap(), &["raw.dd"], d.path());
    assert_eq!(
        hex(&v.computed.md5),
        md5sum.split_whitespace().next().unwrap()
    );
    assert_eq!(
        hex(&v.computed.sha1),
        sha1sum.split_whitespace().next().unwrap()
    );
}

/// Flips bytes inside the chunk data of the first segment.
fn corrupt(path: &Path, at: u64) {
    let mut b = std::fs::read(path).unwrap();
    for x in &mut b[at as usize..at as usize + 64] {
        *x ^= 0x5A;
    }
    std::fs::write(path, b).unwrap();
}

#[test]
fn a_corrupt_chunk_is_an_unreadable_range_and_the_rest_reads() {
    let d = tempdir();
    let Some(raw) = make_e01(d.path()) else {
        return;
    };
    corrupt(&d.path().join("img.E01"), 200_000);
    let img = open_image(&[d.path().join("img.E01")]).unwrap();
    let v = img.verify();
    assert!(!v.verified());
    assert_eq!(
        v.computed.unreadable.len(),
        1,
        "{:?}",
        v.computed.unreadable
    );
    let bad = v.computed.unreadable[0].clone();
    assert_eq!(bad.len, 32768);
    assert_eq!(bad.start % 32768, 0);
    assert!(
        matches!(
            bad.cause,
            Cause::CorruptChunk {
                problem: ChunkProblem::Inflate
                    | ChunkProblem::Checksum
                    | ChunkProblem::Short { .. },
                ..
            }
        ),
        "{bad:?}"
    );
    // ewfverify agrees that the image is damaged.
    let out = std::process::Command::new(tool("ewfverify").unwrap())
        .args(["-q", "img.E01"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "ewfverify accepted the corrupted image"
    );
    // Everything outside the bad chunk still reads.
    let r = img.reader();
    let mut before = vec![0u8; bad.start as usize];
    r.read_exact_at(0, &mut before).unwrap();
    assert!(before[..] == raw[..bad.start as usize]);
    let mut after = vec![0u8; raw.len() - bad.end() as usize];
    r.read_exact_at(bad.end(), &mut after).unwrap();
    assert!(after[..] == raw[bad.end() as usize..]);
    let mut one = [0u8; 1];
    let e = r.read_at(bad.start + 100, &mut one).unwrap_err();
    assert_eq!(Unreadable::find(&e), Some(&bad));
}

#[test]
fn a_truncated_last_segment_leaves_its_range_unreadable() {
    let d = tempdir();
    let Some(raw) = make_e01(d.path()) else {
        return;
    };
    let mut last = 2;
    while d.path().join(format!("img.E{:02}", last + 1)).exists() {
        last += 1;
    }
    let p = d.path().join(format!("img.E{last:02}"));
    let len = std::fs::metadata(&p).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(len / 2).unwrap();
    let img = open_image(&[d.path().join("img.E01")]).unwrap();
    assert!(!img.damage().is_empty());
    let missing = img.known_unreadable();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert_eq!(missing[0].end(), raw.len() as u64);
    let ok = missing[0].start as usize;
    assert!(ok > 0);
    let mut b = vec![0u8; ok];
    img.reader().read_exact_at(0, &mut b).unwrap();
    assert!(b[..] == raw[..ok]);
    let v = img.verify();
    assert!(!v.verified());
    assert!(!v.computed.unreadable.is_empty());
}

#[test]
fn a_missing_middle_segment_is_an_error_naming_it() {
    let d = tempdir();
    if make_e01(d.path()).is_none() {
        return;
    }
    std::fs::remove_file(d.path().join("img.E02")).unwrap();
    match open_image(&[d.path().join("img.E01")]) {
        Err(ImageError::MissingSegment { path }) => assert!(path.ends_with("img.E02")),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened an image with a missing segment"),
    }
}

#[test]
fn ex01_and_l01_are_reported_unsupported() {
    let d = tempdir();
    for (name, sig, format) in [
        ("x.Ex01", &b"EVF2\x0d\x0a\x81\x00"[..], "Ex01"),
        ("x.L01", &b"LVF\x09\x0d\x0a\xff\x00"[..], "L01"),
    ] {
        let p = d.path().join(name);
        let mut b = sig.to_vec();
        b.resize(4096, 0);
        std::fs::write(&p, b).unwrap();
        match open_image(&[&p]) {
            Err(ImageError::Unsupported { format: f, .. }) => assert_eq!(f, format),
            Err(e) => panic!("{name}: wrong error {e}"),
            Ok(_) => panic!("{name} opened"),
        }
    }
}

#[test]
fn a_corrupt_header_is_an_error_not_a_panic() {
    let d = tempdir();
    let p = d.path().join("bad.E01");
    let mut b = b"EVF\x09\x0d\x0a\xff\x00\x01\x01\x00\x00\x00".to_vec();
    b.resize(10_000, 0xAB);
    std::fs::write(&p, b).unwrap();
    let e = open_image(&[&p])
        .err()
        .expect("no volume section: an error");
    assert!(e.to_string().contains("bad.E01"), "{e}");
}

#[test]
fn uncompressed_chunks_are_checked_by_their_adler32() {
    let d = tempdir();
    let Some(raw) = make_e01_with(d.path(), "none") else {
        return;
    };
    let img = open_image(&[d.path().join("img.E01")]).unwrap();
    let mut all = vec![0u8; raw.len()];
    img.reader().read_exact_at(0, &mut all).unwrap();
    assert!(all == raw);
    assert!(img.verify().verified());
    corrupt(&d.path().join("img.E01"), 300_000);
    let img = open_image(&[d.path().join("img.E01")]).unwrap();
    let v = img.verify();
    assert_eq!(
        v.computed.unreadable.len(),
        1,
        "{:?}",
        v.computed.unreadable
    );
    let bad = &v.computed.unreadable[0];
    assert!(
        matches!(
            bad.cause,
            Cause::CorruptChunk {
                problem: ChunkProblem::Checksum,
                ..
            }
        ),
        "{bad:?}"
    );
}

#[test]
fn other_ewf1_flavours_read_back() {
    let Some(ewfacquire) = tool("ewfacquire") else {
        return;
    };
    let d = tempdir();
    let raw = benign_bytes(2 << 20, 21);
    std::fs::write(d.path().join("raw.dd"), &raw).unwrap();
    for (format, first) in [
        ("encase2", "encase2.E01"),
        ("encase5", "encase5.E01"),
        ("ftk", "ftk.E01"),
        ("linen6", "linen6.E01"),
        ("ewf", "ewf.e01"),
        ("smart", "smart.s01"),
    ] {
        run(
            &ewfacquire,
            &[
                "-u",
                "-q",
                "-t",
                format,
                "-f",
                format,
                "-c",
                "deflate:fast",
                "-S",
                "1MiB",
                "raw.dd",
            ],
            d.path(),
        );
        let img = open_image(&[d.path().join(first)]).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert!(img.paths().len() > 1, "{format}");
        let mut all = vec![0u8; raw.len()];
        img.reader().read_exact_at(0, &mut all).unwrap();
        assert!(all == raw, "{format}: data differs");
        let v = img.verify();
        assert_eq!(v.md5_matches(), Some(true), "{format}");
        assert!(v.computed.unreadable.is_empty(), "{format}");
    }
}
