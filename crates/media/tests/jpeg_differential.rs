//! Our JPEG decoder against libjpeg-turbo, pixel for pixel (feature
//! `libjpeg-turbo`): every JPEG in `../shared/pdq-vectors`, JPEGs made by
//! the benchmark corpus generator (`../shared/bench/make-corpus.py`, run
//! into a temporary directory), and the `decode_and_hash` fuzz corpus when
//! it is present; each at full scale and at the `--fast` rule's scale.
//!
//! A missing source (../shared, or a Python with Pillow and numpy for the
//! generator; set `NIGEHBAAN_PYTHON` to choose the interpreter) fails the
//! test under CI=true and is otherwise skipped with a one-line note.
#![cfg(feature = "libjpeg-turbo")]

use nigehbaan_media::{compare_jpeg_decoders, Agreement, DecodeOptions, MediaError};
use std::path::{Path, PathBuf};
use std::process::Command;

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `../shared/<rel>` beside the repository, or a note (a failure under CI).
fn shared(rel: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel);
    if dir.exists() {
        return Some(dir);
    }
    assert!(!ci(), "../shared/{rel} is missing, and CI=true requires it");
    eprintln!("note: ../shared/{rel} not found; skipping it");
    None
}

fn jpegs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            jpegs_under(&p, out);
        } else if std::fs::read(&p).is_ok_and(|b| b.starts_with(&[0xFF, 0xD8, 0xFF])) {
            out.push(p);
        }
    }
}

/// Compares every file at both scales; returns how many files were found
/// identical at full scale, failing on the first full-scale difference or
/// reduced-scale size difference. With `whole`, every file must also be
/// compared (or declined by our decoder as unsupported): none may be
/// refused as damaged.
fn compare_all(files: &[PathBuf], whole: bool) -> usize {
    let opts = DecodeOptions::default();
    let (mut identical, mut declined, mut fast_max) = (0, 0, 0u8);
    for path in files {
        let bytes = std::fs::read(path).unwrap();
        for fast in [false, true] {
            match compare_jpeg_decoders(&bytes, &opts, fast) {
                Agreement::Identical { .. } => identical += usize::from(!fast),
                // Files our decoder declines (CMYK, arithmetic coding,
                // 12-bit …) go to jpeg-decoder or libjpeg-turbo instead.
                Agreement::NotCompared(MediaError::Unsupported(why)) if !fast => {
                    eprintln!("note: {}: not ours to decode: {why}", path.display());
                    declined += 1;
                }
                Agreement::NotCompared(_) => {}
                Agreement::Different {
                    shapes, max_diff, ..
                } if fast && shapes[0] == shapes[1] => fast_max = fast_max.max(max_diff),
                Agreement::Different {
                    shapes,
                    first,
                    max_diff,
                } => panic!(
                    "{} (fast {fast}): ours and libjpeg-turbo differ: shapes {shapes:?}, \
                     first difference (row, byte, ours, theirs) {first:?}, largest {max_diff}",
                    path.display()
                ),
            }
        }
    }
    eprintln!(
        "{identical} of {} files identical at full scale; largest sample difference at the \
         --fast scale: {fast_max}",
        files.len()
    );
    assert!(
        !whole || identical + declined == files.len(),
        "every file is identical at full scale or declined by our decoder"
    );
    identical
}

#[test]
fn reference_vectors_decode_as_libjpeg_turbo_does() {
    let Some(dir) = shared("pdq-vectors") else {
        return;
    };
    let mut files = Vec::new();
    jpegs_under(&dir, &mut files);
    assert!(!files.is_empty(), "no JPEGs under {}", dir.display());
    let identical = compare_all(&files, true);
    assert!(identical > 0, "no vector was compared");
}

#[test]
fn generated_corpus_decodes_as_libjpeg_turbo_does() {
    let Some(script) = shared("bench/make-corpus.py") else {
        return;
    };
    let python = std::env::var("NIGEHBAAN_PYTHON").unwrap_or_else(|_| "python3".into());
    let usable = Command::new(&python)
        .args(["-c", "import PIL, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable {
        assert!(
            !ci(),
            "{python} with Pillow and numpy is missing, and CI=true requires it"
        );
        eprintln!("note: no {python} with Pillow and numpy; skipping the generated corpus");
        return;
    }
    let out = std::env::temp_dir().join(format!("nigehbaan-jpeg-diff-{}", std::process::id()));
    let status = Command::new(&python)
        .arg(&script)
        .arg(&out)
        .args(["--count", "24", "--seed", "15"])
        .output()
        .unwrap();
    assert!(status.status.success(), "make-corpus.py: {:?}", status);
    let mut files = Vec::new();
    jpegs_under(&out, &mut files);
    let identical = compare_all(&files, true);
    let _ = std::fs::remove_dir_all(&out);
    assert!(!files.is_empty(), "the generator wrote no JPEGs");
    assert!(
        identical > 0,
        "none of {} generated JPEGs was identical at full scale",
        files.len()
    );
}

#[test]
fn fuzz_corpus_decodes_as_libjpeg_turbo_does() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode_and_hash");
    if !dir.exists() {
        eprintln!("note: no fuzz/corpus/decode_and_hash; skipping it");
        return;
    }
    let mut files = Vec::new();
    jpegs_under(&dir, &mut files);
    compare_all(&files, false);
}
