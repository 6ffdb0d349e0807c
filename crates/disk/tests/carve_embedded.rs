//! Carving benign pictures and videos generated at test time (the `image`
//! crate for pictures, `ffmpeg` for videos when present) out of random
//! bytes: exact offsets and lengths, truncated and overlapping items,
//! items across block boundaries, unreadable ranges, and a property test
//! whose oracle is the embedding itself.

mod container_common;

use container_common::{benign_bytes, run, tempdir, tool};
use image::{ImageFormat, RgbImage};
use nigehbaan_disk::carve::{carve_all, CarveOptions, Carved, Carver, Kind};
use nigehbaan_disk::unreadable::Cause;
use nigehbaan_disk::{ReadAt, Unreadable};
use proptest::prelude::*;
use std::io::Cursor;
use std::sync::OnceLock;

fn picture(w: u32, h: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = x
            .wrapping_mul(7)
            .wrapping_add(y.wrapping_mul(13))
            .wrapping_add(seed);
        image::Rgb([(v % 251) as u8, (x * 3 % 256) as u8, (y * 5 % 256) as u8])
    })
}

fn encode(img: &RgbImage, f: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    if f == ImageFormat::Gif || f == ImageFormat::WebP {
        image::DynamicImage::ImageRgb8(img.clone())
            .to_rgba8()
            .write_to(&mut out, f)
            .unwrap();
    } else {
        img.write_to(&mut out, f).unwrap();
    }
    out.into_inner()
}

/// One benign sample of each picture kind, made once.
fn samples() -> &'static Vec<(Kind, Vec<u8>)> {
    static S: OnceLock<Vec<(Kind, Vec<u8>)>> = OnceLock::new();
    S.get_or_init(|| {
        let p = picture(67, 45, 3);
        vec![
            (Kind::Jpeg, encode(&p, ImageFormat::Jpeg)),
            (Kind::Png, encode(&p, ImageFormat::Png)),
            (Kind::Gif, encode(&p, ImageFormat::Gif)),
            (Kind::Webp, encode(&p, ImageFormat::WebP)),
            (Kind::Bmp, encode(&p, ImageFormat::Bmp)),
            (Kind::Mp4, synthetic_mp4(3000)),
        ]
    })
}

fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// A box structure like an MP4's (ftyp, moov, mdat): enough for the walker,
/// which reads only box headers.
fn synthetic_mp4(mdat: usize) -> Vec<u8> {
    let mut v = mp4_box(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    v.extend(mp4_box(b"moov", &mp4_box(b"mvhd", &[0u8; 100])));
    v.extend(mp4_box(b"mdat", &benign_bytes(mdat, 11)));
    v
}

fn find(items: &[Carved], at: u64, kind: Kind) -> Option<Carved> {
    items
        .iter()
        .copied()
        .find(|c| c.offset == at && c.kind == kind)
}

#[test]
fn each_kind_is_found_with_its_exact_length() {
    let mut disk = benign_bytes(100_000, 1);
    let mut placed = Vec::new();
    for (kind, bytes) in samples() {
        let at = disk.len() as u64 + 13;
        disk.extend(benign_bytes(13, at));
        disk.extend_from_slice(bytes);
        placed.push((at, bytes.len() as u64, *kind));
    }
    // The MP4's end is only a box boundary: zeros after it end the walk.
    disk.extend(vec![0u8; 100]);
    let (items, bad) = carve_all(&disk);
    assert!(bad.is_empty());
    for (at, len, kind) in placed {
        let c = find(&items, at, kind)
            .unwrap_or_else(|| panic!("{kind:?} at {at} not found: {items:?}"));
        assert_eq!(c.len, len, "{kind:?}");
        assert!(c.complete, "{kind:?}");
    }
}

#[test]
fn truncated_and_size_capped_items_are_reported_incomplete() {
    let (_, jpeg) = &samples()[0];
    let cut = jpeg.len() / 2;
    let mut disk = benign_bytes(5000, 2);
    disk.extend_from_slice(&jpeg[..cut]);
    let (items, _) = carve_all(&disk);
    let c = find(&items, 5000, Kind::Jpeg).unwrap_or_else(|| {
        panic!(
            "truncated JPEG ({cut} of {}) not found: {items:?}",
            jpeg.len()
        )
    });
    assert!(!c.complete);
    assert_eq!(c.len, cut as u64);

    let mut disk = benign_bytes(100, 4);
    disk.extend_from_slice(jpeg);
    let opts = CarveOptions {
        max_size: jpeg.len() as u64 * 3 / 4,
        ..CarveOptions::default()
    };
    let items: Vec<Carved> = Carver::new(&disk, 0, disk.len() as u64, opts)
        .flatten()
        .collect();
    let c = find(&items, 100, Kind::Jpeg).unwrap();
    assert_eq!((c.len, c.complete), (jpeg.len() as u64 * 3 / 4, false));
}

#[test]
fn a_jpeg_inside_another_is_found_too() {
    let (_, inner) = &samples()[0];
    let outer = encode(&picture(30, 20, 9), ImageFormat::Jpeg);
    // An APP1 segment holding the inner JPEG, like an EXIF thumbnail.
    let mut body = b"Exif\0\0".to_vec();
    body.extend_from_slice(inner);
    let mut joined = outer[..2].to_vec();
    joined.extend_from_slice(&[0xFF, 0xE1]);
    joined.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    joined.extend_from_slice(&body);
    joined.extend_from_slice(&outer[2..]);
    let mut disk = benign_bytes(777, 5);
    disk.extend_from_slice(&joined);
    let (items, _) = carve_all(&disk);
    let o = find(&items, 777, Kind::Jpeg).unwrap();
    assert_eq!((o.len, o.complete), (joined.len() as u64, true));
    let i = find(&items, 777 + 4 + 2 + 6, Kind::Jpeg).unwrap();
    assert_eq!((i.len, i.complete), (inner.len() as u64, true));
}

#[test]
fn items_straddling_block_boundaries_are_found() {
    for (kind, bytes) in samples() {
        for back in [1u64, 3, 4, 5, 7, 8] {
            let at = (1u64 << 20) - back;
            let mut disk = benign_bytes(at as usize, back);
            disk.extend_from_slice(bytes);
            disk.extend(vec![0u8; 64]);
            let (items, _) = carve_all(&disk);
            let c = find(&items, at, *kind).unwrap_or_else(|| panic!("{kind:?} at 1 MiB - {back}"));
            assert_eq!(c.len, bytes.len() as u64);
        }
    }
}

/// A reader with a hole: reads touching `[hole.0, hole.1)` fail.
struct Holed {
    data: Vec<u8>,
    hole: (u64, u64),
}

impl ReadAt for Holed {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if offset >= self.hole.0 && offset < self.hole.1 {
            return Err(Unreadable {
                start: self.hole.0,
                len: self.hole.1 - self.hole.0,
                cause: Cause::MissingChunk { chunk: 0 },
            }
            .into_io());
        }
        let end = if offset < self.hole.0 {
            (offset + buf.len() as u64).min(self.hole.0)
        } else {
            offset + buf.len() as u64
        };
        let n = (end - offset) as usize;
        self.data.read_at(offset, &mut buf[..n])
    }

    fn len(&self) -> u64 {
        self.data.len() as u64
    }
}

