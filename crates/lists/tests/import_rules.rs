//! The import rules of issue 13: an empty list is refused unless allowed,
//! and hash types nobody knows (typos such as `pdg`) fail the import with
//! their line unless allowed. All hashes are test data: those of
//! Nigehbaan's own benign demo images.

use nigehbaan_lists::import::for_each_path;
use nigehbaan_lists::{
    import_bytes, Format, ImportError, ImportErrorKind, ImportOptions, ImportReport, Location,
    OpaqueValue,
};

const L_MD5: &str = "a622aaf671d0916f92b6bbc89db19633";
const L_PDQ: &str = "191b8f45eec034bfc1d4acac14af53d2cb2c94a663d32b29b44baad34b3cf434";
const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

fn import(
    text: &str,
    format: Format,
    f: impl Fn(&mut ImportOptions),
) -> Result<ImportReport, ImportError> {
    let mut o = ImportOptions::new("list.txt", "test-list");
    o.format = Some(format);
    f(&mut o);
    import_bytes(text.as_bytes(), &o)
}

#[test]
fn empty_lists_are_refused_unless_allowed() {
    let cases = [
        ("", Format::HashSum),
        ("# nothing here\n\n", Format::HashSum),
        ("\n", Format::HmaText),
        ("signal_type,signal\n", Format::HmaCsv),
        (&format!("{EMPTY_MD5}  empty.bin\n") as &str, Format::HashSum),
        ("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n", Format::Hashdeep),
        (
            "<queryResult xmlns=\"https://hashsharing.ncmec.org/hashsharing/v2\"><images/></queryResult>",
            Format::NcmecXml,
        ),
    ];
    for (text, format) in cases {
        let e = import(text, format, |_| {}).expect_err(text);
        assert_eq!(e.kind, ImportErrorKind::Empty, "{text:?}: {e}");
        assert_eq!(e.location, Location::File);
        assert!(e.to_string().contains("no records"), "{e}");
        let r = import(text, format, |o| o.allow_empty = true).unwrap();
        assert!(r.records.is_empty());
    }
    // The dropped empty-file hash is named, so the examiner sees why.
    let e = import(&format!("{EMPTY_MD5}  e\n"), Format::HashSum, |_| {}).unwrap_err();
    assert!(e.reason.contains("1 with the empty file's hash"), "{e}");
}

