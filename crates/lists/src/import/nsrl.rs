//! NIST NSRL RDSv3 SQLite databases (modern, legacy, android, iOS; full and
//! minimal sets).
//!
//! Reads the `FILE` table (or view): the columns `sha256`, `sha1`, `md5`
//! (hex, upper case in NIST's releases), and `file_name` and `file_size`
//! when present. At least one hash column must exist. Every row becomes a
//! record with status `known` (unless the caller says otherwise); the empty
//! file, which the NSRL lists, is dropped as everywhere else. Rows are not
//! de-duplicated (the full sets list one hash under many names).
//!
//! [`for_each`] streams records one by one, for sets too large to hold
//! in memory.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{set_hash, ImportOptions, Sink};
use crate::error::{FieldError, ImportError, ImportReport, Location};
use crate::import::Format;
use crate::model::Record;

/// Streams the records of an NSRL RDSv3 database to `each`, in table order,
/// without collecting them. Returns the report (with `records` empty).
/// Stops at the first bad row or the first error from `each` (whose text
/// becomes the reason).
pub fn for_each<F>(
    path: &Path,
    opts: &ImportOptions,
    mut each: F,
) -> Result<ImportReport, ImportError>
where
    F: FnMut(Record) -> Result<(), super::Refusal>,
{
    let mut sink = Sink::new(opts, Format::NsrlSqlite);
    sink.each = Some(&mut each);
    import(path, &mut sink)?;
    sink.finish()
}

/// Reads the database into the sink (which keeps the records or hands
/// them on).
pub(crate) fn import(path: &Path, sink: &mut Sink) -> Result<(), ImportError> {
    let err = |sink: &Sink, loc: Location, e: String| sink.error(loc, e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| {
        err(
            sink,
            Location::File,
            format!("cannot open SQLite database: {e}"),
        )
    })?;
    let mut cols: Vec<String> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('FILE')")
            .map_err(|e| err(sink, Location::File, format!("not an SQLite database: {e}")))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| err(sink, Location::File, format!("cannot read the schema: {e}")))?;
        for r in rows {
            cols.push(
                r.map_err(|e| err(sink, Location::File, format!("cannot read the schema: {e}")))?
                    .to_ascii_lowercase(),
            );
        }
    }
    if cols.is_empty() {
        return Err(err(
            sink,
            Location::File,
            "no FILE table: not an NSRL RDSv3 database".into(),
        ));
    }
    let has = |c: &str| cols.iter().any(|x| x == c);
    if !(has("sha256") || has("sha1") || has("md5")) {
        return Err(err(
            sink,
            Location::File,
            "the FILE table has no sha256, sha1 or md5 column".into(),
        ));
    }
    let pick = |c: &str| {
        if has(c) {
            c.to_string()
        } else {
            "NULL".to_string()
        }
    };
    let sql = format!(
        "SELECT {}, {}, {}, {}, {} FROM FILE",
        pick("sha256"),
        pick("sha1"),
        pick("md5"),
        pick("file_name"),
        pick("file_size")
    );
    let mut stmt = conn
        .prepare(&sql)
        .map_err(|e| err(sink, Location::File, format!("cannot query FILE: {e}")))?;
    let mut rows = stmt
        .query([])
        .map_err(|e| err(sink, Location::File, format!("cannot query FILE: {e}")))?;
    let mut n = 0u64;
    loop {
        let row = match rows.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                return Err(err(
                    sink,
                    Location::Row("FILE".into(), n + 1),
                    format!("cannot read: {e}"),
                ))
            }
        };
        n += 1;
        let loc = Location::Row("FILE".into(), n);
        let text = |i: usize| -> Result<Option<String>, FieldError> {
            use rusqlite::types::ValueRef;
            match row.get_ref(i).map_err(|e| FieldError::Database {
                detail: e.to_string(),
            })? {
                ValueRef::Null => Ok(None),
                ValueRef::Text(t) => Ok(Some(String::from_utf8_lossy(t).into_owned())),
                ValueRef::Integer(v) => Ok(Some(v.to_string())),
                ValueRef::Real(v) => Ok(Some(v.to_string())),
                ValueRef::Blob(_) => Err(FieldError::Blob { column: i }),
            }
        };
        let mut rec = sink.record();
        let r = (|| -> Result<(), FieldError> {
            set_hash(&mut rec, "sha256", text(0)?.as_deref().unwrap_or(""))?;
            set_hash(&mut rec, "sha1", text(1)?.as_deref().unwrap_or(""))?;
            set_hash(&mut rec, "md5", text(2)?.as_deref().unwrap_or(""))?;
            rec.name = text(3)?.filter(|s| !s.is_empty());
            if let Some(size) = text(4)?.filter(|s| !s.trim().is_empty()) {
                rec.size = Some(size.trim().parse::<u64>().map_err(|_| {
                    FieldError::NotWholeNumber { text: size.clone() }.in_field("file_size")
                })?);
            }
            Ok(())
        })();
        r.map_err(|e| sink.field_error(loc.clone(), e))?;
        sink.push(rec, &loc)?;
    }
    Ok(())
}
