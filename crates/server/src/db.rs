//! The database layer: one small synchronous interface over SQLite
//! (rusqlite) and PostgreSQL (the `postgres` client), a connection pool, and
//! the versioned migrations for both.
//!
//! SQL is written once with `$1`-style placeholders, which both engines
//! accept (SQLite numbers `$name` parameters by first appearance, so they
//! must appear in ascending order). Calls block: the service makes them on
//! tokio's blocking threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use postgres::types::{to_sql_checked, IsNull, ToSql, Type};

/// A value passed to or read from SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V {
    /// NULL.
    Null,
    /// An integer (booleans are 0/1).
    I(i64),
    /// Text.
    T(String),
    /// Bytes.
    B(Vec<u8>),
}

impl V {
    /// The integer, or 0.
    pub fn i(&self) -> i64 {
        match self {
            V::I(i) => *i,
            _ => 0,
        }
    }
    /// The text, or "".
    pub fn t(&self) -> String {
        match self {
            V::T(s) => s.clone(),
            _ => String::new(),
        }
    }
    /// The text, if any.
    pub fn opt_t(&self) -> Option<String> {
        match self {
            V::T(s) => Some(s.clone()),
            _ => None,
        }
    }
    /// The bytes, if any.
    pub fn opt_b(&self) -> Option<&[u8]> {
        match self {
            V::B(b) => Some(b),
            _ => None,
        }
    }
    /// Optional bytes as a value.
    pub fn from_opt_b(b: Option<&[u8]>) -> V {
        b.map_or(V::Null, |b| V::B(b.to_vec()))
    }
    /// Optional text as a value.
    pub fn from_opt_t(t: Option<&str>) -> V {
        t.map_or(V::Null, |t| V::T(t.to_string()))
    }
}

/// One result row.
pub type Row = Vec<V>;

/// Why a database operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite failed.
    Sqlite(rusqlite::Error),
    /// PostgreSQL failed.
    Postgres(postgres::Error),
    /// The PostgreSQL URL cannot be parsed.
    BadUrl(postgres::Error),
    /// No SQLite database file at this path (and none is to be made).
    NoDatabase(std::path::PathBuf),
    /// The named PostgreSQL schema does not exist.
    NoSchema(String),
    /// The database has no Nigehbaan schema version.
    NotServiceDatabase,
    /// The schema is older than this build's and must be migrated first.
    SchemaOlder {
        /// The database's version.
        have: usize,
        /// This build's.
        need: usize,
    },
    /// The schema is newer than this build knows.
    SchemaNewer {
        /// The database's version.
        have: usize,
        /// The newest this build knows.
        known: usize,
    },
    /// The database file could not be created or made private.
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The system's random source failed.
    Random(getrandom::Error),
    /// A write needs an audit record but the connection has no audit key.
    NoAuditKey,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("database: ")?;
        match self {
            DbError::Sqlite(e) => e.fmt(f),
            DbError::Postgres(e) => e.fmt(f),
            DbError::BadUrl(e) => write!(f, "bad PostgreSQL URL: {e}"),
            DbError::NoDatabase(p) => write!(f, "no database at {}", p.display()),
            DbError::NoSchema(s) => write!(f, "no schema {s:?} in the database"),
            DbError::NotServiceDatabase => {
                f.write_str("this is not a Nigehbaan service database (no schema version)")
            }
            DbError::SchemaOlder { have, need } => write!(
                f,
                "the database schema is version {have}; this build needs {need} (start the service once to migrate it)"
            ),
            DbError::SchemaNewer { have, known } => write!(
                f,
                "the database schema is version {have}; this build knows up to {known}"
            ),
            DbError::File { path, source } => write!(f, "{}: {source}", path.display()),
            DbError::Random(e) => write!(f, "random: {e}"),
            DbError::NoAuditKey => f.write_str(
                "no audit key is configured for this connection; refusing to write an unkeyed audit record",
            ),
        }
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DbError::Sqlite(e) => Some(e),
            DbError::Postgres(e) | DbError::BadUrl(e) => Some(e),
            DbError::File { source, .. } => Some(source),
            DbError::Random(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Sqlite(e)
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        DbError::Postgres(e)
    }
}

