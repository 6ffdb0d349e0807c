//! `nigehbaan match`: match hashes, or files hashed as `nigehbaan hash`
//! does, against the lists in the library.

use crate::hash::progress;
use crate::lists::LibraryArg;
use crate::match_video::{hash_file_video, hit_fields, vpdq_hits, VideoMatchArgs};
use crate::{EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE};
use clap::Args;
use nigehbaan_filehash::name::{readable_path, split_path};
use nigehbaan_filehash::{collect_files, hash_file, FileHashes, Options};
use nigehbaan_lists::library::{OpenList, DEFAULT_MIN_QUALITY};
use nigehbaan_lists::{hex, HashKey, HashKind};
use nigehbaan_match::{match_lists, ListHit, Matched, Probe, Settings};
use nigehbaan_pdq::{Hash256, Hasher, DEFAULT_MATCH_THRESHOLD};
use nigehbaan_scan::report::display::visible;
use nigehbaan_video::{FrameHash, MatchOptions, VideoHashes};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Files hashed between two writes of output (keeps output in path order
/// and memory bounded).
const BATCH: usize = 2048;

#[derive(Args)]
#[command(after_help = "EXIT STATUS (like a virus scanner):\n  \
0  no matches\n  \
1  at least one match\n  \
2  an error: usage, the library, or an input that could not be read or fully hashed \
(its row carries `error`; rows and matches for the other inputs are still written)\n\n\
OUTPUT: JSON Lines, one object per input: `input` (the path, or TYPE:HEX for a hash; a path that is not UTF-8 is written readably with \
`\\xNN` escapes and its exact bytes are in `input_bytes`, base64), \
`kind` (`file` or `hash`), the input's hashes, `matches` and `error`. Each match (one per record, \
however many hashes matched it) gives `list`, \
`list_version`, `record` (its number in the list), `match` (the strongest hash that matched: `md5`, `sha1`, `sha256`: exact; \
`pdq`: with `distance` and the dihedral `variant` that matched; `vpdq`: a video, with \
`query_match_percent`, `compared_match_percent`, `matched_frames`, `query_frames`, \
`matched_listed_frames`, `listed_frames` and the matched `time_ranges` in seconds), `matched_hashes` (every hash that matched), `listed_hash`, `category` \
(scheme, code, the scheme table's label), `status` (known/notable), the record's id, name and \
series, and `provenance` (source, version, list date, imported_at). When the matched lists \
disagree about status or category, `conflict` says how. The empty file's hash is never \
matched; PDQ hashes of quality below --min-quality are not queried (the row says so).")]
pub struct MatchArgs {
    /// Files and directories to hash and match (directories recursively;
    /// symbolic links inside them are not followed).
    paths: Vec<PathBuf>,
    /// A PDQ hash to match (64 hex digits); repeatable.
    #[arg(long, value_name = "HEX")]
    pdq: Vec<String>,
    /// An MD5 to match; repeatable.
    #[arg(long, value_name = "HEX")]
    md5: Vec<String>,
    /// A SHA-1 to match; repeatable.
    #[arg(long, value_name = "HEX")]
    sha1: Vec<String>,
    /// A SHA-256 to match; repeatable.
    #[arg(long, value_name = "HEX")]
    sha256: Vec<String>,
    /// A file of hashes, one `TYPE HASH` per line (TYPE md5, sha1, sha256 or
    /// pdq; `#` comments and blank lines skipped).
    #[arg(long, value_name = "FILE")]
    hashes: Option<PathBuf>,
    /// Match only against this list (repeatable; default: every list).
    #[arg(long = "list", value_name = "NAME")]
    lists: Vec<String>,
    /// The largest PDQ Hamming distance that is a match (0-63).
    #[arg(long, default_value_t = DEFAULT_MATCH_THRESHOLD, value_parser = clap::value_parser!(u32).range(0..=63))]
    threshold: u32,
    /// For files, do not search the 8 rotations/flips of the PDQ hash
    /// (faster; rotated and mirrored copies are then missed).
    #[arg(long)]
    no_dihedral: bool,
    /// Accepted for compatibility: rotations/flips are searched by default.
    #[arg(long, hide = true, conflicts_with = "no_dihedral")]
    dihedral: bool,
    /// File PDQ hashes of lower quality are not queried (lists were indexed
    /// with their own threshold at import).
    #[arg(long, default_value_t = DEFAULT_MIN_QUALITY, value_parser = clap::value_parser!(u8).range(0..=100))]
    min_quality: u8,
    /// Write output here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[command(flatten)]
    video: VideoMatchArgs,
    #[command(flatten)]
    library: LibraryArg,
}

