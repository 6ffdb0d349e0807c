//! Drives `nigehbaan scan` on disk images built at test time for the cases
//! the disk crate's own tests cover only below the scan: an NTFS alternate
//! data stream and a deleted NTFS file, an MFT record that names itself as
//! its parent, a deleted FAT file whose clusters another file now holds,
//! and a FAT directory that points back at its parent. Each must give the
//! right paths, flags and exclusions, and never a hang or a panic.
//!
//! The pictures are the benign generated ones of `nigehbaan demo`. NTFS
//! volumes are made with `mkntfs` and `ntfscp` (no mounting); what no tool
//! does without mounting (deleting an NTFS file, a self-parented record, a
//! directory cycle) is done by patching the image the way the file system
//! itself would, found with The Sleuth Kit's `fls` and `istat`.
//!
//! Runs when the programs are there, fails under CI=true when one is
//! missing, otherwise skips with a note.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
mod disk_common;

use disk_common::*;

/// The programs the NTFS cases need besides [`TOOLS`].
const NTFS_TOOLS: &[&str] = &["mkntfs", "ntfscp", "fls", "istat"];

/// Longer than any of these scans takes on a loaded machine; a hang fails.
const PATIENCE: Duration = Duration::from_secs(120);

/// The stdout of a program that must succeed.
fn output(cmd: &mut Command) -> String {
    let out = cmd.env("PATH", path_env()).output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh 16 MiB NTFS volume (4 KiB clusters) at `dir/ntfs.img`.
fn ntfs_volume(dir: &Path) -> PathBuf {
    let vol = dir.join("ntfs.img");
    std::fs::File::create(&vol)
        .unwrap()
        .set_len(16 * MIB)
        .unwrap();
    run(Command::new("mkntfs")
        .args(["-F", "-f", "-q", "-c", "4096"])
        .arg(&vol));
    vol
}

/// Copies `src` into the volume's root as `dest` (into its stream `stream`
/// when given).
fn ntfscp(vol: &Path, src: &Path, dest: &str, stream: Option<&str>) {
    let mut c = Command::new("ntfscp");
    c.arg("-q");
    if let Some(s) = stream {
        c.args(["-N", s]);
    }
    run(c.arg(vol).arg(src).arg(dest));
}

/// The MFT record number `fls` gives the file at `path` (no leading /).
fn record_of(vol: &Path, path: &str) -> u64 {
    let listing = output(Command::new("fls").args(["-r", "-p"]).arg(vol));
    listing
        .lines()
        .filter_map(|l| l.split_once(":\t"))
        .find(|(_, p)| *p == path)
        .and_then(|(head, _)| head.split_whitespace().last())
        .and_then(|addr| addr.split('-').next()?.parse().ok())
        .unwrap_or_else(|| panic!("fls lists no {path}: {listing}"))
}

/// The clusters of record `n`'s unnamed, non-resident `$DATA` (`istat`).
fn data_clusters(vol: &Path, n: u64) -> Vec<u64> {
    let stat = output(Command::new("istat").arg(vol).arg(n.to_string()));
    let mut lines = stat.lines().skip_while(|l| {
        !(l.starts_with("Type: $DATA (") && l.contains("Name: N/A") && l.contains("Non-Resident"))
    });
    assert!(lines.next().is_some(), "no non-resident $DATA: {stat}");
    let clusters: Vec<u64> = lines
        .take_while(|l| !l.starts_with("Type:") && !l.trim().is_empty())
        .flat_map(|l| l.split_whitespace().map(|c| c.parse::<u64>().unwrap()))
        .collect();
    assert!(!clusters.is_empty(), "{stat}");
    clusters
}

/// NTFS geometry from the boot sector: (cluster size, MFT byte offset).
fn ntfs_layout(img: &[u8]) -> (u64, u64) {
    let cluster = u16::from_le_bytes([img[11], img[12]]) as u64 * img[13] as u64;
    let mft = u64::from_le_bytes(img[0x30..0x38].try_into().unwrap()) * cluster;
    (cluster, mft)
}

/// Byte offset of MFT record `n` (a fresh small volume's `$MFT` is one run).
fn record_at(img: &[u8], n: u64) -> usize {
    let at = (ntfs_layout(img).1 + n * 1024) as usize;
    assert_eq!(&img[at..at + 4], b"FILE", "record {n}");
    at
}

/// Deletes record `n` as NTFS does: in-use flag cleared, sequence bumped,
/// and its data clusters' bits cleared in `$Bitmap` (record 6), whose own
/// clusters are `bitmap`.
fn delete_record(img: &mut [u8], n: u64, bitmap: &[u64], clusters: &[u64]) {
    let at = record_at(img, n);
    img[at + 0x16] &= !1;
    img[at + 0x10] = img[at + 0x10].wrapping_add(1);
    let cs = ntfs_layout(img).0;
    // $Bitmap's clusters in order, seen as one bit array.
    let byte = |bit: u64| {
        let (cluster, within) = ((bit / 8) / cs, (bit / 8) % cs);
        (bitmap[cluster as usize] * cs + within) as usize
    };
    for &c in clusters {
        img[byte(c)] &= !(1u8 << (c % 8));
    }
}

/// Makes record `n`'s `$FILE_NAME` name record `n` itself as its parent.
fn self_parent(img: &mut [u8], n: u64) {
    let rec = record_at(img, n);
    let seq = u16::from_le_bytes([img[rec + 0x10], img[rec + 0x11]]) as u64;
    let mut at = rec + u16::from_le_bytes([img[rec + 0x14], img[rec + 0x15]]) as usize;
    loop {
        let kind = u32::from_le_bytes(img[at..at + 4].try_into().unwrap());
        assert_ne!(kind, 0xFFFF_FFFF, "record {n} has no $FILE_NAME");
        if kind == 0x30 {
            let value = at + u16::from_le_bytes([img[at + 0x14], img[at + 0x15]]) as usize;
            img[value..value + 8].copy_from_slice(&(n | seq << 48).to_le_bytes());
            return;
        }
        at += u32::from_le_bytes(img[at + 4..at + 8].try_into().unwrap()) as usize;
    }
}

/// Scans `image` with the demo library, failing if it takes longer than
/// [`PATIENCE`]; returns the exit status and `report.json`.
fn scan_timed(d: &Path, image: &Path, dir: &Path) -> (Option<i32>, Value) {
    let started = Instant::now();
    let found = scan_any(d, image, dir);
    assert!(
        started.elapsed() < PATIENCE,
        "the scan took {:?}",
        started.elapsed()
    );
    found
}

fn exclusions(rep: &Value) -> &Vec<Value> {
    rep["exclusions"].as_array().unwrap()
}

#[test]
fn ntfs_alternate_data_stream_and_deleted_file_are_found_with_their_flags() {
    if !tools_present_with(NTFS_TOOLS) {
        return;
    }
    let dir = common::tempdir("scan-disk-cases", "ntfs");
    let d = demo(&dir);
    let vol = ntfs_volume(&dir);
    let note = dir.join("note");
    std::fs::write(&note, b"a resident benign note\n").unwrap();
    ntfscp(&vol, &note, "notes.txt", None);
    // The hidden picture: an alternate data stream of the text file.
    ntfscp(
        &vol,
        &d.join("originals/landscape.png"),
        "notes.txt",
        Some("photo.png"),
    );
    ntfscp(&vol, &d.join("originals/tiles.png"), "tiles.png", None);
    ntfscp(
        &vol,
        &d.join("evidence/phone/DCIM/IMG_0001.jpg"),
        "gone.jpg",
        None,
    );
    let gone = record_of(&vol, "gone.jpg");
    let (bitmap, clusters) = (data_clusters(&vol, 6), data_clusters(&vol, gone));
    let mut bytes = std::fs::read(&vol).unwrap();
    delete_record(&mut bytes, gone, &bitmap, &clusters);
    std::fs::write(&vol, &bytes).unwrap();
    let disk = mbr_disk(&dir, &vol, "7");

    let (code, rep) = scan_timed(&d, &disk, &dir);
    assert_eq!(code, Some(1), "{:?}", exclusions(&rep));
    let items = rep["items"].as_array().unwrap();
    let p = |rest: &str| format!("{}!p1:ntfs/{rest}", disk.display());

    let ads = item(items, &p("notes.txt:photo.png"));
    assert_eq!(ads["disposition"], "hit", "{ads}");
    assert_eq!(ads["hits"][0]["match_kind"], "sha256", "{ads}");
    assert!(ads.get("deleted").is_none(), "{ads}");
    let text = item(items, &p("notes.txt"));
    assert_eq!(text["size"], 23, "{text}");
    assert_eq!(text["disposition"], "unmatched", "{text}");
    assert_eq!(item(items, &p("tiles.png"))["disposition"], "hit");

    let gone = item(items, &p("gone.jpg"));
    assert_eq!(gone["deleted"], true, "{gone}");
    assert_eq!(gone["recovery"], "intact", "{gone}");
    assert_eq!(gone["disposition"], "hit", "{gone}");
    assert_eq!(gone["hits"][0]["match_kind"], "pdq", "{gone}");
    let original = std::fs::metadata(d.join("evidence/phone/DCIM/IMG_0001.jpg")).unwrap();
    assert_eq!(gone["size"], original.len(), "{gone}");

    // No file-system metadata ($MFT, $Bitmap, …) is reported as an item.
    assert!(
        !paths(&rep).iter().any(|p| p.contains("!p1:ntfs/$")),
        "{:?}",
        paths(&rep)
    );
    let fs = &rep["images"][0]["file_systems"][0];
    assert_eq!(fs["kind"], "ntfs", "{fs}");
    assert_eq!(fs["counts"]["deleted"], 1, "{fs}");
    assert_eq!(rep["status"]["complete"], true, "{:?}", exclusions(&rep));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_mft_record_that_is_its_own_parent_is_an_orphan_and_a_recorded_error() {
    if !tools_present_with(NTFS_TOOLS) {
        return;
    }
    let dir = common::tempdir("scan-disk-cases", "ntfs-self");
    let d = demo(&dir);
    let vol = ntfs_volume(&dir);
    ntfscp(&vol, &d.join("originals/tiles.png"), "self.png", None);
    ntfscp(&vol, &d.join("originals/landscape.png"), "land.png", None);
    let n = record_of(&vol, "self.png");
    let mut bytes = std::fs::read(&vol).unwrap();
    self_parent(&mut bytes, n);
    // $Extend (record 11) too: the metadata files under it loop as well.
    self_parent(&mut bytes, 11);
    std::fs::write(&vol, &bytes).unwrap();
    let disk = mbr_disk(&dir, &vol, "7");

    let (code, rep) = scan_timed(&d, &disk, &dir);
    assert_eq!(code, Some(2), "{:?}", exclusions(&rep));
    let items = rep["items"].as_array().unwrap();
    let p = |rest: &str| format!("{}!p1:ntfs/{rest}", disk.display());
    // The file whose place is unknown is still hashed and matched, once.
    let orphan = item(items, &p("$OrphanFiles/self.png"));
    assert_eq!(orphan["disposition"], "hit", "{orphan}");
    assert!(orphan.get("deleted").is_none(), "{orphan}");
    assert_eq!(
        paths(&rep)
            .iter()
            .filter(|q| q.ends_with("/self.png"))
            .count(),
        1
    );
    assert_eq!(item(items, &p("land.png"))["disposition"], "hit");
    let ex = exclusions(&rep);
    let named: Vec<&Value> = ex
        .iter()
        .filter(|e| e["kind"] == "file-system-error" && e["incomplete"] == true)
        .collect();
    // The reason names the damaged record's place on the image.
    let at = MIB + record_at(&bytes, n) as u64;
    assert!(
        named.iter().any(|e| {
            let why = e["reason"].as_str().unwrap();
            why.contains("names itself") && why.contains(&format!("byte {at:#x} of the image"))
        }),
        "{ex:?}"
    );
    assert!(
        named
            .iter()
            .all(|e| e["path"] == format!("{}!p1:ntfs", disk.display())),
        "{ex:?}"
    );
    assert_eq!(rep["status"]["complete"], false);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 16 MiB FAT16 volume with one-sector clusters at `dir/fat.img`.
fn fat_volume(dir: &Path) -> PathBuf {
    let vol = dir.join("fat.img");
    std::fs::File::create(&vol)
        .unwrap()
        .set_len(16 * MIB)
        .unwrap();
    run(Command::new("mkfs.fat")
        .args(["-F", "16", "-s", "1", "-n", "TESTDATA"])
        .arg(&vol));
    vol
}

/// Runs an mtools program on the volume `vol`.
fn mtools(program: &str, vol: &Path, args: &[&Path]) {
    run(Command::new(program).arg("-i").arg(vol).args(args));
}

#[test]
fn a_deleted_fat_file_whose_clusters_were_reused_is_flagged_and_never_matched() {
    if !tools_present() {
        return;
    }
    let dir = common::tempdir("scan-disk-cases", "fat-reused");
    let d = demo(&dir);
    let vol = fat_volume(&dir);
    let pic = d.join("evidence/phone/DCIM/IMG_0001.jpg");
    let pic_bytes = std::fs::read(&pic).unwrap();
    // DOCS first, so that the text file's entry does not take the deleted
    // entry's slot in the root directory.
    mtools("mmd", &vol, &[Path::new("::/DOCS")]);
    mtools("mcopy", &vol, &[&pic, Path::new("::/SMALL.JPG")]);
    mtools("mdel", &vol, &[Path::new("::/SMALL.JPG")]);
    // A larger benign text file takes the freed clusters.
    let filler = dir.join("filler");
    let lines: String = (0..pic_bytes.len() / 20 + 100)
        .map(|i| format!("line {i:>12} ok\n"))
        .collect();
    std::fs::write(&filler, lines).unwrap();
    mtools("mcopy", &vol, &[&filler, Path::new("::/DOCS/NOTES.TXT")]);
    let disk = mbr_disk(&dir, &vol, "6");

    let (code, rep) = scan_timed(&d, &disk, &dir);
    assert_eq!(code, Some(0), "{:?}", exclusions(&rep));
    let items = rep["items"].as_array().unwrap();
    let p = |rest: &str| format!("{}!p1:fat16/{rest}", disk.display());
    let deleted = items
        .iter()
        .find(|i| i["deleted"] == true && i["path"].as_str().unwrap().ends_with("MALL.JPG"))
        .unwrap_or_else(|| panic!("no deleted SMALL.JPG: {:?}", paths(&rep)));
    assert!(deleted["path"].as_str().unwrap().starts_with(&p("")));
    assert_eq!(deleted["recovery"], "possibly-overwritten", "{deleted}");
    // Its bytes are now the text file's: hashed as what they are, and no
    // match for the picture the entry once named.
    assert_ne!(deleted["disposition"], "hit", "{deleted}");
    assert!(deleted
        .get("hits")
        .is_none_or(|h| h.as_array().unwrap().is_empty()));
    assert_eq!(deleted["size"], pic_bytes.len() as u64, "{deleted}");
    assert_eq!(
        item(items, &p("DOCS/NOTES.TXT"))["disposition"],
        "unmatched"
    );
    assert!(!items.iter().any(|i| i["disposition"] == "hit"));
    assert_eq!(rep["status"]["complete"], true, "{:?}", exclusions(&rep));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fat_directory_pointing_back_at_its_parent_is_walked_once() {
    if !tools_present() {
        return;
    }
    let dir = common::tempdir("scan-disk-cases", "fat-cycle");
    let d = demo(&dir);
    let vol = fat_volume(&dir);
    // A is cluster 2, A/B cluster 3 (one-sector clusters, made in order).
    mtools("mmd", &vol, &[Path::new("::/A"), Path::new("::/A/B")]);
    mtools(
        "mcopy",
        &vol,
        &[&d.join("originals/tiles.png"), Path::new("::/A/TILES.PNG")],
    );
    mtools(
        "mcopy",
        &vol,
        &[&d.join("originals/landscape.png"), Path::new("::/LAND.PNG")],
    );
    // B's entry (the third in A's cluster, after . and ..) now starts at A.
    let mut bytes = std::fs::read(&vol).unwrap();
    let bps = u16::from_le_bytes([bytes[11], bytes[12]]) as usize;
    let reserved = u16::from_le_bytes([bytes[14], bytes[15]]) as usize;
    let root_entries = u16::from_le_bytes([bytes[17], bytes[18]]) as usize;
    let fat_sectors = u16::from_le_bytes([bytes[22], bytes[23]]) as usize;
    let data = (reserved + bytes[16] as usize * fat_sectors) * bps + root_entries * 32;
    let b_entry = data + 64;
    assert_eq!(&bytes[b_entry..b_entry + 11], b"B          ");
    bytes[b_entry + 26..b_entry + 28].copy_from_slice(&2u16.to_le_bytes());
    std::fs::write(&vol, &bytes).unwrap();
    let disk = mbr_disk(&dir, &vol, "6");

    let (code, rep) = scan_timed(&d, &disk, &dir);
    assert_eq!(code, Some(2), "{:?}", exclusions(&rep));
    let items = rep["items"].as_array().unwrap();
    let p = |rest: &str| format!("{}!p1:fat16/{rest}", disk.display());
    assert_eq!(item(items, &p("A/TILES.PNG"))["disposition"], "hit");
    assert_eq!(item(items, &p("LAND.PNG"))["disposition"], "hit");
    // Found once: not again under A/B, A/B/B, …
    let tiles: Vec<String> = paths(&rep)
        .into_iter()
        .filter(|q| q.ends_with("TILES.PNG"))
        .collect();
    assert_eq!(tiles, [p("A/TILES.PNG")]);
    let ex = exclusions(&rep);
    assert!(
        ex.iter().any(|e| e["kind"] == "file-system-error"
            && e["incomplete"] == true
            && e["reason"].as_str().unwrap().contains("already visited")),
        "{ex:?}"
    );
    assert_eq!(rep["status"]["complete"], false);
    std::fs::remove_dir_all(&dir).unwrap();
}
