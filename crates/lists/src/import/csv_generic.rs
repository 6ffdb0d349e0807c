//! CSV with a caller-given column mapping, and the CSV this crate exports.
//!
//! **Generic CSV**: the first row is a header; a [`ColumnMap`] names, by
//! header text (compared case-insensitively, trimmed), which column holds
//! each field. Unmapped columns are ignored; a mapped column missing from
//! the header is an error. Empty cells mean absent. Lines starting with `#`
//! are comments.
//!
//! **Nigehbaan CSV** (what [`crate::export::write_csv`] writes): the header
//! [`EXPORT_HEADER`]; `other_hashes` and `tags` are JSON arrays. Its
//! `status` and `category_scheme` columns are honoured (unless the caller
//! sets a status); its `list`, `source`, `version` and `list_date` columns
//! are informational, and provenance comes from the import options.

use serde_json::Value;

use super::{parse_bool_text, parse_quality, set_hash, Sink};
use crate::error::{FieldError, ImportError, Location, SpecError};
use crate::hex;
use crate::model::{Category, MediaKind, OpaqueHash, OpaqueValue, Scheme, Status};

/// The header line of the exported CSV.
pub const EXPORT_HEADER: &str = "md5,sha1,sha256,pdq,pdq_quality,other_hashes,category_scheme,\
category,status,victim_identified,offender_identified,distributed,series,tags,id,name,size,\
media,list,source,version,list_date,vpdq";

/// [`EXPORT_HEADER`] before the `vpdq` column was added (still read).
const EXPORT_HEADER_V1_COLUMNS: usize = 22;

/// The start of [`EXPORT_HEADER`], used to detect the format.
pub(crate) const EXPORT_HEADER_START: &str = "md5,sha1,sha256,pdq,pdq_quality,other_hashes,";

/// Which header names hold which field, for [`crate::Format::GenericCsv`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMap {
    /// MD5 column (32 hex digits).
    pub md5: Option<String>,
    /// SHA-1 column (40 hex digits).
    pub sha1: Option<String>,
    /// SHA-256 column (64 hex digits).
    pub sha256: Option<String>,
    /// PDQ column (64 hex digits).
    pub pdq: Option<String>,
    /// PDQ quality column (0–100).
    pub pdq_quality: Option<String>,
    /// PhotoDNA column (288 hex digits or base64 of 144 bytes).
    pub photodna: Option<String>,
    /// Category code column (in the import's scheme).
    pub category: Option<String>,
    /// Record id column.
    pub id: Option<String>,
    /// File name column.
    pub name: Option<String>,
    /// File size column (bytes).
    pub size: Option<String>,
    /// Series column.
    pub series: Option<String>,
    /// Tags column (split on `tag_separator`).
    pub tags: Option<String>,
    /// Victim-identified column (true/false, 1/0, yes/no).
    pub victim_identified: Option<String>,
    /// Offender-identified column.
    pub offender_identified: Option<String>,
    /// Distributed column.
    pub distributed: Option<String>,
    /// Field delimiter (default `,`).
    pub delimiter: u8,
    /// Separator between tags in the tags column (default `;`).
    pub tag_separator: char,
}

impl Default for ColumnMap {
    fn default() -> Self {
        ColumnMap {
            md5: None,
            sha1: None,
            sha256: None,
            pdq: None,
            pdq_quality: None,
            photodna: None,
            category: None,
            id: None,
            name: None,
            size: None,
            series: None,
            tags: None,
            victim_identified: None,
            offender_identified: None,
            distributed: None,
            delimiter: b',',
            tag_separator: ';',
        }
    }
}

