//! Partition tables made at test time by `sfdisk` and `sgdisk`, read
//! against The Sleuth Kit's `mmls`; hand-made hostile tables (a partition
//! past the end, an EBR chain that loops, a damaged primary GPT); bare
//! file systems made by `mkfs.fat` and `mkfs.ext4`.

mod container_common;

use container_common::{run, tempdir, tool};
use nigehbaan_disk::volume::{detect, Problem, Scheme, VolumeKind};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// (start, length) in sectors of every partition `mmls` lists.
fn mmls(image: &Path) -> Option<Vec<(u64, u64)>> {
    let out = run(&tool("mmls")?, &[image.to_str().unwrap()], Path::new("."));
    let mut v = Vec::new();
    for l in out.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 5 || !f[0].ends_with(':') {
            continue;
        }
        let slot = f[1];
        if slot == "Meta" || slot.starts_with('-') {
            continue;
        }
        v.push((f[2].parse().unwrap(), f[4].parse().unwrap()));
    }
    v.sort_unstable();
    Some(v)
}

fn ours(image: &Path) -> (nigehbaan_disk::volume::VolumeSystem, Vec<(u64, u64)>) {
    let f = std::fs::File::open(image).unwrap();
    let vs = detect(&f);
    let mut v: Vec<(u64, u64)> = vs
        .volumes
        .iter()
        .map(|v| (v.start / 512, v.len / 512))
        .collect();
    v.sort_unstable();
    (vs, v)
}

fn sized_file(dir: &Path, name: &str, mib: u64) -> std::path::PathBuf {
    let p = dir.join(name);
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(mib << 20).unwrap();
    p
}

