//! The keyed audit chain: its key, kept in a file outside the database,
//! and its head, written after every commit to a file a database writer
//! cannot change.
//!
//! Each record's `hash` is HMAC-SHA-256, under the audit key, of an
//! unambiguous JSON array of the previous record's hash and the record's
//! fields. Someone who can write to the database but cannot read the key
//! file cannot recompute the chain after editing a record; dropping the
//! newest records is found against the head file, which names the newest
//! record this instance wrote and its hash.
//!
//! What it does not prove: someone who can read the key file can rewrite
//! the whole chain, and someone who can also write the head file can hide
//! a truncation. With several replicas each keeps its own head file, which
//! covers the records up to the last one that replica wrote.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use nigehbaan_lists::hex;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::db::{Conn, DbError, V};
use crate::store::now;

/// Why the audit key or head file could not be used.
#[derive(Debug)]
pub enum AuditError {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The key file does not hold 64 hex digits.
    BadKey {
        /// The key file.
        path: PathBuf,
    },
    /// The head file is not a head this build wrote.
    BadHead {
        /// The head file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The system's random source failed.
    Random(String),
}

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            AuditError::BadKey { path } => write!(
                f,
                "{}: not an audit key (64 hex digits expected)",
                path.display()
            ),
            AuditError::BadHead { path, reason } => {
                write!(f, "{}: not an audit head file: {reason}", path.display())
            }
            AuditError::Random(e) => write!(f, "random source: {e}"),
        }
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuditError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// HMAC-SHA-256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The secret that keys the audit chain.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    /// A key from its bytes.
    pub fn from_bytes(b: [u8; 32]) -> AuditKey {
        AuditKey(b)
    }

    /// Reads the key file.
    pub fn load(path: &Path) -> Result<AuditKey, AuditError> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let b = hex::decode_fixed::<32>(text.trim()).map_err(|_| AuditError::BadKey {
            path: path.to_path_buf(),
        })?;
        Ok(AuditKey(b))
    }

    /// Reads the key file, or makes a new random key there (mode 0600,
    /// never replacing an existing file) when there is none.
    pub fn load_or_create(path: &Path) -> Result<AuditKey, AuditError> {
        if path.exists() {
            return AuditKey::load(path);
        }
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).map_err(|e| AuditError::Random(e.to_string()))?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        match opts.open(path) {
            Ok(mut f) => {
                f.write_all(format!("{}\n", hex::encode(&b)).as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(io(path))?;
                Ok(AuditKey(b))
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => AuditKey::load(path),
            Err(e) => Err(io(path)(e)),
        }
    }

    /// The hash of one record: HMAC-SHA-256 over the JSON array
    /// `[prev, seq, at, actor, action, detail]`, in hex.
    pub fn record_hash(
        &self,
        prev: &str,
        seq: i64,
        at: i64,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> String {
        let text = record_text(prev, seq, at, actor, action, detail);
        hex::encode(&hmac_sha256(&self.0, text.as_bytes()))
    }
}

/// The newest audit record an instance wrote, as kept in the head file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Head {
    /// Its position.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// The first record whose hash is keyed (older ones, from before the
    /// chain was keyed, are plain SHA-256).
    pub keyed_from: i64,
}

/// Reads a head file; `None` when there is none yet.
pub fn read_head(path: &Path) -> Result<Option<Head>, AuditError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| AuditError::BadHead {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Replaces the head file atomically (a new file renamed over it), mode
/// 0600.
pub fn write_head(path: &Path, head: &Head) -> Result<(), AuditError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let text = serde_json::to_string(head).unwrap_or_default();
    let r = opts
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r.map_err(io(path))
}

/// The audit key and head file one database connection writes with.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The key.
    pub key: AuditKey,
    /// Where the head goes (`None`: nowhere).
    pub head: Option<PathBuf>,
    written: std::sync::Arc<std::sync::Mutex<i64>>,
}

impl Chain {
    /// A chain keyed with `key` whose head goes to `head`.
    pub fn new(key: AuditKey, head: Option<PathBuf>) -> Chain {
        Chain {
            key,
            head,
            written: Default::default(),
        }
    }