impl ColumnMap {
    /// Parses a command-line mapping: comma-separated `field=Header` pairs,
    /// e.g. `md5=Hash,category=Cat,delimiter=;`. Fields are the struct's
    /// field names; `delimiter` and `tag_separator` take one character
    /// (`tab` for a tab).
    pub fn parse(spec: &str) -> Result<ColumnMap, SpecError> {
        let mut map = ColumnMap::default();
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((field, header)) = part.split_once('=') else {
                return Err(SpecError::NotFieldEqualsHeader {
                    part: part.to_string(),
                });
            };
            let header = header.trim().to_string();
            let slot = match field.trim() {
                "md5" => &mut map.md5,
                "sha1" => &mut map.sha1,
                "sha256" => &mut map.sha256,
                "pdq" => &mut map.pdq,
                "pdq_quality" => &mut map.pdq_quality,
                "photodna" => &mut map.photodna,
                "category" => &mut map.category,
                "id" => &mut map.id,
                "name" => &mut map.name,
                "size" => &mut map.size,
                "series" => &mut map.series,
                "tags" => &mut map.tags,
                "victim_identified" => &mut map.victim_identified,
                "offender_identified" => &mut map.offender_identified,
                "distributed" => &mut map.distributed,
                "delimiter" | "tag_separator" => {
                    let c = match header.as_str() {
                        "tab" => '\t',
                        h if h.chars().count() == 1 => h.chars().next().expect("one char"),
                        _ => {
                            return Err(SpecError::NotOneCharacter {
                                field: field.trim().to_string(),
                            })
                        }
                    };
                    if field.trim() == "delimiter" {
                        if !c.is_ascii() {
                            return Err(SpecError::DelimiterNotAscii);
                        }
                        map.delimiter = c as u8;
                    } else {
                        map.tag_separator = c;
                    }
                    continue;
                }
                other => {
                    return Err(SpecError::UnknownField {
                        field: other.to_string(),
                    })
                }
            };
            *slot = Some(header);
        }
        if map.md5.is_none()
            && map.sha1.is_none()
            && map.sha256.is_none()
            && map.pdq.is_none()
            && map.photodna.is_none()
        {
            return Err(SpecError::NoHashColumn);
        }
        Ok(map)
    }
}

fn csv_error(sink: &Sink, e: csv::Error) -> ImportError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    sink.error(Location::Line(line), format!("bad CSV: {e}"))
}

pub(crate) fn import_mapped(
    text: &str,
    map: &ColumnMap,
    sink: &mut Sink,
) -> Result<(), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(map.delimiter)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(sink, e))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &Option<String>| -> Result<Option<usize>, SpecError> {
        match name {
            None => Ok(None),
            Some(n) => headers
                .iter()
                .position(|h| *h == n.trim().to_ascii_lowercase())
                .map(Some)
                .ok_or_else(|| SpecError::MissingColumn { column: n.clone() }),
        }
    };
    let c = (|| -> Result<[Option<usize>; 15], SpecError> {
        Ok([
            col(&map.md5)?,
            col(&map.sha1)?,
            col(&map.sha256)?,
            col(&map.pdq)?,
            col(&map.pdq_quality)?,
            col(&map.photodna)?,
            col(&map.category)?,
            col(&map.id)?,
            col(&map.name)?,
            col(&map.size)?,
            col(&map.series)?,
            col(&map.tags)?,
            col(&map.victim_identified)?,
            col(&map.offender_identified)?,
            col(&map.distributed)?,
        ])
    })()
    .map_err(|e| sink.error(Location::Line(1), e.to_string()))?;
    let scheme = sink
        .scheme
        .clone()
        .unwrap_or_else(|| Scheme::Custom(sink.provenance.list_name.clone()));
    let mut row = csv::StringRecord::new();
    while reader
        .read_record(&mut row)
        .map_err(|e| csv_error(sink, e))?
    {
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        let loc = Location::Line(line);
        if row.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |i: Option<usize>| i.and_then(|i| row.get(i)).map(str::trim).unwrap_or("");
        let mut rec = sink.record();
        let r = (|| -> Result<(), FieldError> {
            set_hash(&mut rec, "md5", get(c[0]))?;
            set_hash(&mut rec, "sha1", get(c[1]))?;
            set_hash(&mut rec, "sha256", get(c[2]))?;
            set_hash(&mut rec, "pdq", get(c[3]))?;
            let q = parse_quality(get(c[4]))?;
            match (rec.pdq.as_mut(), q) {
                (Some(p), q) => p.quality = q,
                (None, Some(_)) => return Err(FieldError::QualityWithoutPdq),
                (None, None) => {}
            }
            set_hash(&mut rec, "photodna", get(c[5]))?;
            if !get(c[6]).is_empty() {
                rec.category = Some(Category::new(scheme.clone(), get(c[6])));
            }
            rec.id = Some(get(c[7]).to_string()).filter(|s| !s.is_empty());
            rec.name = Some(get(c[8]).to_string()).filter(|s| !s.is_empty());
            if !get(c[9]).is_empty() {
                rec.size = Some(get(c[9]).parse().map_err(|_| {
                    FieldError::NotWholeNumber {
                        text: get(c[9]).to_string(),
                    }
                    .in_field("size")
                })?);
            }
            rec.flags.series = Some(get(c[10]).to_string()).filter(|s| !s.is_empty());
            rec.flags.tags = get(c[11])
                .split(map.tag_separator)
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect();
            rec.flags.victim_identified = parse_bool_text(get(c[12]))?;
            rec.flags.offender_identified = parse_bool_text(get(c[13]))?;
            rec.flags.distributed = parse_bool_text(get(c[14]))?;
            Ok(())
        })();
        r.map_err(|e| sink.field_error(loc.clone(), e))?;
        sink.push(rec, &loc)?;
    }
    Ok(())
}

