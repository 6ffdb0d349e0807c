//! `nigehbaan scan`: triage of seized evidence with a court-ready report.

use crate::lists::LibraryArg;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use nigehbaan_filehash::Options;
use nigehbaan_lists::library::DEFAULT_MIN_QUALITY;
use nigehbaan_media::Limits;
use nigehbaan_pdq::{Pipeline, DEFAULT_MATCH_THRESHOLD};
use nigehbaan_scan::report::files;
use nigehbaan_scan::{
    ArchiveLimits, CaseFields, CaseInfo, Disposition, Exhibit, MatchSettings, Progress, Report,
    ScanConfig, ScanError, Seal,
};
use std::ffi::OsStr;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args)]
#[command(after_help = "EXIT STATUS (like a virus scanner):\n  \
0  the scan was complete and nothing matched a notable list\n  \
1  the scan was complete and found hits\n  \
2  errors prevented a complete scan (unreadable files, broken or over-limit archives, images \
that could not be decoded, disk images and videos whose content is not examined yet, Ctrl-C; \
each is named on stderr), or the scan was refused or could not start (no list records in the \
library, overlapping evidence paths, duplicate exhibit ids, a device given as evidence, a report \
directory inside the evidence); whatever was found is still in the report, and the summary \
says whether there were hits\n\n\
EVIDENCE is opened read-only (without updating access times where the system allows) and \
nothing is ever written inside it. Archives (zip, tar, tar.gz/tgz, gzip, 7z) are recognised by \
content and opened in memory, never extracted; paths inside them read \
`exhibit/a.zip!photos/b.tar!x.jpg`.\n\n\
REPORT directory (--out; made 0700, its files 0600): report.json (complete; schema in docs/scan-report.md), \
report.json.sha256, hits.csv, report.html (self-contained, no images), vics-cases.json (VICS \
2.0 #Cases). Ctrl-C stops cleanly and writes a report marked incomplete; run the same command \
with --resume to continue without re-hashing what was done.")]
pub struct ScanArgs {
    /// Evidence: files and directories (archives inside are opened).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The report directory (default: nigehbaan-report-CASE-TIME here). It
    /// must not be inside the evidence, and is never overwritten.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Case number, for the chain of custody.
    #[arg(long = "case", value_name = "NUMBER")]
    case_number: Option<String>,
    /// Exhibit id: once for all paths, or once per path in the same order
    /// (default: each path's file name). Ids must be distinct.
    #[arg(long = "exhibit", value_name = "ID")]
    exhibits: Vec<String>,
    /// The examiner's name.
    #[arg(long)]
    examiner: Option<String>,
    /// The examiner's agency.
    #[arg(long)]
    agency: Option<String>,
    /// FIR (First Information Report) number, for the title page and custody.
    #[arg(long, value_name = "NUMBER")]
    fir: Option<String>,
    /// The police station that registered the FIR.
    #[arg(long, value_name = "NAME")]
    police_station: Option<String>,
    /// The court the report is for.
    #[arg(long, value_name = "NAME")]
    court: Option<String>,
    /// The seal on an exhibit, as EXHIBIT=SEAL (repeatable, once per exhibit).
    #[arg(long = "seal", value_name = "EXHIBIT=SEAL")]
    seals: Vec<String>,
    /// The forensic laboratory.
    #[arg(long, value_name = "NAME")]
    lab: Option<String>,
    /// The examiner's designation (rank or post).
    #[arg(long, value_name = "TITLE")]
    designation: Option<String>,
    /// A law the case is under (repeatable), e.g. "PECA 2016 s.22".
    #[arg(long = "law", value_name = "TEXT")]
    laws: Vec<String>,
    /// Language(s) of report.html: en, ur, or en,ur (bilingual).
    #[arg(long, default_value = "en", value_name = "en|ur|en,ur")]
    lang: nigehbaan_scan::report::Langs,
    /// Sign the report directory at the end with this secret key (see
    /// `nigehbaan report keygen`); the key is unlocked before the scan
    /// starts, so a wrong password fails at once.
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
    /// Read the signing key's password from the first line of FILE
    /// (otherwise $NIGEHBAAN_SIGN_PASSWORD, or asked on the terminal).
    #[arg(long, value_name = "FILE", requires = "sign_key")]
    sign_password_file: Option<PathBuf>,
    /// Match only against this list (repeatable; default: every list).
    #[arg(long = "list", value_name = "NAME")]
    lists: Vec<String>,
    /// The largest PDQ Hamming distance that is a match (0-63).
    #[arg(long, default_value_t = DEFAULT_MATCH_THRESHOLD, value_parser = clap::value_parser!(u32).range(0..=63))]
    threshold: u32,
    /// PDQ hashes of lower quality are not matched or grouped.
    #[arg(long, default_value_t = DEFAULT_MIN_QUALITY, value_parser = clap::value_parser!(u8).range(0..=100))]
    min_quality: u8,
    /// Do not search the 8 rotations/flips of each image (faster; rotated
    /// and mirrored copies are then missed).
    #[arg(long)]
    no_dihedral: bool,
    /// Digests only: no image decoding, no PDQ.
    #[arg(long)]
    no_pdq: bool,
    /// Triage: decode colour JPEGs for their luma alone, large ones at a
    /// reduced scale (see `hash --fast`); videos: key frames only.
    #[arg(long)]
    fast: bool,
    /// Videos (hashed with the `ffmpeg` program, matched with vPDQ).
    #[command(flatten)]
    vpdq: crate::match_video::VpdqArgs,
    /// PDQ pipeline: `full` (default) or `reference-cli`.
    #[arg(long, default_value = "full")]
    pipeline: Pipeline,
    /// Follow symbolic links inside directories.
    #[arg(long)]
    follow_symlinks: bool,
    /// Continue an interrupted scan in --out.
    #[arg(long)]
    resume: bool,
    /// Carve pictures and videos from the unallocated space of disk images
    /// and from regions no partition covers (the default).
    #[arg(long, overrides_with = "no_carve")]
    carve: bool,
    /// Do not carve disk images: only their file systems' files are hashed.
    #[arg(long)]
    no_carve: bool,
    /// Digest every disk image as a whole (its file's MD5/SHA-1/SHA-256
    /// and its data's MD5/SHA-1) and verify an E01 against the MD5/SHA-1
    /// it stores; the result and the acquisition metadata go into the
    /// chain of custody. A mismatch or an unreadable chunk makes the scan
    /// incomplete (exit 2). Without it an image's contents are still
    /// examined file by file, but the image is not digested as a whole.
    #[arg(long)]
    verify_image: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Containers nested deeper than this are hashed but not opened.
    #[arg(long, default_value_t = ArchiveLimits::default().max_depth)]
    max_depth: u32,
    /// Most entries opened per file on disk (all nesting levels).
    #[arg(long, default_value_t = ArchiveLimits::default().max_entries)]
    max_archive_entries: u64,
    /// Most bytes a file on disk may expand to (all nesting levels).
    #[arg(long, default_value_t = ArchiveLimits::default().max_total_bytes)]
    max_archive_bytes: u64,
    /// Beyond 1 GiB, a file may expand to at most this many times its size.
    #[arg(long, default_value_t = ArchiveLimits::default().max_ratio)]
    max_archive_ratio: u64,
    /// Refuse to decode images with more pixels than this.
    #[arg(long, default_value_t = Limits::default().max_pixels)]
    max_pixels: u64,
    /// No progress bar and no list of hits on the terminal.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    library: LibraryArg,
}

/// Exhibits from the paths and the --exhibit ids. Ids must be distinct:
/// two paths are never merged or renamed behind the examiner's back.
fn exhibits(args: &ScanArgs) -> Result<Vec<Exhibit>, String> {
    let n = args.exhibits.len();
    if n == 1 {
        return Ok(vec![Exhibit {
            id: args.exhibits[0].clone(),
            paths: args.paths.clone(),
        }]);
    }
    if n != 0 && n != args.paths.len() {
        return Err(format!(
            "{n} --exhibit ids for {} paths: give one id for all paths, or one per path in order",
            args.paths.len()
        ));
    }
    let mut out: Vec<Exhibit> = Vec::new();
    for (i, p) in args.paths.iter().enumerate() {
        let id = if n > 0 {
            args.exhibits[i].clone()
        } else {
            p.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string())
        };
        if let Some(other) = out.iter().find(|e| e.id == id) {
            let same = |a: &Path| a.canonicalize().ok();
            if same(&other.paths[0]).is_some() && same(&other.paths[0]) == same(p) {
                return Err(format!(
                    "the evidence path {} is given twice: its files would be counted twice",
                    p.display()
                ));
            }
            let how = if n > 0 {
                "the same --exhibit id"
            } else {
                "the same default exhibit id (their file name)"
            };
            return Err(format!(
                "{} and {} would have {how} {id:?}: give each path its own --exhibit id in \
                 order, or one --exhibit for all paths to make them one exhibit",
                other.paths[0].display(),
                p.display()
            ));
        }
        out.push(Exhibit {
            id,
            paths: vec![p.clone()],
        });
    }
    Ok(out)
}