    /// Records a committed head: the head file only ever moves forward.
    pub fn committed(&self, head: &Head) {
        let Some(path) = &self.head else {
            return;
        };
        let mut w = self.written.lock().unwrap_or_else(|e| e.into_inner());
        if head.seq <= *w {
            return;
        }
        if let Ok(Some(old)) = read_head(path) {
            if old.seq >= head.seq {
                *w = old.seq;
                return;
            }
        }
        match write_head(path, head) {
            Ok(()) => *w = head.seq,
            Err(e) => tracing::error!(error = %e, "cannot write the audit head"),
        }
    }
}

// ----------------------------------------------------------- the chain --

/// The hash of a record from before the chain was keyed: SHA-256 over
/// an unambiguous JSON array of the previous hash and the record's fields.
pub fn audit_hash(
    prev: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    detail: &str,
) -> String {
    let text = record_text(prev, seq, at, actor, action, detail);
    hex::encode(&Sha256::digest(text.as_bytes()))
}

/// What a record's hash covers: the JSON array `[prev, seq, at, actor,
/// action, detail]` (unambiguous however the fields are spelled).
fn record_text(prev: &str, seq: i64, at: i64, actor: &str, action: &str, detail: &str) -> String {
    json!([prev, seq, at, actor, action, detail]).to_string()
}

/// The `prev_hash` of the first record.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The first record whose hash is keyed (records before it were written
/// before the chain was keyed).
pub fn audit_keyed_from(c: &mut dyn Conn) -> Result<i64, DbError> {
    let r = c.query("SELECT value FROM meta WHERE key = 'audit_keyed_from'", &[])?;
    Ok(r.first().and_then(|r| r[0].t().parse().ok()).unwrap_or(1))
}

/// Appends an audit record, keyed with the connection's audit chain; call
/// inside a write transaction. A connection without a chain cannot write
/// one.
pub fn audit(c: &mut dyn Conn, actor: &str, action: &str, detail: Value) -> Result<(), DbError> {
    let Some(chain) = c.audit_chain().cloned() else {
        return Err(DbError::NoAuditKey);
    };
    let last = c.query(
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
    let (seq, prev) = match last.first() {
        Some(r) => (r[0].i() + 1, r[1].t()),
        None => (1, AUDIT_GENESIS.to_string()),
    };
    let at = now();
    let detail = detail.to_string();
    let hash = chain
        .key
        .record_hash(&prev, seq, at, actor, action, &detail);
    c.exec(
        "INSERT INTO audit_log (seq, at, actor, action, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            V::I(seq),
            V::I(at),
            V::T(actor.into()),
            V::T(action.into()),
            V::T(detail),
            V::T(prev),
            V::T(hash.clone()),
        ],
    )?;
    let keyed_from = audit_keyed_from(c)?;
    c.audit_written(Head {
        seq,
        hash,
        keyed_from,
    });
    Ok(())
}

/// One audit record.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// When, in seconds since the Unix epoch.
    pub at: i64,
    /// Who: `key:<id>:<name>` or `cli`.
    pub actor: String,
    /// What kind of change.
    pub action: String,
    /// The change's details (JSON text).
    pub detail: String,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// The audit records after `after`, at most `limit`.
pub fn audit_records(
    c: &mut dyn Conn,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, DbError> {
    let rows = c.query(
        "SELECT seq, at, actor, action, detail, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        &[V::I(after), V::I(limit)],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| AuditRecord {
            seq: r[0].i(),
            at: r[1].i(),
            actor: r[2].t(),
            action: r[3].t(),
            detail: r[4].t(),
            prev_hash: r[5].t(),
            hash: r[6].t(),
        })
        .collect())
}

