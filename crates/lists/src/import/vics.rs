//! Project VIC / VICS JSON, versions 1.x and 2.0.
//!
//! The top level is an OData object: `odata.metadata` (1.x) or
//! `@odata.context` (2.0), whose URL ends in `#Media` or `#Cases`, and a
//! `value` array. In the `#Media` shape each element of `value` is a media
//! item; in the `#Cases` shape each element is a case whose `Media` array
//! holds the media items. When the URL names neither, an element with a
//! `Media` array is taken as a case.
//!
//! The subset of a media item read (other fields are ignored):
//!
//! | field | becomes |
//! |---|---|
//! | `MD5`, `SHA1`, `SHA256` (hex, any case; also `Md5`, `md5`, …) | hashes |
//! | `PhotoDNA` (base64 or hex, 144 bytes) | opaque `photodna` |
//! | `AlternativeHashes`: `[{"HashName", "HashValue", "Quality"?}]` | by name: MD5/SHA1/SHA256/PDQ parsed, PhotoDNA decoded, others opaque text |
//! | `Category` (number or string) | category in the caller's scheme (Project VIC US by default) |
//! | `VictimIdentified`, `OffenderIdentified`, `IsDistributed` (`true`, `"true"`, `1`, …) | VICS flags |
//! | `Series` (string), `Tags` (array of strings, or one string) | VICS flags |
//! | `MediaID` (number or string) | record id |
//! | `MediaSize` (number or string) | size |
//! | `MediaFiles[0].FileName` | name |
//!
//! Empty strings and `null` mean absent.

use serde::Deserialize;
use serde_json::Value;

use super::{parse_bool_text, parse_quality, set_hash, Sink};
use crate::error::{FieldError, ImportError, Location};
use crate::model::{Category, Scheme};

#[derive(Deserialize)]
struct Top {
    #[serde(rename = "odata.metadata")]
    metadata: Option<String>,
    #[serde(rename = "@odata.context")]
    context: Option<String>,
    value: Option<Vec<Media>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Media {
    #[serde(rename = "MediaID", alias = "MediaId", alias = "mediaID")]
    media_id: Value,
    #[serde(rename = "Category", alias = "category")]
    category: Value,
    #[serde(rename = "MD5", alias = "Md5", alias = "md5")]
    md5: Option<String>,
    #[serde(rename = "SHA1", alias = "Sha1", alias = "sha1")]
    sha1: Option<String>,
    #[serde(rename = "SHA256", alias = "Sha256", alias = "sha256")]
    sha256: Option<String>,
    #[serde(rename = "PhotoDNA", alias = "PhotoDna", alias = "photodna")]
    photodna: Option<String>,
    #[serde(rename = "MediaSize")]
    media_size: Value,
    #[serde(rename = "VictimIdentified")]
    victim_identified: Value,
    #[serde(rename = "OffenderIdentified")]
    offender_identified: Value,
    #[serde(rename = "IsDistributed")]
    is_distributed: Value,
    #[serde(rename = "Series")]
    series: Value,
    #[serde(rename = "Tags")]
    tags: Value,
    #[serde(rename = "AlternativeHashes")]
    alternative_hashes: Option<Vec<AltHash>>,
    #[serde(rename = "MediaFiles")]
    media_files: Option<Vec<MediaFile>>,
    #[serde(rename = "Media")]
    media: Option<Vec<Media>>,
}

#[derive(Deserialize)]
struct AltHash {
    #[serde(rename = "HashName")]
    name: Option<String>,
    #[serde(rename = "HashValue")]
    value: Option<String>,
    #[serde(rename = "Quality", default)]
    quality: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MediaFile {
    #[serde(rename = "FileName")]
    file_name: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Media,
    Cases,
    Unknown,
}

pub(crate) fn import(text: &str, sink: &mut Sink) -> Result<(), ImportError> {
    let top: Top = serde_json::from_str(text).map_err(|e| {
        sink.error(
            Location::LineColumn(e.line() as u64, e.column() as u64),
            format!("not valid VICS JSON: {e}"),
        )
    })?;
    let meta = top.context.or(top.metadata).ok_or_else(|| {
        sink.error(
            Location::File,
            "no \"@odata.context\" or \"odata.metadata\": not a VICS JSON file".into(),
        )
    })?;
    let shape = match meta.rsplit('#').next().unwrap_or("") {
        s if s.starts_with("Media") => Shape::Media,
        s if s.starts_with("Case") => Shape::Cases,
        _ => Shape::Unknown,
    };
    let Some(value) = top.value else {
        return Err(sink.error(Location::File, "no \"value\" array".into()));
    };
    let scheme = sink.scheme.clone().unwrap_or(Scheme::ProjectVicUs);
    for (i, item) in value.into_iter().enumerate() {
        let is_case = match shape {
            Shape::Cases => true,
            Shape::Media => false,
            Shape::Unknown => item.media.is_some(),
        };
        if is_case {
            for (j, m) in item.media.unwrap_or_default().into_iter().enumerate() {
                let loc = Location::Record(format!("value[{i}].Media[{j}]"));
                media_record(m, &loc, &scheme, sink)?;
            }
        } else {
            let loc = Location::Record(format!("value[{i}]"));
            media_record(item, &loc, &scheme, sink)?;
        }
    }
    Ok(())
}

fn scalar_text(v: &Value) -> Result<Option<String>, FieldError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(FieldError::NotScalar {
            found: other.to_string(),
        }),
    }
}

