//! NCMEC hash-sharing XML (the `queryResult` documents of the hash-sharing
//! API, namespace `https://hashsharing.ncmec.org/hashsharing/v2`).
//!
//! ```xml
//! <queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
//!   <images count="1">
//!     <image>
//!       <id>image1</id>
//!       <classification>A1</classification>
//!       <fingerprints><md5>…</md5><sha1>…</sha1><pdq>…</pdq><pdna>…</pdna></fingerprints>
//!     </image>
//!     <deletedImage><id>image4</id></deletedImage>
//!   </images>
//!   <videos>… <video>…</video> <deletedVideo>…</deletedVideo> …</videos>
//! </queryResult>
//! ```
//!
//! Read: `id`, `classification` (NCMEC scheme), and the fingerprints `md5`,
//! `sha1`, `sha256`, `pdq` (parsed) and `pdna` (PhotoDNA, hex or base64);
//! other fingerprints with a text value are kept opaque, those given only as
//! a link (`<tmk-pdqf href="…"/>`) are reported in a warning. Entries are
//! applied in document order: a later entry with the same kind and `id`
//! replaces the earlier one, and a `deletedImage` / `deletedVideo` removes
//! it (a deletion of an `id` not in the file is counted in
//! [`crate::ImportReport::deleted`]). Member, timestamp and feedback
//! elements are ignored.

use std::collections::HashMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{set_hash, LineCounter, Sink};
use crate::error::{ImportError, Location};
use crate::model::{Category, MediaKind, Record, Scheme};

