//! What the service keeps in its database, and every change to it: banks,
//! entries, the change feed that replicas follow, API keys and the
//! keyed hash-chained audit log (see [`crate::audit`]). Every change is one transaction under the write
//! lock, together with its feed rows and its audit record.

use nigehbaan_lists::hex;
use nigehbaan_pdq::Hash256;
use serde::Serialize;
use serde_json::{json, Value};

use crate::db::{write_tx, Conn, DbError, Row, V};

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// The named thing does not exist.
    NotFound(String),
    /// It exists already, or conflicts with what exists.
    Conflict(String),
    /// The request is not acceptable.
    Invalid(String),
    /// The database failed.
    Db(DbError),
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        StoreError::Db(e)
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotFound(s) | StoreError::Conflict(s) | StoreError::Invalid(s) => {
                f.write_str(s)
            }
            StoreError::Db(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Db(e) => Some(e),
            _ => None,
        }
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A role; each includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// May hash and look up.
    Matcher,
    /// May also change banks and their entries.
    Curator,
    /// May do everything, including deleting banks and reading the audit log.
    Admin,
}

impl Role {
    /// `matcher`, `curator` or `admin`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Matcher => "matcher",
            Role::Curator => "curator",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "matcher" => Some(Role::Matcher),
            "curator" => Some(Role::Curator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------- audit --
pub use crate::audit::{
    audit, audit_hash, audit_keyed_from, audit_records, verify_audit, AuditCheck, AuditRecord,
    AUDIT_GENESIS,
};

// ----------------------------------------------------------------- keys --
pub use crate::keys::{create_key, key_hash, list_keys, revoke_key, KeyInfo};

// ---------------------------------------------------------------- banks --

/// A bank: a named collection of hashes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Bank {
    /// Bank id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Whether lookups match against it.
    pub enabled: bool,
    /// Number of entries.
    pub entries: i64,
    /// Created, seconds since the Unix epoch.
    pub created_at: i64,
    /// Who created it.
    pub created_by: String,
    /// Last changed, seconds since the Unix epoch.
    pub updated_at: i64,
}

const BANK_COLS: &str =
    "id, name, description, enabled, entry_count, created_at, created_by, updated_at";

fn bank_of(r: &Row) -> Bank {
    Bank {
        id: r[0].i(),
        name: r[1].t(),
        description: r[2].t(),
        enabled: r[3].i() != 0,
        entries: r[4].i(),
        created_at: r[5].i(),
        created_by: r[6].t(),
        updated_at: r[7].i(),
    }
}

/// Checks a bank name: 1–100 characters of letters, digits, `-`, `_`, `.`.
pub fn check_bank_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(
            "a bank name is 1 to 100 characters of letters, digits, '-', '_' and '.'".into(),
        ))
    }
}

/// All banks, by name.
pub fn list_banks(c: &mut dyn Conn) -> Result<Vec<Bank>, DbError> {
    let rows = c.query(&format!("SELECT {BANK_COLS} FROM banks ORDER BY name"), &[])?;
    Ok(rows.iter().map(bank_of).collect())
}

/// One bank by name.
pub fn get_bank(c: &mut dyn Conn, name: &str) -> Result<Bank, StoreError> {
    let rows = c.query(
        &format!("SELECT {BANK_COLS} FROM banks WHERE name = $1"),
        &[V::T(name.into())],
    )?;
    rows.first()
        .map(bank_of)
        .ok_or_else(|| StoreError::NotFound(format!("no bank named {name:?}")))
}

pub(crate) fn insert_bank(
    c: &mut dyn Conn,
    actor: &str,
    name: &str,
    description: &str,
    enabled: bool,
) -> Result<Bank, StoreError> {
    check_bank_name(name)?;
    if !c
        .query("SELECT id FROM banks WHERE name = $1", &[V::T(name.into())])?
        .is_empty()
    {
        return Err(StoreError::Conflict(format!(
            "a bank named {name:?} exists"
        )));
    }
    let t = now();
    c.exec(
        "INSERT INTO banks (name, description, enabled, entry_count, created_at, created_by, updated_at) VALUES ($1, $2, $3, 0, $4, $5, $4)",
        &[
            V::T(name.into()),
            V::T(description.into()),
            V::I(enabled.into()),
            V::I(t),
            V::T(actor.into()),
        ],
    )?;
    audit(
        c,
        actor,
        "bank.create",
        json!({"name": name, "description": description, "enabled": enabled}),
    )?;
    get_bank(c, name)
}