#[test]
fn empty_lists_are_refused_when_streamed_too() {
    let dir = std::env::temp_dir().join(format!("nigehbaan-import-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("empty.txt");
    std::fs::write(&path, "").unwrap();
    let mut o = ImportOptions::new("empty.txt", "t");
    o.format = Some(Format::HashSum);
    let mut seen = 0;
    let e = for_each_path(&path, &o, |_| {
        seen += 1;
        Ok(())
    })
    .unwrap_err();
    assert_eq!(e.kind, ImportErrorKind::Empty);
    // A list with records is streamed to the callback, not collected.
    std::fs::write(&path, format!("{L_MD5}  a\n{L_MD5}  b\n")).unwrap();
    let r = for_each_path(&path, &o, |_| {
        seen += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!((seen, r.records.len()), (2, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn typod_signal_types_fail_with_their_line() {
    let text = format!("pdq {L_PDQ}\nmd5 {L_MD5}\npdg {L_PDQ}\n");
    let e = import(&text, Format::HmaText, |_| {}).unwrap_err();
    assert_eq!(e.kind, ImportErrorKind::UnknownType);
    assert_eq!(e.location, Location::Line(3));
    assert!(e.reason.contains("\"pdg\""), "{e}");
    assert!(e.reason.contains("did you mean \"pdq\""), "{e}");
    // HMA CSV, VICS alternative hashes and NCMEC fingerprints too.
    let csv = format!("signal_type,signal\npdq,{L_PDQ}\nmd6,{L_MD5}\n");
    let e = import(&csv, Format::HmaCsv, |_| {}).unwrap_err();
    assert_eq!(
        (e.kind, e.location),
        (ImportErrorKind::UnknownType, Location::Line(3))
    );
    let vics = format!(
        "{{\"@odata.context\":\"x#Media\",\"value\":[{{\"MD5\":\"{L_MD5}\",\
         \"AlternativeHashes\":[{{\"HashName\":\"PQD\",\"HashValue\":\"{L_PDQ}\"}}]}}]}}"
    );
    let e = import(&vics, Format::VicsJson, |_| {}).unwrap_err();
    assert_eq!(e.kind, ImportErrorKind::UnknownType, "{e}");
    assert_eq!(e.location, Location::Record("value[0]".into()));
    let xml = format!(
        "<queryResult><images><image><id>1</id><fingerprints><md5>{L_MD5}</md5>\
         <pqd>{L_PDQ}</pqd></fingerprints></image></images></queryResult>"
    );
    let e = import(&xml, Format::NcmecXml, |_| {}).unwrap_err();
    assert_eq!(e.kind, ImportErrorKind::UnknownType, "{e}");
    let deep = format!("%%%% HASHDEEP-1.0\n%%%% size,md5,sha999,filename\n1,{L_MD5},00ff,a\n");
    let e = import(&deep, Format::Hashdeep, |_| {}).unwrap_err();
    assert_eq!(
        (e.kind, e.location),
        (ImportErrorKind::UnknownType, Location::Line(3))
    );
}

#[test]
fn unknown_types_are_kept_opaque_when_allowed() {
    let text = format!("pdq {L_PDQ}\npdg {L_PDQ}\n");
    let r = import(&text, Format::HmaText, |o| o.allow_unknown = true).unwrap();
    assert_eq!(r.records.len(), 2);
    assert_eq!(r.records[1].other[0].kind, "pdg");
    assert_eq!(r.records[1].other[0].value, OpaqueValue::Text(L_PDQ.into()));
}

#[test]
fn documented_opaque_types_need_no_permission() {
    let text = format!(
        "pdq {L_PDQ}\nvpdq [\"{L_PDQ},100,0.0\"]\ntmk_pdqf x\nURL https://example.invalid/\n"
    );
    let r = import(&text, Format::HmaText, |_| {}).unwrap();
    assert_eq!(r.records.len(), 4);
    let deep = format!(
        "%%%% HASHDEEP-1.0\n%%%% size,md5,tiger,filename\n1,{L_MD5},{},a\n",
        "ab".repeat(24)
    );
    assert_eq!(
        import(&deep, Format::Hashdeep, |_| {})
            .unwrap()
            .records
            .len(),
        1
    );
}

/// Field problems are typed: the import error carries the field error as
/// data and as its `source()`, down to the hex codec's own error, so a
/// caller can tell them apart without reading the message.
#[test]
fn field_errors_are_typed_and_chained() {
    use nigehbaan_lists::hex::{HashTextError, HexError};
    use nigehbaan_lists::FieldError;
    use std::error::Error;

    let bad = format!("{}z  a\n", &L_MD5[..31]);
    let e = import(&bad, Format::HashSum, |_| {}).unwrap_err();
    assert_eq!(e.location, Location::Line(1));
    match e.cause.as_deref() {
        Some(FieldError::Hash(HashTextError::Hex { kind, source, .. })) => {
            assert_eq!(kind, "MD5");
            assert_eq!(
                *source,
                HexError::Digit {
                    position: 32,
                    found: 'z'
                }
            );
        }
        other => panic!("unexpected cause {other:?}"),
    }
    let root = e.source().and_then(Error::source).and_then(Error::source);
    assert!(root.is_some_and(|r| r.is::<HexError>()));

    // A column context wraps the cause (hashdeep: `column size`).
    let deep = format!("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\nten,{L_MD5},a\n");
    let e = import(&deep, Format::Hashdeep, |_| {}).unwrap_err();
    assert!(matches!(
        e.cause.as_deref(),
        Some(FieldError::In { field, source })
            if field == "column size" && matches!(**source, FieldError::NotWholeNumber { .. })
    ));

    // A caller's callback may refuse with any error; its text is the reason.
    let path = std::env::temp_dir().join(format!("nigehbaan-refusal-{}.txt", std::process::id()));
    std::fs::write(&path, format!("{L_MD5}  a\n")).unwrap();
    let mut o = ImportOptions::new("r.txt", "t");
    o.format = Some(Format::HashSum);
    let e = for_each_path(&path, &o, |_| Err("no room".into())).unwrap_err();
    assert_eq!(e.reason, "no room");
    std::fs::remove_file(&path).unwrap();
}
