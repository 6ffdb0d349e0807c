//! `nigehbaan match`: match hashes, or files hashed as `nigehbaan hash`
//! does, against the lists in the library.

use crate::hash::progress;
use crate::lists::LibraryArg;
use crate::match_video::{hash_file_video, hit_fields, vpdq_hits, VideoMatchArgs};
use crate::{EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE};
use clap::Args;
use nigehbaan_filehash::name::{readable_path, split_path};
use nigehbaan_filehash::{collect_files, hash_file, FileHashes, Options};
use nigehbaan_lists::library::{OpenList, DEFAULT_MIN_QUALITY, DIHEDRAL_NAMES};
use nigehbaan_lists::model::{EMPTY_MD5, EMPTY_SHA1, EMPTY_SHA256};
use nigehbaan_lists::{find_conflict, hex, Record};
use nigehbaan_pdq::{Hash256, Hasher, DEFAULT_MATCH_THRESHOLD};
use nigehbaan_scan::report::display::visible;
use nigehbaan_video::{FrameHash, MatchOptions, VideoHashes};
use rayon::prelude::*;
use serde_json::{json, Map, Value};
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
`kind` (`file` or `hash`), the input's hashes, `matches` and `error`. Each match gives `list`, \
`list_version`, `record` (its number in the list), `match` (`md5`, `sha1`, `sha256`: exact; \
`pdq`: with `distance` and the dihedral `variant` that matched; `vpdq`: a video, with \
`query_match_percent`, `compared_match_percent`, `matched_frames`, `query_frames`, \
`matched_listed_frames`, `listed_frames` and the matched `time_ranges` in seconds), `listed_hash`, `category` \
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
    /// For files, search all 8 rotations/flips of the PDQ hash, so rotated
    /// and mirrored copies match.
    #[arg(long)]
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

/// What one input is matched by.
#[derive(Default)]
struct Query {
    md5: Option<[u8; 16]>,
    sha1: Option<[u8; 20]>,
    sha256: Option<[u8; 32]>,
    /// The PDQ variants to search (orig first).
    pdq: Vec<Hash256>,
    /// A video's vPDQ frames.
    vpdq: Vec<FrameHash>,
}

/// One hash given on the command line or in a file.
fn parse_hash(kind: &str, text: &str) -> Result<(Query, String), String> {
    let mut q = Query::default();
    let kind = kind.trim().to_ascii_lowercase();
    let hexed = match kind.as_str() {
        "md5" => {
            let h = hex::decode_hash::<16>(text, "MD5").map_err(|e| e.to_string())?;
            q.md5 = Some(h);
            hex::encode(&h)
        }
        "sha1" => {
            let h = hex::decode_hash::<20>(text, "SHA-1").map_err(|e| e.to_string())?;
            q.sha1 = Some(h);
            hex::encode(&h)
        }
        "sha256" => {
            let h = hex::decode_hash::<32>(text, "SHA-256").map_err(|e| e.to_string())?;
            q.sha256 = Some(h);
            hex::encode(&h)
        }
        "pdq" => {
            let h = Hash256::from_hex(text.trim()).map_err(|e| format!("PDQ: {e}"))?;
            q.pdq.push(h);
            h.to_hex()
        }
        other => {
            return Err(format!(
                "unknown hash type {other:?} (md5, sha1, sha256 or pdq)"
            ))
        }
    };
    Ok((q, format!("{kind}:{hexed}")))
}

