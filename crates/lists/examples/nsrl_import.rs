//! Imports an NSRL RDSv3 SQLite database (for example one written by the
//! `nsrl_synth` example) into a list library and prints the time taken; run
//! it under `/usr/bin/time -v` for the peak memory.
//!
//! ```text
//! cargo run --release -p nigehbaan-lists --example nsrl_import -- NSRL.db LIBRARY_DIR [RUN_MIB]
//! ```
//!
//! `RUN_MIB` sets the import's run budget (default 512 MiB).

use std::time::Instant;

use nigehbaan_lists::library::{ImportRequest, Library, DEFAULT_MIN_QUALITY};
use nigehbaan_lists::ImportOptions;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !(3..=4).contains(&args.len()) {
        eprintln!("usage: nsrl_import NSRL.db LIBRARY_DIR [RUN_MIB]");
        std::process::exit(2);
    }
    let path = std::path::PathBuf::from(&args[1]);
    let mut lib = Library::new(&args[2]);
    if let Some(mib) = args.get(3) {
        let mib: usize = mib.parse().expect("RUN_MIB is a whole number");
        lib = lib.with_import_run_bytes(mib << 20);
    }
    let req = ImportRequest {
        options: ImportOptions::new(&args[1], "nsrl"),
        path,
        replace: true,
        min_quality: DEFAULT_MIN_QUALITY,
        compact_pdq: false,
    };
    let start = Instant::now();
    let summary = lib.import(&req).unwrap_or_else(|e| {
        eprintln!("nsrl_import: {e}");
        std::process::exit(1);
    });
    let m = &summary.manifest;
    println!(
        "imported {} records ({:?}) in {:.1} s: records.jsonl {} bytes, index.nidx {} bytes",
        m.record_count,
        m.counts,
        start.elapsed().as_secs_f64(),
        m.records_bytes,
        m.index_bytes
    );
}
