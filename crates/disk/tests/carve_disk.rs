//! All layers together on a disk the test builds with the standard tools:
//! an MBR (`sfdisk`) with a FAT16 partition (`mkfs.fat --offset`) holding
//! benign generated pictures (`mcopy`), one more picture written into the
//! gap after the partition, the whole disk turned into an E01
//! (`ewfacquire`). Opened from the E01: the partition is found where
//! `sfdisk` put it, the pictures inside it carve out whole, and the one in
//! the unallocated gap is found by carving the regions no volume covers.

mod container_common;

use container_common::{run, tempdir, tool};
use image::{ImageFormat, RgbImage};
use nigehbaan_disk::carve::{CarveOptions, Carver, Kind};
use nigehbaan_disk::volume::Scheme;
use nigehbaan_disk::{open_image, ContainerKind};
use std::io::{Cursor, Write};
use std::process::{Command, Stdio};

fn picture(seed: u32, f: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(90, 60, |x, y| {
        image::Rgb([(x * 2 + seed) as u8, (y * 3) as u8, ((x ^ y) + seed) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, f).unwrap();
    out.into_inner()
}

#[test]
fn pictures_in_a_fat_partition_and_in_unallocated_space_of_an_e01() {
    let (Some(sfdisk), Some(mkfs), Some(mcopy), Some(ewfacquire)) = (
        tool("sfdisk"),
        tool("mkfs.fat"),
        tool("mcopy"),
        tool("ewfacquire"),
    ) else {
        return;
    };
    let d = tempdir();
    let disk = d.path().join("disk.dd");
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(24 << 20)
        .unwrap();
    let mut c = Command::new(sfdisk)
        .args(["-q", disk.to_str().unwrap()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(b"label: dos\nstart=2048, size=32768, type=6\n")
        .unwrap();
    assert!(c.wait().unwrap().success());
    run(
        &mkfs,
        &[
            "-F",
            "16",
            "--offset",
            "2048",
            disk.to_str().unwrap(),
            "16384",
        ],
        d.path(),
    );
    let files = [
        ("a.jpg", picture(1, ImageFormat::Jpeg)),
        ("b.png", picture(2, ImageFormat::Png)),
        ("c.bmp", picture(3, ImageFormat::Bmp)),
    ];
    for (name, bytes) in &files {
        std::fs::write(d.path().join(name), bytes).unwrap();
        let target = format!("{}@@1M", disk.display());
        run(
            &mcopy,
            &["-i", &target, name, &format!("::{name}")],
            d.path(),
        );
    }
    // A picture in the gap after the partition (unallocated space).
    let loose = picture(4, ImageFormat::Jpeg);
    let loose_at: u64 = (20 << 20) + 4096 + 123;
    let mut raw = std::fs::read(&disk).unwrap();
    raw[loose_at as usize..loose_at as usize + loose.len()].copy_from_slice(&loose);
    std::fs::write(&disk, &raw).unwrap();
    run(
        &ewfacquire,
        &[
            "-u",
            "-q",
            "-t",
            "disk",
            "-f",
            "encase6",
            "-c",
            "deflate:fast",
            "-S",
            "4MiB",
            "disk.dd",
        ],
        d.path(),
    );

    let img = open_image(&[d.path().join("disk.E01")]).unwrap();
    assert_eq!(img.kind(), ContainerKind::E01);
    let vs = img.volumes();
    assert_eq!(vs.scheme, Scheme::Mbr);
    assert_eq!(vs.volumes.len(), 1);
    let v = &vs.volumes[0];
    assert_eq!((v.start, v.len), (1 << 20, 16 << 20));

    // Inside the partition: each picture mcopy wrote carves out whole.
    let part = img.region(v.start, v.len);
    let items: Vec<_> = Carver::new(&part, 0, v.len, CarveOptions::default())
        .flatten()
        .collect();
    for (name, bytes) in &files {
        let hit = items.iter().find(|c| {
            let mut b = vec![0u8; c.len as usize];
            nigehbaan_disk::ReadAt::read_exact_at(&part, c.offset, &mut b).unwrap();
            c.complete && b == *bytes
        });
        assert!(
            hit.is_some(),
            "{name} not carved from the partition: {items:?}"
        );
    }

    // Outside every volume: the loose picture.
    let mut found = Vec::new();
    let reader = img.reader();
    for g in vs.unallocated_regions() {
        for c in Carver::new(&*reader, g.start, g.end - g.start, CarveOptions::default()).flatten()
        {
            found.push(c);
        }
    }
    let hit = found
        .iter()
        .find(|c| c.offset == loose_at && c.kind == Kind::Jpeg)
        .expect("loose picture");
    assert_eq!((hit.len, hit.complete), (loose.len() as u64, true));
}