#[test]
fn mbr_with_logical_partitions_matches_mmls() {
    let Some(sfdisk) = tool("sfdisk") else { return };
    let d = tempdir();
    let img = sized_file(d.path(), "mbr.img", 64);
    let script = "label: dos\nstart=2048, size=20480, type=c\nstart=22528, size=10240, type=83\n\
                  start=32768, size=60000, type=5\nstart=34816, size=8192, type=83\n\
                  start=45056, size=8192, type=7\n";
    let mut c = Command::new(sfdisk)
        .args(["-q", img.to_str().unwrap()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(c.wait().unwrap().success());
    let Some(expected) = mmls(&img) else { return };
    let (vs, got) = ours(&img);
    assert_eq!(vs.scheme, Scheme::Mbr);
    assert!(vs.problems.is_empty(), "{:?}", vs.problems);
    assert_eq!(got, expected);
    let idx: Vec<u32> = vs.volumes.iter().map(|v| v.index).collect();
    assert_eq!(idx, [1, 2, 5, 6]);
    assert!(matches!(
        vs.volumes[0].kind,
        VolumeKind::Mbr {
            type_byte: 0x0c,
            logical: false,
            ..
        }
    ));
    assert!(matches!(
        vs.volumes[3].kind,
        VolumeKind::Mbr {
            type_byte: 0x07,
            logical: true,
            ..
        }
    ));
    // Unallocated: everything no partition covers, in order.
    let gaps = vs.unallocated_regions();
    assert_eq!(gaps.first().unwrap(), &(0..2048 * 512));
    assert_eq!(gaps.last().unwrap().end, 64 << 20);
    let covered: u64 = vs.volumes.iter().map(|v| v.len).sum::<u64>()
        + gaps.iter().map(|g| g.end - g.start).sum::<u64>();
    assert_eq!(covered, 64 << 20);
}

fn make_gpt(dir: &Path) -> Option<std::path::PathBuf> {
    let sgdisk = tool("sgdisk")?;
    let img = sized_file(dir, "gpt.img", 64);
    run(
        &sgdisk,
        &[
            "-n",
            "1:2048:+8M",
            "-t",
            "1:ef00",
            "-n",
            "2:0:+16M",
            "-t",
            "2:0700",
            "-c",
            "2:data part",
            "-n",
            "3:0:0",
            "-t",
            "3:8300",
            img.to_str().unwrap(),
        ],
        dir,
    );
    Some(img)
}

#[test]
fn gpt_matches_mmls_and_names_types() {
    let d = tempdir();
    let Some(img) = make_gpt(d.path()) else {
        return;
    };
    let Some(expected) = mmls(&img) else { return };
    let (vs, got) = ours(&img);
    assert_eq!(vs.scheme, Scheme::Gpt);
    assert!(vs.problems.is_empty(), "{:?}", vs.problems);
    assert_eq!(got, expected);
    let names: Vec<String> = vs.volumes.iter().map(|v| v.type_description()).collect();
    assert!(names[0].starts_with("EFI System"), "{names:?}");
    assert!(names[1].starts_with("Microsoft basic data"), "{names:?}");
    assert!(names[2].starts_with("Linux filesystem"), "{names:?}");
    match &vs.volumes[1].kind {
        VolumeKind::Gpt { name, .. } => assert_eq!(name, "data part"),
        k => panic!("{k:?}"),
    }
}

#[test]
fn a_damaged_primary_gpt_falls_back_to_the_backup() {
    let d = tempdir();
    let Some(img) = make_gpt(d.path()) else {
        return;
    };
    let (_, intact) = ours(&img);
    let mut b = std::fs::read(&img).unwrap();
    b[512 + 40] ^= 0xFF; // inside the primary header: its CRC fails
    std::fs::write(&img, &b).unwrap();
    let (vs, got) = ours(&img);
    assert_eq!(vs.scheme, Scheme::Gpt);
    assert_eq!(got, intact);
    assert!(
        vs.problems
            .iter()
            .any(|p| matches!(p, Problem::GptUsedBackup { .. })),
        "{:?}",
        vs.problems
    );
    // And a damaged primary entry array.
    let mut b = std::fs::read(&img).unwrap();
    b[512 + 40] ^= 0xFF;
    b[1024 + 130] ^= 0xFF;
    std::fs::write(&img, &b).unwrap();
    let (vs, got) = ours(&img);
    assert_eq!(got, intact);
    assert!(
        vs.problems
            .iter()
            .any(|p| matches!(p, Problem::GptEntriesCrc { lba: 1 })),
        "{:?}",
        vs.problems
    );
}

fn entry(b: &mut [u8], slot: usize, kind: u8, lba: u32, sectors: u32) {
    let e = &mut b[446 + 16 * slot..462 + 16 * slot];
    e[4] = kind;
    e[8..12].copy_from_slice(&lba.to_le_bytes());
    e[12..16].copy_from_slice(&sectors.to_le_bytes());
}

#[test]
fn partitions_past_the_end_are_clamped_or_left_out_with_problems() {
    let mut disk = vec![0u8; 4 << 20]; // 8192 sectors
    disk[510] = 0x55;
    disk[511] = 0xAA;
    entry(&mut disk, 0, 0x83, 2048, 100_000);
    entry(&mut disk, 1, 0x0c, 50_000, 10);
    let vs = detect(&disk);
    assert_eq!(vs.scheme, Scheme::Mbr);
    assert_eq!(vs.volumes.len(), 1);
    assert!(vs.volumes[0].clamped);
    assert_eq!(vs.volumes[0].start + vs.volumes[0].len, 4 << 20);
    assert_eq!(vs.problems.len(), 2, "{:?}", vs.problems);
    assert!(vs
        .problems
        .iter()
        .all(|p| matches!(p, Problem::PastEnd { .. })));
}

#[test]
fn an_ebr_chain_that_loops_is_cut_with_a_problem() {
    let mut disk = vec![0u8; 4 << 20];
    disk[510] = 0x55;
    disk[511] = 0xAA;
    entry(&mut disk, 0, 0x05, 100, 4000);
    for (at, next) in [(100usize, 50u32), (150, 0)] {
        let s = &mut disk[at * 512..at * 512 + 512];
        s[510] = 0x55;
        s[511] = 0xAA;
        entry(s, 0, 0x83, 10, 20);
        // The second EBR links back to the first (relative 0 means "none",
        // so link to the first through a third hop).
        entry(s, 1, 0x05, if next == 0 { 50 } else { next }, 100);
    }
    let vs = detect(&disk);
    assert_eq!(vs.volumes.len(), 2, "{:?}", vs.volumes);
    assert!(
        vs.problems
            .iter()
            .any(|p| matches!(p, Problem::EbrLoop { .. })),
        "{:?}",
        vs.problems
    );
}

#[test]
fn bare_file_systems_are_one_whole_disk_volume() {
    let d = tempdir();
    for (prog, args) in [
        ("mkfs.fat", vec!["-F", "32"]),
        ("mkfs.ext4", vec!["-q", "-F"]),
        ("mkfs.fat", vec!["-F", "16"]),
    ] {
        let Some(mkfs) = tool(prog) else { return };
        let img = sized_file(d.path(), "bare.img", 40);
        let mut a = args.clone();
        a.push(img.to_str().unwrap());
        run(&mkfs, &a, d.path());
        let (vs, got) = ours(&img);
        assert_eq!(vs.scheme, Scheme::None, "{prog} {args:?}");
        assert_eq!(got, [(0, 40 * 2048)]);
        assert!(vs.unallocated_regions().is_empty());
        std::fs::remove_file(&img).unwrap();
    }
}
