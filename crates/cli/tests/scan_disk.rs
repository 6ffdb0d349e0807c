//! Drives `nigehbaan scan` on a disk image built at test time: an MBR disk
//! (`sfdisk`) holding a FAT16 partition (`mkfs.fat`, mtools) with benign
//! generated pictures from `nigehbaan demo` — two live, one deleted, one
//! written into free clusters to be carved.
//!
//! Needs sfdisk, mkfs.fat, mcopy, mmd and mdel (and ewfacquire for the E01
//! test): runs when they are there, fails under CI=true when one is
//! missing, otherwise skips with a note.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
mod disk_common;

use common::bin;
use disk_common::*;

#[test]
fn scan_finds_live_deleted_and_carved_pictures_in_a_disk_image() {
    if !tools_present() {
        return;
    }
    let dir = common::tempdir("scan-disk", "mbr-fat");
    let d = demo(&dir);
    let disk = build_disk(&dir, &d);
    let before = std::fs::read_dir(&dir).unwrap().count();
    let r = dir.join("report");
    let rep = scan_hits(&d, &disk, &r, &[]);
    // Nothing was written beside the image.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), before + 1);
    let items = rep["items"].as_array().unwrap();
    let disk = disk.display().to_string();
    let p = |rest: &str| format!("{disk}!p1:{rest}");
    let fs = {
        let land = items
            .iter()
            .filter_map(|i| i["path"].as_str())
            .find(|p| p.ends_with("/LAND.PNG"))
            .unwrap_or_else(|| panic!("no LAND.PNG: {items:?}"));
        land[disk.len() + 4..land.len() - "/LAND.PNG".len()].to_string()
    };
    assert!(fs.starts_with("fat"), "{fs}");

    let land = item(items, &p(&format!("{fs}/LAND.PNG")));
    assert_eq!(land["disposition"], "hit", "{land}");
    assert_eq!(land["hits"][0]["match_kind"], "sha256");
    assert!(land.get("deleted").is_none());
    assert!(land.get("recovery").is_none());
    let tiles = item(items, &p(&format!("{fs}/DCIM/TILES.PNG")));
    assert_eq!(tiles["disposition"], "hit", "{tiles}");

    // The deleted file: FAT loses its name's first letter.
    let deleted = items
        .iter()
        .find(|i| i["deleted"] == true && i["path"].as_str().unwrap().ends_with("MALL.JPG"))
        .unwrap_or_else(|| panic!("no deleted SMALL.JPG: {items:?}"));
    assert!(deleted["path"]
        .as_str()
        .unwrap()
        .starts_with(&p(&format!("{fs}/DCIM/"))));
    assert!(deleted["recovery"].is_string(), "{deleted}");
    assert_eq!(deleted["disposition"], "hit", "{deleted}");
    assert_eq!(deleted["hits"][0]["match_kind"], "pdq");

    // The picture written into free clusters, carved from unallocated space.
    let carved_name = p(&format!("{fs}!unallocated@{CARVE_AT:#x}.jpg"));
    let carved = item(items, &carved_name);
    assert_eq!(carved["disposition"], "hit", "{carved}");
    assert!(carved["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "carved"));

    // The image file itself is listed, examined but not digested as a
    // whole (that is --verify-image's job), and the scan is complete.
    let own = item(items, &disk);
    assert!(own["md5"].is_null() && own["sha256"].is_null(), "{own}");
    assert_eq!(own["size"], std::fs::metadata(&disk).unwrap().len());
    assert!(own["notes"][0]
        .as_str()
        .unwrap()
        .contains("not digested as a whole"));
    assert!(own["error"].is_null(), "{own}");
    assert_eq!(rep["status"]["complete"], true, "{}", rep["exclusions"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The first word `tool FILE` prints (md5sum, sha256sum).
fn sum(tool: &str, file: &Path) -> String {
    let out = Command::new(tool).arg(file).output().unwrap();
    assert!(out.status.success(), "{tool}: {}", text(&out));
    String::from_utf8(out.stdout).unwrap()[..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn verify_image_digests_a_raw_image_as_coreutils_does() {
    if !tools_present_with(&["md5sum", "sha1sum", "sha256sum"]) {
        return;
    }
    let dir = common::tempdir("scan-disk", "raw-verify");
    let d = demo(&dir);
    let disk = build_disk(&dir, &d);
    let r = dir.join("report");
    let rep = scan_hits(&d, &disk, &r, &["--verify-image"]);
    let items = rep["items"].as_array().unwrap();
    let shown = disk.display().to_string();
    let own = item(items, &shown);
    let (md5, sha1) = (sum("md5sum", &disk), sum("sha1sum", &disk));
    assert_eq!(own["md5"], md5, "{own}");
    assert_eq!(own["sha1"], sha1, "{own}");
    assert_eq!(own["sha256"], sum("sha256sum", &disk), "{own}");
    assert!(own.get("notes").is_none(), "{own}");
    let c = &rep["custody"]["images"][0];
    assert_eq!(c["container"], "raw", "{c}");
    assert_eq!(c["verification"], "no-stored-hash", "{c}");
    assert_eq!(c["computed_md5"], md5, "{c}");
    assert_eq!(c["computed_sha1"], sha1, "{c}");
    // The contents are examined as without the flag.
    assert!(items
        .iter()
        .any(|i| i["path"].as_str().unwrap().ends_with("/LAND.PNG")));
    assert_eq!(rep["status"]["complete"], true, "{}", rep["exclusions"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_carve_leaves_free_space_alone() {
    if !tools_present() {
        return;
    }
    let dir = common::tempdir("scan-disk", "no-carve");
    let d = demo(&dir);
    let disk = build_disk(&dir, &d);
    let r = dir.join("report");
    let rep = scan_hits(&d, &disk, &r, &["--no-carve"]);
    let items = rep["items"].as_array().unwrap();
    assert!(!items
        .iter()
        .any(|i| i["path"].as_str().unwrap().contains("!unallocated@")));
    assert!(items
        .iter()
        .any(|i| i["path"].as_str().unwrap().ends_with("/LAND.PNG")));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Acquires `disk` into `dir/ev/disk.E01` with case metadata; returns
/// the first segment's path.
fn acquire(dir: &Path, disk: &Path) -> PathBuf {
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    run(Command::new("ewfacquire")
        .args([
            "-u",
            "-q",
            "-c",
            "deflate:fast",
            "-f",
            "encase6",
            "-d",
            "sha1",
        ])
        .args(["-C", "CASE-9", "-e", "Test Examiner", "-E", "EV-3", "-t"])
        .arg(ev.join("disk"))
        .arg(disk));
    let e01 = ev.join("disk.E01");
    assert!(e01.is_file());
    e01
}

#[test]
fn scan_opens_an_e01_of_the_disk() {
    if !tools_present_with(&["ewfacquire"]) {
        return;
    }
    let dir = common::tempdir("scan-disk", "e01");
    let d = demo(&dir);
    let disk = build_disk(&dir, &d);
    let e01 = acquire(&dir, &disk);
    std::fs::remove_file(&disk).unwrap();
    let r = dir.join("report");
    let rep = scan_hits(&d, &e01, &r, &["--verify-image"]);
    let items = rep["items"].as_array().unwrap();
    let prefix = format!("{}!p1:fat", e01.display());
    let land = items
        .iter()
        .find(|i| {
            let p = i["path"].as_str().unwrap();
            p.starts_with(&prefix) && p.ends_with("/LAND.PNG")
        })
        .unwrap_or_else(|| panic!("no LAND.PNG: {items:?}"));
    assert_eq!(land["disposition"], "hit");
    assert!(items.iter().any(|i| i["deleted"] == true));
    assert!(items.iter().any(|i| i["path"]
        .as_str()
        .unwrap()
        .ends_with(&format!("!unallocated@{CARVE_AT:#x}.jpg"))));
    assert_eq!(rep["status"]["complete"], true, "{}", rep["exclusions"]);

    // The chain of custody: acquisition metadata, stored and computed hashes.
    let c = &rep["custody"]["images"][0];
    assert_eq!(c["container"], "e01", "{c}");
    assert_eq!(c["verification"], "verified", "{c}");
    assert_eq!(c["acquisition"]["case_number"], "CASE-9", "{c}");
    assert_eq!(c["acquisition"]["examiner"], "Test Examiner", "{c}");
    assert!(c["acquisition"]["tool_version"].is_string(), "{c}");
    assert_eq!(c["stored_md5"], c["computed_md5"], "{c}");
    assert_eq!(c["stored_sha1"], c["computed_sha1"], "{c}");
    assert_eq!(c["computed_md5"].as_str().unwrap().len(), 32);
    assert_eq!(rep["settings"]["verify_image"], true);

    // The images section: the layout and what each file system gave.
    let img = &rep["images"][0];
    assert_eq!(img["path"], e01.display().to_string(), "{img}");
    assert_eq!(img["partition_table"], "mbr", "{img}");
    assert_eq!(img["verification"], "verified");
    let p = &img["partitions"][0];
    assert_eq!(p["index"], 1, "{p}");
    assert_eq!(p["start"], MIB, "{p}");
    assert_eq!(p["length"], 16 * MIB, "{p}");
    assert!(p["file_system"].as_str().unwrap().starts_with("fat"), "{p}");
    let fs = &img["file_systems"][0];
    assert_eq!(fs["partition"], 1);
    let counts = &fs["counts"];
    assert!(counts["live"].as_u64().unwrap() >= 2, "{counts}");
    assert!(counts["deleted"].as_u64().unwrap() >= 1, "{counts}");
    assert!(counts["carved"].as_u64().unwrap() >= 1, "{counts}");
    assert!(counts["unallocated_bytes_searched"].as_u64().unwrap() > MIB);
    assert_eq!(img["totals"]["live"], counts["live"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_e01_chunk_is_a_recorded_error_and_the_scan_goes_on() {
    if !tools_present_with(&["ewfacquire"]) {
        return;
    }
    let dir = common::tempdir("scan-disk", "e01-corrupt");
    let d = demo(&dir);
    let disk = build_disk(&dir, &d);
    let e01 = acquire(&dir, &disk);
    std::fs::remove_file(&disk).unwrap();
    // Flip bytes in the middle of the segment (inside chunk data).
    let mut b = std::fs::read(&e01).unwrap();
    let at = b.len() / 2;
    for x in &mut b[at..at + 64] {
        *x ^= 0x5A;
    }
    std::fs::write(&e01, b).unwrap();
    let r = dir.join("report");
    let out = bin()
        .arg("scan")
        .arg(&e01)
        .arg("--out")
        .arg(&r)
        .args(["--case", "C-1", "--quiet", "--verify-image"])
        .arg("--library")
        .arg(d.join("library"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let rep: Value =
        serde_json::from_slice(&std::fs::read(r.join("report.json")).unwrap()).unwrap();
    let c = &rep["custody"]["images"][0];
    assert_eq!(c["verification"], "unreadable", "{c}");
    let bad = c["unreadable"][0].as_str().unwrap();
    assert!(bad.starts_with("bytes 0x"), "{bad}");
    let ex = rep["exclusions"].as_array().unwrap();
    assert!(
        ex.iter().any(|e| e["kind"] == "image-verification"
            && e["reason"].as_str().unwrap().contains("bytes 0x")
            && e["incomplete"] == true),
        "{ex:?}"
    );
    // The rest of the image was still walked.
    let items = rep["items"].as_array().unwrap();
    assert!(items.len() > 2, "{items:?}");
    assert_eq!(rep["images"][0]["verification"], "unreadable");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_archive_inside_a_disk_image_is_opened() {
    if !tools_present() {
        return;
    }
    let dir = common::tempdir("scan-disk", "zip-inside");
    let d = demo(&dir);
    // A bare FAT16 file system holding the demo's zip, whose entry is a hit.
    let part = dir.join("fat.img");
    std::fs::File::create(&part)
        .unwrap()
        .set_len(16 * MIB)
        .unwrap();
    run(Command::new("mkfs.fat")
        .args(["-F", "16", "-n", "TESTDATA"])
        .arg(&part));
    run(Command::new("mcopy")
        .arg("-i")
        .arg(&part)
        .arg(d.join("evidence/backup.zip"))
        .arg("::/BACKUP.ZIP"));
    let r = dir.join("report");
    let rep = scan_hits(&d, &part, &r, &[]);
    let zip = format!("{}!fat16/BACKUP.ZIP", part.display());
    let items = rep["items"].as_array().unwrap();
    assert_eq!(item(items, &zip)["depth"], 1);
    let inner: Vec<&Value> = items
        .iter()
        .filter(|i| i["path"].as_str().unwrap().starts_with(&format!("{zip}!")))
        .collect();
    assert!(!inner.is_empty(), "no entries of {zip}: {items:?}");
    assert!(inner.iter().all(|i| i["depth"].as_u64().unwrap() >= 2));
    assert!(inner.iter().any(|i| i["disposition"] == "hit"), "{inner:?}");
    let ex = rep["exclusions"].as_array().unwrap();
    assert!(
        !ex.iter().any(|e| e["kind"] == "archive-in-disk-image"),
        "{ex:?}"
    );
    assert_eq!(rep["status"]["complete"], true, "{ex:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_split_raw_image_is_read_as_one_disk() {
    if !tools_present_with(&["split"]) {
        return;
    }
    let dir = common::tempdir("scan-disk", "split");
    let d = demo(&dir);
    let disk = build_disk(&dir, &d);
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    run(Command::new("split")
        .args(["-b", "5M", "-d", "-a", "3", "--numeric-suffixes=1"])
        .arg(&disk)
        .arg(ev.join("disk.")));
    std::fs::remove_file(&disk).unwrap();
    let first = ev.join("disk.001");
    assert!(first.is_file() && ev.join("disk.004").is_file());
    let r = dir.join("report");
    let rep = scan_hits(&d, &first, &r, &[]);
    let prefix = format!("{}!p1:fat16/", first.display());
    let found = paths(&rep);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with(&prefix) && p.ends_with("/LAND.PNG")),
        "{found:?}"
    );
    assert!(found
        .iter()
        .any(|p| p.ends_with(&format!("!unallocated@{CARVE_AT:#x}.jpg"))));
    assert_eq!(rep["images"][0]["container"], "split-raw");
    assert_eq!(
        rep["custody"]["images"][0]["segments"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(rep["status"]["complete"], true, "{}", rep["exclusions"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_partition_past_the_end_is_a_recorded_problem_and_its_files_still_found() {
    if !tools_present() {
        return;
    }
    let dir = common::tempdir("scan-disk", "past-end");
    let d = demo(&dir);
    let disk = build_disk(&dir, &d);
    // Partition 1 now claims 64 MiB on an 18 MiB disk.
    write_at(&disk, 446 + 12, &(64 * 2048u32).to_le_bytes());
    let (code, rep) = scan_any(&d, &disk, &dir);
    assert_eq!(code, Some(2));
    let ex = rep["exclusions"].as_array().unwrap();
    assert!(
        ex.iter()
            .any(|e| e["kind"] == "partition-table-problem" && e["incomplete"] == true),
        "{ex:?}"
    );
    assert!(paths(&rep).iter().any(|p| p.ends_with("/LAND.PNG")));
    assert_eq!(
        rep["images"][0]["partitions"][0]["clamped"], true,
        "{}",
        rep["images"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_truncated_e01_segment_leaves_a_named_unreadable_range() {
    if !tools_present_with(&["ewfacquire"]) {
        return;
    }
    let dir = common::tempdir("scan-disk", "e01-truncated");
    let d = demo(&dir);
    let disk = build_disk(&dir, &d);
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    // Incompressible filler after the partition so that the image needs
    // several 1 MiB segments.
    let filler: Vec<u8> = (0..MIB as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write_at(&disk, 17 * MIB, &filler);
    run(Command::new("ewfacquire")
        .args([
            "-u", "-q", "-c", "none", "-f", "encase6", "-S", "1MiB", "-t",
        ])
        .arg(ev.join("disk"))
        .arg(&disk));
    std::fs::remove_file(&disk).unwrap();
    let mut last = 1;
    while ev.join(format!("disk.E{:02}", last + 1)).is_file() {
        last += 1;
    }
    assert!(last > 2, "expected several segments");
    let seg = ev.join(format!("disk.E{last:02}"));
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let (code, rep) = scan_any(&d, &ev.join("disk.E01"), &dir);
    assert_eq!(code, Some(2));
    let ex = rep["exclusions"].as_array().unwrap();
    assert!(
        ex.iter().any(|e| e["kind"] == "unreadable-range"
            && e["reason"].as_str().unwrap().contains("bytes 0x")),
        "{ex:?}"
    );
    // What lies before the damage is still found.
    assert!(paths(&rep).iter().any(|p| p.ends_with("/LAND.PNG")));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gpt_disk_with_ext4_deleted_and_exfat_live_files() {
    if !tools_present_with(&["sgdisk", "mkfs.ext4", "debugfs", "mkfs.exfat"]) {
        return;
    }
    let dir = common::tempdir("scan-disk", "gpt-ext4-exfat");
    let d = demo(&dir);
    let pic = |s: &str| d.join(s);
    // ext4 with two pictures, one then deleted.
    let ext = dir.join("ext.img");
    let src = dir.join("extsrc");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(pic("originals/landscape.png"), src.join("land.png")).unwrap();
    std::fs::copy(
        pic("evidence/phone/DCIM/IMG_0003.jpg"),
        src.join("gone.jpg"),
    )
    .unwrap();
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&src)
        .arg(&ext)
        .arg("8M"));
    run(Command::new("debugfs")
        .args(["-w", "-R", "rm /gone.jpg"])
        .arg(&ext));
    // exFAT with one picture.
    let exf = dir.join("exfat.img");
    std::fs::File::create(&exf)
        .unwrap()
        .set_len(8 * MIB)
        .unwrap();
    run(Command::new("mkfs.exfat").arg(&exf));
    let disk = dir.join("gpt.img");
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(18 * MIB)
        .unwrap();
    run(Command::new("sgdisk")
        .args([
            "-o",
            "-n",
            "1:2048:+8M",
            "-t",
            "1:8300",
            "-n",
            "2:0:+8M",
            "-t",
            "2:0700",
        ])
        .arg(&disk));
    write_at(&disk, MIB, &std::fs::read(&ext).unwrap());
    // No tool writes files into exFAT without mounting: an empty exFAT
    // volume is recognised and walked (its files are tested in the disk
    // crate with images it builds).
    write_at(&disk, 9 * MIB, &std::fs::read(&exf).unwrap());
    let (code, rep) = scan_any(&d, &disk, &dir);
    assert_eq!(code, Some(1), "{}", rep["exclusions"]);
    let img = &rep["images"][0];
    assert_eq!(img["partition_table"], "gpt", "{img}");
    let kinds: Vec<&str> = img["file_systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ext", "exfat"], "{img}");
    let items = rep["items"].as_array().unwrap();
    let p = format!("{}!p1:ext/", disk.display());
    let live = item(items, &format!("{p}land.png"));
    assert_eq!(live["disposition"], "hit");
    let gone = items
        .iter()
        .find(|i| i["deleted"] == true && i["path"].as_str().unwrap().starts_with(&p))
        .unwrap_or_else(|| panic!("no deleted ext4 file: {:?}", paths(&rep)));
    // A deleted ext4 file is either recovered intact (extents kept) or
    // flagged; it never matches as something it is not.
    if gone["disposition"] == "hit" {
        assert_eq!(gone["recovery"], "intact", "{gone}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
