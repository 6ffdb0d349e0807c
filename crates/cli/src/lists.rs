//! `nigehbaan lists`: import, list, remove, export and verify hash lists in
//! the list library.

use crate::{EXIT_INCOMPLETE, EXIT_OK};
use clap::{Args, Subcommand, ValueEnum};
use nigehbaan_lists::library::{
    resolve_dir, ImportRequest, Library, LibraryError, DEFAULT_MIN_QUALITY,
};
use nigehbaan_lists::{export, ColumnMap, Format, ImportErrorKind, ImportOptions, Scheme, Status};
use std::io::Write;
use std::path::PathBuf;

const LIBRARY_HELP: &str = "The list library directory [default: $NIGEHBAAN_LIBRARY, else \
$XDG_DATA_HOME/nigehbaan/lists, else ~/.local/share/nigehbaan/lists]";

/// Where the library is.
#[derive(Args, Clone, Debug)]
pub struct LibraryArg {
    #[arg(long, value_name = "DIR", help = LIBRARY_HELP)]
    pub library: Option<PathBuf>,
}

impl LibraryArg {
    /// The library this argument names.
    pub fn open(&self) -> Result<Library, String> {
        resolve_dir(self.library.as_deref())
            .map(Library::new)
            .map_err(|e| e.to_string())
    }
}

#[derive(Args)]
#[command(
    after_help = "EXIT STATUS:\n  0  done\n  1  `lists verify`: some list failed \
verification\n  2  usage error, or the command could not run (nothing was changed)"
)]
pub struct ListsArgs {
    #[command(subcommand)]
    command: ListsCommand,
}

#[derive(Subcommand)]
enum ListsCommand {
    /// Import a hash list into the library, compiling its indexes. All or
    /// nothing: a malformed list (reported with file, line or record, and
    /// reason) leaves the library unchanged.
    Import(ImportArgs),
    /// Show the lists in the library.
    Ls(LsArgs),
    /// Remove a list from the library.
    Rm(RmArgs),
    /// Write a list's records as VICS 2.0 JSON or Nigehbaan CSV.
    Export(ExportArgs),
    /// Re-hash each list's records and index files against its manifest and
    /// check the index opens cleanly; remove what killed imports left and
    /// warn about files others can read.
    Verify(VerifyArgs),
}

#[derive(Args)]
struct ImportArgs {
    /// The list file (format detected by content unless --format is given),
    /// or a directory of vPDQ reference files (one per video) as one list.
    file: PathBuf,
    /// The list's name in the library (letters, digits, '.', '_', '-').
    #[arg(long)]
    name: String,
    /// The list's version, as its issuer labels it.
    #[arg(long)]
    version: Option<String>,
    /// The organisation that issued it (NCMEC, IWF, Project VIC, NIST, …).
    #[arg(long, value_name = "ORG")]
    source: Option<String>,
    /// The list's own date, as the issuer wrote it.
    #[arg(long)]
    date: Option<String>,
    /// Mark every record `known` (ignorable, e.g. NSRL).
    #[arg(long, conflicts_with = "notable")]
    known: bool,
    /// Mark every record `notable` (a match is an alert; the default except
    /// for NSRL).
    #[arg(long)]
    notable: bool,
    /// The format: vics, ncmec, hma-csv, hma-text, hashsum, hashdeep, nsrl,
    /// csv (needs --columns), nigehbaan-csv, vpdq (the reference vPDQ tool's
    /// per-video file).
    #[arg(long, value_name = "F")]
    format: Option<Format>,
    /// Column mapping for --format csv, e.g. `md5=Hash MD5,category=Cat`.
    #[arg(long, value_name = "MAP")]
    columns: Option<String>,
    /// Category scheme for bare codes: projectvic-us, uk-caid, ncmec, iwf,
    /// or custom:NAME.
    #[arg(long)]
    scheme: Option<String>,
    /// PDQ hashes with a known quality below this are not indexed.
    #[arg(long, default_value_t = DEFAULT_MIN_QUALITY, value_parser = clap::value_parser!(u8).range(0..=100))]
    min_quality: u8,
    /// Replace an existing list of the same name.
    #[arg(long)]
    replace: bool,
    /// Import a list that holds no records (refused by default: a list that
    /// matches nothing is usually a wrong file or format).
    #[arg(long)]
    allow_empty: bool,
    /// Keep hashes of unknown types (e.g. a typo such as `pdg`) as opaque
    /// values that never match, instead of failing the import.
    #[arg(long)]
    allow_unknown: bool,
    /// Build the PDQ index in the compact layout: at most about 63 bytes of
    /// memory per PDQ hash instead of about 93 at 10 million hashes, with
    /// searches about five times slower (the same matches).
    #[arg(long)]
    compact_pdq: bool,
    #[command(flatten)]
    library: LibraryArg,
}