/// Creates a bank.
pub fn create_bank(
    c: &mut dyn Conn,
    actor: &str,
    name: &str,
    description: &str,
    enabled: bool,
) -> Result<Bank, StoreError> {
    write_tx(c, |c| insert_bank(c, actor, name, description, enabled))
}

/// Changes a bank's name, description or enabled flag.
pub fn update_bank(
    c: &mut dyn Conn,
    actor: &str,
    name: &str,
    new_name: Option<&str>,
    description: Option<&str>,
    enabled: Option<bool>,
) -> Result<Bank, StoreError> {
    write_tx(c, |c| {
        let b = get_bank(c, name)?;
        let target = new_name.unwrap_or(name);
        if target != name {
            check_bank_name(target)?;
            if get_bank(c, target).is_ok() {
                return Err(StoreError::Conflict(format!(
                    "a bank named {target:?} exists"
                )));
            }
        }
        let description = description.unwrap_or(&b.description);
        let enabled = enabled.unwrap_or(b.enabled);
        c.exec(
            "UPDATE banks SET name = $1, description = $2, enabled = $3, updated_at = $4 WHERE id = $5",
            &[
                V::T(target.into()),
                V::T(description.into()),
                V::I(enabled.into()),
                V::I(now()),
                V::I(b.id),
            ],
        )?;
        audit(
            c,
            actor,
            "bank.update",
            json!({"name": name, "new_name": target, "description": description, "enabled": enabled}),
        )?;
        get_bank(c, target)
    })
}

/// Feed rows for the PDQ hashes of `bank_id`'s entries that no other bank
/// holds, and for its video entries (run before deleting them all).
pub(crate) fn feed_bank_removal(c: &mut dyn Conn, bank_id: i64) -> Result<(), DbError> {
    c.exec(
        "INSERT INTO changes (op, pdq) SELECT DISTINCT 0, e.pdq FROM entries e WHERE e.bank_id = $1 AND e.pdq IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entries f WHERE f.pdq = e.pdq AND f.bank_id <> $1)",
        &[V::I(bank_id)],
    )?;
    crate::feed::feed_bank_video_removal(c, bank_id)?;
    Ok(())
}

/// Deletes a bank and its entries; returns how many entries went.
pub fn delete_bank(c: &mut dyn Conn, actor: &str, name: &str) -> Result<i64, StoreError> {
    write_tx(c, |c| {
        let b = get_bank(c, name)?;
        feed_bank_removal(c, b.id)?;
        let n = c.exec("DELETE FROM entries WHERE bank_id = $1", &[V::I(b.id)])?;
        c.exec("DELETE FROM banks WHERE id = $1", &[V::I(b.id)])?;
        audit(c, actor, "bank.delete", json!({"name": name, "entries": n}))?;
        Ok(n as i64)
    })
}

// -------------------------------------------------------------- entries --

/// A new entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewEntry {
    /// MD5.
    pub md5: Option<[u8; 16]>,
    /// SHA-1.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256.
    pub sha256: Option<[u8; 32]>,
    /// PDQ.
    pub pdq: Option<Hash256>,
    /// PDQ quality, when known.
    pub pdq_quality: Option<u8>,
    /// A video's vPDQ frames (empty: not a video entry).
    pub vpdq: Vec<nigehbaan_video::FrameHash>,
    /// Category scheme and code.
    pub category: Option<(String, String)>,
    /// `notable` or `known`.
    pub status: String,
    /// The issuer's id for the entry.
    pub external_id: Option<String>,
}

impl NewEntry {
    /// True when it carries at least one hash (or vPDQ frames).
    pub fn has_hash(&self) -> bool {
        self.md5.is_some()
            || self.sha1.is_some()
            || self.sha256.is_some()
            || self.pdq.is_some()
            || !self.vpdq.is_empty()
    }

    /// The entry for a list record (hashes this service does not match,
    /// such as PhotoDNA, are left out).
    pub fn from_record(r: &nigehbaan_lists::Record) -> NewEntry {
        NewEntry {
            md5: r.md5,
            sha1: r.sha1,
            sha256: r.sha256,
            pdq: r.pdq.map(|p| p.hash),
            pdq_quality: r.pdq.and_then(|p| p.quality),
            vpdq: r.vpdq.clone(),
            category: r
                .category
                .as_ref()
                .map(|c| (c.scheme.name(), c.code.clone())),
            status: r.status.name().to_string(),
            external_id: r.id.clone(),
        }
    }
}

