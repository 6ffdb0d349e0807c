//! API keys as stored: only each key's SHA-256, its role, rate limit and
//! batch cap (re-exported by [`crate::store`]).

use nigehbaan_lists::hex;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db::{write_tx, Conn, DbError, V};
use crate::store::{audit, now, Role, StoreError};

/// A stored API key (never the key itself).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key id.
    pub id: i64,
    /// A label.
    pub name: String,
    /// The role.
    pub role: String,
    /// Requests per second allowed (token bucket; burst the same).
    pub rate_limit: i64,
    /// Created, seconds since the Unix epoch.
    pub created_at: i64,
    /// Revoked, if it was.
    pub revoked_at: Option<i64>,
    /// The largest batch-lookup threshold the key may ask for (`None`: the
    /// service's default for its role).
    pub max_batch_threshold: Option<i64>,
    /// SHA-256 of the key.
    #[serde(skip)]
    pub hash: Vec<u8>,
}

/// SHA-256 of an API key, as stored.
pub fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Creates a key; returns its id and the key, which is shown once and
/// stored only as its SHA-256.
pub fn create_key(
    c: &mut dyn Conn,
    actor: &str,
    name: &str,
    role: Role,
    rate_limit: i64,
    max_batch_threshold: Option<u32>,
) -> Result<(i64, String), StoreError> {
    if max_batch_threshold.is_some_and(|t| t > nigehbaan_index::MAX_RADIUS) {
        return Err(StoreError::Invalid(format!(
            "max_batch_threshold is at most {}",
            nigehbaan_index::MAX_RADIUS
        )));
    }
    if name.trim().is_empty() || name.len() > 200 {
        return Err(StoreError::Invalid(
            "a key needs a name of 1 to 200 characters".into(),
        ));
    }
    if rate_limit < 1 {
        return Err(StoreError::Invalid(
            "the rate limit must be at least 1 request/s".into(),
        ));
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| StoreError::Db(DbError::Random(e)))?;
    let key = format!("ngb_{}", hex::encode(&raw));
    let id = write_tx(c, |c| -> Result<i64, StoreError> {
        let rows = c.query(
            "INSERT INTO api_keys (name, role, key_hash, rate_limit, created_at, max_batch_threshold) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                V::T(name.into()),
                V::T(role.name().into()),
                V::B(key_hash(&key).to_vec()),
                V::I(rate_limit),
                V::I(now()),
                max_batch_threshold.map_or(V::Null, |t| V::I(t.into())),
            ],
        )?;
        let id = rows.first().map_or(0, |r| r[0].i());
        audit(
            c,
            actor,
            "key.create",
            json!({"id": id, "name": name, "role": role.name(), "rate_limit": rate_limit, "max_batch_threshold": max_batch_threshold}),
        )?;
        Ok(id)
    })?;
    Ok((id, key))
}

/// Every key, revoked ones included.
pub fn list_keys(c: &mut dyn Conn) -> Result<Vec<KeyInfo>, DbError> {
    let rows = c.query(
        "SELECT id, name, role, rate_limit, created_at, revoked_at, key_hash, max_batch_threshold FROM api_keys ORDER BY id",
        &[],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| KeyInfo {
            id: r[0].i(),
            name: r[1].t(),
            role: r[2].t(),
            rate_limit: r[3].i(),
            created_at: r[4].i(),
            revoked_at: match r[5] {
                V::I(t) => Some(t),
                _ => None,
            },
            hash: r[6].opt_b().unwrap_or_default().to_vec(),
            max_batch_threshold: match r[7] {
                V::I(t) => Some(t),
                _ => None,
            },
        })
        .collect())
}

/// Revokes a key.
pub fn revoke_key(c: &mut dyn Conn, actor: &str, id: i64) -> Result<(), StoreError> {
    write_tx(c, |c| {
        let n = c.exec(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[V::I(now()), V::I(id)],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("no active key with id {id}")));
        }
        audit(c, actor, "key.revoke", json!({"id": id}))?;
        Ok(())
    })
}
