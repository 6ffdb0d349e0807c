//! exFAT images made with mkfs.exfat (exfatprogs). No tool writes files
//! into an exFAT image without mounting it, so a small writer here adds
//! entry sets (file, stream extension, names; contiguous NoFatChain data
//! and a FAT-chained fragmented file), and deletes some by clearing their
//! in-use bits (and, for data that should be intact, their bitmap bits),
//! as exFAT does. The Sleuth Kit (`fls`, `icat`) is the oracle.
//!
//! Runs when the programs are present; fails under CI=true without them;
//! otherwise skips with a note.

mod fs_support;

use fs_support::*;
use nigehbaan_disk::fs::{EntryKind, FsKind, Recovery};

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// A just-formatted exFAT image, with a minimal writer.
struct Writer {
    img: Vec<u8>,
    heap: usize,
    cs: usize,
    fat: usize,
    bitmap_cluster: u32,
}

impl Writer {
    fn new(img: Vec<u8>) -> Writer {
        let bps = 1usize << img[0x6C];
        let cs = bps << img[0x6D];
        let heap = le32(&img, 0x58) as usize * bps;
        let fat = le32(&img, 0x50) as usize * bps;
        let root = le32(&img, 0x60);
        let mut w = Writer {
            img,
            heap,
            cs,
            fat,
            bitmap_cluster: 0,
        };
        let r = w.cluster(root);
        let bitmap_entry = (0..w.cs / 32)
            .map(|i| r + i * 32)
            .find(|&at| w.img[at] == 0x81)
            .unwrap();
        w.bitmap_cluster = le32(&w.img, bitmap_entry + 20);
        w
    }

    fn root(&self) -> u32 {
        le32(&self.img, 0x60)
    }

    fn cluster(&self, c: u32) -> usize {
        self.heap + (c as usize - 2) * self.cs
    }

    fn bit(&mut self, c: u32, on: bool) {
        let at = self.cluster(self.bitmap_cluster) + (c as usize - 2) / 8;
        let m = 1u8 << ((c - 2) % 8);
        if on {
            self.img[at] |= m
        } else {
            self.img[at] &= !m
        }
    }

    fn used(&self, c: u32) -> bool {
        let at = self.cluster(self.bitmap_cluster) + (c as usize - 2) / 8;
        self.img[at] >> ((c - 2) % 8) & 1 == 1
    }

    /// `n` free clusters, contiguous from the first free run long enough.
    fn alloc(&mut self, n: usize) -> u32 {
        let mut c = 2;
        loop {
            if (0..n as u32).all(|k| !self.used(c + k)) {
                for k in 0..n as u32 {
                    self.bit(c + k, true);
                }
                return c;
            }
            c += 1;
        }
    }

    /// Adds an entry set in directory cluster `dir`; returns the set's byte
    /// offset. `chain`: the clusters for a FAT-chained file, else the data
    /// goes to fresh contiguous clusters (NoFatChain).
    fn add(
        &mut self,
        dir: u32,
        name: &str,
        data: &[u8],
        is_dir: bool,
        chain: Option<&[u32]>,
    ) -> (usize, u32) {
        let units: Vec<u16> = name.encode_utf16().collect();
        let names = units.len().div_ceil(15);
        let clusters = data.len().div_ceil(self.cs).max(if is_dir { 1 } else { 0 });
        let first = match chain {
            Some(c) => {
                for (i, &k) in c.iter().enumerate() {
                    self.bit(k, true);
                    let next = c.get(i + 1).copied().unwrap_or(0xFFFF_FFFF);
                    let at = self.fat + k as usize * 4;
                    self.img[at..at + 4].copy_from_slice(&next.to_le_bytes());
                }
                c[0]
            }
            None if clusters > 0 => self.alloc(clusters),
            None => 0,
        };
        let mut off = 0;
        let mut k = first;
        while off < data.len() {
            let n = (data.len() - off).min(self.cs);
            let at = self.cluster(k);
            self.img[at..at + n].copy_from_slice(&data[off..off + n]);
            off += n;
            k = match chain {
                Some(c) => c.get(off / self.cs).copied().unwrap_or(0),
                None => k + 1,
            };
        }
        let mut set = vec![0u8; 32 * (2 + names)];
        set[0] = 0x85;
        set[1] = (1 + names) as u8;
        set[4] = if is_dir { 0x10 } else { 0x20 };
        let stamp: u32 = ((2023 - 1980) << 25) | (6 << 21) | (15 << 16) | (12 << 11) | (30 << 5);
        for at in [8, 12, 16] {
            set[at..at + 4].copy_from_slice(&stamp.to_le_bytes());
        }
        let s = &mut set[32..64];
        s[0] = 0xC0;
        s[1] = 0x01 | if chain.is_none() { 0x02 } else { 0 };
        s[3] = units.len() as u8;
        let mut hash: u16 = 0;
        for &u in &units {
            let up = if (b'a' as u16..=b'z' as u16).contains(&u) {
                u - 32
            } else {
                u
            };
            for b in up.to_le_bytes() {
                hash = hash.rotate_right(1).wrapping_add(b as u16);
            }
        }
        s[4..6].copy_from_slice(&hash.to_le_bytes());
        let len = if is_dir {
            self.cs as u64
        } else {
            data.len() as u64
        };
        s[8..16].copy_from_slice(&len.to_le_bytes());
        s[20..24].copy_from_slice(&first.to_le_bytes());
        s[24..32].copy_from_slice(&len.to_le_bytes());
        for (i, chunk) in units.chunks(15).enumerate() {
            let e = &mut set[64 + i * 32..96 + i * 32];
            e[0] = 0xC1;
            for (j, &u) in chunk.iter().enumerate() {
                e[2 + j * 2..4 + j * 2].copy_from_slice(&u.to_le_bytes());
            }
        }
        let mut sum: u16 = 0;
        for (i, &b) in set.iter().enumerate() {
            if i != 2 && i != 3 {
                sum = sum.rotate_right(1).wrapping_add(b as u16);
            }
        }
        set[2..4].copy_from_slice(&sum.to_le_bytes());
        let d = self.cluster(dir);
        let slot = (0..self.cs / 32)
            .map(|i| d + i * 32)
            .find(|&at| self.img[at] == 0)
            .unwrap();
        self.img[slot..slot + set.len()].copy_from_slice(&set);
        (slot, first)
    }

