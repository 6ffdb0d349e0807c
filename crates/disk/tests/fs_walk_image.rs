//! A manual measurement, not part of the test run: walks the file system
//! in the image named by `NIGEHBAAN_FS_IMAGE` (a bare file system, no
//! partition table), reads every file, and prints counts and timings.
//!
//! `NIGEHBAAN_FS_IMAGE=disk.img cargo test --release -p nigehbaan-disk
//! --test fs_walk_image -- --ignored --nocapture`

use std::sync::Arc;
use std::time::Instant;

use nigehbaan_disk::fs::{self, EntryKind};
use nigehbaan_disk::ReadAt;

#[test]
#[ignore]
fn walk_and_read_an_image() {
    let Ok(path) = std::env::var("NIGEHBAAN_FS_IMAGE") else {
        eprintln!("note: NIGEHBAAN_FS_IMAGE not set");
        return;
    };
    let r: Arc<dyn ReadAt> = Arc::new(std::fs::File::open(&path).unwrap());
    let t0 = Instant::now();
    let fs = fs::open(r).unwrap();
    let (mut files, mut deleted, mut errors) = (Vec::new(), 0, 0);
    fs.walk(&mut |e| match e {
        Ok(e) if e.kind == EntryKind::File => {
            deleted += e.deleted as usize;
            files.push(e);
        }
        Ok(_) => {}
        Err(_) => errors += 1,
    });
    let walk = t0.elapsed();
    let t1 = Instant::now();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    let mut read_errors = 0;
    for e in files.iter().filter(|e| !e.metadata) {
        let Ok(r) = fs.open_file(e) else {
            read_errors += 1;
            continue;
        };
        let mut at = 0;
        while at < r.len() {
            let n = (r.len() - at).min(buf.len() as u64) as usize;
            if r.read_exact_at(at, &mut buf[..n]).is_err() {
                read_errors += 1;
                break;
            }
            at += n as u64;
        }
        bytes += at;
    }
    let read = t1.elapsed();
    let t2 = Instant::now();
    let free: u64 = fs
        .unallocated()
        .map(|v| v.iter().map(|r| r.1).sum())
        .unwrap_or(0);
    eprintln!(
        "{}: {} files ({} deleted), {} walk errors, walk {:?}; read {} MB in {:?} ({} read errors); unallocated {} MB in {:?}",
        fs.kind(),
        files.len(),
        deleted,
        errors,
        walk,
        bytes >> 20,
        read,
        read_errors,
        free >> 20,
        t2.elapsed()
    );
}
