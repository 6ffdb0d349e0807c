//! Hasher-Matcher-Actioner / python-threatexchange exports.
//!
//! **CSV**: a header row naming at least `signal_type` and `signal`
//! (aliases `type`/`hash_type` and `hash`/`value`), optionally `quality`
//! (PDQ quality), `category`, `tags` (separated by `;`), `id` /
//! `content_id`, `bank` / `bank_name` (kept as a tag `bank:NAME`). Other
//! columns are ignored with a warning. Without a header, each row is
//! `<signal_type>,<signal>`.
//!
//! **Text**: one `<signal_type> <signal>` per line (`pdq <64 hex>`,
//! `md5 <32 hex>`, …). Blank lines and lines starting with `#` are skipped.
//!
//! Signal types: `pdq`, `md5` / `video_md5`, `sha1`, `sha256` are parsed
//! strictly; `vpdq` parsed as HMA's signal string (a video record);
//! `photodna` / `pdna` decoded (hex or base64); anything else
//! (`tmk_pdqf`, `url`, …) is kept opaque as its verbatim text.

use super::{parse_quality, set_hash, Sink};
use crate::error::{FieldError, ImportError, Location};
use crate::model::{Category, Scheme};

const KNOWN_TYPES: &[&str] = &[
    "pdq",
    "md5",
    "video_md5",
    "sha1",
    "sha256",
    "photodna",
    "pdna",
    "vpdq",
    "tmk_pdqf",
];

fn is_known_type(t: &str) -> bool {
    KNOWN_TYPES.iter().any(|k| k.eq_ignore_ascii_case(t.trim()))
}

/// A header row naming `signal_type` and `signal`.
pub(crate) fn looks_like_csv_header(line: &str) -> bool {
    let cols: Vec<String> = line
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    cols.iter().any(|c| c == "signal_type") && cols.iter().any(|c| c == "signal")
}

/// A headerless `pdq,<hex>` row.
pub(crate) fn looks_like_csv_row(line: &str) -> bool {
    let mut it = line.split(',');
    match (it.next(), it.next()) {
        (Some(t), Some(v)) => is_known_type(t) && crate::hex::is_hex(v.trim()),
        _ => false,
    }
}

/// A `pdq <hex>` text line.
pub(crate) fn looks_like_text_line(line: &str) -> bool {
    match line.split_once(char::is_whitespace) {
        Some((t, v)) => {
            is_known_type(t)
                && (crate::hex::is_hex(v.trim())
                    || (t.eq_ignore_ascii_case("vpdq") && v.trim_start().starts_with('[')))
        }
        None => false,
    }
}

pub(crate) fn import_text(text: &str, sink: &mut Sink) -> Result<(), ImportError> {
    for (n, line) in text.lines().enumerate() {
        let loc = Location::Line(n as u64 + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((kind, value)) = line.split_once(char::is_whitespace) else {
            return Err(sink.error(loc, "expected \"<signal_type> <signal>\"".into()));
        };
        let mut rec = sink.record();
        set_hash(&mut rec, kind, value).map_err(|e| sink.field_error(loc.clone(), e))?;
        sink.push(rec, &loc)?;
    }
    Ok(())
}

struct Cols {
    kind: usize,
    value: usize,
    quality: Option<usize>,
    category: Option<usize>,
    tags: Option<usize>,
    id: Option<usize>,
    bank: Option<usize>,
}

pub(crate) fn import_csv(text: &str, sink: &mut Sink) -> Result<(), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let scheme = sink
        .scheme
        .clone()
        .unwrap_or_else(|| Scheme::Custom(sink.provenance.list_name.clone()));
    let mut cols: Option<Cols> = None;
    let mut first = true;
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(sink.error(Location::Line(line), format!("bad CSV: {e}")));
            }
        }
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        let loc = Location::Line(line);
        if row.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if first {
            first = false;
            let header: Vec<String> = row.iter().map(|c| c.trim().to_ascii_lowercase()).collect();
            let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
            if let (Some(kind), Some(value)) = (
                find(&["signal_type", "type", "hash_type"]),
                find(&["signal", "hash", "value", "signal_value"]),
            ) {
                let c = Cols {
                    kind,
                    value,
                    quality: find(&["quality", "pdq_quality"]),
                    category: find(&["category"]),
                    tags: find(&["tags"]),
                    id: find(&["id", "content_id"]),
                    bank: find(&["bank", "bank_name"]),
                };
                let used = [
                    Some(c.kind),
                    Some(c.value),
                    c.quality,
                    c.category,
                    c.tags,
                    c.id,
                    c.bank,
                ];
                let ignored: Vec<&str> = header
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !used.contains(&Some(*i)))
                    .map(|(_, h)| h.as_str())
                    .collect();
                if !ignored.is_empty() {
                    sink.warn(
                        loc.clone(),
                        format!("columns ignored: {}", ignored.join(", ")),
                    );
                }
                cols = Some(c);
                continue;
            }
            if !is_known_type(row.get(0).unwrap_or("")) {
                return Err(sink.error(
                    loc,
                    "expected a header naming signal_type and signal, or a \
                     \"<signal_type>,<signal>\" row"
                        .into(),
                ));
            }
            cols = Some(Cols {
                kind: 0,
                value: 1,
                quality: None,
                category: None,
                tags: None,
                id: None,
                bank: None,
            });
        }
        let c = cols.as_ref().expect("set on the first row");
        let get = |i: Option<usize>| i.and_then(|i| row.get(i)).map(str::trim).unwrap_or("");
        let kind = get(Some(c.kind));
        let value = get(Some(c.value));
        if kind.is_empty() || value.is_empty() {
            return Err(sink.error(loc, "empty signal_type or signal".into()));
        }
        let mut rec = sink.record();
        let r = (|| -> Result<(), FieldError> {
            set_hash(&mut rec, kind, value)?;
            if let (Some(p), Some(q)) = (rec.pdq.as_mut(), parse_quality(get(c.quality))?) {
                p.quality = Some(q);
            }
            let cat = get(c.category);
            if !cat.is_empty() {
                rec.category = Some(Category::new(scheme.clone(), cat));
            }
            rec.flags.tags = get(c.tags)
                .split(';')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect();
            let bank = get(c.bank);
            if !bank.is_empty() {
                rec.flags.tags.push(format!("bank:{bank}"));
            }
            let id = get(c.id);
            if !id.is_empty() {
                rec.id = Some(id.to_string());
            }
            Ok(())
        })();
        r.map_err(|e| sink.field_error(loc.clone(), e))?;
        sink.push(rec, &loc)?;
    }
    Ok(())
}