    /// Clears the in-use bits of the set at `slot`, and (when `free`) the
    /// bitmap bits of its `clusters` clusters from `first`.
    fn delete(&mut self, slot: usize, first: u32, clusters: usize, free: bool) {
        let count = self.img[slot + 1] as usize;
        for i in 0..=count {
            self.img[slot + i * 32] &= 0x7F;
        }
        if free {
            for k in 0..clusters as u32 {
                self.bit(first + k, false);
            }
        }
    }
}

#[test]
fn exfat_live_fragmented_and_deleted_sets_agree_with_tsk() {
    let Some(t) = tools(&["mkfs.exfat", "fls", "icat"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("exfat.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(8 << 20)
        .unwrap();
    run(&t["mkfs.exfat"], &[img.to_str().unwrap()]);
    let mut w = Writer::new(std::fs::read(&img).unwrap());
    let pics: Vec<Vec<u8>> = (0..5).map(|s| picture(s + 60, s % 2 == 0)).collect();
    let root = w.root();
    let (_, users) = w.add(root, "Users", &[], true, None);
    let (_, pictures) = w.add(users, "Pictures", &[], true, None);
    w.add(
        pictures,
        "Holiday photo 2023 with a long name.jpg",
        &pics[0],
        false,
        None,
    );
    w.add(root, "top.png", &pics[1], false, None);
    // a fragmented file through the FAT: clusters taken out of order
    let base = w.alloc(1) + 10;
    let chain: Vec<u32> = (0..pics[2].len().div_ceil(w.cs))
        .map(|i| base + (i as u32) * 2)
        .collect();
    w.add(pictures, "fragmented.jpg", &pics[2], false, Some(&chain));
    let (gone, gone_first) = w.add(pictures, "gone.png", &pics[3], false, None);
    let (reused, reused_first) = w.add(users, "reused.jpg", &pics[4], false, None);
    w.delete(gone, gone_first, pics[3].len().div_ceil(w.cs), true);
    w.delete(reused, reused_first, pics[4].len().div_ceil(w.cs), false);
    std::fs::write(&img, &w.img).unwrap();

    let fs = open(&img);
    assert_eq!(fs.kind(), FsKind::ExFat);
    let (entries, errors) = walk(&*fs);
    assert!(errors.is_empty(), "{errors:?}");
    let ours = files_by_path(&entries);
    let theirs: Vec<FlsLine> = fls(&img, None)
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
        if e.recovery != Some(Recovery::PossiblyOverwritten) {
            assert!(
                content(&*fs, e).unwrap() == icat(&img, None, &l.addr),
                "{}",
                l.path
            );
        }
    }
    assert_eq!(ours.len(), theirs.len(), "{:?}", ours.keys());
    let p = |s: &str| ours[s];
    assert_eq!(
        content(
            &*fs,
            p("Users/Pictures/Holiday photo 2023 with a long name.jpg")
        )
        .unwrap(),
        pics[0]
    );
    assert_eq!(content(&*fs, p("top.png")).unwrap(), pics[1]);
    assert_eq!(
        content(&*fs, p("Users/Pictures/fragmented.jpg")).unwrap(),
        pics[2]
    );
    let g = p("Users/Pictures/gone.png");
    assert!(g.deleted);
    assert_eq!(g.recovery, Some(Recovery::Intact));
    assert_eq!(content(&*fs, g).unwrap(), pics[3]);
    assert_eq!(
        p("Users/reused.jpg").recovery,
        Some(Recovery::PossiblyOverwritten)
    );
    assert!(entries
        .iter()
        .any(|e| e.kind == EntryKind::Dir && e.display_path() == "/Users/Pictures"));
    let free = fs.unallocated().unwrap();
    let start = w.cluster(gone_first) as u64;
    assert!(free.iter().any(|&(s, l)| start >= s && start < s + l));
    let used = w.cluster(reused_first) as u64;
    assert!(!free.iter().any(|&(s, l)| used >= s && used < s + l));
}
