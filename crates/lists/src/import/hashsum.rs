//! md5sum / sha1sum / sha256sum output and hashdeep text.
//!
//! **Checksum lines** (coreutils): `<hex>  <path>` (text mode) or
//! `<hex> *<path>` (binary mode); a line starting with `\` has a path with
//! `\\`, `\n` and `\r` escaped. BSD style `MD5 (<path>) = <hex>` (also
//! `SHA1`, `SHA256`) is read too. The hash type comes from the digest's
//! length (32 = MD5, 40 = SHA-1, 64 = SHA-256); every line of one file must
//! have the same type. Blank lines and lines starting with `#` are skipped.
//!
//! **hashdeep**: a `%%%% HASHDEEP-1.0` line, a `%%%% ` line naming the
//! columns (e.g. `size,md5,sha256,filename`), `##` comment lines, then one
//! comma-separated row per file. `filename` is the last column and may
//! contain commas. `md5`, `sha1`, `sha256` are parsed; `tiger`, `whirlpool`
//! and any other hash column are kept as opaque bytes.

use super::{set_hash, Sink};
use crate::error::{FieldError, ImportError, Location};
use crate::hex;
use crate::model::{OpaqueHash, OpaqueValue};

fn kind_for_len(len: usize) -> Option<&'static str> {
    match len {
        32 => Some("md5"),
        40 => Some("sha1"),
        64 => Some("sha256"),
        _ => None,
    }
}

/// True when `line` looks like one line of md5sum/sha1sum/sha256sum output.
pub(crate) fn looks_like_line(line: &str) -> bool {
    parse_line(line).is_ok_and(|(_, hex, _)| hex::is_hex(hex) && kind_for_len(hex.len()).is_some())
}

/// Splits a checksum line into (BSD algorithm name if any, digest, path).
fn parse_line(line: &str) -> Result<(Option<&str>, &str, String), FieldError> {
    // BSD style: ALGO (path) = hex
    if let Some((algo, rest)) = line.split_once(" (") {
        if matches!(algo, "MD5" | "SHA1" | "SHA256") {
            let Some((path, digest)) = rest.rsplit_once(") = ") else {
                return Err(FieldError::Syntax("BSD-style line without \") = \""));
            };
            return Ok((Some(algo), digest.trim(), path.to_string()));
        }
    }
    let (escaped, line) = match line.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let Some(space) = line.find(' ') else {
        return Err(FieldError::Syntax(
            "expected \"<hex>  <path>\" or \"<hex> *<path>\"",
        ));
    };
    let digest = &line[..space];
    let rest = &line[space + 1..];
    let path = match rest.as_bytes().first() {
        Some(b' ') | Some(b'*') => &rest[1..],
        _ => {
            return Err(FieldError::Syntax(
                "expected two spaces or \" *\" between the digest and the path",
            ))
        }
    };
    if path.is_empty() {
        return Err(FieldError::Syntax("no path after the digest"));
    }
    let path = if escaped {
        unescape(path)
    } else {
        path.to_string()
    };
    Ok((None, digest, path))
}

fn unescape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn import_hashsum(text: &str, sink: &mut Sink) -> Result<(), ImportError> {
    let mut file_kind: Option<(&'static str, u64)> = None;
    for (n, line) in text.lines().enumerate() {
        let n = n as u64 + 1;
        let loc = Location::Line(n);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (algo, digest, path) =
            parse_line(line).map_err(|e| sink.field_error(loc.clone(), e))?;
        let kind = match algo {
            Some("MD5") => "md5",
            Some("SHA1") => "sha1",
            Some(_) => "sha256",
            None => kind_for_len(digest.len()).ok_or_else(|| {
                sink.error(
                    loc.clone(),
                    format!(
                        "digest has {} characters; expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256): {}",
                        digest.chars().count(),
                        hex::shorten(digest)
                    ),
                )
            })?,
        };
        match file_kind {
            None => file_kind = Some((kind, n)),
            Some((k, first)) if k != kind => {
                return Err(sink.error(
                    loc,
                    format!(
                        "{kind} digest, but line {first} was {k}: one file holds one hash type"
                    ),
                ))
            }
            _ => {}
        }
        let mut rec = sink.record();
        set_hash(&mut rec, kind, digest).map_err(|e| sink.field_error(loc.clone(), e))?;
        rec.name = Some(path);
        sink.push(rec, &loc)?;
    }
    Ok(())
}

pub(crate) fn import_hashdeep(text: &str, sink: &mut Sink) -> Result<(), ImportError> {
    let mut lines = text.lines().enumerate();
    let mut columns: Option<Vec<String>> = None;
    let mut header_seen = false;
    for (n, line) in lines.by_ref() {
        let n = n as u64 + 1;
        let loc = Location::Line(n);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix("%%%% ") {
            if !header_seen {
                if !rest.starts_with("HASHDEEP-") {
                    return Err(sink.error(loc, "expected \"%%%% HASHDEEP-1.0\"".into()));
                }
                header_seen = true;
            } else {
                let cols: Vec<String> = rest
                    .split(',')
                    .map(|c| c.trim().to_ascii_lowercase())
                    .collect();
                if cols.last().map(String::as_str) != Some("filename") {
                    return Err(
                        sink.error(loc, "the column line must end with \"filename\"".into())
                    );
                }
                columns = Some(cols);
            }
            continue;
        }
        if line.starts_with("##") || line.trim().is_empty() {
            continue;
        }
        let Some(cols) = &columns else {
            return Err(sink.error(
                loc,
                "a data row before the \"%%%% HASHDEEP-1.0\" and \"%%%% <columns>\" lines".into(),
            ));
        };
        let fields: Vec<&str> = line.splitn(cols.len(), ',').collect();
        if fields.len() != cols.len() {
            return Err(sink.error(
                loc,
                format!(
                    "{} fields, expected {} ({})",
                    fields.len(),
                    cols.len(),
                    cols.join(",")
                ),
            ));
        }
        let mut rec = sink.record();
        for (col, field) in cols.iter().zip(&fields) {
            let r = match col.as_str() {
                "size" => field
                    .trim()
                    .parse::<u64>()
                    .map(|s| rec.size = Some(s))
                    .map_err(|_| FieldError::NotWholeNumber {
                        text: field.to_string(),
                    }),
                "filename" => {
                    rec.name = Some(field.to_string());
                    Ok(())
                }
                "md5" | "sha1" | "sha256" => set_hash(&mut rec, col, field),
                _ if field.trim().is_empty() => Ok(()),
                other => hex::decode_vec(field)
                    .map_err(|e| hex::HashTextError::hex(other, field, e).into())
                    .map(|bytes| {
                        rec.other.push(OpaqueHash {
                            kind: other.to_string(),
                            value: OpaqueValue::Bytes(bytes),
                        })
                    }),
            };
            r.map_err(|e| sink.field_error(loc.clone(), e.in_field(format!("column {col}"))))?;
        }
        sink.push(rec, &loc)?;
    }
    if columns.is_none() {
        return Err(sink.error(
            Location::File,
            "no \"%%%% HASHDEEP-1.0\" header and column line".into(),
        ));
    }
    Ok(())
}