/// One hash given on the command line or in a file: the key and the
/// input's identity (`TYPE:HEX`).
fn parse_hash(kind: &str, text: &str) -> Result<(HashKey, String), String> {
    let Some(k) = HashKind::parse(kind) else {
        return Err(format!(
            "unknown hash type {:?} (md5, sha1, sha256 or pdq)",
            kind.trim().to_ascii_lowercase()
        ));
    };
    let key = match k {
        HashKind::Md5 => {
            HashKey::Md5(hex::decode_hash::<16>(text, "MD5").map_err(|e| e.to_string())?)
        }
        HashKind::Sha1 => {
            HashKey::Sha1(hex::decode_hash::<20>(text, "SHA-1").map_err(|e| e.to_string())?)
        }
        HashKind::Sha256 => {
            HashKey::Sha256(hex::decode_hash::<32>(text, "SHA-256").map_err(|e| e.to_string())?)
        }
        HashKind::Pdq => {
            HashKey::Pdq(Hash256::from_hex(text.trim()).map_err(|e| format!("PDQ: {e}"))?)
        }
    };
    Ok((key, format!("{k}:{}", key.to_hex())))
}

fn hash_queries(args: &MatchArgs) -> Result<Vec<(HashKey, String)>, String> {
    let mut out = Vec::new();
    for (kind, values) in [
        ("md5", &args.md5),
        ("sha1", &args.sha1),
        ("sha256", &args.sha256),
        ("pdq", &args.pdq),
    ] {
        for v in values {
            out.push(parse_hash(kind, v).map_err(|e| format!("--{kind}: {e}"))?);
        }
    }
    if let Some(path) = &args.hashes {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |e: String| format!("{}: line {}: {e}", path.display(), i + 1);
            let mut parts = line.split_whitespace();
            let (Some(kind), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(at("expected `TYPE HASH`".into()));
            };
            out.push(parse_hash(kind, value).map_err(at)?);
        }
    }
    Ok(out)
}

/// One output row.
#[derive(Serialize)]
struct Row<'a> {
    input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_bytes: Option<String>,
    kind: &'static str,
    #[serde(flatten)]
    file: Option<FileFields>,
    #[serde(flatten)]
    video: Option<VideoFields>,
    matches: Vec<MatchOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conflict: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    error: Option<String>,
}

/// A file's own hashes in its row.
#[derive(Serialize)]
struct FileFields {
    size: Option<u64>,
    md5: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
    pdq: Option<String>,
    pdq_quality: Option<u8>,
}

/// A video's own fields in its row.
#[derive(Serialize)]
struct VideoFields {
    media: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpdq_pipeline: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpdq_frames: Option<usize>,
}

/// One match in a row.
#[derive(Serialize)]
struct MatchOut<'a> {
    list: &'a str,
    list_version: &'a Option<String>,
    record: u32,
    /// The strongest hash that matched (absent for a video, whose
    /// `match: "vpdq"` comes with its fields in `video`).
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    kind: Option<HashKind>,
    #[serde(flatten)]
    video: Option<Map<String, Value>>,
    matched_hashes: &'a [HashKind],
    listed_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    listed_quality: Option<Option<u8>>,
    category: Option<CategoryOut>,
    status: nigehbaan_lists::Status,
    record_id: Option<String>,
    record_name: Option<String>,
    series: Option<String>,
    provenance: ProvenanceOut<'a>,
}

#[derive(Serialize)]
struct CategoryOut {
    scheme: String,
    code: String,
    label: Option<&'static str>,
    known_code: bool,
}

#[derive(Serialize)]
struct ProvenanceOut<'a> {
    source: &'a Option<String>,
    version: &'a Option<String>,
    list_date: &'a Option<String>,
    imported_at: String,
}

/// The output form of one core hit.
fn match_out<'a>(lists: &'a [OpenList], x: &'a ListHit) -> MatchOut<'a> {
    let list = &lists[x.list];
    let r = &x.record;
    let p = list.provenance();
    MatchOut {
        list: list.name(),
        list_version: &list.manifest.version,
        record: x.found.entry,
        kind: Some(x.found.kind),
        video: None,
        matched_hashes: &x.found.matched,
        listed_hash: match x.found.kind {
            HashKind::Md5 => r.md5.map(|v| hex::encode(&v)),
            HashKind::Sha1 => r.sha1.map(|v| hex::encode(&v)),
            HashKind::Sha256 => r.sha256.map(|v| hex::encode(&v)),
            HashKind::Pdq => r.pdq.map(|p| p.hash.to_hex()),
        },
        distance: x.found.pdq.map(|m| m.distance),
        variant: x.found.pdq.map(|m| m.variant),
        listed_quality: x.found.pdq.map(|_| r.pdq.and_then(|p| p.quality)),
        category: r.category.as_ref().map(|c| CategoryOut {
            scheme: c.scheme.name(),
            code: c.code.clone(),
            label: c.info().map(|i| i.label),
            known_code: c.is_known(),
        }),
        status: r.status,
        record_id: r.id.clone(),
        record_name: r.name.clone(),
        series: r.flags.series.clone(),
        provenance: ProvenanceOut {
            source: &p.source,
            version: &p.version,
            list_date: &p.date,
            imported_at: p.imported_at_rfc3339(),
        },
    }
}

