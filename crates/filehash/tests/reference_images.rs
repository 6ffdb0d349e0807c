//! Every image of `../shared/pdq-vectors/expected-images.csv` against the
//! hashes the reference pipelines produced (the CSV is copied into
//! crates/pdq/tests/data; the images stay in shared/).
//!
//! Runs when ../shared is present; fails under CI=true when it is missing;
//! otherwise skips with a one-line note.

use nigehbaan_filehash::{hash_bytes, Options};
use nigehbaan_pdq::{Hash256, Hasher};
use std::path::PathBuf;

fn vectors_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pdq-vectors");
    if dir.join("expected-images.csv").exists() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("../shared/pdq-vectors is missing, and CI=true requires it");
    }
    eprintln!("note: ../shared/pdq-vectors not found; skipping the reference-image test");
    None
}

struct Expected {
    path: String,
    hash: Hash256,
    quality: u8,
}

fn expected() -> Vec<Expected> {
    include_str!("../../pdq/tests/data/expected-images.csv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Expected {
                path: f[0].to_string(),
                hash: f[9].parse().unwrap(),
                quality: f[10].parse().unwrap(),
            }
        })
        .collect()
}

/// Files where the reference tools hash palette indices or raw CMY
/// channels: we hash the true picture instead and compare to RGB.jpg.
const TRUE_PICTURE: [&str; 3] = [
    "misc-images/modes/P.png",
    "misc-images/modes/1.png",
    "misc-images/modes/CMYK.jpg",
];

#[test]
fn reference_images_match_the_full_pipeline() {
    let Some(dir) = vectors_dir() else { return };
    let opts = Options::default();
    let mut hasher = Hasher::new();
    let rows = expected();
    let hash_of = |p: &str, hasher: &mut Hasher| {
        let bytes = std::fs::read(dir.join(p)).unwrap();
        let r = hash_bytes(&bytes, &opts, hasher);
        assert!(r.error.is_none(), "{p}: {:?}", r.error);
        r.image.unwrap().pdq.unwrap()
    };
    let rgb_jpg = hash_of("misc-images/modes/RGB.jpg", &mut hasher).hash;
    let (mut jpeg_total, mut jpeg_exact, mut jpeg_max) = (0, 0, 0);
    let mut failures = Vec::new();
    for e in &rows {
        let got = hash_of(&e.path, &mut hasher);
        let d = got.hash.distance(&e.hash);
        if TRUE_PICTURE.contains(&e.path.as_str()) {
            let d_rgb = got.hash.distance(&rgb_jpg);
            eprintln!(
                "{:50} true picture: {d_rgb} bits from modes/RGB.jpg",
                e.path
            );
            if d_rgb > 8 {
                failures.push(format!("{}: {d_rgb} bits from RGB.jpg (max 8)", e.path));
            }
        } else if e.path.ends_with(".jpg") {
            jpeg_total += 1;
            jpeg_exact += (d == 0 && got.quality == e.quality) as usize;
            jpeg_max = jpeg_max.max(d);
            eprintln!(
                "{:50} jpeg: {d} bits, quality {} (want {})",
                e.path, got.quality, e.quality
            );
        } else if d != 0 || got.quality != e.quality {
            failures.push(format!(
                "{} (lossless): {d} bits off, quality {} want {}",
                e.path, got.quality, e.quality
            ));
        }
    }
    eprintln!("JPEG: {jpeg_exact}/{jpeg_total} exact, max {jpeg_max} bits");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(jpeg_max <= 8, "a JPEG is {jpeg_max} bits off (max 8)");
    assert!(
        jpeg_exact * 10 >= jpeg_total * 9,
        "only {jpeg_exact}/{jpeg_total} JPEGs exact (need 90%)"
    );
}

/// `--fast` on every reference image: colour JPEGs are luma-only (and, when
/// large, reduced-scale) decodes labelled as such and stay within the
/// issue's triage budget of the full pipeline (max 12 bits, mean ≤ 3);
/// every other image gets exactly the full pipeline's hash.
#[test]
fn fast_mode_stays_close_to_the_full_pipeline() {
    let Some(dir) = vectors_dir() else { return };
    let full = Options::default();
    let fast = Options {
        fast: true,
        ..Options::default()
    };
    let mut hasher = Hasher::new();
    let (mut n, mut sum, mut max) = (0usize, 0u32, 0u32);
    for e in &expected() {
        let bytes = std::fs::read(dir.join(&e.path)).unwrap();
        let a = hash_bytes(&bytes, &full, &mut hasher).image.unwrap();
        let b = hash_bytes(&bytes, &fast, &mut hasher).image.unwrap();
        let d = a.pdq.unwrap().hash.distance(&b.pdq.unwrap().hash);
        if b.reduced {
            assert!(
                e.path.ends_with(".jpg"),
                "{}: only JPEGs are approximated",
                e.path
            );
            n += 1;
            sum += d;
            max = max.max(d);
            eprintln!("{:50} fast: {d} bits from full", e.path);
        } else {
            assert_eq!(d, 0, "{}: not approximated, so exact", e.path);
        }
    }
    eprintln!(
        "fast: {n} approximated, mean {:.2} bits, max {max}",
        sum as f64 / n.max(1) as f64
    );
    // With libjpeg-turbo, `--fast` approximates only reduced-scale decodes,
    // and these images are too small for any.
    if !cfg!(feature = "libjpeg-turbo") {
        assert!(n > 0, "no colour JPEG was approximated");
    }
    assert!(
        max <= 12,
        "a fast hash is {max} bits from the full one (max 12)"
    );
    assert!(sum as usize <= 3 * n, "mean distance over 3 bits");
}
