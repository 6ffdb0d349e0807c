//! Drives the real `nigehbaan` binary on images the test makes itself.

use image::{ImageFormat, Rgb, RgbImage};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use common::bin;

fn tempdir(name: &str) -> PathBuf {
    common::tempdir("test", name)
}

fn picture(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([
            (x * 255 / w) as u8,
            (y * 255 / h) as u8,
            ((x / 16 + y / 16) % 2 * 200) as u8,
        ])
    })
}

fn save(img: &RgbImage, path: &Path) {
    img.save_with_format(path, ImageFormat::from_path(path).unwrap())
        .unwrap();
}

fn rows(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

#[test]
fn lossless_formats_of_one_picture_hash_identically() {
    let dir = tempdir("formats");
    let img = picture(300, 200);
    for name in ["a.png", "b.bmp", "c.tiff", "d.webp"] {
        save(&img, &dir.join(name));
    }
    // Grey, alpha and 16-bit variants decode to the same picture.
    image::DynamicImage::ImageRgba8(image::DynamicImage::ImageRgb8(img.clone()).to_rgba8())
        .save(dir.join("e-alpha.png"))
        .unwrap();
    image::DynamicImage::ImageRgb16(image::DynamicImage::ImageRgb8(img.clone()).to_rgb16())
        .save(dir.join("f-16bit.png"))
        .unwrap();
    save(&img, &dir.join("g.jpg"));
    save(&img, &dir.join("h.gif"));
    let out = bin().arg("hash").arg(&dir).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = rows(&out);
    assert_eq!(rows.len(), 8);
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "output is sorted by path");
    let png = rows[0]["pdq"].as_str().unwrap().to_string();
    for r in &rows[..6] {
        assert_eq!(r["pdq"].as_str().unwrap(), png, "{}", r["path"]);
        assert_eq!(r["pdq_pipeline"], "full");
        assert_eq!(r["width"], 300);
        assert_eq!(r["height"], 200);
        assert!(r["error"].is_null());
    }
    let formats: Vec<&str> = rows.iter().map(|r| r["format"].as_str().unwrap()).collect();
    assert_eq!(
        formats,
        ["png", "bmp", "tiff", "webp", "png", "png", "jpeg", "gif"]
    );
    // The JPEG copy lands close; the GIF (256-colour palette) decodes.
    let jpg: nigehbaan_pdq::Hash256 = rows[6]["pdq"].as_str().unwrap().parse().unwrap();
    assert!(jpg.distance(&png.parse().unwrap()) <= 31);
    assert!(rows[7]["error"].is_null() && rows[7]["pdq"].is_string());
    for key in [
        "md5",
        "sha1",
        "sha256",
        "size",
        "pdq_quality",
        "orientation",
    ] {
        assert!(rows[0].get(key).is_some(), "field {key} present");
    }
}