/// Fills a row's matches, conflict, notes and errors from the core's
/// answer.
fn fill<'a>(row: &mut Row<'a>, lists: &'a [OpenList], m: &'a Matched) {
    row.matches = m.hits.iter().map(|x| match_out(lists, x)).collect();
    row.conflict = m.conflict.clone();
    row.notes = m.notes.iter().map(ToString::to_string).collect();
    let errors: Vec<String> = m.errors.iter().map(ToString::to_string).collect();
    if !errors.is_empty() {
        row.error = Some(match row.error.take() {
            Some(first) => format!("{first}; {}", errors.join("; ")),
            None => errors.join("; "),
        });
    }
}

/// The video matches of a query video's frames, appended to the row (the
/// vPDQ matcher: one index probe per distinct frame, then aggregation).
fn add_video_matches<'a>(
    row: &mut Row<'a>,
    lists: &'a [OpenList],
    frames: &[FrameHash],
    opts: &MatchOptions,
) {
    for list in lists {
        let hits = match vpdq_hits(list, frames, opts) {
            Ok(h) => h,
            Err(e) => {
                push_error(row, e);
                continue;
            }
        };
        for hit in hits {
            let r = match list.record(hit.record) {
                Ok(r) => r,
                Err(e) => {
                    push_error(row, format!("list {}: {e}", list.name()));
                    continue;
                }
            };
            let p = list.provenance();
            row.matches.push(MatchOut {
                list: list.name(),
                list_version: &list.manifest.version,
                record: hit.record,
                kind: None,
                video: Some(hit_fields(&hit)),
                matched_hashes: &[],
                listed_hash: None,
                distance: None,
                variant: None,
                listed_quality: None,
                category: r.category.as_ref().map(|c| CategoryOut {
                    scheme: c.scheme.name(),
                    code: c.code.clone(),
                    label: c.info().map(|i| i.label),
                    known_code: c.is_known(),
                }),
                status: r.status,
                record_id: r.id,
                record_name: r.name,
                series: r.flags.series,
                provenance: ProvenanceOut {
                    source: &p.source,
                    version: &p.version,
                    list_date: &p.date,
                    imported_at: p.imported_at_rfc3339(),
                },
            });
        }
    }
}

fn push_error(row: &mut Row<'_>, e: String) {
    row.error = Some(match row.error.take() {
        Some(first) => format!("{first}; {e}"),
        None => e,
    });
}