/// Which engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, one file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// One connection.
pub trait Conn: Send {
    /// Runs a statement; returns the rows changed.
    fn exec(&mut self, sql: &str, params: &[V]) -> Result<u64, DbError>;
    /// Runs a query.
    fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Row>, DbError>;
    /// Runs several statements without parameters.
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
    /// The engine.
    fn engine(&self) -> Engine;
    /// The audit chain this connection writes with (`None`: it may not
    /// write audit records).
    fn audit_chain(&self) -> Option<&crate::audit::Chain> {
        None
    }
    /// Notes the audit record the open transaction wrote.
    fn audit_written(&mut self, _head: crate::audit::Head) {}
    /// Called after a write transaction committed or rolled back.
    fn transaction_ended(&mut self, _committed: bool) {}
}

/// A connection with the audit chain it writes with.
struct Keyed {
    conn: Box<dyn Conn>,
    chain: crate::audit::Chain,
    pending: Option<crate::audit::Head>,
}

impl Conn for Keyed {
    fn exec(&mut self, sql: &str, params: &[V]) -> Result<u64, DbError> {
        self.conn.exec(sql, params)
    }
    fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Row>, DbError> {
        self.conn.query(sql, params)
    }
    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.batch(sql)
    }
    fn engine(&self) -> Engine {
        self.conn.engine()
    }
    fn audit_chain(&self) -> Option<&crate::audit::Chain> {
        Some(&self.chain)
    }
    fn audit_written(&mut self, head: crate::audit::Head) {
        self.pending = Some(head);
    }
    fn transaction_ended(&mut self, committed: bool) {
        if let Some(h) = self.pending.take() {
            if committed {
                self.chain.committed(&h);
            }
        }
    }
}

impl Conn for rusqlite::Connection {
    fn exec(&mut self, sql: &str, params: &[V]) -> Result<u64, DbError> {
        let mut st = self.prepare_cached(sql)?;
        Ok(st.execute(rusqlite::params_from_iter(params.iter().map(lite)))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Row>, DbError> {
        let mut st = self.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(params.iter().map(lite)))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                use rusqlite::types::ValueRef;
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => V::Null,
                    ValueRef::Integer(i) => V::I(i),
                    ValueRef::Real(f) => V::I(f as i64),
                    ValueRef::Text(t) => V::T(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => V::B(b.to_vec()),
                });
            }
            out.push(row);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.execute_batch(sql)?)
    }

    fn engine(&self) -> Engine {
        Engine::Sqlite
    }
}

fn lite(v: &V) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match v {
        V::Null => Value::Null,
        V::I(i) => Value::Integer(*i),
        V::T(s) => Value::Text(s.clone()),
        V::B(b) => Value::Blob(b.clone()),
    }
}

impl ToSql for V {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            V::Null => Ok(IsNull::Yes),
            V::I(i) => match *ty {
                Type::INT4 => (*i as i32).to_sql(ty, out),
                Type::INT2 => (*i as i16).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            V::T(s) => s.to_sql(ty, out),
            V::B(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A PostgreSQL connection that reconnects when its connection dropped.
pub struct PgConn {
    url: String,
    schema: Option<String>,
    client: Option<postgres::Client>,
}

impl PgConn {
    /// Connects to `url`, using `schema` (created if missing) when given.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<PgConn, DbError> {
        let mut c = PgConn {
            url: url.to_string(),
            schema: schema.map(str::to_string),
            client: None,
        };
        c.client()?;
        Ok(c)
    }

    fn client(&mut self) -> Result<&mut postgres::Client, DbError> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            let mut cfg: postgres::Config = self.url.parse().map_err(DbError::BadUrl)?;
            cfg.connect_timeout(Duration::from_secs(5));
            let mut client = cfg.connect(postgres::NoTls)?;
            if let Some(s) = &self.schema {
                let q = quote_ident(s);
                client.batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {q}; SET search_path TO {q}"
                ))?;
            }
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("just connected"))
    }
}

