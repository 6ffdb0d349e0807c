//! `nigehbaan`: the command-line shell over the Nigehbaan libraries.

mod demo;
mod demo_disk;
mod hash;
mod hash_video;
mod lists;
mod match_video;
mod matching;
mod output;
mod report;
mod scan;
mod serve;

use clap::{Parser, Subcommand};

// Large image buffers are allocated and freed for every file; mimalloc
// reuses them instead of returning pages to the kernel each time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// Exit status: every file was read (and every image decoded).
pub const EXIT_OK: u8 = 0;
/// Exit status: some files could not be read or decoded (see their `error`).
pub const EXIT_INCOMPLETE: u8 = 1;
/// Exit status: usage error or a failure that stopped the command.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "nigehbaan",
    version,
    about = "Find known child sexual abuse material by hash: offline, fast, without viewing it.",
    long_about = "Nigehbaan (نگہبان, 'guardian') matches files against hash lists kept by \
authorised bodies, using cryptographic hashes (MD5, SHA-1, SHA-256) for exact copies and \
Meta's PDQ perceptual hash for re-encoded, resized or recoloured copies. It never displays \
or copies the media it hashes."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hash files and directories: MD5, SHA-1, SHA-256 and, for images, PDQ.
    Hash(hash::HashArgs),
    /// Make benign demo evidence (resized, rotated, re-encoded and zipped
    /// copies of generated pictures) and test-data lists, and scan it as an
    /// examiner would: hits and a report.
    Demo(demo::DemoArgs),
    /// Manage the hash-list library: import, ls, rm, export, verify.
    Lists(lists::ListsArgs),
    /// Match hashes, or files and directories, against the lists in the
    /// library. Exit status 0: no matches, 1: matches, 2: error.
    Match(matching::MatchArgs),
    /// Run the matching service (HTTP + JSON), or manage its keys and
    /// audit log. SQLite by default; PostgreSQL for several replicas.
    Serve(serve::ServeArgs),
    /// Scan evidence (files, directories, archives) against the lists and
    /// write a court-ready report. Exit status 0: no hits, 1: hits, 2:
    /// incomplete scan.
    Scan(scan::ScanArgs),
    /// Sign a report directory, verify one, or make a signing key pair
    /// (minisign-compatible: `minisign -V` verifies without Nigehbaan).
    Report(report::ReportArgs),
}

/// Memory settings for the batch commands (`hash`, `scan`), which allocate
/// and free image-sized buffers file after file: transparent huge pages are
/// turned off for the process, because the allocator asks for them and the
/// kernel then zeroes a fresh 2 MiB page for each new region it touches
/// (measured: `hash --fast` spent ≈ 5 % of its time there). `serve` keeps
/// them for its index.
fn batch_memory() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only changes this process's huge-page
    // policy; it takes no pointers.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    // Decoder panics are caught where they happen and reported as that
    // file's error; keep the default hook from printing them as crashes.
    std::panic::set_hook(Box::new(|_| {}));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Hash(args) => {
            batch_memory();
            hash::run(args)
        }
        Command::Demo(args) => demo::run(args),
        Command::Lists(args) => lists::run(args),
        Command::Match(args) => matching::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Scan(args) => {
            batch_memory();
            scan::run(args)
        }
        Command::Report(args) => report::run(args),
    });
    match result {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            eprintln!("nigehbaan: {e}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            eprintln!(
                "nigehbaan: internal error ({why}); please report it with the command you ran"
            );
            ExitCode::from(EXIT_USAGE)
        }
    }
}
