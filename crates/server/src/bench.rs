//! Benchmark set-up for `nigehbaan serve bench-seed`.

use nigehbaan_index::LivePdqIndex;

use crate::db::{self, DbError};
use crate::{open_pool, store, Config, StartError};

/// Benchmark set-up: adds `n` random PDQ hashes (seeded, benign by
/// construction) to a bank `bench` in transactions of 100k rows, without
/// change-feed rows, then writes the index snapshot from every PDQ hash in
/// the database, tagged with the current feed position, so that the next
/// start opens it directly. Returns the number of hashes in the snapshot.
pub fn seed_bench(config: &Config, n: usize, seed: u64) -> Result<usize, StartError> {
    use crate::db::V;
    let pool = open_pool(config, 1)?;
    let mut c = pool.get();
    let c = c.as_mut();
    let bank = match store::get_bank(c, "bench") {
        Ok(b) => b,
        Err(_) => store::create_bank(c, "cli", "bench", "benchmark hashes (random)", true)?,
    };
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let t = store::now();
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(100_000);
        db::write_tx(c, |c| -> Result<(), DbError> {
            let mut left = batch;
            while left > 0 {
                let rows = left.min(500);
                let mut sql = String::from(
                    "INSERT INTO entries (bank_id, pdq, status, created_at, created_by) VALUES ",
                );
                let mut params = Vec::with_capacity(rows * 5);
                for i in 0..rows {
                    if i > 0 {
                        sql.push(',');
                    }
                    let b = i * 5;
                    sql.push_str(&format!(
                        "(${},${},${},${},${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5
                    ));
                    let h = nigehbaan_pdq::Hash256([next(), next(), next(), next()]);
                    params.extend([
                        V::I(bank.id),
                        V::B(h.to_bytes().to_vec()),
                        V::T("notable".into()),
                        V::I(t),
                        V::T("bench-seed".into()),
                    ]);
                }
                c.exec(&sql, &params)?;
                left -= rows;
            }
            c.exec(
                "UPDATE banks SET entry_count = entry_count + $1 WHERE id = $2",
                &[V::I(batch as i64), V::I(bank.id)],
            )?;
            Ok(())
        })?;
        done += batch;
    }
    let db_id = store::db_id(c)?;
    let (hashes, seq) = store::all_pdq(c)?;
    if let Some(path) = &config.snapshot {
        let index = LivePdqIndex::new(&hashes);
        index
            .write_snapshot(path, [seq as u64, db_id])
            .map_err(|source| StartError::Snapshot {
                path: path.clone(),
                source,
            })?;
    }
    Ok(hashes.len())
}
