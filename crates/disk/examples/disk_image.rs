//! A small driver over the image layers, for benchmarks and manual checks:
//!
//! ```text
//! disk_image info    IMAGE...   container, metadata, volumes, unallocated
//! disk_image verify  IMAGE...   stream MD5/SHA-1, compare with stored
//! disk_image read    IMAGE...   stream every byte (throughput)
//! disk_image carve   IMAGE...   carve the whole disk, list items
//! ```

use nigehbaan_disk::carve::{CarveOptions, Carver};
use nigehbaan_disk::{open_image, ReadAt};
use std::time::Instant;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, paths)) = args.split_first() else {
        eprintln!("usage: disk_image info|verify|read|carve IMAGE...");
        std::process::exit(2);
    };
    let img = match open_image(paths) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let t = Instant::now();
    match cmd.as_str() {
        "info" => {
            println!(
                "container: {} ({} bytes, {} files)",
                img.kind().name(),
                img.len(),
                img.paths().len()
            );
            if let Some(a) = img.acquisition() {
                println!("acquisition: {a:?}");
            }
            for d in img.damage() {
                println!("damage: {d}");
            }
            for u in img.known_unreadable() {
                println!("unreadable: {u}");
            }
            let vs = img.volumes();
            println!("scheme: {}", vs.scheme.name());
            for v in &vs.volumes {
                println!(
                    "  p{}: {}+{} {}",
                    v.index,
                    v.start,
                    v.len,
                    v.type_description()
                );
            }
            for p in &vs.problems {
                println!("  problem: {p}");
            }
            for g in vs.unallocated_regions() {
                println!("  unallocated: {}..{}", g.start, g.end);
            }
        }
        "verify" => {
            let v = img.verify();
            let s = img.stored_hashes();
            println!(
                "stored   md5 {} sha1 {}",
                s.md5.map(|m| hex(&m)).unwrap_or_default(),
                s.sha1.map(|m| hex(&m)).unwrap_or_default()
            );
            println!(
                "computed md5 {} sha1 {}",
                hex(&v.computed.md5),
                hex(&v.computed.sha1)
            );
            for u in &v.computed.unreadable {
                println!("unreadable: {u}");
            }
            println!("verified: {}", v.verified());
        }
        "read" => {
            let r = img.reader();
            let mut buf = vec![0u8; 4 << 20];
            let mut at = 0u64;
            let mut x = 0u8;
            while at < r.len() {
                let n = r.read_at(at, &mut buf).unwrap_or(0).max(1);
                x ^= buf[n - 1];
                at += n as u64;
            }
            println!("read {at} bytes ({x})");
        }
        "carve" => {
            let r = img.reader();
            let mut opts = CarveOptions::default();
            if let Ok(k) = std::env::var("CARVE_KINDS") {
                opts.kinds
                    .retain(|x| k.split(',').any(|e| e == x.extension()));
            }
            for item in Carver::new(&*r, 0, r.len(), opts) {
                match item {
                    Ok(c) => println!(
                        "{:#x} {} {} complete={}",
                        c.offset,
                        c.len,
                        c.kind.extension(),
                        c.complete
                    ),
                    Err(u) => println!("unreadable: {u}"),
                }
            }
        }
        _ => {
            eprintln!("unknown command {cmd}");
            std::process::exit(2);
        }
    }
    let s = t.elapsed().as_secs_f64();
    eprintln!("{cmd}: {s:.2} s, {:.0} MB/s", img.len() as f64 / s / 1e6);
}