/// How an entry reaches a bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddOptions<'a> {
    /// Who.
    pub actor: &'a str,
    /// The bank.
    pub bank: &'a str,
    /// Create the bank when it does not exist.
    pub create: bool,
    /// Delete the bank's entries first (in the same transaction).
    pub replace: bool,
    /// Return the new entries' ids.
    pub want_ids: bool,
    /// The audit action.
    pub action: &'a str,
    /// Audit details (never the hashes of a whole list).
    pub detail: Value,
}

const ENTRY_COLS: usize = 13;

/// `(…),(…)` placeholders for `rows` rows of `cols` values, numbered from
/// `$1` row by row.
pub(crate) fn values_placeholders(rows: usize, cols: usize) -> String {
    let mut sql = String::with_capacity(rows * cols * 5);
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for k in 0..cols {
            if k > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", i * cols + k + 1));
        }
        sql.push(')');
    }
    sql
}

/// An entry's columns md5, sha1, sha256, pdq, pdq_quality,
/// category_scheme, category_code, status, external_id, vpdq.
pub(crate) fn entry_values(e: &NewEntry) -> [V; 10] {
    [
        V::from_opt_b(e.md5.as_ref().map(|x| &x[..])),
        V::from_opt_b(e.sha1.as_ref().map(|x| &x[..])),
        V::from_opt_b(e.sha256.as_ref().map(|x| &x[..])),
        V::from_opt_b(e.pdq.map(|p| p.to_bytes()).as_ref().map(|x| &x[..])),
        e.pdq_quality.map_or(V::Null, |q| V::I(q.into())),
        V::from_opt_t(e.category.as_ref().map(|c| c.0.as_str())),
        V::from_opt_t(e.category.as_ref().map(|c| c.1.as_str())),
        V::T(e.status.clone()),
        V::from_opt_t(e.external_id.as_deref()),
        if e.vpdq.is_empty() {
            V::Null
        } else {
            V::B(crate::video::encode(&e.vpdq))
        },
    ]
}

/// Adds entries to a bank in one transaction: all of them or none.
/// Returns the new ids (when asked) and the number added.
pub fn add_entries(
    c: &mut dyn Conn,
    opts: &AddOptions<'_>,
    entries: &[NewEntry],
) -> Result<(Vec<i64>, i64), StoreError> {
    if let Some(e) = entries.iter().find(|e| !e.has_hash()) {
        return Err(StoreError::Invalid(format!(
            "an entry has no md5, sha1, sha256, pdq or vpdq (external id {:?})",
            e.external_id
        )));
    }
    write_tx(c, |c| {
        let bank = match get_bank(c, opts.bank) {
            Ok(b) => b,
            Err(StoreError::NotFound(_)) if opts.create => {
                insert_bank(c, opts.actor, opts.bank, "", true)?
            }
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        if opts.replace {
            feed_bank_removal(c, bank.id)?;
            removed = c.exec("DELETE FROM entries WHERE bank_id = $1", &[V::I(bank.id)])? as i64;
        }
        let t = now();
        let mut ids = Vec::new();
        let before = crate::feed::max_entry_id(c)?;
        const ROWS: usize = 500;
        for chunk in entries.chunks(ROWS) {
            let mut sql = String::from(
                "INSERT INTO entries (bank_id, md5, sha1, sha256, pdq, pdq_quality, category_scheme, category_code, status, external_id, vpdq, created_at, created_by) VALUES ",
            );
            sql.push_str(&values_placeholders(chunk.len(), ENTRY_COLS));
            let mut params = Vec::with_capacity(chunk.len() * ENTRY_COLS);
            for e in chunk {
                params.push(V::I(bank.id));
                params.extend(entry_values(e));
                params.extend([V::I(t), V::T(opts.actor.into())]);
            }
            if opts.want_ids {
                sql.push_str(" RETURNING id");
                ids.extend(c.query(&sql, &params)?.iter().map(|r| r[0].i()));
            } else {
                c.exec(&sql, &params)?;
            }
            let pdqs: Vec<V> = chunk
                .iter()
                .filter_map(|e| e.pdq.map(|p| V::B(p.to_bytes().to_vec())))
                .collect();
            if !pdqs.is_empty() {
                let values: Vec<String> = (1..=pdqs.len()).map(|i| format!("(1, ${i})")).collect();
                c.exec(
                    &format!("INSERT INTO changes (op, pdq) VALUES {}", values.join(",")),
                    &pdqs,
                )?;
            }
        }
        if entries.iter().any(|e| !e.vpdq.is_empty()) {
            crate::feed::feed_video_added(c, bank.id, before)?;
        }
        let n = entries.len() as i64;
        c.exec(
            "UPDATE banks SET entry_count = entry_count + $1 - $2, updated_at = $3 WHERE id = $4",
            &[V::I(n), V::I(removed), V::I(t), V::I(bank.id)],
        )?;
        let mut detail = opts.detail.clone();
        if let Value::Object(m) = &mut detail {
            m.insert("bank".into(), json!(opts.bank));
            m.insert("added".into(), json!(n));
            if opts.replace {
                m.insert("replaced".into(), json!(removed));
            }
            if opts.want_ids {
                m.insert("ids".into(), json!(ids));
            }
        }
        audit(c, opts.actor, opts.action, detail)?;
        Ok((ids, n))
    })
}

/// Which entries of a bank to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// By entry id.
    Id(i64),
    /// Every entry with this MD5.
    Md5([u8; 16]),
    /// Every entry with this SHA-1.
    Sha1([u8; 20]),
    /// Every entry with this SHA-256.
    Sha256([u8; 32]),
    /// Every entry with exactly this PDQ hash.
    Pdq(Hash256),
}

