//! The change feed: the ordered PDQ additions and removals (and video
//! entries added and removed) that each instance applies to its in-memory
//! indexes, and its pruning.

use nigehbaan_pdq::Hash256;
use nigehbaan_video::FrameHash;

use crate::db::{write_tx, Conn, DbError, V};

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// A PDQ hash (images).
    Pdq(Hash256),
    /// A video entry, by id (its frames are read from the entry).
    Video(i64),
}

/// One change to the set of PDQ hashes or video entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Position in the feed.
    pub seq: i64,
    /// True: added; false: no entry holds the hash any more, or the video
    /// entry was removed.
    pub add: bool,
    /// The hash or the video entry.
    pub what: Changed,
}

/// Feed `op` values (0: a PDQ hash no entry holds any more).
pub(crate) const OP_PDQ_ADDED: i64 = 1;
pub(crate) const OP_VIDEO_ADDED: i64 = 2;
pub(crate) const OP_VIDEO_REMOVED: i64 = 3;

/// Changes after `seq`, in order, at most `limit`.
pub fn changes_since(c: &mut dyn Conn, seq: i64, limit: i64) -> Result<Vec<Change>, DbError> {
    let rows = c.query(
        "SELECT seq, op, pdq, entry_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        &[V::I(seq), V::I(limit)],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let op = r[1].i();
            let what = match op {
                OP_VIDEO_ADDED | OP_VIDEO_REMOVED => Changed::Video(r[3].i()),
                _ => {
                    let b: &[u8; 32] = r[2].opt_b()?.try_into().ok()?;
                    Changed::Pdq(Hash256::from_bytes(b))
                }
            };
            Some(Change {
                seq: r[0].i(),
                add: op == OP_PDQ_ADDED || op == OP_VIDEO_ADDED,
                what,
            })
        })
        .collect())
}

/// Feed rows removing the video entries of `bank_id` (run before
/// deleting them).
pub(crate) fn feed_bank_video_removal(c: &mut dyn Conn, bank_id: i64) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO changes (op, pdq, entry_id) SELECT {OP_VIDEO_REMOVED}, {}, id FROM entries WHERE bank_id = $1 AND vpdq IS NOT NULL ORDER BY id",
        crate::db::empty_blob(c.engine())
    );
    c.exec(&sql, &[V::I(bank_id)])?;
    Ok(())
}

/// Feed rows adding the video entries of `bank_id` whose id is over
/// `after` (the entries just inserted under the write lock).
pub(crate) fn feed_video_added(c: &mut dyn Conn, bank_id: i64, after: i64) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO changes (op, pdq, entry_id) SELECT {OP_VIDEO_ADDED}, {}, id FROM entries WHERE bank_id = $1 AND id > $2 AND vpdq IS NOT NULL ORDER BY id",
        crate::db::empty_blob(c.engine())
    );
    c.exec(&sql, &[V::I(bank_id), V::I(after)])?;
    Ok(())
}

/// Feed row: the video entry `id` was removed.
pub(crate) fn feed_video_removed(c: &mut dyn Conn, id: i64) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO changes (op, pdq, entry_id) VALUES ({OP_VIDEO_REMOVED}, {}, $1)",
        crate::db::empty_blob(c.engine())
    );
    c.exec(&sql, &[V::I(id)])?;
    Ok(())
}

/// The largest entry id (0 when none): entries inserted after it under the
/// write lock have larger ids.
pub(crate) fn max_entry_id(c: &mut dyn Conn) -> Result<i64, DbError> {
    let r = c.query("SELECT MAX(id) FROM entries", &[])?;
    Ok(r.first().map_or(0, |r| r[0].i()))
}

/// Every video entry's frames, for a full load (a damaged blob is left out
/// with a warning).
pub fn all_video(c: &mut dyn Conn) -> Result<Vec<(i64, Vec<FrameHash>)>, DbError> {
    let rows = c.query(
        "SELECT id, vpdq FROM entries WHERE vpdq IS NOT NULL ORDER BY id",
        &[],
    )?;
    Ok(videos_of(rows))
}

/// The frames of the given video entries that still exist.
pub fn video_frames(c: &mut dyn Conn, ids: &[i64]) -> Result<Vec<(i64, Vec<FrameHash>)>, DbError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, vpdq FROM entries WHERE vpdq IS NOT NULL AND id IN ({}) ORDER BY id",
            marks.join(",")
        );
        let params: Vec<V> = chunk.iter().map(|&i| V::I(i)).collect();
        out.extend(videos_of(c.query(&sql, &params)?));
    }
    Ok(out)
}

fn videos_of(rows: Vec<crate::db::Row>) -> Vec<(i64, Vec<FrameHash>)> {
    rows.into_iter()
        .filter_map(|r| {
            let id = r[0].i();
            match r[1].opt_b().and_then(crate::video::decode) {
                Some(frames) => Some((id, frames)),
                None => {
                    tracing::warn!(
                        entry = id,
                        "a video entry's frames are damaged; not indexed"
                    );
                    None
                }
            }
        })
        .collect()
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