/// The case's own fields from the arguments; every `--seal` must name an
/// exhibit of this scan, once.
fn case_fields(args: &ScanArgs, exhibits: &[Exhibit]) -> Result<CaseFields, String> {
    let mut seals: Vec<Seal> = Vec::new();
    for s in &args.seals {
        let Some((ex, seal)) = s.split_once('=') else {
            return Err(format!(
                "--seal {s:?}: give EXHIBIT=SEAL, e.g. --seal EX-1=\"Seal 45/2026\""
            ));
        };
        if !exhibits.iter().any(|e| e.id == ex) {
            let ids: Vec<&str> = exhibits.iter().map(|e| e.id.as_str()).collect();
            return Err(format!(
                "--seal {s:?}: no exhibit {ex:?} in this scan (exhibits: {})",
                ids.join(", ")
            ));
        }
        if seals.iter().any(|x| x.exhibit == ex) {
            return Err(format!("--seal: exhibit {ex:?} is given two seals"));
        }
        seals.push(Seal {
            exhibit: ex.into(),
            seal: seal.into(),
        });
    }
    Ok(CaseFields {
        fir: args.fir.clone(),
        police_station: args.police_station.clone(),
        court: args.court.clone(),
        lab: args.lab.clone(),
        designation: args.designation.clone(),
        seals,
        laws: args.laws.clone(),
    })
}

