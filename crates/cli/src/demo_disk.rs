//! The disk-image step of `nigehbaan demo`: a small USB-stick image made by
//! our own code (no mkfs needed) — an MBR with one FAT16 partition holding a
//! text file, a deleted demo picture and, in free clusters, another demo
//! picture no directory lists — scanned as a second exhibit to show that
//! the deleted picture and the one in unallocated space are both found.

use nigehbaan_lists::library::OpenList;
use nigehbaan_scan::{Disposition, Exhibit, Progress, ScanConfig};
use std::path::Path;
use std::sync::atomic::AtomicBool;

const SECTOR: usize = 512;
/// The partition's first sector on the disk.
const PART_START: usize = 128;
/// Sectors in the partition (4 MiB: 8095 one-sector clusters, so FAT16).
const PART_SECTORS: usize = 8192;
const FAT_SECTORS: usize = 32;
const ROOT_ENTRIES: usize = 512;
/// Sectors before the data area: boot sector, two FATs, root directory.
const DATA_START: usize = 1 + 2 * FAT_SECTORS + ROOT_ENTRIES * 32 / SECTOR;
/// The cluster the picture in unallocated space starts at.
const FREE_PICTURE_CLUSTER: usize = 3000;

/// One 32-byte FAT directory entry (8.3 name, attributes, first cluster,
/// size); the date is 2024-01-01 12:00.
fn dir_entry(name: &[u8; 11], attr: u8, cluster: u16, size: u32) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(name);
    e[11] = attr;
    let time: u16 = 12 << 11;
    let date: u16 = ((2024 - 1980) << 9) | (1 << 5) | 1;
    for at in [14, 22] {
        e[at..at + 2].copy_from_slice(&time.to_le_bytes());
    }
    for at in [16, 18, 24] {
        e[at..at + 2].copy_from_slice(&date.to_le_bytes());
    }
    e[26..28].copy_from_slice(&cluster.to_le_bytes());
    e[28..32].copy_from_slice(&size.to_le_bytes());
    e
}

/// A FAT16 file system of [`PART_SECTORS`] sectors holding `README.TXT`
/// (live), `_ACATION.JPG` (deleted: its entry marked 0xE5 and its clusters
/// freed, data left in place) and `free_picture` written into free clusters
/// at [`FREE_PICTURE_CLUSTER`] with no entry at all.
pub(crate) fn fat16(readme: &[u8], deleted: &[u8], free_picture: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; PART_SECTORS * SECTOR];
    // Boot sector and BIOS parameter block.
    let b = &mut v[..SECTOR];
    b[..3].copy_from_slice(&[0xEB, 0x3C, 0x90]);
    b[3..11].copy_from_slice(b"NIGEHBAN");
    b[11..13].copy_from_slice(&(SECTOR as u16).to_le_bytes());
    b[13] = 1; // sectors per cluster
    b[14..16].copy_from_slice(&1u16.to_le_bytes()); // reserved sectors
    b[16] = 2; // FATs
    b[17..19].copy_from_slice(&(ROOT_ENTRIES as u16).to_le_bytes());
    b[19..21].copy_from_slice(&(PART_SECTORS as u16).to_le_bytes());
    b[21] = 0xF8; // fixed disk
    b[22..24].copy_from_slice(&(FAT_SECTORS as u16).to_le_bytes());
    b[24..26].copy_from_slice(&32u16.to_le_bytes()); // sectors per track
    b[26..28].copy_from_slice(&64u16.to_le_bytes()); // heads
    b[28..32].copy_from_slice(&(PART_START as u32).to_le_bytes()); // hidden
    b[36] = 0x80;
    b[38] = 0x29;
    b[39..43].copy_from_slice(&0x2024_0101u32.to_le_bytes());
    b[43..54].copy_from_slice(b"DEMO USB   ");
    b[54..62].copy_from_slice(b"FAT16   ");
    b[510] = 0x55;
    b[511] = 0xAA;

    let clusters = |len: usize| len.div_ceil(SECTOR).max(1);
    let cluster_at = |c: usize| (DATA_START + c - 2) * SECTOR;
    // README.TXT from cluster 2, the deleted picture right after it.
    let readme_first = 2;
    let deleted_first = readme_first + clusters(readme.len());
    let mut fat = vec![0u8; FAT_SECTORS * SECTOR];
    let mut set =
        |c: usize, value: u16| fat[c * 2..c * 2 + 2].copy_from_slice(&value.to_le_bytes());
    set(0, 0xFFF8);
    set(1, 0xFFFF);
    let n = clusters(readme.len());
    for i in 0..n {
        let c = readme_first + i;
        set(c, if i + 1 == n { 0xFFFF } else { (c + 1) as u16 });
    }
    for copy in 0..2 {
        let at = (1 + copy * FAT_SECTORS) * SECTOR;
        v[at..at + fat.len()].copy_from_slice(&fat);
    }
    // Data: the deleted file's clusters are free in the FAT but keep its bytes.
    for (first, bytes) in [
        (readme_first, readme),
        (deleted_first, deleted),
        (FREE_PICTURE_CLUSTER, free_picture),
    ] {
        let at = cluster_at(first);
        v[at..at + bytes.len()].copy_from_slice(bytes);
    }
    // Root directory: the volume label, the live file, the deleted one.
    let root = (1 + 2 * FAT_SECTORS) * SECTOR;
    let mut del = dir_entry(
        b"VACATIONJPG",
        0x20,
        deleted_first as u16,
        deleted.len() as u32,
    );
    del[0] = 0xE5;
    for (i, e) in [
        dir_entry(b"DEMO USB   ", 0x08, 0, 0),
        dir_entry(
            b"README  TXT",
            0x20,
            readme_first as u16,
            readme.len() as u32,
        ),
        del,
    ]
    .iter()
    .enumerate()
    {
        v[root + i * 32..root + i * 32 + 32].copy_from_slice(e);
    }
    v
}