/// Quotes an SQL identifier.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn pg_params(params: &[V]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Conn for PgConn {
    fn exec(&mut self, sql: &str, params: &[V]) -> Result<u64, DbError> {
        Ok(self.client()?.execute(sql, &pg_params(params))?)
    }

    fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Row>, DbError> {
        let rows = self.client()?.query(sql, &pg_params(params))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut row = Vec::with_capacity(r.len());
            for (i, col) in r.columns().iter().enumerate() {
                let v = match *col.type_() {
                    Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(V::I),
                    Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(|x| V::I(x.into())),
                    Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(|x| V::I(x.into())),
                    Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(|x| V::I(x.into())),
                    Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map(V::B),
                    _ => r.try_get::<_, Option<String>>(i)?.map(V::T),
                };
                row.push(v.unwrap_or(V::Null));
            }
            out.push(row);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.client()?.batch_execute(sql)?)
    }

    fn engine(&self) -> Engine {
        Engine::Postgres
    }
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbConfig {
    /// A SQLite file (created when missing).
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://user@host/db` or key=value form) and
    /// an optional schema.
    Postgres {
        /// The connection URL.
        url: String,
        /// The schema to use (created when missing); the default search
        /// path when `None`.
        schema: Option<String>,
    },
}

/// Opens one connection to a database that must exist already, without
/// creating, migrating or writing anything (SQLite is opened read-only; a
/// PostgreSQL schema must exist). For commands that only read.
pub fn connect_existing(cfg: &DbConfig) -> Result<Box<dyn Conn>, DbError> {
    let mut c: Box<dyn Conn> = match cfg {
        DbConfig::Sqlite(path) => {
            if !path.is_file() {
                return Err(DbError::NoDatabase(path.clone()));
            }
            let c = rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            c.busy_timeout(Duration::from_secs(30))?;
            Box::new(c)
        }
        DbConfig::Postgres { url, schema } => {
            let mut c = PgConn::connect(url, None)?;
            if let Some(s) = schema {
                let found = c.query(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1",
                    &[V::T(s.clone())],
                )?;
                if found.is_empty() {
                    return Err(DbError::NoSchema(s.clone()));
                }
                c.batch(&format!("SET search_path TO {}", quote_ident(s)))?;
            }
            Box::new(c)
        }
    };
    let have = match c.query("SELECT MAX(version) FROM schema_version", &[]) {
        Ok(r) => r.first().map_or(0, |r| r[0].i()) as usize,
        Err(_) => 0,
    };
    if have == 0 {
        return Err(DbError::NotServiceDatabase);
    }
    if have != MIGRATIONS.len() {
        return Err(DbError::SchemaOlder {
            have,
            need: MIGRATIONS.len(),
        });
    }
    Ok(c)
}

