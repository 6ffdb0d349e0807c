//! What the index check costs at open: writes an HMA text list of N PDQ
//! hashes and M MD5s (pseudo-random, not digests of any file), imports it
//! into a library, then times opening it as `match` and `scan` do (map the
//! index, SHA-256 the mapped bytes against the manifest, read the layout)
//! against mapping and reading the layout alone, which is what opening did
//! before the check.
//!
//! ```text
//! cargo run --release -p nigehbaan-lists --example open_check -- N M DIR [import|open]
//! ```
//!
//! `import` only writes and imports; `open` only times the opens of a
//! library imported before (so the page cache can be dropped in between).
//! Default: both. Run the import under `/usr/bin/time -v` for its memory;
//! `collect` writes the list and reads it with `import_path`, which holds
//! every record in memory (what the library's import did before records
//! were streamed), for comparison.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use nigehbaan_index::store::Store;
use nigehbaan_index::{ExactSet, PdqIndex};
use nigehbaan_lists::library::{ImportRequest, Library, INDEX_FILE};
use nigehbaan_lists::ImportOptions;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn write_list(path: &Path, n: u64, m: u64) {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    for i in 0..n {
        let h: Vec<u64> = (0..4).map(|k| splitmix(4 * i + k)).collect();
        writeln!(
            w,
            "pdq {:016x}{:016x}{:016x}{:016x}",
            h[0], h[1], h[2], h[3]
        )
        .unwrap();
    }
    for i in 0..m {
        let (a, b) = (
            splitmix((1 << 40) | (2 * i)),
            splitmix((1 << 40) | (2 * i + 1)),
        );
        writeln!(w, "md5 {a:016x}{b:016x}").unwrap();
    }
    w.flush().unwrap();
}

/// CPU time this thread has run, in seconds (Linux; 0 elsewhere): the
/// wall time on a loaded machine includes waiting for a core.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(3..=4).contains(&args.len()) {
        eprintln!("usage: open_check N M DIR [import|open]");
        std::process::exit(2);
    }
    let n: u64 = args[0].parse().expect("N");
    let m: u64 = args[1].parse().expect("M");
    let dir = Path::new(&args[2]);
    let what = args.get(3).map(String::as_str).unwrap_or("both");
    let lib = Library::new(dir.join("lib"));
    if what == "collect" {
        std::fs::create_dir_all(dir).unwrap();
        let list = dir.join("list.txt");
        write_list(&list, n, m);
        let r = nigehbaan_lists::import_path(&list, &ImportOptions::new("list.txt", "big"))
            .expect("import");
        println!("collected {} records", r.records.len());
        std::fs::remove_file(&list).unwrap();
        return;
    }
    if what != "open" {
        std::fs::create_dir_all(dir).unwrap();
        let list = dir.join("list.txt");
        let t = Instant::now();
        write_list(&list, n, m);
        println!(
            "wrote {} ({:.2} GB) in {:.1}s",
            list.display(),
            std::fs::metadata(&list).unwrap().len() as f64 / 1e9,
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let req = ImportRequest {
            path: list.clone(),
            options: ImportOptions::new("list.txt", "big"),
            replace: true,
            min_quality: 0,
            compact_pdq: false,
        };
        let s = lib.import(&req).expect("import");
        println!(
            "imported {} records in {:.1}s; index {:.2} GB",
            s.manifest.record_count,
            t.elapsed().as_secs_f64(),
            s.manifest.index_bytes as f64 / 1e9
        );
        std::fs::remove_file(&list).unwrap();
    }
    if what == "import" {
        return;
    }
    let index = lib.dir().join("big").join(INDEX_FILE);
    for round in 0..3 {
        let t = Instant::now();
        // SAFETY: the index file is not modified while this example runs.
        let store = unsafe { Store::open(&index) }.expect("map");
        let pdq = PdqIndex::from_store(&store, 100).expect("pdq");
        let md5 = ExactSet::<16>::from_store(&store, 10).expect("md5");
        let before = t.elapsed().as_secs_f64();
        drop((pdq, md5, store));
        let (t, c) = (Instant::now(), cpu_s());
        let list = lib.open("big").expect("checked open");
        let (after, cpu) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        let gb = list.manifest.index_bytes as f64 / 1e9;
        println!(
            "round {round}: map + layout {before:.3}s; checked open {after:.3}s wall, {cpu:.3}s CPU \
             ({:.2} GB/s of CPU time over {gb:.2} GB)",
            gb / cpu
        );
    }
}