#[test]
fn a_bad_file_is_reported_and_the_run_goes_on() {
    let dir = tempdir("bad");
    save(&picture(64, 48), &dir.join("good.png"));
    std::fs::write(dir.join("notes.txt"), b"not an image").unwrap();
    let mut png = std::fs::read(dir.join("good.png")).unwrap();
    png.truncate(png.len() / 2);
    std::fs::write(dir.join("truncated.png"), &png).unwrap();
    std::fs::write(
        dir.join("garbage.jpg"),
        b"\xff\xd8\xff\xe0 this is not a jpeg at all",
    )
    .unwrap();
    let out = bin().arg("hash").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows = rows(&out);
    assert_eq!(rows.len(), 4);
    let by = |name: &str| {
        rows.iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(name))
            .unwrap()
    };
    assert!(by("good.png")["error"].is_null());
    assert!(
        by("notes.txt")["error"].is_null(),
        "not an image is not an error"
    );
    assert!(by("notes.txt")["pdq"].is_null());
    for name in ["truncated.png", "garbage.jpg"] {
        let r = by(name);
        assert!(
            r["error"].as_str().unwrap().len() > 5,
            "{name} has a reason"
        );
        assert!(r["sha256"].is_string(), "{name} still gets its digests");
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn a_tiny_png_claiming_ten_gigapixels_is_refused_at_once() {
    let dir = tempdir("bomb");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png.resize(200, 0);
    std::fs::write(dir.join("bomb.png"), &png).unwrap();
    let start = std::time::Instant::now();
    let out = bin()
        .arg("hash")
        .arg(dir.join("bomb.png"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = &rows(&out)[0];
    let err = r["error"].as_str().unwrap();
    assert!(err.contains("100000") && err.contains("limit"), "{err}");
    assert!(start.elapsed().as_secs() < 10);
}

#[test]
fn csv_dihedral_and_pipelines() {
    let dir = tempdir("csv");
    save(&picture(600, 400), &dir.join("p.png"));
    let out = bin()
        .args(["hash", "--format", "csv", "--dihedral"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "path,size,md5,sha1,sha256,pdq,pdq_quality,pdq_pipeline,pdq_hashable,width,height,format,orientation,error,path_bytes,pdq_dihedral"
    );
    let row = lines.next().unwrap();
    assert_eq!(row.rsplit(',').next().unwrap().split(';').count(), 8);
    let full = rows(&bin().arg("hash").arg(&dir).output().unwrap())[0]["pdq"].clone();
    let cli = rows(
        &bin()
            .args(["hash", "--pipeline", "reference-cli"])
            .arg(&dir)
            .output()
            .unwrap(),
    );
    assert_eq!(cli[0]["pdq_pipeline"], "reference-cli");
    assert!(full.is_string() && cli[0]["pdq"].is_string());
}

#[test]
fn tiny_images_are_flagged_unhashable() {
    let dir = tempdir("tiny");
    save(&picture(4, 30), &dir.join("t.png"));
    let r = &rows(&bin().arg("hash").arg(&dir).output().unwrap())[0];
    assert_eq!(r["pdq"], "0".repeat(64));
    assert_eq!(r["pdq_quality"], 0);
    assert_eq!(r["pdq_hashable"], false);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(bin().arg("hash").output().unwrap().status.code(), Some(2));
    assert_eq!(
        bin()
            .args(["hash", "--pipeline", "nope", "x"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        bin().arg("frobnicate").output().unwrap().status.code(),
        Some(2)
    );
    let missing = bin()
        .args(["hash", "/nonexistent/nigehbaan"])
        .output()
        .unwrap();
    assert_eq!(
        missing.status.code(),
        Some(1),
        "a path that cannot be read is an incomplete run"
    );
}

#[test]
fn demo_runs_and_shows_matches() {
    let dir = tempdir("demo");
    // Without ffmpeg (the demo video is tested in scan_video_cli).
    let out = bin()
        .env("NIGEHBAAN_FFMPEG", "/nonexistent/ffmpeg")
        .arg("demo")
        .arg("--out")
        .arg(dir.join("d"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = String::from_utf8_lossy(&out.stdout);
    let (text, disk) = all
        .split_once("Disk image demo")
        .expect("a disk image step");
    // The resized, the rotated and the re-encoded copies, and the copy in
    // the zip, are hits; the licence file is set aside as known.
    assert_eq!(text.matches("HIT ").count(), 4, "{text}");
    // The disk image: the deleted picture and the one in free space match.
    assert!(
        disk.lines()
            .any(|l| l.contains("HIT ") && l.contains("[deleted")),
        "{disk}"
    );
    assert!(
        disk.lines()
            .any(|l| l.contains("HIT ") && l.contains("!unallocated@") && l.contains("carved")),
        "{disk}"
    );
    // The image itself is examined, not digested: never "on no list".
    assert!(
        disk.lines()
            .any(|l| l.contains("usb-stick.img ") && l.contains("not digested as a whole")),
        "{disk}"
    );
    assert!(text.contains("rot90"), "{text}");
    assert!(text.contains("backup.zip!backup/tiles.png"), "{text}");
    assert!(text.contains("known  (set aside"), "{text}");
    for f in [
        "report.json",
        "report.json.sha256",
        "hits.csv",
        "report.html",
        "vics-cases.json",
    ] {
        assert!(dir.join("d/report").join(f).exists(), "{f}");
    }
    // Running it again replaces its own output.
    let again = bin()
        .arg("demo")
        .arg("--out")
        .arg(dir.join("d"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0));
}