/// Creates a new SQLite database file readable by its owner alone (0600,
/// whatever the umask): it holds hash lists and API key hashes. SQLite
/// gives its `-wal` and `-shm` files the database file's permissions. An
/// existing file is left as it is.
fn create_private_db(path: &std::path::Path) -> Result<(), DbError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    match o.open(path) {
        Ok(f) => {
            #[cfg(unix)]
            f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .map_err(|source| DbError::File {
                    path: path.to_path_buf(),
                    source,
                })?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(DbError::File {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Opens one connection.
pub fn connect(cfg: &DbConfig) -> Result<Box<dyn Conn>, DbError> {
    match cfg {
        DbConfig::Sqlite(path) => {
            create_private_db(path)?;
            let c = rusqlite::Connection::open(path)?;
            c.busy_timeout(Duration::from_secs(30))?;
            c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
            Ok(Box::new(c))
        }
        DbConfig::Postgres { url, schema } => {
            Ok(Box::new(PgConn::connect(url, schema.as_deref())?))
        }
    }
}

/// A fixed set of connections.
pub struct Pool {
    conns: Vec<Mutex<Box<dyn Conn>>>,
    next: AtomicUsize,
    engine: Engine,
}

impl Pool {
    /// Opens `size` connections and runs the migrations. Its connections
    /// cannot write audit records: see [`Pool::open_keyed`].
    pub fn open(cfg: &DbConfig, size: usize) -> Result<Pool, DbError> {
        Pool::open_with(cfg, size, None)
    }

    /// Opens `size` connections that write audit records with `chain`,
    /// and runs the migrations.
    pub fn open_keyed(
        cfg: &DbConfig,
        size: usize,
        chain: crate::audit::Chain,
    ) -> Result<Pool, DbError> {
        Pool::open_with(cfg, size, Some(chain))
    }

    fn open_with(
        cfg: &DbConfig,
        size: usize,
        chain: Option<crate::audit::Chain>,
    ) -> Result<Pool, DbError> {
        let wrap = |c: Box<dyn Conn>| -> Box<dyn Conn> {
            match &chain {
                Some(ch) => Box::new(Keyed {
                    conn: c,
                    chain: ch.clone(),
                    pending: None,
                }),
                None => c,
            }
        };
        let mut first = connect(cfg)?;
        migrate(first.as_mut())?;
        let engine = first.engine();
        let mut conns = vec![Mutex::new(wrap(first))];
        for _ in 1..size.max(1) {
            conns.push(Mutex::new(wrap(connect(cfg)?)));
        }
        Ok(Pool {
            conns,
            next: AtomicUsize::new(0),
            engine,
        })
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A free connection, or waits for one. Blocks.
    pub fn get(&self) -> MutexGuard<'_, Box<dyn Conn>> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            if let Ok(g) = self.conns[(start + k) % n].try_lock() {
                return g;
            }
        }
        self.conns[start % n]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs `f` in a transaction that holds the database's write lock
/// (SQLite `BEGIN IMMEDIATE`; a PostgreSQL transaction-scoped advisory
/// lock), so that writers, change sequence numbers and audit records are
/// strictly ordered. Rolled back when `f` fails.
pub fn write_tx<T, E: From<DbError>>(
    c: &mut dyn Conn,
    f: impl FnOnce(&mut dyn Conn) -> Result<T, E>,
) -> Result<T, E> {
    match c.engine() {
        Engine::Sqlite => c.batch("BEGIN IMMEDIATE")?,
        Engine::Postgres => {
            c.batch("BEGIN")?;
            if let Err(e) = c.exec("SELECT pg_advisory_xact_lock(7206185)", &[]) {
                let _ = c.batch("ROLLBACK");
                return Err(e.into());
            }
        }
    }
    match f(c) {
        Ok(v) => match c.batch("COMMIT") {
            Ok(()) => {
                c.transaction_ended(true);
                Ok(v)
            }
            Err(e) => {
                let _ = c.batch("ROLLBACK");
                c.transaction_ended(false);
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = c.batch("ROLLBACK");
            c.transaction_ended(false);
            Err(e)
        }
    }
}

/// The migrations, in order, in SQLite's dialect; [`pg_dialect`] turns
/// them into PostgreSQL's. Never edit a released one: append.
pub const MIGRATIONS: &[&str] = &[
    // 1: banks, entries, the change feed, keys, the audit log.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE banks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  entry_count INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  bank_id INTEGER NOT NULL,
  md5 BLOB, sha1 BLOB, sha256 BLOB, pdq BLOB,
  pdq_quality INTEGER,
  category_scheme TEXT, category_code TEXT,
  status TEXT NOT NULL,
  external_id TEXT,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL);
CREATE INDEX entries_bank ON entries (bank_id);
CREATE INDEX entries_md5 ON entries (md5) WHERE md5 IS NOT NULL;
CREATE INDEX entries_sha1 ON entries (sha1) WHERE sha1 IS NOT NULL;
CREATE INDEX entries_sha256 ON entries (sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX entries_pdq ON entries (pdq) WHERE pdq IS NOT NULL;
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  op INTEGER NOT NULL,
  pdq BLOB NOT NULL);
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  key_hash BLOB NOT NULL UNIQUE,
  rate_limit INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER);
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);",
    // 2: per-key batch radius caps, and staging for imports committed in
    // batches and swapped in at once. (The keyed audit chain starts at
    // the record `meta.audit_keyed_from`, set by `migrate`.)
    "ALTER TABLE api_keys ADD COLUMN max_batch_threshold INTEGER;
CREATE TABLE imports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  bank TEXT NOT NULL,
  started_at INTEGER NOT NULL);
CREATE TABLE import_staging (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  import_id INTEGER NOT NULL,
  md5 BLOB, sha1 BLOB, sha256 BLOB, pdq BLOB,
  pdq_quality INTEGER,
  category_scheme TEXT, category_code TEXT,
  status TEXT NOT NULL,
  external_id TEXT);
CREATE INDEX import_staging_import ON import_staging (import_id, seq);",
    // 3: video entries. An entry may carry a vPDQ frame set (a blob, see
    // `crate::video`); the change feed names video entries by id (op 2:
    // added, 3: removed; their `pdq` is empty).
    "ALTER TABLE entries ADD COLUMN vpdq BLOB;
ALTER TABLE import_staging ADD COLUMN vpdq BLOB;
ALTER TABLE changes ADD COLUMN entry_id INTEGER;
CREATE INDEX entries_video ON entries (id) WHERE vpdq IS NOT NULL;",
];

/// An empty blob literal in the engine's dialect (the `pdq` of a video
/// change-feed row).
pub fn empty_blob(e: Engine) -> &'static str {
    match e {
        Engine::Sqlite => "X''",
        Engine::Postgres => "'\\x'::bytea",
    }
}

