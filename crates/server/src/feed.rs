//! The change feed: the ordered PDQ additions and removals that each
//! instance applies to its in-memory index, and its pruning.

use nigehbaan_pdq::Hash256;

use crate::db::{write_tx, Conn, DbError, V};

/// One change to the set of PDQ hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Position in the feed.
    pub seq: i64,
    /// True: the hash was added; false: no entry holds it any more.
    pub add: bool,
    /// The hash.
    pub pdq: Hash256,
}

/// Changes after `seq`, in order, at most `limit`.
pub fn changes_since(c: &mut dyn Conn, seq: i64, limit: i64) -> Result<Vec<Change>, DbError> {
    let rows = c.query(
        "SELECT seq, op, pdq FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        &[V::I(seq), V::I(limit)],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let b: &[u8; 32] = r[2].opt_b()?.try_into().ok()?;
            Some(Change {
                seq: r[0].i(),
                add: r[1].i() != 0,
                pdq: Hash256::from_bytes(b),
            })
        })
        .collect())
}

/// The last change's position (0 when none).
pub fn last_change(c: &mut dyn Conn) -> Result<i64, DbError> {
    let r = c.query("SELECT MAX(seq) FROM changes", &[])?;
    Ok(r.first().map_or(0, |r| r[0].i()))
}

/// The oldest change-feed position still kept: changes before it were
/// pruned by [`prune_feed`] (1 when nothing was).
pub fn feed_floor(c: &mut dyn Conn) -> Result<i64, DbError> {
    let r = c.query("SELECT value FROM meta WHERE key = 'feed_floor'", &[])?;
    Ok(r.first().and_then(|r| r[0].t().parse().ok()).unwrap_or(1))
}

/// Deletes the change-feed entries older than the newest `keep` (at least
/// one is kept) and records the new floor, in one transaction. An instance
/// whose position falls below the floor reloads every hash from the
/// entries (see `App::sync`), so pruning never loses a change; it only
/// makes a far-behind replica, or a restart from an old snapshot, load in
/// full. Returns the new floor when it moved.
pub fn prune_feed(c: &mut dyn Conn, keep: i64) -> Result<Option<i64>, DbError> {
    write_tx(c, |c| {
        let floor = last_change(c)? - keep.max(1) + 1;
        if floor <= feed_floor(c)? {
            return Ok(None);
        }
        c.exec("DELETE FROM changes WHERE seq < $1", &[V::I(floor)])?;
        c.exec("DELETE FROM meta WHERE key = 'feed_floor'", &[])?;
        c.exec(
            "INSERT INTO meta (key, value) VALUES ('feed_floor', $1)",
            &[V::T(floor.to_string())],
        )?;
        Ok(Some(floor))
    })
}

/// Every PDQ hash held by any entry, for a full index load, with the feed
/// position it is at least as new as.
pub fn all_pdq(c: &mut dyn Conn) -> Result<(Vec<Hash256>, i64), DbError> {
    let seq = last_change(c)?;
    let rows = c.query(
        "SELECT DISTINCT pdq FROM entries WHERE pdq IS NOT NULL",
        &[],
    )?;
    let hashes = rows
        .iter()
        .filter_map(|r| r[0].opt_b()?.try_into().ok().map(Hash256::from_bytes))
        .collect();
    Ok((hashes, seq))
}