pub(crate) fn import_export_csv(text: &str, sink: &mut Sink) -> Result<(), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(sink, e))?
        .iter()
        .map(String::from)
        .collect();
    let expected: Vec<&str> = EXPORT_HEADER.split(',').collect();
    let v1 = &expected[..EXPORT_HEADER_V1_COLUMNS];
    if headers != expected && headers != v1 {
        return Err(sink.error(
            Location::Line(1),
            format!("header is not the Nigehbaan CSV header ({EXPORT_HEADER})"),
        ));
    }
    let status_override = sink.status_overridden;
    let mut row = csv::StringRecord::new();
    while reader
        .read_record(&mut row)
        .map_err(|e| csv_error(sink, e))?
    {
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        let loc = Location::Line(line);
        let f = |i: usize| row.get(i).unwrap_or("").trim();
        let mut rec = sink.record();
        let r = (|| -> Result<(), FieldError> {
            set_hash(&mut rec, "md5", f(0))?;
            set_hash(&mut rec, "sha1", f(1))?;
            set_hash(&mut rec, "sha256", f(2))?;
            set_hash(&mut rec, "pdq", f(3))?;
            if let (Some(p), q) = (rec.pdq.as_mut(), parse_quality(f(4))?) {
                p.quality = q;
            }
            if !f(5).is_empty() {
                rec.other = parse_other(f(5))?;
            }
            if !f(7).is_empty() {
                rec.category = Some(Category::new(Scheme::from_name(f(6)), f(7)));
            }
            if !status_override {
                rec.status = match f(8) {
                    "known" => Status::Known,
                    "notable" => Status::Notable,
                    other => {
                        return Err(FieldError::Status {
                            text: other.to_string(),
                        })
                    }
                };
            }
            rec.flags.victim_identified = parse_bool_text(f(9))?;
            rec.flags.offender_identified = parse_bool_text(f(10))?;
            rec.flags.distributed = parse_bool_text(f(11))?;
            rec.flags.series = Some(f(12).to_string()).filter(|s| !s.is_empty());
            if !f(13).is_empty() {
                rec.flags.tags = serde_json::from_str(f(13)).map_err(|e| {
                    FieldError::Json {
                        expected: "a JSON array of strings",
                        detail: Some(e.to_string()),
                    }
                    .in_field("tags")
                })?;
            }
            rec.id = Some(f(14).to_string()).filter(|s| !s.is_empty());
            rec.name = Some(row.get(15).unwrap_or("").to_string()).filter(|s| !s.is_empty());
            if !f(16).is_empty() {
                rec.size = Some(f(16).parse().map_err(|_| {
                    FieldError::NotWholeNumber {
                        text: f(16).to_string(),
                    }
                    .in_field("size")
                })?);
            }
            rec.media = match f(17) {
                "" => None,
                "image" => Some(MediaKind::Image),
                "video" => Some(MediaKind::Video),
                other => {
                    return Err(FieldError::Media {
                        text: other.to_string(),
                    })
                }
            };
            set_hash(&mut rec, "vpdq", f(22))?;
            Ok(())
        })();
        r.map_err(|e| sink.field_error(loc.clone(), e))?;
        sink.push(rec, &loc)?;
    }
    Ok(())
}

fn parse_other(text: &str) -> Result<Vec<OpaqueHash>, FieldError> {
    let json = |detail: Option<String>| {
        FieldError::Json {
            expected: "a JSON array of {\"kind\", \"hex\" or \"text\"} objects",
            detail,
        }
        .in_field("other_hashes")
    };
    let v: Value = serde_json::from_str(text).map_err(|e| json(Some(e.to_string())))?;
    let Value::Array(items) = v else {
        return Err(json(None));
    };
    let mut out = Vec::new();
    for item in items {
        let kind = item
            .get("kind")
            .and_then(Value::as_str)
            .ok_or_else(|| json(Some("an entry without \"kind\"".into())))?
            .to_string();
        let value = if let Some(h) = item.get("hex").and_then(Value::as_str) {
            OpaqueValue::Bytes(
                hex::decode_vec(h).map_err(|e| hex::HashTextError::hex(&kind, h, e))?,
            )
        } else if let Some(t) = item.get("text").and_then(Value::as_str) {
            OpaqueValue::Text(t.to_string())
        } else {
            return Err(FieldError::OpaqueValue { kind }.in_field("other_hashes"));
        };
        out.push(OpaqueHash { kind, value });
    }
    Ok(out)
}
