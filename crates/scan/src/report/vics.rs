//! A VICS 2.0 `#Cases` export: one case with one `Media` per distinct file
//! content (SHA-256) and a `MediaFiles` entry for every place it was found,
//! for import into Griffeye, AXIOM or a national database.

use super::Custody;
use crate::model::{Disposition, Hex, Item};
use serde::Serialize;
use serde_json::json;
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

/// One `Media`'s fields before its `MediaFiles`, in the order
/// `serde_json` writes an object's keys (sorted), typed so that no
/// `Value` map is built per file.
#[derive(Serialize)]
struct MediaHead<'a> {
    #[serde(rename = "AlternativeHashes")]
    alternative_hashes: Vec<AltHash<'a>>,
    #[serde(rename = "MD5")]
    md5: Option<String>,
    #[serde(rename = "MediaID")]
    media_id: String,
    #[serde(rename = "MediaSize")]
    media_size: Option<u64>,
    #[serde(rename = "SHA1")]
    sha1: Option<String>,
}

/// A hash besides MD5 and SHA-1.
#[derive(Serialize)]
struct AltHash<'a> {
    #[serde(rename = "HashName")]
    name: &'static str,
    #[serde(rename = "HashValue")]
    value: &'a Hex<32>,
    /// Present (possibly `null`) for PDQ only.
    #[serde(rename = "Quality", skip_serializing_if = "Option::is_none")]
    quality: Option<Option<u8>>,
}

/// One place a content was found (keys in sorted order).
#[derive(Serialize)]
struct MediaFile<'a> {
    #[serde(rename = "Accessed")]
    accessed: &'a Option<String>,
    #[serde(rename = "Created")]
    created: &'a Option<String>,
    #[serde(rename = "FileName")]
    file_name: &'a str,
    #[serde(rename = "FilePath")]
    file_path: &'a str,
    #[serde(rename = "FileSize")]
    file_size: Option<u64>,
    #[serde(rename = "FullPath")]
    full_path: &'a str,
    /// The path's exact bytes, when it is not UTF-8 (an OData annotation
    /// on FullPath that readers which do not know it skip).
    #[serde(
        rename = "FullPath@nigehbaan.bytes",
        skip_serializing_if = "Option::is_none"
    )]
    full_path_bytes: &'a Option<String>,
    #[serde(rename = "SourceID")]
    source_id: &'a str,
    #[serde(rename = "Written")]
    written: &'a Option<String>,
}

/// What the lists said of a content, after its `MediaFiles`.
#[derive(Serialize)]
struct MediaTail {
    #[serde(rename = "Category")]
    category: u32,
    #[serde(rename = "IsPrecategorized")]
    is_precategorized: bool,
    #[serde(rename = "Series", skip_serializing_if = "Option::is_none")]
    series: Option<String>,
    #[serde(rename = "Tags")]
    tags: Vec<String>,
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
    let mut alt = Vec::with_capacity(2);
    if let Some(h) = &first.sha256 {
        alt.push(AltHash {
            name: "SHA256",
            value: h,
            quality: None,
        });
    }
    if let Some(h) = &first.pdq {
        alt.push(AltHash {
            name: "PDQ",
            value: h,
            quality: Some(first.pdq_quality),
        });
    }
    let head = MediaHead {
        alternative_hashes: alt,
        md5: first.md5.map(|h| h.to_upper()),
        media_id: id.to_string(),
        media_size: first.size,
        sha1: first.sha1.map(|h| h.to_upper()),
    };
    let head = serde_json::to_vec(&head).map_err(std::io::Error::other)?;
    if id > 1 {
        w.write_all(b",\n")?;
    }
    w.write_all(&head[..head.len() - 1])?;
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
    let tail = MediaTail {
        category: vic.unwrap_or(0),
        is_precategorized: vic.is_some(),
        series,
        tags,
    };
    let tail = serde_json::to_vec(&tail).map_err(std::io::Error::other)?;
    w.write_all(b"],")?;
    w.write_all(&tail[1..])
}