#[derive(Args)]
struct LsArgs {
    /// One JSON manifest per line instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    library: LibraryArg,
}

#[derive(Args)]
struct RmArgs {
    /// The list to remove.
    name: String,
    #[command(flatten)]
    library: LibraryArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// VICS 2.0 `#Media` JSON.
    Vics,
    /// Nigehbaan CSV (re-importable; keeps scheme and status).
    Csv,
}

#[derive(Args)]
struct ExportArgs {
    /// The list to export.
    name: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Vics)]
    format: ExportFormat,
    /// Write here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    library: LibraryArg,
}

#[derive(Args)]
struct VerifyArgs {
    /// The list to verify (default: every list).
    name: Option<String>,
    #[command(flatten)]
    library: LibraryArg,
}

/// Runs `nigehbaan lists …`.
pub fn run(args: ListsArgs) -> Result<u8, String> {
    match args.command {
        ListsCommand::Import(a) => import(a),
        ListsCommand::Ls(a) => ls(a),
        ListsCommand::Rm(a) => {
            let lib = a.library.open()?;
            lib.remove(&a.name).map_err(|e| e.to_string())?;
            eprintln!("removed list {:?} from {}", a.name, lib.dir().display());
            Ok(EXIT_OK)
        }
        ListsCommand::Export(a) => export_list(a),
        ListsCommand::Verify(a) => verify(a),
    }
}

fn import(a: ImportArgs) -> Result<u8, String> {
    let lib = a.library.open()?;
    let mut opts = ImportOptions::new(&a.file.display().to_string(), &a.name);
    opts.provenance.version = a.version;
    opts.provenance.source = a.source;
    opts.provenance.date = a.date;
    opts.format = a.format;
    opts.status = if a.known {
        Some(Status::Known)
    } else if a.notable {
        Some(Status::Notable)
    } else {
        None
    };
    opts.scheme = a.scheme.as_deref().map(Scheme::from_name);
    if let Some(spec) = &a.columns {
        opts.columns = Some(ColumnMap::parse(spec).map_err(|e| format!("--columns: {e}"))?);
        if opts.format.is_none() {
            opts.format = Some(Format::GenericCsv);
        }
    }
    opts.allow_empty = a.allow_empty;
    opts.allow_unknown = a.allow_unknown;
    let req = ImportRequest {
        path: a.file.clone(),
        options: opts,
        replace: a.replace,
        min_quality: a.min_quality,
        compact_pdq: a.compact_pdq,
    };
    let summary = lib.import(&req).map_err(|e| match &e {
        LibraryError::Import(ie) if ie.kind == ImportErrorKind::Empty => {
            format!("{e} (nothing was imported; --allow-empty imports it anyway)")
        }
        LibraryError::Import(ie) if ie.kind == ImportErrorKind::UnknownType => format!(
            "{e} (nothing was imported; --allow-unknown keeps unknown types as opaque values)"
        ),
        _ => e.to_string(),
    })?;
    for w in &summary.warnings {
        eprintln!("nigehbaan: {}: warning: {w}", a.file.display());
    }
    let m = &summary.manifest;
    let counts: Vec<String> = m.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "{} list {:?}: {} records ({}; pdq indexed {}, not indexed {}; {} empty-file entries dropped) from {} read as {}, into {}",
        if summary.replaced { "replaced" } else { "imported" },
        m.name,
        m.record_count,
        if counts.is_empty() { "no hashes".to_string() } else { counts.join(", ") },
        m.pdq_indexed,
        m.pdq_not_indexed,
        m.skipped_empty,
        a.file.display(),
        m.list_format,
        lib.dir().display()
    );
    Ok(EXIT_OK)
}

