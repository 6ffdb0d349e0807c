//! Hostile volumes: a FAT chain loop, a FAT directory cycle, an MFT record
//! that names itself as its parent, an ext directory reached twice, sizes
//! past the end, truncated images and random damage. Each gives errors,
//! never a panic, a hang or unbounded memory.
//!
//! Runs when the programs are present; fails under CI=true without them;
//! otherwise skips with a note.

mod fs_support;

use fs_support::*;
use nigehbaan_disk::fs::{self, EntryKind, FileSystem};
use nigehbaan_disk::ReadAt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Walks, reads every file (up to 1 MiB each) and asks for free space;
/// returns the number of errors seen. Panics only if it takes too long.
fn exercise(fs: &dyn FileSystem) -> usize {
    let started = Instant::now();
    let (entries, errors) = walk(fs);
    let mut failures = errors.len();
    let mut buf = vec![0u8; 1 << 20];
    for e in entries.iter().filter(|e| e.kind == EntryKind::File) {
        match fs.open_file(e) {
            Ok(r) => {
                let n = (r.len() as usize).min(buf.len());
                if r.read_exact_at(0, &mut buf[..n]).is_err() {
                    failures += 1;
                }
            }
            Err(_) => failures += 1,
        }
    }
    if fs.unallocated().is_err() {
        failures += 1;
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    failures
}

fn open_bytes(bytes: Vec<u8>) -> Result<Box<dyn FileSystem>, fs::FsError> {
    let r: Arc<dyn ReadAt> = Arc::new(bytes);
    fs::open(r)
}

fn patch(img: &Path, at: usize, bytes: &[u8]) {
    let mut v = std::fs::read(img).unwrap();
    v[at..at + bytes.len()].copy_from_slice(bytes);
    std::fs::write(img, v).unwrap();
}

/// FAT16 geometry of a `mkfs.fat -F 16 -s 1` image: (FAT offset, first
/// data byte) — cluster c is at data + (c - 2) * 512.
fn fat16_layout(img: &[u8]) -> (usize, usize) {
    let bps = u16::from_le_bytes([img[11], img[12]]) as usize;
    let reserved = u16::from_le_bytes([img[14], img[15]]) as usize;
    let fats = img[16] as usize;
    let root_entries = u16::from_le_bytes([img[17], img[18]]) as usize;
    let fat_sectors = u16::from_le_bytes([img[22], img[23]]) as usize;
    let fat = reserved * bps;
    (fat, fat + fats * fat_sectors * bps + root_entries * 32)
}

#[test]
fn fat_chain_loop_directory_cycle_and_size_past_the_end() {
    let Some(t) = tools(&["mkfs.fat", "mcopy", "mmd"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("fat.img");
    let i = img.to_str().unwrap();
    run(&t["mkfs.fat"], &["-C", "-F", "16", "-s", "1", i, "8192"]);
    run(&t["mmd"], &["-i", i, "::/a", "::/a/b"]);
    let data = dir.path().join("data");
    std::fs::write(&data, vec![7u8; 3000]).unwrap();
    run(
        &t["mcopy"],
        &["-i", i, data.to_str().unwrap(), "::/loop.bin"],
    );
    run(
        &t["mcopy"],
        &["-i", i, data.to_str().unwrap(), "::/long.bin"],
    );
    let bytes = std::fs::read(&img).unwrap();
    let (fat, data_at) = fat16_layout(&bytes);
    // a is cluster 2, b cluster 3, loop.bin clusters 4..=9, long.bin 10..=15
    // loop.bin: cluster 6 points back to 4
    patch(&img, fat + 6 * 2, &4u16.to_le_bytes());
    // b's entry (third in a's cluster, after . and ..) points at a
    patch(&img, data_at + 64 + 26, &2u16.to_le_bytes());
    // long.bin says it is 4 GiB - 1 long
    let root = data_at - 512 * 32;
    let long_entry = (0..512)
        .map(|k| root + k * 32)
        .find(|&at| &bytes[at..at + 8] == b"LONG    ")
        .unwrap();
    patch(&img, long_entry + 28, &u32::MAX.to_le_bytes());

    let fs = open(&img);
    let (entries, errors) = walk(&*fs);
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(text.iter().any(|e| e.contains("loops")), "{text:?}");
    assert!(
        text.iter().any(|e| e.contains("already visited")),
        "{text:?}"
    );
    let by = files_by_path(&entries);
    // the looping file is listed, and reading it fails rather than lying
    let looped = by["loop.bin"];
    assert!(content(&*fs, looped).is_err());
    let long = by["long.bin"];
    assert_eq!(long.size, u32::MAX as u64);
    assert!(content(&*fs, long).is_err());
    assert!(exercise(&*fs) >= 3);
}

/// The byte offset of record `n`'s first `$FILE_NAME` value.
fn file_name_value(img: &[u8], n: u64) -> usize {
    let bps = u16::from_le_bytes([img[11], img[12]]) as u64;
    let cs = bps * img[13] as u64;
    let lcn = u64::from_le_bytes(img[0x30..0x38].try_into().unwrap());
    let rec = (lcn * cs + n * 1024) as usize;
    let mut at = rec + u16::from_le_bytes([img[rec + 0x14], img[rec + 0x15]]) as usize;
    loop {
        let kind = u32::from_le_bytes(img[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(img[at + 4..at + 8].try_into().unwrap()) as usize;
        assert_ne!(kind, 0xFFFF_FFFF);
        if kind == 0x30 {
            return at + u16::from_le_bytes([img[at + 0x14], img[at + 0x15]]) as usize;
        }
        at += len;
    }
}

#[test]
fn ntfs_record_that_is_its_own_parent_and_a_directory_cycle() {
    let Some(t) = tools(&["mkntfs", "ntfscp", "fls"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("ntfs.img");
    let i = img.to_str().unwrap();
    std::fs::File::create(&img)
        .unwrap()
        .set_len(8 << 20)
        .unwrap();
    run(&t["mkntfs"], &["-F", "-f", "-q", "-c", "4096", i]);
    let data = dir.path().join("data");
    std::fs::write(&data, picture(3, true)).unwrap();
    run(&t["ntfscp"], &["-q", i, data.to_str().unwrap(), "self.jpg"]);
    let n: u64 = fls(&img, None)
        .iter()
        .find(|l| l.path == "self.jpg")
        .map(|l| l.addr.split('-').next().unwrap().parse().unwrap())
        .unwrap();
    let bytes = std::fs::read(&img).unwrap();
    let v = file_name_value(&bytes, n);
    let seq = |rec: u64| {
        let bps = u16::from_le_bytes([bytes[11], bytes[12]]) as u64;
        let lcn = u64::from_le_bytes(bytes[0x30..0x38].try_into().unwrap());
        let at = (lcn * bps * bytes[13] as u64 + rec * 1024) as usize + 0x10;
        u16::from_le_bytes([bytes[at], bytes[at + 1]]) as u64
    };
    patch(&img, v, &(n | seq(n) << 48).to_le_bytes());
    // $Extend (record 11) becomes its own parent: its children loop too
    let v11 = file_name_value(&bytes, 11);
    patch(&img, v11, &(11 | seq(11) << 48).to_le_bytes());

    let fs = open(&img);
    let (entries, errors) = walk(&*fs);
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter().filter(|e| e.contains("names itself")).count() >= 2,
        "{text:?}"
    );
    let paths: Vec<String> = entries.iter().map(|e| e.display_path()).collect();
    assert!(
        paths.contains(&"/$OrphanFiles/self.jpg".to_string()),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.starts_with("/$OrphanFiles/$Quota")),
        "{paths:?}"
    );
    exercise(&*fs);
}

#[test]
fn ext_directory_reached_twice_and_size_past_the_end() {
    let Some(t) = tools(&["mkfs.ext4", "debugfs"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("Users/x")).unwrap();
    std::fs::write(src.join("Users/x/a.jpg"), picture(5, true)).unwrap();
    std::fs::write(src.join("big.bin"), vec![1u8; 5000]).unwrap();
    let img = dir.path().join("ext.img");
    let i = img.to_str().unwrap();
    std::fs::File::create(&img)
        .unwrap()
        .set_len(8 << 20)
        .unwrap();
    run(&t["mkfs.ext4"], &["-q", "-d", src.to_str().unwrap(), i]);
    // a hard link from inside /Users/x back to /Users: a cycle
    run(&t["debugfs"], &["-w", "-R", "link /Users /Users/x/up", i]);
    run(
        &t["debugfs"],
        &["-w", "-R", "sif /big.bin size 0x7fffffffffff", i],
    );
    let fs = open(&img);
    let (entries, errors) = walk(&*fs);
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(text.iter().any(|e| e.contains("reached twice")), "{text:?}");
    assert!(
        text.iter().any(|e| e.contains("past the volume")),
        "{text:?}"
    );
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.display_path() == "/Users/x/a.jpg")
            .count(),
        1
    );
    exercise(&*fs);
}

/// xorshift64*, for repeatable damage.
fn rng(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn truncated_and_randomly_damaged_volumes_never_panic() {
    let Some(t) = tools(&[
        "mkfs.fat",
        "mcopy",
        "mkntfs",
        "ntfscp",
        "mkfs.ext2",
        "mkfs.ext4",
        "mkfs.exfat",
    ]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("d/e")).unwrap();
    std::fs::write(src.join("d/e/p.png"), picture(9, false)).unwrap();
    std::fs::write(src.join("q.jpg"), picture(10, true)).unwrap();
    let q = src.join("q.jpg");
    let q = q.to_str().unwrap();
    let mut images = Vec::new();
    let mk = |name: &str, size: u64| {
        let p = dir.path().join(name);
        std::fs::File::create(&p).unwrap().set_len(size).unwrap();
        p
    };
    let fat = mk("fat.img", 2 << 20);
    run(&t["mkfs.fat"], &["-F", "12", fat.to_str().unwrap()]);
    run(&t["mcopy"], &["-i", fat.to_str().unwrap(), q, "::/q.jpg"]);
    images.push(fat);
    let ntfs = mk("ntfs.img", 4 << 20);
    run(&t["mkntfs"], &["-F", "-f", "-q", ntfs.to_str().unwrap()]);
    run(&t["ntfscp"], &["-q", ntfs.to_str().unwrap(), q, "q.jpg"]);
    images.push(ntfs);
    for (mkfs, name) in [("mkfs.ext2", "ext2.img"), ("mkfs.ext4", "ext4.img")] {
        let p = mk(name, 2 << 20);
        run(
            &t[mkfs],
            &["-q", "-d", src.to_str().unwrap(), p.to_str().unwrap()],
        );
        images.push(p);
    }
    let exfat = mk("exfat.img", 4 << 20);
    run(&t["mkfs.exfat"], &[exfat.to_str().unwrap()]);
    images.push(exfat);

    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for img in &images {
        let clean = std::fs::read(img).unwrap();
        let kind = fs::detect(&clean).unwrap_or_else(|| panic!("{}: not detected", img.display()));
        // truncated at many points
        for cut in [
            512,
            1024,
            4096,
            8192,
            65536,
            300_000,
            clean.len() / 2,
            clean.len() - 4096,
        ] {
            if let Ok(fs) = open_bytes(clean[..cut].to_vec()) {
                exercise(&*fs);
            }
        }
        // random damage in the metadata (the first 256 KiB, where the boot
        // sector, tables, inode tables and the MFT's first records are, plus
        // the MFT wherever it is)
        let mft = if kind == fs::FsKind::Ntfs {
            let cs = u16::from_le_bytes([clean[11], clean[12]]) as u64 * clean[13] as u64;
            (u64::from_le_bytes(clean[0x30..0x38].try_into().unwrap()) * cs) as usize
        } else {
            0
        };
        for round in 0..150 {
            let mut v = clean.clone();
            let flips = 1 + rng(&mut state) % 16;
            for _ in 0..flips {
                let region = if mft > 0 && round % 2 == 0 { mft } else { 0 };
                let at = region + (rng(&mut state) % (256 * 1024)) as usize;
                if at < v.len() {
                    v[at] = rng(&mut state) as u8;
                }
            }
            if let Ok(fs) = open_bytes(v) {
                exercise(&*fs);
            }
        }
    }
}
