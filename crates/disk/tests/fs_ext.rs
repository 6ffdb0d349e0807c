//! ext2/3/4 images made with mkfs.ext* -d and debugfs -w (no mounting),
//! read by our reader and checked against The Sleuth Kit (`fls`, `icat`).
//!
//! Runs when the programs are present; fails under CI=true without them;
//! otherwise skips with a note.

mod fs_support;

use fs_support::*;
use nigehbaan_disk::fs::{FsKind, Recovery};

#[test]
fn ext2_ext3_ext4_live_sparse_indirect_and_deleted_agree_with_tsk() {
    let Some(t) = tools(&[
        "mkfs.ext2",
        "mkfs.ext3",
        "mkfs.ext4",
        "debugfs",
        "fls",
        "icat",
    ]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("Users/x/Pictures")).unwrap();
    let pics: Vec<Vec<u8>> = (0..4).map(|s| picture(s + 40, s % 2 == 0)).collect();
    std::fs::write(src.join("Users/x/Pictures/a.jpg"), &pics[0]).unwrap();
    std::fs::write(src.join("Users/x/Pictures/Holiday photo.png"), &pics[1]).unwrap();
    std::fs::write(src.join("Users/gone.jpg"), &pics[2]).unwrap();
    std::fs::write(src.join("Users/reused.png"), &pics[3]).unwrap();
    // past the direct and single-indirect blocks of a 1 KiB-block ext2
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(src.join("big.bin"), &big).unwrap();
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(src.join("sparse.bin")).unwrap();
        f.seek(SeekFrom::Start(70_000)).unwrap();
        f.write_all(b"after the hole").unwrap();
        f.set_len(100_000).unwrap();
    }
    for (mkfs, extra) in [
        ("mkfs.ext2", "1024"),
        ("mkfs.ext3", "1024"),
        ("mkfs.ext4", "4096"),
    ] {
        let img = dir.path().join(format!("{mkfs}.img"));
        let i = img.to_str().unwrap();
        std::fs::File::create(&img)
            .unwrap()
            .set_len(8 << 20)
            .unwrap();
        run(
            &t[mkfs],
            &["-q", "-b", extra, "-d", src.to_str().unwrap(), i],
        );
        // the blocks of reused.png, marked in use again after its deletion
        // as if another file had taken them (debugfs would give a new file
        // the deleted inode too, and then nothing of the name is left)
        let blocks = run(&t["debugfs"], &["-R", "blocks /Users/reused.png", i]);
        let blocks: Vec<String> = String::from_utf8(blocks)
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert!(!blocks.is_empty());
        run(&t["debugfs"], &["-w", "-R", "rm /Users/gone.jpg", i]);
        run(&t["debugfs"], &["-w", "-R", "rm /Users/reused.png", i]);
        for b in &blocks {
            run(&t["debugfs"], &["-w", "-R", &format!("setb {b}"), i]);
        }

        let fs = open(&img);
        assert_eq!(fs.kind(), FsKind::Ext);
        let (entries, errors) = walk(&*fs);
        assert!(errors.is_empty(), "{mkfs}: {errors:?}");
        let ours = files_by_path(&entries);
        let theirs: Vec<FlsLine> = fls(&img, None)
            .into_iter()
            .filter(|l| l.file && !l.realloc)
            .collect();
        for l in &theirs {
            let Some(e) = ours.get(&l.path) else {
                // a deleted inode whose data is gone is not listed by us
                assert!(l.deleted, "{mkfs}: fls lists {} which we do not", l.path);
                continue;
            };
            assert_eq!(e.deleted, l.deleted, "{mkfs}: {}", l.path);
            let mine = content(&*fs, e).unwrap();
            if e.recovery != Some(Recovery::PossiblyOverwritten) {
                assert!(
                    mine == icat(&img, None, &l.addr),
                    "{mkfs}: {} differs from icat",
                    l.path
                );
            }
        }
        for k in ours.keys() {
            assert!(
                theirs.iter().any(|l| &l.path == k),
                "{mkfs}: we list {k}, fls does not"
            );
        }
        assert_eq!(
            content(&*fs, ours["Users/x/Pictures/a.jpg"]).unwrap(),
            pics[0]
        );
        assert_eq!(
            content(&*fs, ours["Users/x/Pictures/Holiday photo.png"]).unwrap(),
            pics[1]
        );
        assert_eq!(content(&*fs, ours["big.bin"]).unwrap(), big);
        let sparse = content(&*fs, ours["sparse.bin"]).unwrap();
        assert_eq!(sparse.len(), 100_000);
        assert_eq!(&sparse[70_000..70_014], b"after the hole");
        assert!(sparse[..70_000].iter().all(|&b| b == 0));
        // debugfs rm keeps the inode's block list: the picture is back
        let gone = ours
            .get("Users/gone.jpg")
            .or_else(|| {
                ours.values()
                    .find(|e| e.deleted && e.size == pics[2].len() as u64)
            })
            .unwrap_or_else(|| panic!("{mkfs}: deleted picture not found: {:?}", ours.keys()));
        assert!(gone.deleted);
        let got = content(&*fs, gone).unwrap();
        if gone.recovery == Some(Recovery::Intact) {
            assert_eq!(got, pics[2], "{mkfs}");
        }
        let reused = ours
            .values()
            .find(|e| e.deleted && e.size == pics[3].len() as u64)
            .unwrap_or_else(|| panic!("{mkfs}: deleted picture not found: {:?}", ours.keys()));
        assert_eq!(
            reused.recovery,
            Some(Recovery::PossiblyOverwritten),
            "{mkfs}"
        );
        // free space: the deleted picture's blocks are free, the reused not
        let free = fs.unallocated().unwrap();
        let bs: u64 = extra.parse().unwrap();
        let is_free = |b: u64| free.iter().any(|&(s, l)| b * bs >= s && b * bs < s + l);
        assert!(blocks.iter().all(|b| !is_free(b.parse().unwrap())));
        let volume = std::fs::read(&img).unwrap();
        assert!(free
            .iter()
            .any(|&(s, l)| volume[s as usize..(s + l) as usize]
                .windows(64)
                .any(|w| w == &pics[2][..64])));
    }
}
