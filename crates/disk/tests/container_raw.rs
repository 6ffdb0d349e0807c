//! Raw images: one file, and split images made by `split` (numbered and
//! lettered), with a missing middle segment, a short last segment, and a
//! later segment given instead of the first.

mod container_common;

use container_common::{benign_bytes, run, tempdir, tool};
use nigehbaan_disk::unreadable::Cause;
use nigehbaan_disk::{open_image, ContainerKind, ImageError, ReadAt, Unreadable};

const LEN: usize = 5 * 1024 * 1024 + 12_345;

#[test]
fn a_single_raw_file_reads_as_is_and_verifies_without_stored_hashes() {
    let d = tempdir();
    let raw = benign_bytes(LEN, 3);
    let p = d.path().join("disk.dd");
    std::fs::write(&p, &raw).unwrap();
    let img = open_image(&[&p]).unwrap();
    assert_eq!(img.kind(), ContainerKind::Raw);
    assert_eq!(img.len(), LEN as u64);
    let mut b = vec![0u8; 1000];
    img.reader().read_exact_at(4_000_000, &mut b).unwrap();
    assert!(b[..] == raw[4_000_000..4_001_000]);
    let v = img.verify();
    assert!(!v.verified(), "nothing stored, nothing verified");
    let md5 = run(&tool("md5sum").unwrap(), &["disk.dd"], d.path());
    let hex: String = v.computed.md5.iter().map(|x| format!("{x:02x}")).collect();
    assert_eq!(hex, md5.split_whitespace().next().unwrap());
}

fn split(dir: &std::path::Path, numeric: bool) -> Option<Vec<u8>> {
    let split = tool("split")?;
    let raw = benign_bytes(LEN, 5);
    std::fs::write(dir.join("whole.dd"), &raw).unwrap();
    let mut args = vec!["-b", "1M"];
    if numeric {
        args.extend(["-a", "3", "--numeric-suffixes=1"]);
    }
    args.extend(["whole.dd", "img."]);
    run(&split, &args, dir);
    std::fs::remove_file(dir.join("whole.dd")).unwrap();
    Some(raw)
}

#[test]
fn split_images_numbered_and_lettered_read_back_whole() {
    for (numeric, first, second) in [(true, "img.001", "img.002"), (false, "img.aa", "img.ab")] {
        let d = tempdir();
        let Some(raw) = split(d.path(), numeric) else {
            return;
        };
        let img = open_image(&[d.path().join(first)]).unwrap();
        assert_eq!(img.kind(), ContainerKind::SplitRaw);
        assert_eq!(img.paths().len(), 6);
        assert_eq!(img.len(), LEN as u64);
        let mut all = vec![0u8; LEN];
        img.reader().read_exact_at(0, &mut all).unwrap();
        assert!(all == raw, "{first}");
        assert!(img.known_unreadable().is_empty());
        // A later segment is not an image of its own.
        match open_image(&[d.path().join(second)]) {
            Err(ImageError::NotFirstSegment { first: f, .. }) => assert!(f.ends_with(first)),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened {second} as an image"),
        }
    }
}

#[test]
fn a_missing_middle_segment_is_an_unreadable_range_and_the_rest_reads() {
    let d = tempdir();
    let Some(raw) = split(d.path(), true) else {
        return;
    };
    std::fs::remove_file(d.path().join("img.003")).unwrap();
    let img = open_image(&[d.path().join("img.001")]).unwrap();
    assert_eq!(
        img.len(),
        LEN as u64,
        "the hole keeps later segments in place"
    );
    let holes = img.known_unreadable();
    assert_eq!(holes.len(), 1);
    assert_eq!((holes[0].start, holes[0].len), (2 << 20, 1 << 20));
    assert!(matches!(&holes[0].cause, Cause::MissingSegment { path } if path.ends_with("img.003")));
    let r = img.reader();
    let mut b = vec![0u8; 2 << 20];
    r.read_exact_at(0, &mut b).unwrap();
    assert!(b[..] == raw[..2 << 20]);
    let mut tail = vec![0u8; LEN - (3 << 20)];
    r.read_exact_at(3 << 20, &mut tail).unwrap();
    assert!(tail[..] == raw[3 << 20..]);
    let e = r.read_at((2 << 20) + 5, &mut [0u8; 4]).unwrap_err();
    assert_eq!(Unreadable::find(&e), Some(&holes[0]));
    let v = img.verify();
    assert_eq!(v.computed.unreadable, holes.to_vec());
}

#[test]
fn explicit_segment_lists_and_missing_files() {
    let d = tempdir();
    let Some(raw) = split(d.path(), false) else {
        return;
    };
    let segs: Vec<_> = ["img.aa", "img.ab"]
        .iter()
        .map(|s| d.path().join(s))
        .collect();
    let img = open_image(&segs).unwrap();
    assert_eq!(img.len(), 2 << 20);
    let mut b = vec![0u8; 2 << 20];
    img.reader().read_exact_at(0, &mut b).unwrap();
    assert!(b[..] == raw[..2 << 20]);
    let e = open_image(&[d.path().join("nope.dd")]).err().unwrap();
    assert!(e.to_string().contains("nope.dd"), "{e}");
    assert!(matches!(open_image::<&str>(&[]), Err(ImageError::NoPaths)));
}

#[test]
fn a_device_path_is_read_through_its_size() {
    // A regular file through the device reader (making a block device needs
    // privileges tests should not use): the size comes from seeking.
    let d = tempdir();
    let p = d.path().join("dev.img");
    std::fs::write(&p, benign_bytes(10_000, 9)).unwrap();
    let dev = nigehbaan_disk::container::raw::Device::open(&p).unwrap();
    assert_eq!(dev.len(), 10_000);
    let mut b = [0u8; 10];
    assert_eq!(dev.read_at(9_995, &mut b).unwrap(), 5);
}