fn hash_queries(args: &MatchArgs) -> Result<Vec<(Query, String)>, String> {
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

/// Matches one query against every list: (match objects, conflict text,
/// notes, error).
fn match_query(
    lists: &[OpenList],
    q: &Query,
    threshold: u32,
    vpdq_opts: &MatchOptions,
    notes: &mut Vec<String>,
) -> Result<(Vec<Value>, Option<String>), String> {
    if q.md5 == Some(EMPTY_MD5) || q.sha1 == Some(EMPTY_SHA1) || q.sha256 == Some(EMPTY_SHA256) {
        notes.push("the empty file's hash never matches".into());
        return Ok((Vec::new(), None));
    }
    let mut matches = Vec::new();
    let mut matched: Vec<Record> = Vec::new();
    for list in lists {
        let mut hits: Vec<(u32, Map<String, Value>)> = Vec::new();
        let exact = |kind: &str, ids: &[u32], listed: String| {
            ids.iter()
                .map(|&n| {
                    let mut m = Map::new();
                    m.insert("match".into(), json!(kind));
                    m.insert("listed_hash".into(), json!(listed));
                    (n, m)
                })
                .collect::<Vec<_>>()
        };
        if let Some(h) = &q.md5 {
            hits.extend(exact("md5", list.lookup_md5(h), hex::encode(h)));
        }
        if let Some(h) = &q.sha1 {
            hits.extend(exact("sha1", list.lookup_sha1(h), hex::encode(h)));
        }
        if let Some(h) = &q.sha256 {
            hits.extend(exact("sha256", list.lookup_sha256(h), hex::encode(h)));
        }
        if !q.pdq.is_empty() {
            let found = list
                .search_pdq(&q.pdq, threshold)
                .map_err(|e| e.to_string())?;
            for hit in found {
                let mut m = Map::new();
                m.insert("match".into(), json!("pdq"));
                m.insert("distance".into(), json!(hit.distance));
                let variant = if q.pdq.len() == 8 {
                    DIHEDRAL_NAMES[hit.variant]
                } else {
                    "orig"
                };
                m.insert("variant".into(), json!(variant));
                hits.push((hit.record, m));
            }
        }
        if !q.vpdq.is_empty() {
            for hit in vpdq_hits(list, &q.vpdq, vpdq_opts)? {
                hits.push((hit.record, hit_fields(&hit)));
            }
        }
        for (n, mut m) in hits {
            let r = list.record(n).map_err(|e| e.to_string())?;
            if m.get("match") == Some(&json!("pdq")) {
                m.insert("listed_hash".into(), json!(r.pdq.map(|p| p.hash.to_hex())));
                m.insert(
                    "listed_quality".into(),
                    json!(r.pdq.and_then(|p| p.quality)),
                );
            }
            let mut obj = Map::new();
            obj.insert("list".into(), json!(list.name()));
            obj.insert("list_version".into(), json!(list.manifest.version));
            obj.insert("record".into(), json!(n));
            obj.extend(m);
            obj.insert(
                "category".into(),
                match &r.category {
                    Some(c) => json!({
                        "scheme": c.scheme.name(),
                        "code": c.code,
                        "label": c.info().map(|i| i.label),
                        "known_code": c.is_known(),
                    }),
                    None => Value::Null,
                },
            );
            obj.insert("status".into(), json!(r.status.name()));
            obj.insert("record_id".into(), json!(r.id));
            obj.insert("record_name".into(), json!(r.name));
            obj.insert("series".into(), json!(r.flags.series));
            let p = list.provenance();
            obj.insert(
                "provenance".into(),
                json!({
                    "source": p.source,
                    "version": p.version,
                    "list_date": p.date,
                    "imported_at": p.imported_at_rfc3339(),
                }),
            );
            matches.push(Value::Object(obj));
            matched.push(r);
        }
    }
    let refs: Vec<&Record> = matched.iter().collect();
    let conflict = find_conflict(&refs).map(|c| c.description);
    Ok((matches, conflict))
}

/// Runs `nigehbaan match`.
pub fn run(args: MatchArgs) -> Result<u8, String> {
    let mut queries = hash_queries(&args)?;
    let vpdq_opts = args.video.match_options()?;
    let decode = args.video.decode_options()?;
    for (frames, identity) in args.video.vpdq_queries()? {
        queries.push((
            Query {
                vpdq: frames,
                ..Query::default()
            },
            identity,
        ));
    }
    if queries.is_empty() && args.paths.is_empty() {
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
    let emit = |row: Map<String, Value>, out: &mut BufWriter<Box<dyn Write>>| {
        serde_json::to_writer(&mut *out, &row)
            .map_err(|e| e.to_string())
            .and_then(|_| out.write_all(b"\n").map_err(|e| e.to_string()))
            .map_err(|e| format!("cannot write output: {e}"))
    };

    for (q, identity) in &queries {
        let mut row = Map::new();
        row.insert("input".into(), json!(identity));
        row.insert("kind".into(), json!("hash"));
        let mut notes = Vec::new();
        let (matches, conflict) = match_query(&lists, q, args.threshold, &vpdq_opts, &mut notes)?;
        any_match |= !matches.is_empty();
        row.insert("matches".into(), Value::Array(matches));
        if let Some(c) = conflict {
            row.insert("conflict".into(), json!(c));
        }
        if !notes.is_empty() {
            row.insert("notes".into(), json!(notes));
        }
        row.insert("error".into(), Value::Null);
        emit(row, &mut out)?;
    }

    if !args.paths.is_empty() {
        let opts = Options {
            dihedral: args.dihedral,
            ..Options::default()
        };
        let (files, issues) = collect_files(&args.paths);
        for issue in &issues {
            if issue.is_error {
                any_error = true;
                let mut row = Map::new();
                insert_path(&mut row, &issue.path);
                row.insert("kind".into(), json!("file"));
                row.insert("matches".into(), json!([]));
                row.insert("error".into(), json!(issue.reason));
                emit(row, &mut out)?;
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
                let (row, matched, failed) =
                    file_row(&lists, path, h, v.as_ref(), &vpdq_opts, &args)?;
                any_match |= matched;
                any_error |= failed;
                emit(row, &mut out)?;
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

/// `input`: the path's readable form, and `input_bytes`: the base64 of its
/// exact bytes when it is not UTF-8.
fn insert_path(row: &mut Map<String, Value>, path: &Path) {
    let (readable, bytes) = split_path(path);
    row.insert("input".into(), json!(readable));
    if let Some(b) = bytes {
        row.insert("input_bytes".into(), json!(b));
    }
}

/// The output row for one hashed file: (row, matched, error).
fn file_row(
    lists: &[OpenList],
    path: &Path,
    h: &FileHashes,
    video: Option<&Result<VideoHashes, String>>,
    vpdq_opts: &MatchOptions,
    args: &MatchArgs,
) -> Result<(Map<String, Value>, bool, bool), String> {
    let mut row = Map::new();
    insert_path(&mut row, path);
    row.insert("kind".into(), json!("file"));
    row.insert("size".into(), json!(h.size));
    let mut q = Query::default();
    if let Some(d) = &h.digests {
        q.md5 = Some(d.md5);
        q.sha1 = Some(d.sha1);
        q.sha256 = Some(d.sha256);
    }
    row.insert("md5".into(), json!(q.md5.map(|x| hex::encode(&x))));
    row.insert("sha1".into(), json!(q.sha1.map(|x| hex::encode(&x))));
    row.insert("sha256".into(), json!(q.sha256.map(|x| hex::encode(&x))));
    let mut notes = Vec::new();
    let pdq = h.image.as_ref().and_then(|i| i.pdq.as_ref());
    row.insert("pdq".into(), json!(pdq.map(|p| p.hash.to_hex())));
    row.insert("pdq_quality".into(), json!(pdq.map(|p| p.quality)));
    if let Some(p) = pdq {
        if !p.hashable {
            notes.push("image too small for PDQ: not queried".to_string());
        } else if p.quality < args.min_quality {
            notes.push(format!(
                "PDQ quality {} is below --min-quality {}: not queried",
                p.quality, args.min_quality
            ));
        } else {
            q.pdq = match (args.dihedral, p.dihedral) {
                (true, Some(d)) => d.to_vec(),
                _ => vec![p.hash],
            };
        }
    }
    let mut video_error = None;
    match video {
        None => {}
        Some(Ok(v)) => {
            row.insert("media".into(), json!("video"));
            row.insert("vpdq_pipeline".into(), json!(v.vpdq.pipeline.name()));
            row.insert("vpdq_frames".into(), json!(v.vpdq.frames.len()));
            q.vpdq = v.vpdq.frames.clone();
            if !v.decoder_messages.is_empty() {
                video_error = Some(format!(
                    "video decoded with errors, frames may be missing: {}",
                    v.decoder_messages
                ));
            }
        }
        Some(Err(e)) => {
            row.insert("media".into(), json!("video"));
            video_error = Some(e.clone());
        }
    }
    let (matches, conflict) = if q.md5.is_some() || !q.pdq.is_empty() || !q.vpdq.is_empty() {
        match_query(lists, &q, args.threshold, vpdq_opts, &mut notes)?
    } else {
        (Vec::new(), None)
    };
    let matched = !matches.is_empty();
    row.insert("matches".into(), Value::Array(matches));
    if let Some(c) = conflict {
        row.insert("conflict".into(), json!(c));
    }
    if !notes.is_empty() {
        row.insert("notes".into(), json!(notes));
    }
    let error = h.error.as_ref().map(|e| e.to_string()).or(video_error);
    let failed = error.is_some();
    row.insert("error".into(), json!(error));
    Ok((row, matched, failed))
}
