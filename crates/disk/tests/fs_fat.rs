//! FAT12/16/32 images made with mkfs.fat and mtools (no mounting), read by
//! our reader and checked against The Sleuth Kit (`fls`, `icat`): names,
//! deleted flags and contents agree; recovery notes are right.
//!
//! Runs when the programs are present; fails under CI=true without them;
//! otherwise skips with a note.

mod fs_support;

use fs_support::*;
use nigehbaan_disk::fs::{FsKind, Recovery};
use std::path::Path;

/// Checks our listing and contents against fls/icat; returns our entries.
fn agree_with_tsk(img: &Path) -> Vec<nigehbaan_disk::fs::Entry> {
    let fs = open(img);
    let (entries, errors) = walk(&*fs);
    assert!(errors.is_empty(), "{errors:?}");
    let ours = files_by_path(&entries);
    let theirs: Vec<FlsLine> = fls(img, None)
        .into_iter()
        .filter(|l| l.file && !l.path.starts_with('$'))
        .collect();
    for l in &theirs {
        let e = ours.get(&l.path).unwrap_or_else(|| {
            panic!(
                "fls lists {} which we do not; ours: {:?}",
                l.path,
                ours.keys()
            )
        });
        assert_eq!(e.deleted, l.deleted, "{}", l.path);
        let mine = content(&*fs, e).unwrap();
        assert_eq!(mine.len() as u64, e.size, "{}", l.path);
        if e.recovery == Some(Recovery::PossiblyOverwritten) {
            // icat -r skips clusters now allocated; we read them and flag it
            continue;
        }
        let tsk = icat(img, None, &l.addr);
        assert!(mine == tsk, "{}: content differs from icat", l.path);
    }
    assert_eq!(ours.len(), theirs.len(), "ours: {:?}", ours.keys());
    entries
}

#[test]
fn fat16_and_fat32_live_deleted_and_long_names() {
    let Some(t) = tools(&[
        "mkfs.fat", "mcopy", "mmd", "mdel", "mdeltree", "fls", "icat",
    ]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (kind, fat, kb) in [
        (FsKind::Fat16, "16", "8192"),
        (FsKind::Fat32, "32", "34000"),
    ] {
        let img = dir.path().join(format!("fat{fat}.img"));
        let i = img.to_str().unwrap();
        run(&t["mkfs.fat"], &["-C", "-F", fat, "-s", "1", i, kb]);
        let pics: Vec<Vec<u8>> = (0..5).map(|s| picture(s, s % 2 == 0)).collect();
        for (n, p) in pics.iter().enumerate() {
            std::fs::write(dir.path().join(format!("p{n}")), p).unwrap();
        }
        let p = |n: usize| {
            dir.path()
                .join(format!("p{n}"))
                .to_str()
                .unwrap()
                .to_string()
        };
        run(
            &t["mmd"],
            &["-i", i, "::/Users", "::/Users/x", "::/Users/x/Pictures"],
        );
        run(
            &t["mcopy"],
            &["-i", i, &p(0), "::/Users/x/Pictures/Holiday photo 2023.jpg"],
        );
        run(&t["mcopy"], &["-i", i, &p(1), "::/Users/x/Pictures/a.png"]);
        run(
            &t["mcopy"],
            &["-i", i, &p(2), "::/Users/x/Pictures/Gone with the wind.jpg"],
        );
        run(&t["mcopy"], &["-i", i, &p(3), "::/TOP.PNG"]);
        run(&t["mcopy"], &["-i", i, &p(4), "::/Users/del.jpg"]);
        // a deleted directory with a picture inside (made before the
        // other deletions, so that its clusters do not land on theirs)
        run(&t["mmd"], &["-i", i, "::/Old album"]);
        run(&t["mcopy"], &["-i", i, &p(1), "::/Old album/inside.png"]);
        run(&t["mdeltree"], &["-i", i, "::/Old album"]);
        run(
            &t["mdel"],
            &[
                "-i",
                i,
                "::/Users/x/Pictures/Gone with the wind.jpg",
                "::/Users/del.jpg",
            ],
        );
        let fs = open(&img);
        assert_eq!(fs.kind(), kind);
        let entries = agree_with_tsk(&img);
        let by = files_by_path(&entries);
        assert_eq!(
            content(&*fs, by["Users/x/Pictures/Holiday photo 2023.jpg"]).unwrap(),
            pics[0]
        );
        assert_eq!(content(&*fs, by["TOP.PNG"]).unwrap(), pics[3]);
        let gone = by["Users/x/Pictures/Gone with the wind.jpg"];
        assert!(gone.deleted);
        assert_eq!(gone.recovery, Some(Recovery::ContiguousGuess));
        assert_eq!(content(&*fs, gone).unwrap(), pics[2]);
        let del = by["Users/_el.jpg"];
        assert_eq!(content(&*fs, del).unwrap(), pics[4]);
        assert!(entries.iter().all(|e| e.deleted || e.recovery.is_none()));
        let inside = by["Old album/_nside.png"];
        assert!(inside.deleted);
        assert_eq!(content(&*fs, inside).unwrap(), pics[1]);
        // unallocated space holds the deleted pictures' bytes
        let free = fs.unallocated().unwrap();
        let volume = std::fs::read(&img).unwrap();
        let in_free = |needle: &[u8]| {
            free.iter().any(|&(s, l)| {
                volume[s as usize..(s + l) as usize]
                    .windows(needle.len())
                    .any(|w| w == needle)
            })
        };
        assert!(in_free(&pics[2]) && in_free(&pics[4]));
        assert!(!in_free(&pics[0][..512]));
    }
}

#[test]
fn fat12_overwritten_deleted_file_is_flagged() {
    let Some(t) = tools(&["mkfs.fat", "mcopy", "mmd", "mdel", "fls", "icat"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("fat12.img");
    let i = img.to_str().unwrap();
    run(&t["mkfs.fat"], &["-C", "-F", "12", i, "720"]);
    let victim = picture(7, true);
    let v = dir.path().join("victim");
    std::fs::write(&v, &victim).unwrap();
    run(&t["mmd"], &["-i", i, "::/keep"]);
    run(
        &t["mcopy"],
        &["-i", i, v.to_str().unwrap(), "::/keep/victim.jpg"],
    );
    run(&t["mdel"], &["-i", i, "::/keep/victim.jpg"]);
    // fill the volume: the first filler takes the victim's clusters
    let filler = dir.path().join("filler");
    std::fs::write(&filler, vec![0x5Au8; 48 * 1024]).unwrap();
    let mut n = 0;
    loop {
        let status = std::process::Command::new(&t["mcopy"])
            .args(["-i", i, filler.to_str().unwrap(), &format!("::/F{n}.BIN")])
            .env("MTOOLS_SKIP_CHECK", "1")
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        if !status.success() || n > 40 {
            break;
        }
        n += 1;
    }
    let last = format!("::/F{}.BIN", n - 1);
    run(&t["mdel"], &["-i", i, &last]);
    let fs = open(&img);
    assert_eq!(fs.kind(), FsKind::Fat12);
    let entries = agree_with_tsk(&img);
    let by = files_by_path(&entries);
    let victim_entry = by["keep/_ictim.jpg"];
    assert_eq!(victim_entry.recovery, Some(Recovery::PossiblyOverwritten));
    assert_ne!(content(&*fs, victim_entry).unwrap(), victim);
    let last_entry = by[&format!("_{}.BIN", n - 1)[..]];
    assert_eq!(last_entry.recovery, Some(Recovery::ContiguousGuess));
}