fn media_file(f: &Item) -> MediaFile<'_> {
    let (dir, name) = match f.path.rfind(['/', '!', '\\']) {
        Some(i) => (&f.path[..i], &f.path[i + 1..]),
        None => ("", f.path.as_str()),
    };
    MediaFile {
        accessed: &f.accessed,
        created: &f.created,
        file_name: name,
        file_path: dir,
        file_size: f.size,
        full_path: &f.path,
        full_path_bytes: &f.path_bytes,
        source_id: &f.exhibit,
        written: &f.modified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    /// The oracle: the `Value`-map writer the typed one replaced.
    fn value_media(w: &mut Vec<u8>, id: usize, files: &[Item]) {
        let first = &files[0];
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
        let head = serde_json::to_string(&Value::Object(m)).unwrap();
        if id > 1 {
            w.extend_from_slice(b",\n");
        }
        w.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
        w.extend_from_slice(b",\"MediaFiles\":[");
        let (mut vic, mut hit, mut series) = (None, false, None);
        let mut tags: BTreeSet<String> = BTreeSet::new();
        for (n, f) in files.iter().enumerate() {
            if n > 0 {
                w.push(b',');
            }
            let (dir, name) = match f.path.rfind(['/', '!', '\\']) {
                Some(i) => (&f.path[..i], &f.path[i + 1..]),
                None => ("", f.path.as_str()),
            };
            let mut file = json!({
                "FileName": name, "FilePath": dir, "FullPath": f.path, "FileSize": f.size,
                "Created": f.created, "Written": f.modified, "Accessed": f.accessed,
                "SourceID": f.exhibit,
            });
            if let (Some(b), Some(o)) = (&f.path_bytes, file.as_object_mut()) {
                o.insert(FULL_PATH_BYTES.into(), json!(b));
            }
            serde_json::to_writer(&mut *w, &file).unwrap();
            hit |= f.disposition == Disposition::Hit;
            for h in &f.hits {
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
        let tail = serde_json::to_string(&Value::Object(m)).unwrap();
        w.extend_from_slice(b"],");
        w.extend_from_slice(&tail.as_bytes()[1..]);
    }

    fn item(i: u32, full: bool) -> Item {
        let mut v = json!({
            "exhibit": "EX\"1", "path": format!("dir/a.zip!sub\\\\f{i}.jpg"), "depth": 1,
            "size": null, "modified": null, "md5": null, "sha1": null, "sha256": null,
            "pdq": null, "pdq_quality": null, "format": null, "width": null, "height": null,
            "disposition": "unmatched", "error": null
        });
        if full {
            let h = |n: usize| format!("{:0n$x}", i + 7);
            v["size"] = json!(12345 + i);
            v["modified"] = json!("2026-01-01T00:00:00Z");
            v["accessed"] = json!("2026-01-02T00:00:00Z");
            v["created"] = json!("2025-12-31T00:00:00Z");
            v["md5"] = json!(h(32));
            v["sha1"] = json!(h(40));
            v["sha256"] = json!(h(64));
            v["pdq"] = json!(h(64));
            v["pdq_quality"] = if i.is_multiple_of(2) {
                json!(90)
            } else {
                json!(null)
            };
            v["path_bytes"] = json!("ZGlyL2H/");
            v["disposition"] = json!("hit");
            let rec = |scheme: &str, code: &str, series: Option<&str>| {
                json!({
                    "list": "l\u{202e}", "list_version": "2", "record": i, "match_kind": "md5",
                    "matched_hashes": ["md5"], "listed_hash": null, "status": "notable",
                    "category": {"scheme": scheme, "code": code, "label": "x"}, "series": series
                })
            };
            v["hits"] = json!([
                rec("custom:t", "B", None),
                rec("projectvic-us", "1", Some("s"))
            ]);
        }
        serde_json::from_value(v).unwrap()
    }

    /// The typed writer gives the same bytes as the `Value` maps it
    /// replaced, for a content found once and one found in three places,
    /// with every optional field absent and present.
    #[test]
    fn typed_media_bytes_match_value_maps() {
        for (id, files) in [
            (1, vec![item(1, false)]),
            (2, vec![item(2, true)]),
            (3, vec![item(3, true), item(4, false), item(5, true)]),
            (4, vec![item(6, false), item(7, true)]),
        ] {
            let mut want = Vec::new();
            value_media(&mut want, id, &files);
            let mut got = Vec::new();
            write_media(&mut got, id, files.into_iter()).unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }
}
