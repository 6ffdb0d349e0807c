//! Containers as the scanner opens them: nesting, every format, limits
//! against hostile archives, and robustness against corrupt bytes.

use nigehbaan_scan::archive::{entries_of, ArchiveLimits, Listed};
use nigehbaan_scan::Exclusion;
use proptest::prelude::*;
use std::io::{Cursor, Write};

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, name, *bytes).unwrap();
    }
    b.into_inner().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn seven(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    for (name, bytes) in entries {
        w.push_archive_entry(sevenz_rust2::ArchiveEntry::new_file(name), Some(*bytes))
            .unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn paths(found: &[Listed]) -> Vec<&str> {
    found.iter().map(|l| l.path.as_str()).collect()
}

fn kinds(ex: &[Exclusion]) -> Vec<&str> {
    ex.iter().map(|e| e.kind.name()).collect()
}

#[test]
fn every_format_nested_with_container_chains() {
    let inner_tar = tar(&[("x.bin", b"in a tar in a zip")]);
    let tgz = gz(&tar(&[("dir/y.bin", b"in a tgz")]));
    let sz = seven(&[("z.bin", b"in a 7z"), ("z2.bin", &[7u8; 5000])]);
    let single = gz(b"a single gzipped file");
    let outer = zip(&[
        ("photos/b.tar", &inner_tar),
        ("c.tgz", &tgz),
        ("d.7z", &sz),
        ("w.bin.gz", &single),
        ("plain.txt", b"plain"),
    ]);
    let (found, ex) = entries_of(&outer, "ex/a.zip", ArchiveLimits::default());
    assert!(ex.is_empty(), "{ex:?}");
    let p = paths(&found);
    for want in [
        "ex/a.zip!photos/b.tar",
        "ex/a.zip!photos/b.tar!x.bin",
        "ex/a.zip!c.tgz",
        "ex/a.zip!c.tgz!dir/y.bin",
        "ex/a.zip!d.7z",
        "ex/a.zip!d.7z!z.bin",
        "ex/a.zip!d.7z!z2.bin",
        "ex/a.zip!w.bin.gz",
        "ex/a.zip!w.bin.gz!w.bin",
        "ex/a.zip!plain.txt",
    ] {
        assert!(p.contains(&want), "{want} not in {p:?}");
    }
    let x = found
        .iter()
        .find(|l| l.path.ends_with("b.tar!x.bin"))
        .unwrap();
    assert_eq!(x.depth, 2);
    assert_eq!(x.size, 17);
}

#[test]
fn detected_by_content_not_by_name() {
    let inner = zip(&[("hidden.txt", b"renamed zip")]);
    let outer = tar(&[("holiday.jpg", &inner)]);
    let (found, _) = entries_of(&outer, "t", ArchiveLimits::default());
    assert!(paths(&found).contains(&"t!holiday.jpg!hidden.txt"));
}

#[test]
fn depth_limit_hashes_but_does_not_open() {
    let mut blob = zip(&[("deep.txt", b"bottom")]);
    for i in 0..4 {
        blob = zip(&[(&format!("level{i}.zip"), &blob)]);
    }
    let limits = ArchiveLimits {
        max_depth: 2,
        ..ArchiveLimits::default()
    };
    let (found, ex) = entries_of(&blob, "n.zip", limits);
    assert!(kinds(&ex).contains(&"depth-limit"), "{ex:?}");
    assert!(found.iter().all(|l| l.depth <= 2));
    assert!(!paths(&found).iter().any(|p| p.ends_with("deep.txt")));
}

#[test]
fn entry_limit_stops_a_container() {
    let names: Vec<String> = (0..20).map(|i| format!("f{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let limits = ArchiveLimits {
        max_entries: 5,
        ..ArchiveLimits::default()
    };
    let (found, ex) = entries_of(&zip(&entries), "many.zip", limits);
    assert!(found.is_empty());
    assert_eq!(kinds(&ex), ["entry-limit"]);
    // The same in a stream (tar): the first 5 are hashed, then it stops.
    let (found, ex) = entries_of(&tar(&entries), "many.tar", limits);
    assert_eq!(found.len(), 5);
    assert_eq!(kinds(&ex), ["entry-limit"]);
}

#[test]
fn size_and_ratio_limits_stop_bombs() {
    let zeros = vec![0u8; 4 << 20];
    let bomb = zip(&[("zeros.bin", &zeros), ("after.txt", b"never reached")]);
    assert!(bomb.len() < 64 << 10, "deflate squeezes zeros");
    let by_ratio = ArchiveLimits {
        ratio_floor: 1 << 20,
        max_ratio: 20,
        ..ArchiveLimits::default()
    };
    let (found, ex) = entries_of(&bomb, "bomb.zip", by_ratio);
    assert!(found.is_empty(), "{:?}", paths(&found));
    assert_eq!(kinds(&ex), ["ratio-limit"]);
    assert!(ex[0].incomplete && !ex[0].hashed);
    let by_size = ArchiveLimits {
        max_total_bytes: 1 << 20,
        ..ArchiveLimits::default()
    };
    let (_, ex) = entries_of(&gz(&tar(&[("z", &zeros)])), "bomb.tgz", by_size);
    assert_eq!(kinds(&ex), ["size-limit"]);
}

#[test]
fn nested_bombs_count_against_one_budget() {
    // 42.zip in miniature: each level small, together far too much.
    let mut level = zip(&[("z.bin", &vec![0u8; 1 << 20])]);
    for _ in 0..3 {
        let copies: Vec<(String, Vec<u8>)> = (0..8)
            .map(|i| (format!("{i}.zip"), level.clone()))
            .collect();
        let refs: Vec<(&str, &[u8])> = copies
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        level = zip(&refs);
    }
    let limits = ArchiveLimits {
        ratio_floor: 8 << 20,
        max_ratio: 100,
        ..ArchiveLimits::default()
    };
    let (found, ex) = entries_of(&level, "42.zip", limits);
    assert!(kinds(&ex).contains(&"ratio-limit"), "{ex:?}");
    assert!(found.len() < 8 * 8 * 8, "expansion stopped early");
}

#[test]
fn unsafe_names_are_hashed_and_flagged() {
    let z = zip(&[
        ("../../etc/evil.txt", b"a"),
        ("/abs.txt", b"b"),
        ("ok.txt", b"c"),
    ]);
    let (found, ex) = entries_of(&z, "z.zip", ArchiveLimits::default());
    assert_eq!(found.len(), 3);
    assert_eq!(kinds(&ex), ["unsafe-name", "unsafe-name"]);
    assert!(ex.iter().all(|e| e.hashed && !e.incomplete));
}

#[test]
fn links_and_devices_in_tars_are_not_followed() {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "link", "/etc/passwd").unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Fifo);
    h.set_size(0);
    b.append_data(&mut h, "fifo", &[][..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    b.append_data(&mut h, "real", &b"hi"[..]).unwrap();
    let t = b.into_inner().unwrap();
    let (found, ex) = entries_of(&t, "t.tar", ArchiveLimits::default());
    assert_eq!(paths(&found), ["t.tar!real"]);
    assert_eq!(kinds(&ex), ["link-entry", "special-file"]);
}

#[test]
fn truncated_and_corrupt_containers_keep_what_was_read() {
    let t = tar(&[("a.txt", &[1u8; 3000]), ("b.txt", &[2u8; 3000])]);
    let cut = &t[..4000];
    let (found, ex) = entries_of(cut, "cut.tar", ArchiveLimits::default());
    assert_eq!(paths(&found), ["cut.tar!a.txt"]);
    assert_eq!(kinds(&ex), ["archive-error"]);
    assert!(ex[0].incomplete);

    let tgz = gz(&t);
    let (found, ex) = entries_of(&tgz[..tgz.len() - 40], "cut.tgz", ArchiveLimits::default());
    assert!(found.len() <= 1);
    assert_eq!(kinds(&ex), ["archive-error"]);

    // A damaged end of central directory: the entry is recovered from its
    // local header.
    let z = zip(&[("a.txt", b"hello")]);
    let (found, ex) = entries_of(&z[..z.len() - 10], "cut.zip", ArchiveLimits::default());
    assert_eq!(paths(&found), ["cut.zip!a.txt"]);
    assert_eq!(kinds(&ex), ["archive-error"]);
    assert!(ex[0].incomplete && ex[0].hashed);

    let s = seven(&[("a.txt", b"hello")]);
    let (_, ex) = entries_of(&s[..s.len() / 2], "cut.7z", ArchiveLimits::default());
    assert_eq!(kinds(&ex), ["archive-error"]);
}

/// Where the `n`th (0-based) local header of a zip starts.
fn local_header(z: &[u8], n: usize) -> usize {
    z.windows(4)
        .enumerate()
        .filter(|(_, w)| w == b"PK\x03\x04")
        .nth(n)
        .unwrap()
        .0
}

#[test]
fn a_zip_cut_short_keeps_the_entries_before_the_cut() {
    let a = b"first benign entry ".repeat(100);
    let b = vec![7u8; 3000];
    let c = b"third".repeat(10);
    let z = zip(&[("a.txt", &a), ("dir/b.bin", &b), ("c.txt", &c)]);
    let (whole, _) = entries_of(&z, "z.zip", ArchiveLimits::default());
    assert_eq!(whole.len(), 3);
    // Cut right after the second entry, and in the middle of the third.
    for end in [local_header(&z, 2), local_header(&z, 2) + 40] {
        let (found, ex) = entries_of(&z[..end], "z.zip", ArchiveLimits::default());
        assert_eq!(
            paths(&found),
            ["z.zip!a.txt", "z.zip!dir/b.bin"],
            "cut at {end}"
        );
        // The recovered entries are the same bytes as the intact zip's.
        assert_eq!(found[..], whole[..2]);
        assert_eq!(kinds(&ex), ["archive-error"]);
        assert!(ex[0].incomplete && ex[0].hashed, "{ex:?}");
        assert!(
            ex[0].reason.contains("2 entries recovered"),
            "{}",
            ex[0].reason
        );
    }
    // Cut inside the first entry's data: nothing to recover, still named.
    let (found, ex) = entries_of(&z[..60], "z.zip", ArchiveLimits::default());
    assert!(found.is_empty());
    assert_eq!(kinds(&ex), ["archive-error"]);
}

#[test]
fn an_encrypted_entry_leaves_the_scan_incomplete() {
    let mut z = zip(&[("plain.txt", b"benign"), ("secret.txt", b"benign too")]);
    // Mark the second entry encrypted (flag bit 0) in its local and
    // central headers, as an encrypting archiver would.
    let local = local_header(&z, 1);
    z[local + 6] |= 1;
    let central = z
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == b"PK\x01\x02")
        .nth(1)
        .unwrap()
        .0;
    z[central + 8] |= 1;
    let (found, ex) = entries_of(&z, "e.zip", ArchiveLimits::default());
    assert_eq!(paths(&found), ["e.zip!plain.txt"]);
    assert_eq!(kinds(&ex), ["encrypted"]);
    assert_eq!(ex[0].path, "e.zip!secret.txt");
    assert!(ex[0].incomplete && !ex[0].hashed);
}

fn sample() -> Vec<u8> {
    let inner = tar(&[("x.bin", &[5u8; 700]), ("y.bin", b"y")]);
    zip(&[
        ("t.tar", &inner),
        ("g.gz", &gz(b"gz content")),
        ("s.7z", &seven(&[("q", b"q")])),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// Corrupting any byte of a nested archive never panics, and never
    /// yields more than the limits allow.
    #[test]
    fn corrupted_archives_never_panic(pos in 0usize..4096, byte in any::<u8>(), cut in 0usize..4096) {
        let mut b = sample();
        let n = b.len();
        b[pos % n] = byte;
        b.truncate(n - cut % n.max(1));
        let limits = ArchiveLimits { max_entries: 50, ..ArchiveLimits::default() };
        let (found, _) = entries_of(&b, "p", limits);
        prop_assert!(found.len() <= 50);
    }

    /// Random bytes behind every container signature never panic.
    #[test]
    fn random_bytes_behind_magic_never_panic(which in 0usize..4, rest in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let magic: &[u8] = [&b"PK\x03\x04"[..], &[0x1f, 0x8b, 8, 0][..], &[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c][..], &b"PK\x05\x06"[..]][which];
        let mut b = magic.to_vec();
        b.extend_from_slice(&rest);
        let _ = entries_of(&b, "r", ArchiveLimits::default());
    }
}

/// Found by the `scan_archive` fuzz target: a 7z header claiming billions of
/// files made the 7z reader ask for 20 GB at once, which aborts a process
/// rather than failing. It must now be an ordinary archive error.
#[test]
fn hostile_7z_header_is_an_error_not_an_abort() {
    let b = include_bytes!("data/7z-claims-billions-of-files.bin");
    let (found, ex) = entries_of(b, "fuzz.7z", ArchiveLimits::default());
    assert!(found.is_empty());
    assert_eq!(kinds(&ex), ["archive-error"], "{ex:?}");
}
