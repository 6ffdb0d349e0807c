//! A VICS 2.0 `#Cases` export: one case with one `Media` per distinct file
//! content (SHA-256) and a `MediaFiles` entry for every place it was found,
//! for import into Griffeye, AXIOM or a national database.

use super::Report;
use crate::model::{Disposition, Hex, Item};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::Write;

/// The VICS 2.0 `@odata.context` of a `#Cases` document.
pub const CASES_CONTEXT: &str =
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases";

/// The annotation on a `MediaFiles` entry's `FullPath` that holds the
/// path's exact bytes (base64) when they are not UTF-8.
pub const FULL_PATH_BYTES: &str = "FullPath@nigehbaan.bytes";

/// Writes the `#Cases` document, one `Media` at a time.
pub fn write_cases(r: &Report, w: &mut dyn Write) -> std::io::Result<()> {
    // Items are sorted by exhibit and path; group them by content, keeping
    // the order of each content's first file.
    let mut first: HashMap<Hex<32>, usize> = HashMap::new();
    let mut groups: Vec<Vec<&Item>> = Vec::new();
    for it in &r.items {
        match it.sha256 {
            Some(h) => match first.get(&h) {
                Some(&g) => groups[g].push(it),
                None => {
                    first.insert(h, groups.len());
                    groups.push(vec![it]);
                }
            },
            None => groups.push(vec![it]),
        }
    }
    let c = &r.custody;
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
    )?;
    for (n, files) in groups.iter().enumerate() {
        if n > 0 {
            w.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut *w, &media(n + 1, files)).map_err(std::io::Error::other)?;
    }
    w.write_all(b"]}]}\n")
}

fn media(id: usize, files: &[&Item]) -> Value {
    let first = files[0];
    let mut m = Map::new();
    m.insert("MediaID".into(), json!(id.to_string()));
    // The Project VIC category, when a notable list asserts one.
    let vic = files
        .iter()
        .flat_map(|f| f.hits.iter())
        .filter(|h| h.status == "notable")
        .filter_map(|h| h.category.as_ref())
        .find(|c| c.scheme == "projectvic-us")
        .and_then(|c| c.code.parse::<u32>().ok());
    let hit = files.iter().any(|f| f.disposition == Disposition::Hit);
    m.insert("Category".into(), json!(vic.unwrap_or(0)));
    m.insert("IsPrecategorized".into(), json!(vic.is_some()));
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
    let mut tags: Vec<String> = files
        .iter()
        .flat_map(|f| f.hits.iter())
        .map(|h| {
            let cat = h
                .category
                .as_ref()
                .map_or("uncategorised".into(), |c| c.key());
            format!("{} {} ({})", h.list, cat, h.status)
        })
        .collect();
    tags.sort();
    tags.dedup();
    if hit {
        tags.insert(0, "nigehbaan:hit".into());
    }
    m.insert("Tags".into(), json!(tags));
    if let Some(series) = files
        .iter()
        .flat_map(|f| f.hits.iter())
        .find_map(|h| h.series.clone())
    {
        m.insert("Series".into(), json!(series));
    }
    let mf: Vec<Value> = files
        .iter()
        .map(|f| {
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
            // A path that is not UTF-8: its exact bytes, as an OData
            // annotation on FullPath (readers that do not know it skip it).
            if let (Some(b), Some(o)) = (&f.path_bytes, file.as_object_mut()) {
                o.insert(FULL_PATH_BYTES.into(), json!(b));
            }
            file
        })
        .collect();
    m.insert("MediaFiles".into(), json!(mf));
    Value::Object(m)
}