#[derive(Default)]
struct Entry {
    kind: Option<MediaKind>,
    deleted: bool,
    id: Option<String>,
    classification: Option<String>,
    fingerprints: Vec<(String, String, Option<String>)>,
    number: u64,
    line: u64,
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

pub(crate) fn import(text: &str, sink: &mut Sink) -> Result<(), ImportError> {
    let mut reader = Reader::from_str(text);
    let mut lines = LineCounter::new(text.as_bytes());
    let mut stack: Vec<String> = Vec::new();
    let mut buf = String::new();
    let mut entry: Option<Entry> = None;
    let mut entries = 0u64;
    let mut slots: Vec<Option<Record>> = Vec::new();
    let mut by_id: HashMap<(bool, String), usize> = HashMap::new();
    let mut unknown_deletions = 0usize;
    let mut root_seen = false;
    loop {
        let start = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| {
            let at = reader.error_position() as usize;
            sink.error(Location::Line(lines.line_at(at)), format!("bad XML: {e}"))
        })?;
        let xml_err = |sink: &Sink, lines: &mut LineCounter, e: String| {
            sink.error(
                Location::Line(lines.line_at(start)),
                format!("bad XML: {e}"),
            )
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(ev, Event::Empty(_));
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if !root_seen {
                    root_seen = true;
                    if name != "queryResult" {
                        return Err(sink.error(
                            Location::Line(lines.line_at(start)),
                            format!("root element is <{name}>, not <queryResult>: not NCMEC hash-sharing XML"),
                        ));
                    }
                }
                let parent = stack.last().map(String::as_str);
                let kind = match (parent, name.as_str()) {
                    (Some("images"), "image") => Some((MediaKind::Image, false)),
                    (Some("images"), "deletedImage") => Some((MediaKind::Image, true)),
                    (Some("videos"), "video") => Some((MediaKind::Video, false)),
                    (Some("videos"), "deletedVideo") => Some((MediaKind::Video, true)),
                    _ => None,
                };
                if let Some((k, deleted)) = kind {
                    entries += 1;
                    entry = Some(Entry {
                        kind: Some(k),
                        deleted,
                        number: entries,
                        line: lines.line_at(start),
                        ..Entry::default()
                    });
                } else if is_empty && parent == Some("fingerprints") {
                    if let Some(en) = entry.as_mut() {
                        let href = e
                            .try_get_attribute("href")
                            .ok()
                            .flatten()
                            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                        en.fingerprints.push((name.clone(), String::new(), href));
                    }
                }
                if !is_empty {
                    stack.push(name);
                    buf.clear();
                }
            }
            Event::Text(t) => {
                let s = t
                    .decode()
                    .map_err(|e| xml_err(sink, &mut lines, e.to_string()))?;
                buf.push_str(&s);
            }
            Event::CData(t) => {
                let s = t
                    .decode()
                    .map_err(|e| xml_err(sink, &mut lines, e.to_string()))?;
                buf.push_str(&s);
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| xml_err(sink, &mut lines, e.to_string()))?
                } else {
                    let n = r
                        .decode()
                        .map_err(|e| xml_err(sink, &mut lines, e.to_string()))?;
                    entity(&n)
                };
                match c {
                    Some(c) => buf.push(c),
                    None => {
                        return Err(xml_err(sink, &mut lines, "unknown entity reference".into()))
                    }
                }
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                let parent = stack.last().map(String::as_str);
                let value = std::mem::take(&mut buf);
                let ends_entry = matches!(
                    (parent, name.as_str()),
                    (Some("images"), "image" | "deletedImage")
                        | (Some("videos"), "video" | "deletedVideo")
                );
                if ends_entry {
                    let en = entry.take().expect("entry started");
                    finish_entry(en, sink, &mut slots, &mut by_id, &mut unknown_deletions)?;
                } else if let Some(en) = entry.as_mut() {
                    match (parent, name.as_str()) {
                        (Some("fingerprints"), _) => {
                            en.fingerprints.push((name, value.trim().to_string(), None))
                        }
                        (Some(p), "id") if is_entry_name(p) => en.id = Some(value.trim().into()),
                        (Some(p), "classification") if is_entry_name(p) => {
                            en.classification = Some(value.trim().into())
                        }
                        _ => {}
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(sink.error(Location::File, "no XML elements".into()));
    }
    if unknown_deletions > 0 {
        sink.warn(
            Location::File,
            format!("{unknown_deletions} deletions name entries that are not in this file"),
        );
    }
    for rec in slots.into_iter().flatten() {
        sink.emit(rec, &Location::File)?;
    }
    Ok(())
}

fn is_entry_name(n: &str) -> bool {
    matches!(n, "image" | "video" | "deletedImage" | "deletedVideo")
}

fn finish_entry(
    en: Entry,
    sink: &mut Sink,
    slots: &mut Vec<Option<Record>>,
    by_id: &mut HashMap<(bool, String), usize>,
    unknown_deletions: &mut usize,
) -> Result<(), ImportError> {
    let loc = Location::RecordAtLine(en.number, en.line);
    let is_video = en.kind == Some(MediaKind::Video);
    let id = en.id.filter(|i| !i.is_empty());
    if en.deleted {
        let Some(id) = id else {
            return Err(sink.error(loc, "a deleted entry without an <id>".into()));
        };
        match by_id.remove(&(is_video, id)) {
            Some(i) => {
                if slots[i].take().is_some() {
                    sink.deleted += 1;
                }
            }
            None => {
                *unknown_deletions += 1;
                sink.deleted += 1;
            }
        }
        return Ok(());
    }
    let mut rec = sink.record();
    rec.media = en.kind;
    for (name, value, href) in &en.fingerprints {
        if value.is_empty() {
            if let Some(h) = href {
                sink.warn(
                    loc.clone(),
                    format!("fingerprint <{name}> given only as a link ({h}); not imported"),
                );
            }
            continue;
        }
        set_hash(&mut rec, name, value)
            .map_err(|e| sink.field_error(loc.clone(), e.in_field(format!("<{name}>"))))?;
    }
    if let Some(c) = en.classification.filter(|c| !c.is_empty()) {
        rec.category = Some(Category::new(Scheme::NcmecAB, &c));
    }
    rec.id = id.clone();
    // A later entry replaces an earlier one with the same id, even when the
    // later one is itself dropped (e.g. it is the empty file's hash).
    if let Some(id) = &id {
        if let Some(old) = by_id.remove(&(is_video, id.clone())) {
            slots[old] = None;
        }
    }
    let Some(rec) = sink.accept(rec, &loc)? else {
        return Ok(());
    };
    if let Some(id) = id {
        by_id.insert((is_video, id), slots.len());
    }
    slots.push(Some(rec));
    Ok(())
}
