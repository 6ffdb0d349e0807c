//! Bulk list imports: the list is parsed, its entries are written to a
//! staging table in short transactions of a few thousand rows (other
//! writers go on meanwhile), and one final transaction moves them into the
//! bank with SQL alone, so the bank is swapped all at once or not at all.
//!
//! Refused, with nothing imported: signal types the service does not know
//! (named with their line numbers) unless `allow_unknown`; a replacement
//! with no entries unless `allow_empty`; a missing bank unless `create`.
//! The answer lists the import's warnings in full text.

use axum::body::Bytes;
use axum::http::StatusCode;
use nigehbaan_lists::{hex, Format, ImportOptions};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::api::ApiError;
use crate::db::{write_tx, Conn, DbError, V};
use crate::store::{self, NewEntry, StoreError};
use crate::App;

/// Entries per staging transaction.
const STAGE_BATCH: usize = 5_000;
/// Warnings returned in full; more are counted.
const MAX_WARNINGS: usize = 1_000;
/// Staging rows of imports started longer ago than this are removed at
/// start (an import killed mid-way).
const STALE_SECS: i64 = 3_600;

/// HMA signal types that are real but not matched by this service (kept
/// opaque by the list reader). Any other type in an HMA list is unknown.
/// (`vpdq` rows are read as video records and matched.)
const HMA_KNOWN_OPAQUE: &[&str] = &["photodna", "pdna", "vpdq", "tmk_pdqf"];

/// What an import request asks.
#[derive(Debug, Clone)]
pub struct ImportParams {
    /// The bank.
    pub bank: String,
    /// Who.
    pub actor: String,
    /// List reader options.
    pub options: ImportOptions,
    /// Replace the bank's entries.
    pub replace: bool,
    /// Create the bank when missing.
    pub create: bool,
    /// Allow a replacement with no entries.
    pub allow_empty: bool,
    /// Import lists with unknown signal types, skipping those lines.
    pub allow_unknown: bool,
}

fn unprocessable(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// Lines (1-based) of `text` with a field equal to one of `kinds`, at most
/// `max`.
fn lines_with(text: &str, kinds: &[String], max: usize) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let hit = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(|f| f.trim().trim_matches('"').to_ascii_lowercase())
            .find(|f| kinds.contains(f));
        if let Some(k) = hit {
            out.push((i + 1, k));
            if out.len() == max {
                break;
            }
        }
    }
    out
}

/// Deletes the staging rows of imports that were started long ago and
/// never finished (the process died). Blocks.
pub fn clean_stale(c: &mut dyn Conn) -> Result<(), DbError> {
    let before = store::now() - STALE_SECS;
    write_tx(c, |c| {
        c.exec(
            "DELETE FROM import_staging WHERE import_id IN (SELECT id FROM imports WHERE started_at < $1)",
            &[V::I(before)],
        )?;
        c.exec("DELETE FROM imports WHERE started_at < $1", &[V::I(before)])?;
        Ok(())
    })
}

fn stage(c: &mut dyn Conn, import_id: i64, entries: &[NewEntry]) -> Result<(), DbError> {
    const COLS: usize = 11;
    write_tx(c, |c| {
        for chunk in entries.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO import_staging (import_id, md5, sha1, sha256, pdq, pdq_quality, category_scheme, category_code, status, external_id, vpdq) VALUES ",
            );
            sql.push_str(&store::values_placeholders(chunk.len(), COLS));
            let mut params = Vec::with_capacity(chunk.len() * COLS);
            for e in chunk {
                params.push(V::I(import_id));
                params.extend(store::entry_values(e));
            }
            c.exec(&sql, &params)?;
        }
        Ok(())
    })
}

fn drop_staging(c: &mut dyn Conn, import_id: i64) {
    let _ = write_tx(c, |c| -> Result<(), DbError> {
        c.exec(
            "DELETE FROM import_staging WHERE import_id = $1",
            &[V::I(import_id)],
        )?;
        c.exec("DELETE FROM imports WHERE id = $1", &[V::I(import_id)])?;
        Ok(())
    });
}