#[test]
fn unreadable_ranges_are_reported_and_carving_goes_on() {
    let (_, png) = &samples()[1];
    let mut data = benign_bytes(3 << 20, 6);
    let at = (2 << 20) + 1000;
    data[at..at + png.len()].copy_from_slice(png);
    let r = Holed {
        data,
        hole: (1 << 20, (1 << 20) + 32768),
    };
    let mut items = Vec::new();
    let mut bad = Vec::new();
    for x in Carver::new(&r, 0, r.len(), CarveOptions::default()) {
        match x {
            Ok(c) => items.push(c),
            Err(u) => bad.push(u),
        }
    }
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!((bad[0].start, bad[0].len), (1 << 20, 32768));
    let c = find(&items, at as u64, Kind::Png).unwrap();
    assert_eq!(c.len, png.len() as u64);
}

#[test]
fn videos_made_by_ffmpeg_are_carved_whole() {
    let Some(ffmpeg) = tool("ffmpeg") else { return };
    let d = tempdir();
    for name in ["v.mp4", "v.mov"] {
        run(
            &ffmpeg,
            &[
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=duration=1:size=64x48:rate=5",
                "-c:v",
                "mpeg4",
                "-y",
                name,
            ],
            d.path(),
        );
        let video = std::fs::read(d.path().join(name)).unwrap();
        let mut disk = benign_bytes(4096 + 17, 8);
        disk.extend_from_slice(&video);
        disk.extend(vec![0u8; 4096]);
        let (items, _) = carve_all(&disk);
        let c = find(&items, 4096 + 17, Kind::Mp4).unwrap_or_else(|| panic!("{name}: {items:?}"));
        assert_eq!((c.len, c.complete), (video.len() as u64, true), "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any sample at any offset in random data (of up to 2.5 MiB, so across
    /// block boundaries) is found with its exact length; the oracle is
    /// where it was put.
    #[test]
    fn any_embedded_picture_is_found_exactly(
        which in 0usize..5,
        before in 0usize..2_500_000,
        after in 0usize..5000,
        seed in any::<u64>(),
    ) {
        let (kind, bytes) = &samples()[which];
        let mut disk = benign_bytes(before, seed);
        disk.extend_from_slice(bytes);
        disk.extend(benign_bytes(after, seed ^ 0xABCD));
        let items: Vec<Carved> = Carver::new(&disk, 0, disk.len() as u64, CarveOptions::default())
            .flatten()
            .collect();
        let c = find(&items, before as u64, *kind);
        prop_assert!(c.is_some(), "{:?} at {} not found", kind, before);
        let c = c.unwrap();
        prop_assert_eq!(c.len, bytes.len() as u64);
        prop_assert!(c.complete);
    }
}

#[test]
fn fuzz_finding_items_never_reach_past_the_data() {
    // Found by the disk_carve fuzz target: a JPEG whose last segment length
    // pointed past the end gave an item longer than the data.
    let mut data =
        b"\xFF\xD8\xFF\xE0\x00\x04\x00\x00\xFF\xDA\x00\x02\x01\x02\xFF\xC4\x6D\x99".to_vec();
    data.extend_from_slice(&[0x11; 40]);
    let (items, _) = carve_all(&data);
    assert!(!items.is_empty());
    for c in items {
        assert!(c.offset + c.len <= data.len() as u64, "{c:?}");
    }
}
