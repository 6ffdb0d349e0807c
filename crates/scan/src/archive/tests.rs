//! Unit tests of detection and names.

use super::*;

#[test]
fn names_that_escape_are_flagged() {
    for bad in [
        "/etc/passwd",
        "../x",
        "a/../../x",
        "C:\\x",
        "a\\..\\b",
        "x\ny",
    ] {
        assert!(unsafe_name(bad).is_some(), "{bad}");
    }
    for ok in ["a/b.jpg", "..a/b", "a..b", "dir/"] {
        assert!(unsafe_name(ok).is_none(), "{ok}");
    }
}

#[test]
fn gunzipped_names() {
    assert_eq!(gunzipped_name("ex/a.tgz"), "a.tar");
    assert_eq!(gunzipped_name("ex/a.zip!b.jpg.gz"), "b.jpg");
    assert_eq!(gunzipped_name("blob"), "blob.gunzipped");
}

#[test]
fn detection_needs_content_not_names() {
    assert_eq!(detect(b"PK\x03\x04rest"), Some(Container::Zip));
    assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), Some(Container::Gzip));
    assert_eq!(detect(&[0u8; 512]), None);
    assert_eq!(detect(b"\xff\xd8\xff\xe0"), None);
    let mut h = tar::Header::new_old();
    h.set_path("a.txt").unwrap();
    h.set_size(0);
    h.set_cksum();
    assert_eq!(
        detect(h.as_bytes()),
        Some(Container::Tar),
        "v7 tar by checksum"
    );
}