/// A raw disk: an MBR with one FAT16 partition (type 0x04) at
/// [`PART_START`] holding `fs`.
pub(crate) fn mbr_disk(fs: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; PART_START * SECTOR + fs.len()];
    let e = 446;
    d[e + 4] = 0x04;
    d[e + 8..e + 12].copy_from_slice(&(PART_START as u32).to_le_bytes());
    d[e + 12..e + 16].copy_from_slice(&((fs.len() / SECTOR) as u32).to_le_bytes());
    d[440..444].copy_from_slice(&0x4e49_4745u32.to_le_bytes()); // disk signature
    d[510] = 0x55;
    d[511] = 0xAA;
    d[PART_START * SECTOR..].copy_from_slice(fs);
    d
}

/// Builds the image from two demo pictures in `evidence`, scans it as the
/// exhibit `DEMO-EX2` with `base`'s settings and prints what was found.
pub(crate) fn run(
    dir: &Path,
    evidence: &Path,
    base: &ScanConfig,
    lists: &[OpenList],
) -> Result<(), String> {
    let read = |p: &str| {
        let p = evidence.join(p);
        std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let deleted = read("phone/DCIM/IMG_0001.jpg")?;
    let free = read("phone/DCIM/IMG_0003.jpg")?;
    let readme = b"Holiday pictures are in the cloud now.\n";
    let ev = dir.join("disk-evidence");
    std::fs::create_dir_all(&ev).map_err(|e| format!("cannot create {}: {e}", ev.display()))?;
    let img = ev.join("usb-stick.img");
    std::fs::write(&img, mbr_disk(&fat16(readme, &deleted, &free)))
        .map_err(|e| format!("cannot write {}: {e}", img.display()))?;

    let mut cfg = base.clone();
    cfg.exhibits = vec![Exhibit {
        id: "DEMO-EX2".into(),
        paths: vec![img.clone()],
    }];
    cfg.out_dir = dir.join("report-disk");
    cfg.command_line = format!("nigehbaan scan {} --case DEMO-0001", img.display());
    let outcome = nigehbaan_scan::scan(&cfg, lists, &Progress::default(), &AtomicBool::new(false))
        .map_err(|e| e.to_string())?;
    println!(
        "\nDisk image demo: {} (a USB stick image made by this demo: one FAT16 partition)",
        img.display()
    );
    let prefix = img.display().to_string();
    for it in &outcome.report.items {
        let rel = it.path.strip_prefix(&prefix).unwrap_or(&it.path);
        let rel = if rel.is_empty() { "usb-stick.img" } else { rel };
        let how = match it.disposition {
            Disposition::Hit => {
                let h: Vec<String> = it
                    .hits
                    .iter()
                    .map(|h| format!("{}, {}", h.list, h.how()))
                    .collect();
                format!("HIT    {}", h.join("; "))
            }
            Disposition::Known => "known  (set aside)".into(),
            Disposition::Unmatched if it.sha256.is_none() && it.error.is_none() => {
                "-      examined below; not digested as a whole (--verify-image does)".into()
            }
            Disposition::Unmatched => "-      on no list".into(),
        };
        let mut found = Vec::new();
        if it.deleted {
            found.push(format!(
                "deleted, {}",
                it.recovery.as_deref().unwrap_or("?")
            ));
        }
        if it.notes.iter().any(|n| n == "carved") {
            found.push("carved from unallocated space".to_string());
        }
        let found = if found.is_empty() {
            String::new()
        } else {
            format!(" [{}]", found.join("; "))
        };
        println!("  {rel:40} {how}{found}");
    }
    if let Some(i) = outcome.report.images.first() {
        println!(
            "  image: {} partition(s), {} live, {} deleted, {} carved; {} bytes of free space searched",
            i.partitions.len(),
            i.totals.live,
            i.totals.deleted,
            i.totals.carved,
            i.totals.unallocated_bytes_searched
        );
    }
    println!("  Report: {}", outcome.dir.join("report.html").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_is_a_fat16_disk_the_disk_crate_reads() {
        let fs = fat16(b"hello\n", &[0xFF, 0xD8, 1, 2, 3], b"free");
        let disk = mbr_disk(&fs);
        assert_eq!(disk.len(), (PART_START + PART_SECTORS) * SECTOR);
        let r: std::sync::Arc<dyn nigehbaan_disk::ReadAt> = std::sync::Arc::new(disk);
        let img = nigehbaan_disk::Image::from_reader("demo.img".into(), r);
        let vs = img.volumes();
        assert_eq!(vs.volumes.len(), 1);
        let part: std::sync::Arc<dyn nigehbaan_disk::ReadAt> =
            std::sync::Arc::new(img.region(vs.volumes[0].start, vs.volumes[0].len));
        let f = nigehbaan_disk::fs::open(part).unwrap();
        assert_eq!(f.kind().name(), "fat16");
        let mut names = Vec::new();
        f.walk(&mut |e| {
            let e = e.unwrap();
            names.push((e.display_path(), e.deleted));
        });
        assert!(
            names.contains(&("/README.TXT".to_string(), false)),
            "{names:?}"
        );
        assert!(
            names.iter().any(|(n, d)| *d && n.ends_with("ACATION.JPG")),
            "{names:?}"
        );
    }
}
