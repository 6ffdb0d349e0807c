//! `report.html` printed by a real browser: headless Chromium renders the
//! demo report (English, Urdu, bilingual) and a 5,000-hit report to PDF,
//! checked with poppler's `pdfinfo` and `pdftotext`: A4 pages, "page X of
//! Y" footers, every hit row present, no word outside the page, Urdu text
//! present and laid out right to left in the Urdu report.
//!
//! Runs when `chromium`, `pdfinfo` and `pdftotext` are installed, fails
//! under CI=true when one is missing, and otherwise skips with a note.
//!
//! To look at the pages yourself (the screenshots are not kept, only the
//! commands that make them):
//!
//! ```text
//! chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
//!     --print-to-pdf=report.pdf file:///ABS/PATH/report.html
//! pdfinfo report.pdf
//! pdftoppm -png -r 70 report.pdf page      # page-1.png, page-2.png, …
//! ```

use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::bin;

fn tempdir(name: &str) -> PathBuf {
    common::tempdir("report-print", name)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// True when every program the test needs is installed; otherwise fails
/// under CI=true, or notes the skip.
fn tools() -> bool {
    let missing: Vec<&str> = ["chromium", "pdfinfo", "pdftotext"]
        .into_iter()
        .filter(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .map(|o| !o.status.success() && o.stdout.is_empty() && o.stderr.is_empty())
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{missing:?} not installed, and CI=true requires them");
    }
    eprintln!("note: {missing:?} not found; skipping the browser rendering test");
    false
}

/// Prints `html` to a PDF beside it with headless Chromium.
fn print(html: &Path) -> PathBuf {
    let pdf = html.with_extension("pdf");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.canonicalize().unwrap().display()))
        .output()
        .unwrap();
    assert!(pdf.is_file(), "chromium made no PDF: {}", text(&out));
    pdf
}

/// What poppler reads from a PDF: page count, page size, the text, and
/// every word's box (x min, x max, text).
struct Pdf {
    pages: usize,
    text: String,
    words: Vec<(f64, f64, String)>,
    width: f64,
}