fn ls(a: LsArgs) -> Result<u8, String> {
    let lib = a.library.open()?;
    let manifests = lib.manifests().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| format!("cannot write output: {e}");
    if a.json {
        for m in &manifests {
            serde_json::to_writer(&mut out, m).map_err(|e| e.to_string())?;
            writeln!(out).map_err(w)?;
        }
        return Ok(EXIT_OK);
    }
    if manifests.is_empty() {
        eprintln!("no lists in {}", lib.dir().display());
        return Ok(EXIT_OK);
    }
    writeln!(
        out,
        "{:<20} {:<10} {:<12} {:<8} {:>10} {:>10} {:>10} {:>10} {:>10}  IMPORTED",
        "NAME", "VERSION", "SOURCE", "STATUS", "RECORDS", "MD5", "SHA1", "SHA256", "PDQ"
    )
    .map_err(w)?;
    for m in &manifests {
        let c = |k: &str| m.counts.get(k).copied().unwrap_or(0);
        writeln!(
            out,
            "{:<20} {:<10} {:<12} {:<8} {:>10} {:>10} {:>10} {:>10} {:>10}  {}",
            m.name,
            m.version.as_deref().unwrap_or("-"),
            m.source.as_deref().unwrap_or("-"),
            m.status,
            m.record_count,
            c("md5"),
            c("sha1"),
            c("sha256"),
            m.pdq_indexed,
            m.imported_at
        )
        .map_err(w)?;
    }
    Ok(EXIT_OK)
}

fn export_list(a: ExportArgs) -> Result<u8, String> {
    let lib = a.library.open()?;
    let list = lib.open(&a.name).map_err(|e| e.to_string())?;
    let records = list.records().map_err(|e| e.to_string())?;
    let sink: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(
            // Readable by its owner alone: it holds a list.
            nigehbaan_index::store::create_private(p)
                .map_err(|e| format!("cannot create output file {}: {e}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let sink = std::io::BufWriter::new(sink);
    match a.format {
        ExportFormat::Vics => export::write_vics_json(&records, sink),
        ExportFormat::Csv => export::write_csv(&records, sink),
    }
    .map_err(|e| format!("cannot write output: {e}"))?;
    Ok(EXIT_OK)
}

fn verify(a: VerifyArgs) -> Result<u8, String> {
    let lib = a.library.open()?;
    let names = match a.name {
        Some(n) => {
            lib.manifest(&n).map_err(|e| e.to_string())?;
            vec![n]
        }
        None => lib.names().map_err(|e| e.to_string())?,
    };
    let mut failed = false;
    for n in &names {
        match lib.verify(n) {
            Ok(()) => println!("{n}: ok"),
            Err(e) => {
                failed = true;
                println!("{n}: FAILED: {e}");
            }
        }
    }
    // Housekeeping findings are warnings: they do not fail verification.
    match lib.sweep_staging() {
        Ok(sweep) => {
            for p in &sweep.removed {
                eprintln!(
                    "nigehbaan: warning: removed {}, left by a killed import (it held list records)",
                    p.display()
                );
            }
            for p in &sweep.in_use {
                eprintln!(
                    "nigehbaan: warning: {} is an import in progress (left alone)",
                    p.display()
                );
            }
            for (p, why) in &sweep.kept {
                eprintln!("nigehbaan: warning: {}: {why}", p.display());
            }
            for (p, e) in &sweep.failed {
                eprintln!(
                    "nigehbaan: warning: {} was left by a killed import and holds list records, \
                     but could not be removed: {e}",
                    p.display()
                );
            }
        }
        Err(e) => eprintln!("nigehbaan: warning: cannot look for stale imports: {e}"),
    }
    match lib.loose_permissions() {
        Ok(loose) => {
            for l in &loose {
                eprintln!("nigehbaan: warning: {l}");
            }
        }
        Err(e) => eprintln!("nigehbaan: warning: cannot check permissions: {e}"),
    }
    Ok(if failed { EXIT_INCOMPLETE } else { EXIT_OK })
}