/// The swap: one transaction moving the staged rows into the bank.
/// Returns (added, replaced, created).
fn swap(
    c: &mut dyn Conn,
    p: &ImportParams,
    import_id: i64,
    mut detail: Value,
) -> Result<(i64, i64, bool), StoreError> {
    write_tx(c, |c| {
        let (bank, created) = match store::get_bank(c, &p.bank) {
            Ok(b) => (b, false),
            Err(StoreError::NotFound(_)) if p.create => {
                (store::insert_bank(c, &p.actor, &p.bank, "", true)?, true)
            }
            Err(StoreError::NotFound(_)) => return Err(missing_bank(&p.bank)),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        if p.replace {
            store::feed_bank_removal(c, bank.id)?;
            removed = c.exec("DELETE FROM entries WHERE bank_id = $1", &[V::I(bank.id)])? as i64;
        }
        let t = store::now();
        let before = crate::feed::max_entry_id(c)?;
        let n = c.exec(
            "INSERT INTO entries (bank_id, md5, sha1, sha256, pdq, pdq_quality, category_scheme, category_code, status, external_id, vpdq, created_at, created_by) SELECT CAST($1 AS BIGINT), md5, sha1, sha256, pdq, pdq_quality, category_scheme, category_code, status, external_id, vpdq, CAST($2 AS BIGINT), CAST($3 AS TEXT) FROM import_staging WHERE import_id = $4 ORDER BY seq",
            &[V::I(bank.id), V::I(t), V::T(p.actor.clone()), V::I(import_id)],
        )? as i64;
        c.exec(
            "INSERT INTO changes (op, pdq) SELECT 1, pdq FROM import_staging WHERE import_id = $1 AND pdq IS NOT NULL ORDER BY seq",
            &[V::I(import_id)],
        )?;
        crate::feed::feed_video_added(c, bank.id, before)?;
        c.exec(
            "UPDATE banks SET entry_count = entry_count + $1 - $2, updated_at = $3 WHERE id = $4",
            &[V::I(n), V::I(removed), V::I(t), V::I(bank.id)],
        )?;
        if let Value::Object(m) = &mut detail {
            m.insert("bank".into(), json!(p.bank));
            m.insert("added".into(), json!(n));
            if p.replace {
                m.insert("replaced".into(), json!(removed));
            }
            if created {
                m.insert("created".into(), json!(true));
            }
        }
        store::audit(c, &p.actor, "bank.import", detail)?;
        c.exec(
            "DELETE FROM import_staging WHERE import_id = $1",
            &[V::I(import_id)],
        )?;
        c.exec("DELETE FROM imports WHERE id = $1", &[V::I(import_id)])?;
        Ok((n, removed, created))
    })
}

fn missing_bank(name: &str) -> StoreError {
    StoreError::NotFound(format!(
        "no bank named {name:?}; create it first, or import with create=true"
    ))
}

/// Imports a list into a bank. Blocks: run it on a blocking thread.
pub fn run(app: &std::sync::Arc<App>, body: Bytes, p: ImportParams) -> Result<Value, ApiError> {
    if !p.create {
        let mut c = app.pool.get();
        match store::get_bank(c.as_mut(), &p.bank) {
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => return Err(missing_bank(&p.bank).into()),
            Err(e) => return Err(e.into()),
        }
    }
    let digest = hex::encode(&Sha256::digest(&body));
    let size = body.len();
    let format = p.options.format.or_else(|| nigehbaan_lists::detect(&body));
    let hma = matches!(format, Some(Format::HmaCsv | Format::HmaText));
    // Records go to the staging table in batches as they are parsed, so an
    // import holds the upload and one batch, never every record.
    let import_id = {
        let mut c = app.pool.get();
        let rows = write_tx(c.as_mut(), |c| {
            c.query(
                "INSERT INTO imports (bank, started_at) VALUES ($1, $2) RETURNING id",
                &[V::T(p.bank.clone()), V::I(store::now())],
            )
        })?;
        rows.first().map_or(0, |r| r[0].i())
    };
    let fail = |e: ApiError| -> Result<Value, ApiError> {
        drop_staging(app.pool.get().as_mut(), import_id);
        Err(e)
    };
    let mut records = 0usize;
    let mut unknown: Vec<String> = Vec::new();
    let mut unsupported: Vec<String> = Vec::new();
    let mut unsupported_n = 0usize;
    let mut unknown_n = 0usize;
    let mut batch = Vec::with_capacity(STAGE_BATCH);
    let mut stage_error: Option<ApiError> = None;
    let parsed = nigehbaan_lists::for_each_bytes(&body, &p.options, |r| {
        records += 1;
        let e = NewEntry::from_record(&r);
        if e.has_hash() {
            batch.push(e);
            if batch.len() == STAGE_BATCH {
                if let Err(e) = stage(app.pool.get().as_mut(), import_id, &batch) {
                    stage_error = Some(e.into());
                    return Err("the entries could not be staged".into());
                }
                batch.clear();
            }
            return Ok(());
        }
        let kinds: Vec<String> = r.other.iter().map(|o| o.kind.clone()).collect();
        let is_unknown = hma
            && kinds
                .iter()
                .any(|k| !HMA_KNOWN_OPAQUE.contains(&k.as_str()));
        if is_unknown {
            unknown_n += 1;
            for k in kinds {
                if !HMA_KNOWN_OPAQUE.contains(&k.as_str()) && !unknown.contains(&k) {
                    unknown.push(k);
                }
            }
        } else {
            unsupported_n += 1;
            for k in kinds {
                if !unsupported.contains(&k) {
                    unsupported.push(k);
                }
            }
        }
        Ok(())
    });
    let report = match parsed {
        Ok(report) => report,
        Err(e) => {
            return fail(stage_error.unwrap_or_else(|| unprocessable("bad_list", e.to_string())))
        }
    };
    if !batch.is_empty() {
        if let Err(e) = stage(app.pool.get().as_mut(), import_id, &batch) {
            return fail(e.into());
        }
        batch = Vec::new();
    }
    drop(batch);
    let mut warnings: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    let mut dropped = report.warnings_dropped;
    if unknown_n > 0 {
        let text = String::from_utf8_lossy(&body);
        let lines = lines_with(
            &text,
            &unknown,
            if p.allow_unknown { MAX_WARNINGS } else { 10 },
        );
        let named: Vec<String> = lines
            .iter()
            .map(|(l, k)| format!("line {l}: unknown signal type {k:?}"))
            .collect();
        if !p.allow_unknown {
            return fail(unprocessable(
                "unknown_hash_type",
                format!(
                    "{unknown_n} records have signal types this service does not know ({}): {}; nothing was imported (fix the list, or import with allow_unknown=true to skip them)",
                    unknown.join(", "),
                    named.join("; ")
                ),
            ));
        }
        warnings.extend(named.into_iter().map(|n| format!("{n}: skipped")));
    }
    if unsupported_n > 0 {
        warnings.push(format!(
            "{unsupported_n} records carry only hash types this service does not match ({}): skipped",
            unsupported.join(", ")
        ));
    }
    if warnings.len() > MAX_WARNINGS {
        dropped += warnings.len() - MAX_WARNINGS;
        warnings.truncate(MAX_WARNINGS);
    }
    let matchable = records - unsupported_n - unknown_n;
    if p.replace && matchable == 0 && !p.allow_empty {
        return fail(unprocessable(
            "empty_replacement",
            format!(
                "the list has no entries this service can match ({records} records); replacing would empty bank {:?}; nothing was changed (allow_empty=true to empty it on purpose)",
                p.bank
            ),
        ));
    }
    drop(body);
    let detail = json!({
        "format": report.format.name(),
        "list_sha256": digest,
        "list_bytes": size,
        "records": records,
        "skipped_unsupported": unsupported_n,
        "skipped_unknown": unknown_n,
    });
    let result: Result<(i64, i64, bool), ApiError> =
        swap(app.pool.get().as_mut(), &p, import_id, detail).map_err(ApiError::from);
    let (added, replaced, created) = match result {
        Ok(x) => x,
        Err(e) => {
            drop_staging(app.pool.get().as_mut(), import_id);
            return Err(e);
        }
    };
    if let Err(e) = app.sync() {
        tracing::warn!(error = %e, "change feed");
    }
    Ok(json!({
        "bank": p.bank,
        "format": report.format.name(),
        "created": created,
        "added": added,
        "replace": p.replace,
        "replaced": replaced,
        "skipped_unsupported_hashes": unsupported_n,
        "skipped_unknown_types": unknown_n,
        "skipped_empty_file": report.skipped_empty,
        "warnings": warnings,
        "warnings_dropped": dropped,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_finds_the_fields() {
        let text = "# c\npdq abc\npdg 00\nmd5,1\n\"pdg\",x\n";
        assert_eq!(
            lines_with(text, &["pdg".to_string()], 10),
            vec![(3, "pdg".to_string()), (5, "pdg".to_string())]
        );
    }
}
