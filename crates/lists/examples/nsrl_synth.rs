//! Writes a synthetic NIST NSRL RDSv3-style SQLite database (table `FILE`
//! with the full set's columns) for import benchmarks. The hashes are
//! pseudo-random bytes, not digests of any file; one row in four repeats an
//! earlier row's hashes under another name, as the full sets list one file
//! under many names.
//!
//! ```text
//! cargo run --release -p nigehbaan-lists --example nsrl_synth -- OUT.db ROWS
//! ```

use std::fmt::Write as _;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `bytes` pseudo-random bytes from `seed`, as upper-case hex.
fn hex(seed: u64, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes * 2);
    for i in 0..bytes.div_ceil(8) {
        let v = splitmix(seed.wrapping_mul(31).wrapping_add(i as u64));
        let take = (bytes - i * 8).min(8);
        for b in &v.to_be_bytes()[..take] {
            write!(s, "{b:02X}").expect("string write");
        }
    }
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: nsrl_synth OUT.db ROWS");
        std::process::exit(2);
    }
    let path = std::path::Path::new(&args[1]);
    let rows: u64 = args[2].parse().expect("ROWS is a whole number");
    let _ = std::fs::remove_file(path);
    let mut conn = rusqlite::Connection::open(path).expect("create the database");
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
         CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT,
                            file_name TEXT, file_size INTEGER, package_id INTEGER);",
    )
    .expect("create FILE");
    let tx = conn.transaction().expect("begin");
    {
        let mut ins = tx
            .prepare("INSERT INTO FILE VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .expect("prepare");
        for i in 0..rows {
            // One row in four repeats the hashes of an earlier row.
            let h = if i % 4 == 3 { i / 2 } else { i };
            let seed = h.wrapping_mul(4);
            ins.execute(rusqlite::params![
                hex(seed, 32),
                hex(seed + 1, 20),
                hex(seed + 2, 16),
                hex(seed + 3, 4),
                format!("file-{i}.dll"),
                (splitmix(i) % 10_000_000) as i64 + 1,
                (i % 50_000) as i64,
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
    println!("{}: {rows} rows", path.display());
}