fn row(input: String, input_bytes: Option<String>, kind: &'static str) -> Row<'static> {
    Row {
        input,
        input_bytes,
        kind,
        file: None,
        video: None,
        matches: Vec::new(),
        conflict: None,
        notes: Vec::new(),
        error: None,
    }
}

/// Runs `nigehbaan match`.
pub fn run(args: MatchArgs) -> Result<u8, String> {
    let queries = hash_queries(&args)?;
    let vpdq_opts = args.video.match_options()?;
    let decode = args.video.decode_options()?;
    let vpdq_queries = args.video.vpdq_queries()?;
    if queries.is_empty() && vpdq_queries.is_empty() && args.paths.is_empty() {
        return Err("nothing to match: give files or directories, --pdq/--md5/--sha1/--sha256 HEX, --hashes FILE or --vpdq FILE".into());
    }
    let lib = args.library.open()?;
    let lists = lib.open_all(&args.lists).map_err(|e| e.to_string())?;
    if lists.is_empty() {
        return Err(format!(
            "no lists in {}; import one with `nigehbaan lists import FILE --name NAME`",
            lib.dir().display()
        ));
    }
    let settings = Settings {
        threshold: args.threshold,
        min_quality: args.min_quality,
        dihedral: !args.no_dihedral,
    };
    let sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(
            std::fs::File::create(p)
                .map_err(|e| format!("cannot create output file {}: {e}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    let mut any_match = false;
    let mut any_error = false;
    let emit = |row: &Row, out: &mut BufWriter<Box<dyn Write>>| {
        serde_json::to_writer(&mut *out, row)
            .map_err(|e| e.to_string())
            .and_then(|_| out.write_all(b"\n").map_err(|e| e.to_string()))
            .map_err(|e| format!("cannot write output: {e}"))
    };

    for (key, identity) in &queries {
        let m = match_lists(&lists, &Probe::of_key(*key), settings.threshold);
        let mut r = row(identity.clone(), None, "hash");
        fill(&mut r, &lists, &m);
        any_match |= !r.matches.is_empty();
        any_error |= r.error.is_some();
        emit(&r, &mut out)?;
    }
    for (frames, identity) in &vpdq_queries {
        let mut r = row(identity.clone(), None, "hash");
        add_video_matches(&mut r, &lists, frames, &vpdq_opts);
        any_match |= !r.matches.is_empty();
        any_error |= r.error.is_some();
        emit(&r, &mut out)?;
    }

    if !args.paths.is_empty() {
        let opts = Options {
            dihedral: settings.dihedral,
            ..Options::default()
        };
        let (files, issues) = collect_files(&args.paths);
        for issue in &issues {
            if issue.is_error {
                any_error = true;
                let (readable, bytes) = split_path(&issue.path);
                let mut r = row(readable, bytes, "file");
                r.error = Some(issue.reason.clone());
                emit(&r, &mut out)?;
            } else {
                eprintln!(
                    "nigehbaan: {}",
                    visible(&format!("{}: {}", readable_path(&issue.path), issue.reason))
                );
            }
        }
        let bar = progress(files.len() as u64);
        for chunk in files.chunks(BATCH) {
            let hashed: Vec<(FileHashes, Option<Result<VideoHashes, String>>)> = chunk
                .par_iter()
                .map_init(Hasher::new, |hasher, path| {
                    let h = hash_file(path, &opts, hasher);
                    let v = if h.image.is_none() && h.digests.is_some() {
                        hash_file_video(path, &decode, hasher)
                    } else {
                        None
                    };
                    bar.inc(1);
                    (h, v)
                })
                .collect();
            for (path, (h, v)) in chunk.iter().zip(&hashed) {
                let m = match_lists(&lists, &Probe::of_file(h, &settings), settings.threshold);
                let mut r = file_row(&lists, path, h, &m);
                video_row(&mut r, &lists, v.as_ref(), &vpdq_opts);
                any_match |= !r.matches.is_empty();
                any_error |= r.error.is_some();
                emit(&r, &mut out)?;
            }
        }
        bar.finish_and_clear();
    }
    out.flush()
        .map_err(|e| format!("cannot write output: {e}"))?;
    Ok(if any_error {
        EXIT_USAGE
    } else if any_match {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    })
}

/// A video's fields and matches in its file row (nothing for other files).
fn video_row<'a>(
    r: &mut Row<'a>,
    lists: &'a [OpenList],
    video: Option<&Result<VideoHashes, String>>,
    opts: &MatchOptions,
) {
    match video {
        None => {}
        Some(Ok(v)) => {
            r.video = Some(VideoFields {
                media: "video",
                vpdq_pipeline: Some(v.vpdq.pipeline.name()),
                vpdq_frames: Some(v.vpdq.frames.len()),
            });
            if !v.decoder_messages.is_empty() {
                push_error(
                    r,
                    format!(
                        "video decoded with errors, frames may be missing: {}",
                        v.decoder_messages
                    ),
                );
            }
            add_video_matches(r, lists, &v.vpdq.frames, opts);
        }
        Some(Err(e)) => {
            r.video = Some(VideoFields {
                media: "video",
                vpdq_pipeline: None,
                vpdq_frames: None,
            });
            push_error(r, e.clone());
        }
    }
}

/// The output row for one hashed file.
fn file_row<'a>(lists: &'a [OpenList], path: &Path, h: &FileHashes, m: &'a Matched) -> Row<'a> {
    let (readable, bytes) = split_path(path);
    let mut r = row(readable, bytes, "file");
    let pdq = h.image.as_ref().and_then(|i| i.pdq.as_ref());
    r.file = Some(FileFields {
        size: h.size,
        md5: h.digests.map(|d| hex::encode(&d.md5)),
        sha1: h.digests.map(|d| hex::encode(&d.sha1)),
        sha256: h.digests.map(|d| hex::encode(&d.sha256)),
        pdq: pdq.map(|p| p.hash.to_hex()),
        pdq_quality: pdq.map(|p| p.quality),
    });
    r.error = h.error.as_ref().map(|e| e.to_string());
    fill(&mut r, lists, m);
    r
}