/// One argument as the custody record writes it: plain words as they
/// are; anything else single-quoted, shell-style, and — when it holds
/// bytes that are not UTF-8, control characters or quotes — in `$'…'`
/// form with `\xNN` escapes, so that every byte stays visible and the
/// line can be pasted back into a shell.
pub(crate) fn quote_arg(arg: &OsStr) -> String {
    let bytes = arg.as_encoded_bytes();
    let plain = |c: char| c.is_alphanumeric() || "_-./,:=@%+".contains(c);
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.is_empty() && s.chars().all(plain) => s.to_string(),
        Ok(s) if !s.chars().any(|c| hidden(c) || c == '\'') => format!("'{s}'"),
        _ => {
            let mut out = String::from("$'");
            for chunk in bytes.utf8_chunks() {
                for c in chunk.valid().chars() {
                    match c {
                        '\'' => out.push_str("\\'"),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        c if c.is_control() => {
                            let mut b = [0u8; 4];
                            for byte in c.encode_utf8(&mut b).bytes() {
                                out.push_str(&format!("\\x{byte:02x}"));
                            }
                        }
                        c if hidden(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
                        c => out.push(c),
                    }
                }
                for byte in chunk.invalid() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
            out.push('\'');
            out
        }
    }
}

/// Characters that would hide or reorder what a reader sees: controls and
/// bidirectional formatting.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The command line as given, losslessly (see [`quote_arg`]).
fn command_line() -> String {
    std::env::args_os()
        .map(|a| quote_arg(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn default_out(case: Option<&str>) -> PathBuf {
    let stamp = nigehbaan_scan::host::Stamp::now().utc;
    let compact: String = stamp
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let case: String = case
        .unwrap_or("scan")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("nigehbaan-report-{case}-{compact}Z"))
}

/// Runs `nigehbaan scan`.
pub fn run(args: ScanArgs) -> Result<u8, String> {
    let exhibits = exhibits(&args)?;
    let fields = case_fields(&args, &exhibits)?;
    // Unlocked first: a wrong password fails before hours of hashing.
    let sign_key = match &args.sign_key {
        Some(path) => {
            let pw = crate::report::PasswordArgs {
                password_file: args.sign_password_file.clone(),
            };
            Some(crate::report::unlock_key(path, &pw)?)
        }
        None => None,
    };
    let lib = args.library.open()?;
    let lists = lib.open_all(&args.lists).map_err(|e| e.to_string())?;
    if lists.iter().all(|l| l.manifest.record_count == 0) {
        // A scan that cannot match anything would look like "nothing
        // found": refused, as `match` does.
        let what = if lists.is_empty() {
            "no hash lists".to_string()
        } else {
            let names: Vec<&str> = lists.iter().map(|l| l.manifest.name.as_str()).collect();
            format!("no list records (the lists {} are empty)", names.join(", "))
        };
        return Err(format!(
            "{what} in the library {}: nothing could match, so the scan was not run (is \
             --library right? import a list with `nigehbaan lists import FILE --name NAME`)",
            lib.dir().display()
        ));
    }
    let out = match (&args.out, args.resume) {
        (Some(o), _) => o.clone(),
        (None, true) => return Err("--resume needs --out: the report directory to continue".into()),
        (None, false) => default_out(args.case_number.as_deref()),
    };
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let cfg = ScanConfig {
        exhibits,
        out_dir: out,
        case: CaseInfo {
            case_number: args.case_number.clone(),
            examiner: args.examiner.clone(),
            agency: args.agency.clone(),
            fields,
            lang: args.lang.clone(),
        },
        hash: Options {
            pdq: !args.no_pdq,
            pipeline: args.pipeline,
            fast: args.fast,
            dihedral: !args.no_dihedral && !args.no_pdq,
            limits: Limits {
                max_pixels: args.max_pixels,
                ..Limits::default()
            },
            ..Options::default()
        },
        matching: MatchSettings {
            threshold: args.threshold,
            min_quality: args.min_quality,
            dihedral: !args.no_dihedral,
        },
        limits: ArchiveLimits {
            max_depth: args.max_depth,
            max_entries: args.max_archive_entries,
            max_total_bytes: args.max_archive_bytes,
            max_ratio: args.max_archive_ratio,
            ..ArchiveLimits::default()
        },
        video: nigehbaan_scan::video::VideoSettings {
            decode: args.vpdq.decode_options(args.fast)?,
            matching: args.vpdq.match_options()?,
        },
        follow_symlinks: args.follow_symlinks,
        threads,
        memory_budget: 1 << 30,
        resume: args.resume,
        carve: !args.no_carve,
        verify_image: args.verify_image,
        command_line: command_line(),
    };

    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        // First Ctrl-C: stop cleanly and write the report; second: quit now.
        let _ = ctrlc::set_handler(move || {
            if cancel.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\nnigehbaan: stopping: finishing files in progress and writing the report…");
        });
    }
    let progress = Progress::default();
    let show = !args.quiet && std::io::stderr().is_terminal();
    let done = AtomicBool::new(false);
    let outcome = std::thread::scope(|s| {
        if show {
            s.spawn(|| draw_progress(&progress, &done));
        }
        let r = nigehbaan_scan::scan(&cfg, &lists, &progress, &cancel);
        done.store(true, Ordering::Relaxed);
        r
    })
    .map_err(|e| refusal(&e))?;

    let r = &outcome.report;
    let t = &r.summary.total;
    if !args.quiet {
        let hits = r.items.iter().filter(|i| i.disposition == Disposition::Hit);
        for (shown, it) in hits.enumerate() {
            if shown == 50 {
                println!("  … and more: see {}", files::HITS_CSV);
                break;
            }
            let why: Vec<String> = it
                .hits
                .iter()
                .filter(|h| h.status == nigehbaan_lists::Status::Notable)
                .map(|h| {
                    let how = h.how();
                    let cat = h.category.as_ref().map_or("-".into(), |c| c.key());
                    format!("{} {cat} ({how})", h.list)
                })
                .collect();
            println!(
                "{}",
                nigehbaan_scan::report::display::visible(&format!(
                    "HIT  {}  {}  [{}]",
                    it.exhibit,
                    it.path,
                    why.join("; ")
                ))
            );
        }
    }
    println!(
        "scanned {} files ({} bytes): {} hits, {} known set aside, {} unmatched, {} errors, {} exclusions",
        t.files,
        t.bytes,
        t.hits,
        t.known,
        t.unmatched,
        t.errors,
        r.summary.exclusions
    );
    if r.status.interrupted {
        println!(
            "INTERRUPTED: continue with the same command plus --resume --out {}",
            outcome.dir.display()
        );
    } else if !r.status.complete {
        println!("INCOMPLETE: see the errors and exclusions in the report");
    }
    name_unexamined(r);
    let dir = outcome.dir.display();
    println!(
        "report: {}",
        Path::new(&outcome.dir).join(files::HTML).display()
    );
    println!(
        "        {dir}/{} (also hits.csv, vics-cases.json)",
        files::JSON
    );
    println!("SHA-256 of report.json: {}", outcome.report_sha256);
    if let Some(key) = &sign_key {
        crate::report::sign(&outcome.dir, key, false)?;
    }
    Ok(outcome.exit_code())
}

/// A refusal from the scan, with the option that changes it.
fn refusal(e: &ScanError) -> String {
    match e {
        ScanError::OutNotEmpty { .. } => {
            format!("{e}; choose another --out, or add --resume to continue an interrupted scan")
        }
        ScanError::OutInsideEvidence { .. } => format!("{e} (--out)"),
        ScanError::DuplicateExhibit { .. } => format!("{e} (--exhibit)"),
        _ => e.to_string(),
    }
}

/// Most lines of unexamined evidence named on stderr.
const NAMED_ON_STDERR: usize = 20;

/// Names on stderr every error and exclusion that left evidence
/// unexamined, so that an incomplete scan is never mistaken for a clean
/// one (at most [`NAMED_ON_STDERR`] lines; the report has them all).
fn name_unexamined(r: &Report) {
    let mut lines: Vec<String> = r
        .exclusions
        .iter()
        .filter(|x| x.incomplete)
        .map(|x| format!("  {}: {} ({}): {}", x.exhibit, x.path, x.kind, x.reason))
        .collect();
    lines.extend(
        r.errors
            .iter()
            .map(|e| format!("  {}: {} (error): {}", e.exhibit, e.path, e.reason)),
    );
    if lines.is_empty() {
        return;
    }
    eprintln!(
        "nigehbaan: not examined (the scan is incomplete): {} item(s)",
        lines.len()
    );
    for l in lines.iter().take(NAMED_ON_STDERR) {
        eprintln!("{l}");
    }
    if lines.len() > NAMED_ON_STDERR {
        eprintln!(
            "  … and {} more, see {}",
            lines.len() - NAMED_ON_STDERR,
            files::JSON
        );
    }
}

fn draw_progress(p: &Progress, done: &AtomicBool) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    while !done.load(Ordering::Relaxed) {
        bar.set_length(p.total_bytes.load(Ordering::Relaxed));
        bar.set_position(p.bytes_done.load(Ordering::Relaxed));
        let files = p.files_done.load(Ordering::Relaxed);
        let secs = start.elapsed().as_secs_f64().max(0.001);
        let video = match p.video_ms.load(Ordering::Relaxed) / 1000 {
            0 => String::new(),
            s => format!("  {} of video", video_time(s)),
        };
        bar.set_message(format!(
            "{files} files {:.0} files/s  {} hits{video}",
            files as f64 / secs,
            p.hits.load(Ordering::Relaxed)
        ));
        std::thread::sleep(Duration::from_millis(200));
    }
    bar.finish_and_clear();
}

/// Seconds of video as `42 s`, `12 min 5 s` or `3 h 20 min`.
fn video_time(s: u64) -> String {
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::{quote_arg, video_time};

    #[test]
    fn video_time_reads_easily() {
        assert_eq!(video_time(42), "42 s");
        assert_eq!(video_time(725), "12 min 5 s");
        assert_eq!(video_time(12_000), "3 h 20 min");
    }
    use std::ffi::OsStr;

    #[test]
    fn arguments_are_quoted_losslessly() {
        assert_eq!(quote_arg(OsStr::new("--case")), "--case");
        assert_eq!(quote_arg(OsStr::new("A. Examiner")), "'A. Examiner'");
        assert_eq!(quote_arg(OsStr::new("it's")), "$'it\\'s'");
        assert_eq!(quote_arg(OsStr::new("a\nb")), "$'a\\nb'");
        assert_eq!(quote_arg(OsStr::new("")), "''");
        assert_eq!(quote_arg(OsStr::new("a\u{202e}b")), "$'a\\u202eb'");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let raw = OsStr::from_bytes(b"ev/caf\xe9 \xff.jpg");
            assert_eq!(quote_arg(raw), "$'ev/caf\\xe9 \\xff.jpg'");
        }
    }
}
