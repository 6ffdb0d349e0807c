//! A VICS 2.0 `#Cases` export: one case with one `Media` per distinct file
//! content (SHA-256) and a `MediaFiles` entry for every place it was found,
//! for import into Griffeye, AXIOM or a national database.

use super::Custody;
use crate::model::{Disposition, Item};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::io::Write;

/// The VICS 2.0 `@odata.context` of a `#Cases` document.
pub const CASES_CONTEXT: &str =
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases";

/// The annotation on a `MediaFiles` entry's `FullPath` that holds the
/// path's exact bytes (base64) when they are not UTF-8.
pub const FULL_PATH_BYTES: &str = "FullPath@nigehbaan.bytes";

/// Writes the start of the `#Cases` document: the case, up to its
/// `Media` array.
pub(crate) fn write_head(c: &Custody, w: &mut dyn Write) -> std::io::Result<()> {
    let head = json!({
        "CaseNumber": c.case_number,
        "CaseID": c.case_number,
        "ContactName": c.examiner,
        "ContactAgency": c.agency,
        "SourceApplicationName": c.tool_name,
        "SourceApplicationVersion": c.tool_version,
        "CreatedDate": c.finished.utc,
        "Exhibits": c.exhibits.iter().map(|e| json!({"ExhibitID": e.id, "Paths": e.paths})).collect::<Vec<_>>(),
    });
    let head = serde_json::to_string(&head).map_err(std::io::Error::other)?;
    // `{...head fields..., "Media": [` — the head object without its `}`.
    write!(
        w,
        "{{\"@odata.context\":{},\"value\":[{},\"Media\":[",
        serde_json::to_string(CASES_CONTEXT).map_err(std::io::Error::other)?,
        &head[..head.len() - 1]
    )
}

/// Ends the document.
pub(crate) fn write_tail(w: &mut dyn Write) -> std::io::Result<()> {
    w.write_all(b"]}]}\n")
}

/// Writes one `Media` (number `id`, from 1) for `files`, every place one
/// content was found, streamed: its `MediaFiles` come first, then what
/// the lists said of any of them (`Category`, `Tags`, `Series`).
pub(crate) fn write_media(
    w: &mut dyn Write,
    id: usize,
    mut files: impl Iterator<Item = Item>,
) -> std::io::Result<()> {
    let Some(first) = files.next() else {
        return Ok(());
    };
    let mut m = Map::new();
    m.insert("MediaID".into(), json!(id.to_string()));
    m.insert("MD5".into(), json!(first.md5.map(|h| h.to_upper())));
    m.insert("SHA1".into(), json!(first.sha1.map(|h| h.to_upper())));
    m.insert("MediaSize".into(), json!(first.size));
    let mut alt = Vec::new();
    if let Some(h) = &first.sha256 {
        alt.push(json!({"HashName": "SHA256", "HashValue": h}));
    }
    if let Some(h) = &first.pdq {
        alt.push(json!({"HashName": "PDQ", "HashValue": h, "Quality": first.pdq_quality}));
    }
    m.insert("AlternativeHashes".into(), json!(alt));
    let head = serde_json::to_string(&Value::Object(m)).map_err(std::io::Error::other)?;
    if id > 1 {
        w.write_all(b",\n")?;
    }
    w.write_all(&head.as_bytes()[..head.len() - 1])?;
    w.write_all(b",\"MediaFiles\":[")?;
    let (mut vic, mut hit, mut series) = (None, false, None);
    let mut tags: BTreeSet<String> = BTreeSet::new();
    for (n, f) in std::iter::once(first).chain(files).enumerate() {
        if n > 0 {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, &media_file(&f)).map_err(std::io::Error::other)?;
        hit |= f.disposition == Disposition::Hit;
        for h in &f.hits {
            // The Project VIC category, when a notable list asserts one.
            if vic.is_none() && h.status == crate::model::Status::Notable {
                vic = h
                    .category
                    .as_ref()
                    .filter(|c| c.scheme == "projectvic-us")
                    .and_then(|c| c.code.parse::<u32>().ok());
            }
            let cat = h
                .category
                .as_ref()
                .map_or("uncategorised".into(), |c| c.key());
            tags.insert(format!("{} {} ({})", h.list, cat, h.status));
            if series.is_none() {
                series = h.series.clone();
            }
        }
    }
    let mut tags: Vec<String> = tags.into_iter().collect();
    if hit {
        tags.insert(0, "nigehbaan:hit".into());
    }
    let mut m = Map::new();
    m.insert("Category".into(), json!(vic.unwrap_or(0)));
    m.insert("IsPrecategorized".into(), json!(vic.is_some()));
    m.insert("Tags".into(), json!(tags));
    if let Some(s) = series {
        m.insert("Series".into(), json!(s));
    }
    let tail = serde_json::to_string(&Value::Object(m)).map_err(std::io::Error::other)?;
    w.write_all(b"],")?;
    w.write_all(&tail.as_bytes()[1..])
}

fn media_file(f: &Item) -> Value {
    let (dir, name) = match f.path.rfind(['/', '!', '\\']) {
        Some(i) => (&f.path[..i], &f.path[i + 1..]),
        None => ("", f.path.as_str()),
    };
    let mut file = json!({
        "FileName": name,
        "FilePath": dir,
        "FullPath": f.path,
        "FileSize": f.size,
        "Created": f.created,
        "Written": f.modified,
        "Accessed": f.accessed,
        "SourceID": f.exhibit,
    });
    // A path that is not UTF-8: its exact bytes, as an OData annotation
    // on FullPath (readers that do not know it skip it).
    if let (Some(b), Some(o)) = (&f.path_bytes, file.as_object_mut()) {
        o.insert(FULL_PATH_BYTES.into(), json!(b));
    }
    file
}