/// The result of checking the audit chain.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditCheck {
    /// True when every record is intact and chained, and the log reaches
    /// the head file's record unchanged.
    pub ok: bool,
    /// Records checked.
    pub records: i64,
    /// The hash of the last record.
    pub head: String,
    /// The first broken record, if any.
    pub broken_at: Option<i64>,
    /// What is wrong with it.
    pub problem: Option<String>,
    /// Whether a head file was compared (without one, removing the newest
    /// records cannot be found).
    pub head_checked: bool,
    /// The record the head file names.
    pub head_seq: Option<i64>,
    /// The first keyed record (older ones are plain SHA-256 and protected
    /// only by the keyed records after them).
    pub keyed_from: i64,
}

/// Recomputes the whole chain with `key`, then compares the end of the
/// log with `head` (the head file's contents) when given.
pub fn verify_audit(
    c: &mut dyn Conn,
    key: &AuditKey,
    head: Option<&Head>,
) -> Result<AuditCheck, DbError> {
    let keyed_from = audit_keyed_from(c)?;
    let mut prev = AUDIT_GENESIS.to_string();
    let mut expect = 1;
    let mut hashes_at_head = None;
    let fail = |records: i64, head: String, at: i64, p: String| AuditCheck {
        ok: false,
        records,
        head,
        broken_at: Some(at),
        problem: Some(p),
        head_checked: false,
        head_seq: None,
        keyed_from,
    };
    loop {
        let page = audit_records(c, expect - 1, 10_000)?;
        if page.is_empty() {
            break;
        }
        for r in page {
            let want = if r.seq >= keyed_from {
                key.record_hash(&prev, r.seq, r.at, &r.actor, &r.action, &r.detail)
            } else {
                audit_hash(&prev, r.seq, r.at, &r.actor, &r.action, &r.detail)
            };
            let problem = if r.seq != expect {
                Some(format!("record {expect} is missing"))
            } else if r.prev_hash != prev {
                Some("prev_hash does not match the previous record".to_string())
            } else if want != r.hash {
                Some("contents do not match the record's hash (edited, or written without this audit key)".to_string())
            } else {
                None
            };
            if let Some(p) = problem {
                return Ok(fail(expect - 1, prev, expect, p));
            }
            if head.is_some_and(|h| h.seq == r.seq) {
                hashes_at_head = Some(r.hash.clone());
            }
            prev = r.hash;
            expect += 1;
        }
    }
    let records = expect - 1;
    if let Some(h) = head {
        let problem = if h.keyed_from != keyed_from {
            Some(format!(
                "the head file says the keyed chain starts at record {}, the database says {keyed_from}",
                h.keyed_from
            ))
        } else if records < h.seq {
            Some(format!(
                "the log ends at record {records} but the head file names record {}: records were removed",
                h.seq
            ))
        } else if hashes_at_head.as_deref() != Some(h.hash.as_str()) {
            Some(format!(
                "record {} does not have the hash the head file recorded",
                h.seq
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            let mut f = fail(records, prev, (records + 1).min(h.seq), p);
            f.head_checked = true;
            f.head_seq = Some(h.seq);
            return Ok(f);
        }
    }
    Ok(AuditCheck {
        ok: true,
        records,
        head: prev,
        broken_at: None,
        problem: None,
        head_checked: head.is_some(),
        head_seq: head.map(|h| h.seq),
        keyed_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test cases 1, 2 and 6 (a key longer than a block).
    #[test]
    fn hmac_matches_rfc_4231() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, msg, want) in cases {
            assert_eq!(hex::encode(&hmac_sha256(key, msg)), want);
        }
    }

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let a = AuditKey::load_or_create(&p).unwrap();
        let b = AuditKey::load_or_create(&p).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&p, "nope").unwrap();
        assert!(matches!(AuditKey::load(&p), Err(AuditError::BadKey { .. })));
    }

    #[test]
    fn head_file_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h");
        let c = Chain::new(AuditKey([1; 32]), Some(p.clone()));
        let h = |seq| Head {
            seq,
            hash: format!("{seq}"),
            keyed_from: 1,
        };
        c.committed(&h(5));
        c.committed(&h(3));
        assert_eq!(read_head(&p).unwrap(), Some(h(5)));
        c.committed(&h(6));
        assert_eq!(read_head(&p).unwrap(), Some(h(6)));
    }
}
