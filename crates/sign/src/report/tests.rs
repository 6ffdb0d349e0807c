use super::*;
use crate::minisign::SecretKey;

fn key() -> SecretKey {
    SecretKey::from_seed(KeyId(*b"reporter"), &[3; 32])
}

/// A small report directory with a nested file and a case number.
fn report(name: &str) -> tempfile::TempDir {
    let d = tempfile::Builder::new().prefix(name).tempdir().unwrap();
    std::fs::write(
        d.path().join("report.json"),
        r#"{"schema":"x","custody":{"case_number":"FIR 12/2026\tKarachi","examiner":null},"items":[]}"#,
    )
    .unwrap();
    std::fs::write(d.path().join("report.html"), "<html>test data</html>\n").unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    std::fs::write(d.path().join("sub/hits.csv"), "path,list\n").unwrap();
    d
}

fn opts() -> SignOptions {
    SignOptions {
        time: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_780_000_000),
        ..SignOptions::default()
    }
}

#[test]
fn comment_fields_stay_printable_ascii() {
    assert_eq!(comment_field("FIR 12/2026"), "FIR 12/2026");
    assert_eq!(comment_field("a\tb\nc"), "a\\u{9}b\\u{a}c");
    assert_eq!(
        comment_field("مقدمہ"),
        "\\u{645}\\u{642}\\u{62f}\\u{645}\\u{6c1}"
    );
}

#[test]
fn sign_then_verify() {
    let d = report("sign-ok");
    let signed = sign_report_dir(d.path(), &key(), &opts()).unwrap();
    assert_eq!(signed.files, 3);
    assert!(signed
        .trusted_comment
        .starts_with("timestamp:1780000000\tfile:MANIFEST.sha256\thashed\ttool:nigehbaan "));
    assert!(signed
        .trusted_comment
        .ends_with("\tsigned:2026-05-28T20:26:40+00:00\tcase:FIR 12/2026\\u{9}Karachi"));
    let manifest = std::fs::read_to_string(&signed.manifest).unwrap();
    let names: Vec<&str> = manifest.lines().map(|l| &l[66..]).collect();
    assert_eq!(names, ["report.html", "report.json", "sub/hits.csv"]);
    let v = verify_report_dir(d.path(), &key().public_key()).unwrap();
    assert!(v.is_valid(), "{:?}", v.problems);
    assert_eq!(v.files_ok, 3);
    assert_eq!(v.key_id, key().key_id());
}

#[test]
fn every_changed_byte_of_a_report_file_is_caught() {
    let d = report("sign-byte");
    sign_report_dir(d.path(), &key(), &opts()).unwrap();
    let path = d.path().join("report.html");
    let original = std::fs::read(&path).unwrap();
    for i in 0..original.len() {
        let mut b = original.clone();
        b[i] ^= 0x20;
        std::fs::write(&path, &b).unwrap();
        let v = verify_report_dir(d.path(), &key().public_key()).unwrap();
        assert!(
            matches!(&v.problems[..], [Problem::Changed { path }] if path == "report.html"),
            "byte {i}: {:?}",
            v.problems
        );
    }
}

#[test]
fn changed_manifest_or_signature_fails() {
    let d = report("sign-manifest");
    let signed = sign_report_dir(d.path(), &key(), &opts()).unwrap();
    let original = std::fs::read(&signed.manifest).unwrap();
    for i in [0, 10, 64, 66, original.len() - 1] {
        let mut b = original.clone();
        b[i] ^= 0x01;
        std::fs::write(&signed.manifest, &b).unwrap();
        let v = verify_report_dir(d.path(), &key().public_key()).unwrap();
        assert!(
            matches!(
                v.problems.first(),
                Some(Problem::Signature(Error::BadSignature))
            ),
            "byte {i}: {:?}",
            v.problems
        );
    }
    std::fs::write(&signed.manifest, &original).unwrap();
    let sig = std::fs::read_to_string(&signed.signature).unwrap();
    let tampered = sig.replace("case:FIR 12", "case:FIR 13");
    std::fs::write(&signed.signature, tampered).unwrap();
    let v = verify_report_dir(d.path(), &key().public_key()).unwrap();
    assert!(matches!(
        v.problems.first(),
        Some(Problem::Signature(Error::BadTrustedComment))
    ));
}

#[test]
fn added_removed_and_linked_files_fail() {
    let d = report("sign-files");
    sign_report_dir(d.path(), &key(), &opts()).unwrap();
    std::fs::write(d.path().join("sub/new.txt"), "x").unwrap();
    std::fs::remove_file(d.path().join("report.html")).unwrap();
    std::os::unix::fs::symlink("report.json", d.path().join("link")).unwrap();
    let v = verify_report_dir(d.path(), &key().public_key()).unwrap();
    let shown: Vec<String> = v.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        [
            "link: REFUSED (a symbolic link)",
            "report.html: MISSING",
            "sub/new.txt: EXTRA (not in the manifest)"
        ]
    );
    assert_eq!(v.files_ok, 2);
}

#[test]
fn signing_refuses_links_special_files_and_resigning() {
    let d = report("sign-refuse");
    std::os::unix::fs::symlink("/etc/hostname", d.path().join("sub/l")).unwrap();
    let e = sign_report_dir(d.path(), &key(), &opts()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Entry {
                kind: EntryKind::Symlink,
                ..
            }
        ),
        "{e}"
    );
    assert!(!d.path().join(MANIFEST_NAME).exists());
    std::fs::remove_file(d.path().join("sub/l")).unwrap();
    let fifo = d.path().join("fifo");
    let ok = std::process::Command::new("mkfifo").arg(&fifo).status();
    if ok.is_ok_and(|s| s.success()) {
        let e = sign_report_dir(d.path(), &key(), &opts()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Entry {
                    kind: EntryKind::Special,
                    ..
                }
            ),
            "{e}"
        );
        std::fs::remove_file(&fifo).unwrap();
    }
    sign_report_dir(d.path(), &key(), &opts()).unwrap();
    let e = sign_report_dir(d.path(), &key(), &opts()).unwrap_err();
    assert!(matches!(e, Error::AlreadySigned { .. }), "{e}");
    let again = SignOptions {
        overwrite: true,
        ..opts()
    };
    sign_report_dir(d.path(), &key(), &again).unwrap();
}

#[test]
fn other_key_fails_and_unsigned_dir_is_an_error() {
    let d = report("sign-other");
    sign_report_dir(d.path(), &key(), &opts()).unwrap();
    let other = SecretKey::from_seed(KeyId(*b"someone!"), &[4; 32]).public_key();
    let v = verify_report_dir(d.path(), &other).unwrap();
    assert!(matches!(
        v.problems.first(),
        Some(Problem::Signature(Error::KeyMismatch { .. }))
    ));
    let plain = report("sign-none");
    let e = verify_report_dir(plain.path(), &other).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
}