impl Selector {
    fn sql(&self) -> (&'static str, V) {
        match self {
            Selector::Id(i) => ("id", V::I(*i)),
            Selector::Md5(h) => ("md5", V::B(h.to_vec())),
            Selector::Sha1(h) => ("sha1", V::B(h.to_vec())),
            Selector::Sha256(h) => ("sha256", V::B(h.to_vec())),
            Selector::Pdq(h) => ("pdq", V::B(h.to_bytes().to_vec())),
        }
    }

    fn describe(&self) -> Value {
        match self {
            Selector::Id(i) => json!({"id": i}),
            Selector::Md5(h) => json!({"md5": hex::encode(h)}),
            Selector::Sha1(h) => json!({"sha1": hex::encode(h)}),
            Selector::Sha256(h) => json!({"sha256": hex::encode(h)}),
            Selector::Pdq(h) => json!({"pdq": h.to_hex()}),
        }
    }
}

/// Removes the selected entries of a bank in one transaction; returns the
/// ids removed.
pub fn remove_entries(
    c: &mut dyn Conn,
    actor: &str,
    bank: &str,
    selectors: &[Selector],
) -> Result<Vec<i64>, StoreError> {
    write_tx(c, |c| {
        let b = get_bank(c, bank)?;
        let mut ids = Vec::new();
        let mut pdqs: Vec<Vec<u8>> = Vec::new();
        for s in selectors {
            let (col, v) = s.sql();
            let rows = c.query(
                &format!("SELECT id, pdq, CASE WHEN vpdq IS NULL THEN 0 ELSE 1 END FROM entries WHERE bank_id = $1 AND {col} = $2"),
                &[V::I(b.id), v],
            )?;
            for r in rows {
                let id = r[0].i();
                c.exec("DELETE FROM entries WHERE id = $1", &[V::I(id)])?;
                ids.push(id);
                if let Some(p) = r[1].opt_b() {
                    pdqs.push(p.to_vec());
                }
                if r[2].i() != 0 {
                    crate::feed::feed_video_removed(c, id)?;
                }
            }
        }
        pdqs.sort();
        pdqs.dedup();
        for p in pdqs {
            let left = c.query(
                "SELECT 1 FROM entries WHERE pdq = $1 LIMIT 1",
                &[V::B(p.clone())],
            )?;
            if left.is_empty() {
                c.exec("INSERT INTO changes (op, pdq) VALUES (0, $1)", &[V::B(p)])?;
            }
        }
        c.exec(
            "UPDATE banks SET entry_count = entry_count - $1, updated_at = $2 WHERE id = $3",
            &[V::I(ids.len() as i64), V::I(now()), V::I(b.id)],
        )?;
        let what: Vec<Value> = selectors.iter().map(Selector::describe).collect();
        audit(
            c,
            actor,
            "entries.remove",
            json!({"bank": bank, "selectors": what, "removed": ids}),
        )?;
        Ok(ids)
    })
}

