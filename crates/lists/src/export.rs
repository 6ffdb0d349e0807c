//! Exporters: VICS 2.0 `#Media` JSON and CSV.
//!
//! Both are read back by the importers ([`crate::Format::VicsJson`] and
//! [`crate::Format::NigehbaanCsv`]). VICS JSON carries no category scheme
//! and no status: whoever imports it says which (Project VIC US and
//! `notable` by default). The CSV carries everything but provenance, which
//! is written for information only.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use crate::hex;
use crate::import::csv_generic::EXPORT_HEADER;
use crate::model::{MediaKind, OpaqueValue, Record, Scheme};

/// The `@odata.context` written in VICS 2.0 exports.
pub const VICS_CONTEXT: &str =
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media";

fn vics_media(i: usize, r: &Record) -> Value {
    let mut m = Map::new();
    let id =
        r.id.as_ref()
            .map(|id| match id.parse::<u64>() {
                Ok(n) => json!(n),
                Err(_) => json!(id),
            })
            .unwrap_or(json!(i as u64 + 1));
    m.insert("MediaID".into(), id);
    if let Some(c) = &r.category {
        let v = match c.code.parse::<u64>() {
            Ok(n) if matches!(c.scheme, Scheme::ProjectVicUs) => json!(n),
            _ => json!(c.code),
        };
        m.insert("Category".into(), v);
    }
    if let Some(h) = r.md5 {
        m.insert("MD5".into(), json!(hex::encode(&h).to_uppercase()));
    }
    if let Some(h) = r.sha1 {
        m.insert("SHA1".into(), json!(hex::encode(&h).to_uppercase()));
    }
    if let Some(h) = r.sha256 {
        m.insert("SHA256".into(), json!(hex::encode(&h).to_uppercase()));
    }
    if let Some(s) = r.size {
        m.insert("MediaSize".into(), json!(s));
    }
    let f = &r.flags;
    for (k, v) in [
        ("VictimIdentified", f.victim_identified),
        ("OffenderIdentified", f.offender_identified),
        ("IsDistributed", f.distributed),
    ] {
        if let Some(b) = v {
            m.insert(k.into(), json!(b));
        }
    }
    if let Some(s) = &f.series {
        m.insert("Series".into(), json!(s));
    }
    if !f.tags.is_empty() {
        m.insert("Tags".into(), json!(f.tags));
    }
    let mut alt = Vec::new();
    if let Some(p) = r.pdq {
        let mut a = json!({"HashName": "PDQ", "HashValue": p.hash.to_hex()});
        if let Some(q) = p.quality {
            a["Quality"] = json!(q);
        }
        alt.push(a);
    }
    for o in &r.other {
        let name = if o.kind == crate::OpaqueHash::PHOTODNA {
            "PhotoDNA".to_string()
        } else {
            o.kind.clone()
        };
        let value = match &o.value {
            OpaqueValue::Bytes(b) if o.kind == crate::OpaqueHash::PHOTODNA => hex::base64_encode(b),
            OpaqueValue::Bytes(b) => hex::encode(b),
            OpaqueValue::Text(t) => t.clone(),
        };
        alt.push(json!({"HashName": name, "HashValue": value}));
    }
    if !alt.is_empty() {
        m.insert("AlternativeHashes".into(), Value::Array(alt));
    }
    if let Some(n) = &r.name {
        m.insert("MediaFiles".into(), json!([{ "FileName": n }]));
    }
    Value::Object(m)
}

/// Writes records as a VICS 2.0 `#Media` JSON document. Records without a
/// `MediaID` are numbered from 1 by position. PDQ and non-PhotoDNA opaque
/// hashes go in `AlternativeHashes` (opaque bytes as hex); PhotoDNA as
/// base64.
pub fn write_vics_json<W: Write>(records: &[Record], mut out: W) -> io::Result<()> {
    writeln!(out, "{{\"@odata.context\":{},", json!(VICS_CONTEXT))?;
    writeln!(out, "\"value\":[")?;
    for (i, r) in records.iter().enumerate() {
        let sep = if i + 1 < records.len() { "," } else { "" };
        writeln!(out, "{}{sep}", vics_media(i, r))?;
    }
    writeln!(out, "]}}")?;
    out.flush()
}

/// Writes records as Nigehbaan CSV (header [`EXPORT_HEADER`]).
pub fn write_csv<W: Write>(records: &[Record], out: W) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let map_err = |e: csv::Error| io::Error::other(e.to_string());
    w.write_record(EXPORT_HEADER.split(',')).map_err(map_err)?;
    let b = |v: Option<bool>| match v {
        None => String::new(),
        Some(b) => b.to_string(),
    };
    for r in records {
        let other = if r.other.is_empty() {
            String::new()
        } else {
            let items: Vec<Value> = r
                .other
                .iter()
                .map(|o| match &o.value {
                    OpaqueValue::Bytes(bytes) => json!({"kind": o.kind, "hex": hex::encode(bytes)}),
                    OpaqueValue::Text(t) => json!({"kind": o.kind, "text": t}),
                })
                .collect();
            Value::Array(items).to_string()
        };
        let tags = if r.flags.tags.is_empty() {
            String::new()
        } else {
            json!(r.flags.tags).to_string()
        };
        let p = &r.provenance;
        let fields = [
            r.md5.map(|h| hex::encode(&h)).unwrap_or_default(),
            r.sha1.map(|h| hex::encode(&h)).unwrap_or_default(),
            r.sha256.map(|h| hex::encode(&h)).unwrap_or_default(),
            r.pdq.map(|h| h.hash.to_hex()).unwrap_or_default(),
            r.pdq
                .and_then(|h| h.quality)
                .map(|q| q.to_string())
                .unwrap_or_default(),
            other,
            r.category
                .as_ref()
                .map(|c| c.scheme.name())
                .unwrap_or_default(),
            r.category
                .as_ref()
                .map(|c| c.code.clone())
                .unwrap_or_default(),
            r.status.name().to_string(),
            b(r.flags.victim_identified),
            b(r.flags.offender_identified),
            b(r.flags.distributed),
            r.flags.series.clone().unwrap_or_default(),
            tags,
            r.id.clone().unwrap_or_default(),
            r.name.clone().unwrap_or_default(),
            r.size.map(|s| s.to_string()).unwrap_or_default(),
            match r.media {
                None => String::new(),
                Some(MediaKind::Image) => "image".into(),
                Some(MediaKind::Video) => "video".into(),
            },
            p.list_name.clone(),
            p.source.clone().unwrap_or_default(),
            p.version.clone().unwrap_or_default(),
            p.date.clone().unwrap_or_default(),
            crate::import::vpdq::to_text(&r.vpdq),
        ];
        w.write_record(&fields).map_err(map_err)?;
    }
    w.flush()
}