fn flag(v: &Value, field: &str) -> Result<Option<bool>, FieldError> {
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        other => match scalar_text(other).map_err(|e| e.in_field(field))? {
            None => Ok(None),
            Some(t) => parse_bool_text(&t).map_err(|e| e.in_field(field)),
        },
    }
}

fn media_record(
    m: Media,
    loc: &Location,
    scheme: &Scheme,
    sink: &mut Sink,
) -> Result<(), ImportError> {
    let id = scalar_text(&m.media_id).ok().flatten();
    let loc = match (&id, loc) {
        (Some(id), Location::Record(p)) => Location::Record(format!("{p} (MediaID {id})")),
        _ => loc.clone(),
    };
    let rec = build(m, id, scheme, sink.record()).map_err(|e| sink.field_error(loc.clone(), e))?;
    sink.push(rec, &loc)?;
    Ok(())
}

fn build(
    m: Media,
    id: Option<String>,
    scheme: &Scheme,
    mut rec: crate::Record,
) -> Result<crate::Record, FieldError> {
    rec.id = id;
    set_hash(&mut rec, "md5", m.md5.as_deref().unwrap_or(""))?;
    set_hash(&mut rec, "sha1", m.sha1.as_deref().unwrap_or(""))?;
    set_hash(&mut rec, "sha256", m.sha256.as_deref().unwrap_or(""))?;
    set_hash(&mut rec, "photodna", m.photodna.as_deref().unwrap_or(""))?;
    for (k, alt) in m
        .alternative_hashes
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let name = alt.name.unwrap_or_default();
        let value = alt.value.unwrap_or_default();
        if name.trim().is_empty() {
            if value.trim().is_empty() {
                continue;
            }
            return Err(
                FieldError::HashValueWithoutName.in_field(format!("AlternativeHashes[{k}]"))
            );
        }
        set_hash(&mut rec, &name, &value)
            .map_err(|e| e.in_field(format!("AlternativeHashes[{k}]")))?;
        if name.trim().eq_ignore_ascii_case("pdq") {
            let q = scalar_text(&alt.quality)
                .and_then(|q| parse_quality(q.as_deref().unwrap_or("")))
                .map_err(|e| e.in_field(format!("AlternativeHashes[{k}]")))?;
            if let (Some(p), Some(q)) = (rec.pdq.as_mut(), q) {
                p.quality = Some(q);
            }
        }
    }
    if let Some(code) = scalar_text(&m.category).map_err(|e| e.in_field("Category"))? {
        rec.category = Some(Category::new(scheme.clone(), &code));
    }
    rec.flags.victim_identified = flag(&m.victim_identified, "VictimIdentified")?;
    rec.flags.offender_identified = flag(&m.offender_identified, "OffenderIdentified")?;
    rec.flags.distributed = flag(&m.is_distributed, "IsDistributed")?;
    rec.flags.series = scalar_text(&m.series).map_err(|e| e.in_field("Series"))?;
    rec.flags.tags = match &m.tags {
        Value::Array(items) => {
            let mut tags = Vec::new();
            for t in items {
                if let Some(t) = scalar_text(t).map_err(|e| e.in_field("Tags"))? {
                    tags.push(t);
                }
            }
            tags
        }
        other => scalar_text(other)
            .map_err(|e| e.in_field("Tags"))?
            .into_iter()
            .collect(),
    };
    if let Some(size) = scalar_text(&m.media_size).map_err(|e| e.in_field("MediaSize"))? {
        rec.size = Some(size.parse::<u64>().map_err(|_| {
            FieldError::NotWholeNumber { text: size.clone() }.in_field("MediaSize")
        })?);
    }
    rec.name = m
        .media_files
        .unwrap_or_default()
        .into_iter()
        .find_map(|f| f.file_name.filter(|n| !n.trim().is_empty()));
    Ok(rec)
}