/// One entry found by a lookup.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EntryHit {
    /// Entry id.
    pub entry_id: i64,
    /// Bank name.
    pub bank: String,
    /// Category, when the entry has one.
    pub category: Option<CategoryOut>,
    /// `notable` or `known`.
    pub status: String,
    /// The issuer's id.
    pub external_id: Option<String>,
    /// MD5 hex.
    pub md5: Option<String>,
    /// SHA-1 hex.
    pub sha1: Option<String>,
    /// SHA-256 hex.
    pub sha256: Option<String>,
    /// PDQ hex.
    pub pdq: Option<String>,
}

/// A category.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CategoryOut {
    /// The scheme's name.
    pub scheme: String,
    /// The code.
    pub code: String,
}

/// The hash column a lookup uses (the lists' closed set of hash kinds).
pub use nigehbaan_lists::HashKind;

/// Entries in enabled banks whose `kind` column equals `value`.
pub fn find(c: &mut dyn Conn, kind: HashKind, value: &[u8]) -> Result<Vec<EntryHit>, DbError> {
    let sql = match kind {
        HashKind::Md5 => FIND_MD5,
        HashKind::Sha1 => FIND_SHA1,
        HashKind::Sha256 => FIND_SHA256,
        HashKind::Pdq => FIND_PDQ,
    };
    let rows = c.query(sql, &[V::B(value.to_vec())])?;
    Ok(rows.iter().map(entry_hit).collect())
}

/// Entries in enabled banks with these ids.
pub fn find_ids(c: &mut dyn Conn, ids: &[i64]) -> Result<Vec<EntryHit>, DbError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT e.id, b.name, e.category_scheme, e.category_code, e.status, e.external_id, e.md5, e.sha1, e.sha256, e.pdq FROM entries e JOIN banks b ON b.id = e.bank_id WHERE e.id IN ({}) AND b.enabled = 1 ORDER BY e.id",
            marks.join(",")
        );
        let params: Vec<V> = chunk.iter().map(|&i| V::I(i)).collect();
        out.extend(c.query(&sql, &params)?.iter().map(entry_hit));
    }
    Ok(out)
}

fn entry_hit(r: &Row) -> EntryHit {
    {
        EntryHit {
            entry_id: r[0].i(),
            bank: r[1].t(),
            category: match (&r[2], &r[3]) {
                (V::T(s), V::T(c)) => Some(CategoryOut {
                    scheme: s.clone(),
                    code: c.clone(),
                }),
                _ => None,
            },
            status: r[4].t(),
            external_id: r[5].opt_t(),
            md5: r[6].opt_b().map(hex::encode),
            sha1: r[7].opt_b().map(hex::encode),
            sha256: r[8].opt_b().map(hex::encode),
            pdq: r[9].opt_b().map(hex::encode),
        }
    }
}

macro_rules! find_sql {
    ($col:literal) => {
        concat!(
            "SELECT e.id, b.name, e.category_scheme, e.category_code, e.status, e.external_id, e.md5, e.sha1, e.sha256, e.pdq FROM entries e JOIN banks b ON b.id = e.bank_id WHERE e.",
            $col,
            " = $1 AND b.enabled = 1 ORDER BY e.id LIMIT 1000"
        )
    };
}
const FIND_MD5: &str = find_sql!("md5");
const FIND_SHA1: &str = find_sql!("sha1");
const FIND_SHA256: &str = find_sql!("sha256");
const FIND_PDQ: &str = find_sql!("pdq");

// ---------------------------------------------------------- change feed --
pub use crate::feed::{
    all_pdq, all_video, changes_since, feed_floor, last_change, prune_feed, video_frames, Change,
    Changed,
};

/// The database's random identity (ties index snapshots to it).
pub fn db_id(c: &mut dyn Conn) -> Result<u64, DbError> {
    let r = c.query("SELECT value FROM meta WHERE key = 'db_id'", &[])?;
    Ok(r.first().and_then(|r| r[0].t().parse().ok()).unwrap_or(0))
}

/// Total entries in all banks.
pub fn entry_total(c: &mut dyn Conn) -> Result<i64, DbError> {
    let r = c.query(
        "SELECT CAST(COALESCE(SUM(entry_count), 0) AS BIGINT) FROM banks",
        &[],
    )?;
    Ok(r.first().map_or(0, |r| r[0].i()))
}