/// SQLite DDL to PostgreSQL DDL (the few differences the migrations use).
pub fn pg_dialect(sql: &str) -> String {
    sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
        .replace("INTEGER", "BIGINT")
        .replace("BLOB", "BYTEA")
}

/// Brings the schema up to date, under the write lock so that several
/// replicas starting together migrate once. A random database identity is
/// recorded on first use (it ties index snapshots to their database).
pub fn migrate(c: &mut dyn Conn) -> Result<(), DbError> {
    write_tx(c, |c| {
        c.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
        let rows = c.query("SELECT MAX(version) FROM schema_version", &[])?;
        let have = rows.first().map_or(0, |r| r[0].i()) as usize;
        if have > MIGRATIONS.len() {
            return Err(DbError::SchemaNewer {
                have,
                known: MIGRATIONS.len(),
            });
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(have) {
            match c.engine() {
                Engine::Sqlite => c.batch(m)?,
                Engine::Postgres => c.batch(&pg_dialect(m))?,
            }
            c.exec(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[V::I(i as i64 + 1)],
            )?;
            if i + 1 == 2 {
                // Records written before the chain was keyed stay plain
                // SHA-256; every later one is keyed.
                let next = c.query("SELECT MAX(seq) FROM audit_log", &[])?;
                let from = next.first().map_or(0, |r| r[0].i()) + 1;
                c.exec(
                    "INSERT INTO meta (key, value) VALUES ('audit_keyed_from', $1)",
                    &[V::T(from.to_string())],
                )?;
            }
        }
        let id = c.query("SELECT value FROM meta WHERE key = 'db_id'", &[])?;
        if id.is_empty() {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).map_err(DbError::Random)?;
            let v = (u64::from_le_bytes(b) >> 1).max(1);
            c.exec(
                "INSERT INTO meta (key, value) VALUES ('db_id', $1)",
                &[V::T(v.to_string())],
            )?;
        }
        Ok(())
    })
}

#[cfg(all(test, unix))]
mod private_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_sqlite_database_is_private() {
        let dir = std::env::temp_dir().join(format!("nigehbaan-db-mode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("service.db");
        let c = connect(&DbConfig::Sqlite(path.clone())).unwrap();
        drop(c);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
