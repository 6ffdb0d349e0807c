//! vPDQ features of a video.
//!
//! * The reference tool's per-video file (`--format vpdq`): one line per
//!   hashed frame, `frame_number,quality,pdq_hex,timestamp`. One file is one
//!   record (a video), named by the file; a directory of them is one list.
//! * As a value in other formats (HMA rows of signal type `vpdq`, the
//!   `vpdq` column of our CSV export): HMA's signal string (a JSON array of
//!   `"pdq_hex,quality,timestamp"` strings; frames numbered 0, 1, 2…), or
//!   the reference file's lines separated by `;` (frame numbers kept), as
//!   [`to_text`] writes them.

use nigehbaan_video::format::{parse_reference, parse_signal, write_reference};
use nigehbaan_video::FrameHash;

use std::path::{Path, PathBuf};

use super::{Each, Format, ImportOptions, Sink};
use crate::error::{FieldError, ImportError, ImportReport, Location};
use crate::model::{MediaKind, Record};

/// vPDQ frames as one line of text: the reference file's lines joined by `;`.
pub fn to_text(frames: &[FrameHash]) -> String {
    write_reference(frames).trim_end().replace('\n', ";")
}

/// Parses a vPDQ value: HMA's signal string (starting with `[`) or the
/// reference file's lines separated by `;` or new lines.
pub fn parse_text(value: &str) -> Result<Vec<FrameHash>, FieldError> {
    let value = value.trim();
    let parsed = if value.starts_with('[') {
        parse_signal(value)
    } else {
        parse_reference(&value.replace(';', "\n"))
    };
    parsed.map_err(FieldError::Vpdq)
}

/// Sets a record's vPDQ features from a value in another format (see
/// [`parse_text`]); a record is a video once it has them.
pub(crate) fn set_features(rec: &mut Record, value: &str) -> Result<(), FieldError> {
    let frames = parse_text(value)?;
    if frames.is_empty() {
        return Ok(());
    }
    if !rec.vpdq.is_empty() && rec.vpdq != frames {
        return Err(FieldError::Conflict { kind: "vPDQ" });
    }
    rec.vpdq = frames;
    rec.media.get_or_insert(MediaKind::Video);
    Ok(())
}

/// Imports one reference-format file as one record named `name`.
pub(crate) fn import_file(text: &str, name: &str, sink: &mut Sink) -> Result<(), ImportError> {
    let loc = Location::Line(1);
    let frames =
        parse_reference(text).map_err(|e| sink.error(loc.clone(), format!("vPDQ: {e}")))?;
    if frames.is_empty() {
        return Err(sink.error(loc, "the vPDQ file holds no frame".into()));
    }
    let mut rec = sink.record();
    rec.vpdq = frames;
    rec.media = Some(MediaKind::Video);
    rec.name = Some(name.to_string());
    sink.push(rec, &loc)
}

/// A reference-format line: `frame,quality,64 hex digits,timestamp`.
pub(crate) fn looks_like_line(line: &str) -> bool {
    let f: Vec<&str> = line.split(',').map(str::trim).collect();
    f.len() == 4
        && f[0].parse::<u64>().is_ok()
        && f[1].parse::<u8>().is_ok()
        && f[2].len() == 64
        && crate::hex::is_hex(f[2])
        && f[3].parse::<f64>().is_ok()
}

/// Imports a directory of reference-format files as one list: each regular
/// file (in name order; names starting with `.` skipped) is one record,
/// named by its file name. Errors name the file.
pub(crate) fn import_dir(
    dir: &Path,
    opts: &ImportOptions,
    each: Option<Each<'_>>,
) -> Result<ImportReport, ImportError> {
    let mut sink = Sink::new(opts, Format::Vpdq);
    sink.each = each;
    if opts.format.is_some_and(|f| f != Format::Vpdq) {
        return Err(sink.error(
            Location::File,
            "a directory is imported as vPDQ files (--format vpdq), one per video".into(),
        ));
    }
    let read_dir = |e: std::io::Error| sink.error(Location::File, format!("cannot read: {e}"));
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_dir)? {
        let entry = entry.map_err(read_dir)?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.file_type().map_err(read_dir)?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    for path in files {
        sink.file = path.display().to_string();
        let bytes = std::fs::read(&path)
            .map_err(|e| sink.error(Location::File, format!("cannot read: {e}")))?;
        let text = sink.text(&bytes).into_owned();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        import_file(&text, &name, &mut sink)?;
    }
    sink.file = opts.display_name.clone();
    sink.finish()
}