fn read(pdf: &Path) -> Pdf {
    let info = Command::new("pdfinfo").arg(pdf).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .map(|l| l[name.len()..].trim().to_string())
            .unwrap_or_default()
    };
    assert!(field("Page size:").ends_with("(A4)"), "not A4: {info}");
    let pages: usize = field("Pages:").parse().unwrap();
    let t = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    let bbox = Command::new("pdftotext")
        .args(["-bbox"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    let bbox = String::from_utf8_lossy(&bbox.stdout).into_owned();
    let attr = |l: &str, name: &str| -> f64 {
        let at = l.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        l[at..].split('"').next().unwrap().parse().unwrap()
    };
    let mut width = 0.0;
    let mut words = Vec::new();
    for l in bbox.lines().map(str::trim) {
        if l.starts_with("<page ") {
            width = attr(l, "width");
        } else if l.starts_with("<word ") {
            let w = l
                .split('>')
                .nth(1)
                .unwrap_or("")
                .split('<')
                .next()
                .unwrap_or("");
            words.push((attr(l, "xMin"), attr(l, "xMax"), w.to_string()));
        }
    }
    Pdf {
        pages,
        text: String::from_utf8_lossy(&t.stdout).into_owned(),
        words,
        width,
    }
}

/// Nothing is outside the page: no word starts left of it or ends right
/// of it.
fn nothing_cut_off(p: &Pdf) {
    assert!(p.width > 590.0 && p.width < 600.0, "A4 width {}", p.width);
    for (x0, x1, w) in &p.words {
        assert!(
            *x0 >= 0.0 && *x1 <= p.width + 0.5,
            "{w:?} is outside the page ({x0}..{x1} of {})",
            p.width
        );
    }
}

fn demo(dir: &Path) -> PathBuf {
    let d = dir.join("d");
    let out = bin().arg("demo").arg("--out").arg(&d).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    d
}

fn scan(d: &Path, out: &Path, lang: &str) {
    let o = bin()
        .arg("scan")
        .arg(d.join("evidence"))
        .args(["--case", "CASE-9", "--exhibit", "EX-1", "--lang", lang])
        .args(["--fir", "FIR 12/2026", "--law", "PECA 2016 s.22", "-q"])
        .arg("--out")
        .arg(out)
        .arg("--library")
        .arg(d.join("library"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn demo_report_prints_on_a4_in_english_urdu_and_both() {
    if !tools() {
        return;
    }
    let dir = tempdir("demo");
    let d = demo(&dir);
    for lang in ["en", "ur", "en,ur"] {
        let out = dir.join(format!("r-{}", lang.replace(',', "-")));
        scan(&d, &out, lang);
        let p = read(&print(&out.join("report.html")));
        nothing_cut_off(&p);
        assert!(p.pages >= 2, "{lang}: {} pages", p.pages);
        // The running header and the footer of every page.
        assert!(p.text.matches("CASE-9").count() >= p.pages, "{lang}");
        let urdu = lang.contains("ur");
        let english = lang.contains("en");
        if english {
            assert!(
                p.text.contains(&format!("Page 1 of {}", p.pages)),
                "{lang}: no page numbers"
            );
            assert!(p.text.contains("Findings") && p.text.contains("Declaration"));
        }
        // Nastaliq glyphs come back from the PDF with spaces inside words.
        let joined: String = p.text.split_whitespace().collect();
        if urdu {
            assert!(joined.contains("نتائج"), "{lang}: no Urdu text");
            assert!(joined.contains("صفحہ"), "{lang}: no Urdu page numbers");
        }
        if lang == "en,ur" {
            // The running header in both languages on every page (the
            // title block names the case once more).
            assert!(
                p.text.matches("Case number").count() >= p.pages,
                "en,ur: English header missing on some page"
            );
            assert!(
                joined.matches("مقدمہنمبر").count() >= p.pages,
                "en,ur: Urdu header missing on some page ({} pages)",
                p.pages
            );
        }
        if lang == "ur" {
            // Right to left: lines of Urdu end at the right margin.
            let arabic = |w: &str| w.chars().any(|c| ('\u{600}'..='\u{6ff}').contains(&c));
            let at_right = p
                .words
                .iter()
                .filter(|(_, x1, w)| arabic(w) && *x1 > p.width - 60.0)
                .count();
            let at_left = p
                .words
                .iter()
                .filter(|(x0, _, w)| arabic(w) && *x0 < 60.0)
                .count();
            assert!(
                at_right > 20 && at_right > 3 * at_left,
                "Urdu not laid out right to left: {at_right} words at the right margin, {at_left} at the left"
            );
            assert!(!p.text.contains("Findings"));
        }
        // Every hit row: its row number and its match (paths wrap
        // anywhere inside their cell, so they are not searched whole).
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        let hits = json["summary"]["total"]["hits"].as_u64().unwrap();
        // Four pictures, and the demo video's copy when ffmpeg is there.
        assert!(hits == 4 || hits == 5, "{hits} hits");
        every_row(&p, hits);
        if english {
            let matches = p.text.matches("similar").count() + p.text.matches("exact (").count();
            assert!(matches as u64 >= hits, "{lang}: {matches} match cells");
        }
    }
}

/// Every row number of the hits table, 1 to `n`, is a word of the PDF.
fn every_row(p: &Pdf, n: u64) {
    let tokens: HashSet<&str> = p.text.split_whitespace().collect();
    let missing: Vec<u64> = (1..=n)
        .filter(|i| !tokens.contains(i.to_string().as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "hit rows missing: {:?}",
        &missing[..missing.len().min(20)]
    );
}

#[test]
fn five_thousand_hits_all_printed() {
    if !tools() {
        return;
    }
    const N: usize = 5000;
    let dir = tempdir("many");
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let mut list = String::from("# TEST DATA: hashes of benign generated text files\n");
    for i in 0..N {
        let body = format!("benign test file {i}\n");
        let name = format!("f{i:05}.txt");
        std::fs::write(ev.join(&name), &body).unwrap();
        let sha = Sha256::digest(body.as_bytes());
        let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
        list.push_str(&format!("{hex}  {name}\n"));
    }
    let listfile = dir.join("list.sha256");
    std::fs::write(&listfile, list).unwrap();
    let lib = dir.join("lib");
    let o = bin()
        .args(["lists", "import"])
        .arg(&listfile)
        .args(["--name", "test-notable"])
        .arg("--library")
        .arg(&lib)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = dir.join("r");
    let o = bin()
        .arg("scan")
        .arg(&ev)
        .args(["--case", "MANY-1", "--exhibit", "EX", "-q", "--no-pdq"])
        .arg("--out")
        .arg(&out)
        .arg("--library")
        .arg(&lib)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let p = read(&print(&out.join("report.html")));
    nothing_cut_off(&p);
    assert!(p.text.contains(&format!("Page {} of {}", p.pages, p.pages)));
    // Every row number of the hits table, 1 to 5,000.
    every_row(&p, N as u64);
}
