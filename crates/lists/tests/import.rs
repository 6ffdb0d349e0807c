//! Importer, detection, export round-trip and conflict tests. All data is
//! test data: hashes of Nigehbaan's own benign demo images.

use std::path::{Path, PathBuf};

use nigehbaan_lists::{
    detect, export, find_conflict, hex, import::nsrl, import_bytes, import_path, Category,
    ColumnMap, Format, ImportError, ImportOptions, Location, MediaKind, OpaqueValue, Scheme,
    Status,
};

const L_MD5: &str = "a622aaf671d0916f92b6bbc89db19633";
const L_SHA1: &str = "1f4acff526cb1b2a93166b2e2ad078462c86d294";
const L_SHA256: &str = "fa53ff1256b8bad22afee6a8c4d058a809a893f77f3e847fc8dda5584a1c7c84";
const L_PDQ: &str = "191b8f45eec034bfc1d4acac14af53d2cb2c94a663d32b29b44baad34b3cf434";
const T_MD5: &str = "677472ab6b21625fec540f059887d639";
const T_PDQ: &str = "14f9379f644ac0ea04ffac55510c12fffb823f159934cd60fb064f6c7949cc42";
const E_MD5: &str = "288f5c6885680f3f155b8fe36839c9be";
const E_SHA256: &str = "5a70a7b45e45727df0d7dfb2fbee7e6be83b348f61eeeccf6570c13414988328";
const R_MD5: &str = "594ba923932eaf88337d20881dfa586c";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn opts(display: &str) -> ImportOptions {
    ImportOptions::new(display, "test-list")
}

fn md5(s: &str) -> Option<[u8; 16]> {
    Some(hex::decode_fixed(s).unwrap())
}

fn import_str(text: &str, format: Format) -> Result<nigehbaan_lists::ImportReport, ImportError> {
    let mut o = opts("list.txt");
    o.format = Some(format);
    import_bytes(text.as_bytes(), &o)
}

fn err_at(text: &str, format: Format) -> (Location, String) {
    let e = import_str(text, format).expect_err("should fail");
    assert_eq!(e.file, "list.txt");
    (e.location, e.reason)
}

#[test]
fn detection_by_content() {
    let cases = [
        ("vics-2.0-media.json", Format::VicsJson),
        ("vics-1.x-cases.json", Format::VicsJson),
        ("ncmec.xml", Format::NcmecXml),
        ("hma.csv", Format::HmaCsv),
        ("hma.txt", Format::HmaText),
        ("md5sum.txt", Format::HashSum),
        ("sha256sum.txt", Format::HashSum),
        ("hashdeep.txt", Format::Hashdeep),
    ];
    for (file, want) in cases {
        assert_eq!(detect(&read(file)), Some(want), "{file}");
    }
    assert_eq!(
        detect(&read("generic.csv")),
        None,
        "generic CSV needs a mapping"
    );
    assert_eq!(detect(b"SQLite format 3\0rest"), Some(Format::NsrlSqlite));
    assert_eq!(detect(b"{\"a\": 1}"), None);
    assert_eq!(detect(b"<html></html>"), None);
    assert_eq!(detect(b"hello world"), None);
    assert_eq!(detect(b""), None);
    assert_eq!(
        detect(format!("pdq,{L_PDQ}\n").as_bytes()),
        Some(Format::HmaCsv)
    );
    assert_eq!(
        detect(format!("\u{feff}{L_MD5}  a\n").as_bytes()),
        Some(Format::HashSum)
    );
    assert_eq!("md5sum".parse::<Format>(), Ok(Format::HashSum));
    for f in Format::ALL {
        assert_eq!(f.name().parse::<Format>(), Ok(f));
    }
    assert!("nope".parse::<Format>().is_err());
}

#[test]
fn vics_2_media() {
    let rep = import_path(&fixture("vics-2.0-media.json"), &opts("media.json")).unwrap();
    assert_eq!(rep.format, Format::VicsJson);
    assert_eq!(rep.records.len(), 2);
    let r = &rep.records[0];
    assert_eq!(r.md5, md5(L_MD5));
    assert_eq!(hex::encode(&r.sha1.unwrap()), L_SHA1);
    assert_eq!(hex::encode(&r.sha256.unwrap()), L_SHA256);
    let p = r.pdq.unwrap();
    assert_eq!(p.hash.to_hex(), L_PDQ);
    assert_eq!(p.quality, Some(75));
    assert_eq!(r.other.len(), 1);
    assert_eq!(r.other[0].kind, "photodna");
    assert!(matches!(&r.other[0].value, OpaqueValue::Bytes(b) if b.len() == 144));
    let c = r.category.as_ref().unwrap();
    assert_eq!(
        (c.scheme.clone(), c.code.as_str()),
        (Scheme::ProjectVicUs, "4")
    );
    assert_eq!(c.info().unwrap().label, "Comparison");
    assert_eq!(r.flags.victim_identified, Some(false));
    assert_eq!(r.flags.offender_identified, Some(false));
    assert_eq!(r.flags.distributed, Some(true));
    assert_eq!(r.flags.series.as_deref(), Some("demo-landscape"));
    assert_eq!(r.flags.tags, vec!["test-data", "benign"]);
    assert_eq!(r.id.as_deref(), Some("1"));
    assert_eq!(r.size, Some(13749));
    assert_eq!(r.name.as_deref(), Some("landscape.png"));
    assert_eq!(r.status, Status::Notable);
    assert_eq!(r.provenance.list_name, "test-list");
    assert_eq!(rep.records[1].pdq.unwrap().hash.to_hex(), T_PDQ);
}

#[test]
fn vics_1_cases_string_booleans_hex_photodna_and_empty_file() {
    let mut o = opts("cases.json");
    o.scheme = Some(Scheme::ProjectVicUs);
    let rep = import_bytes(&read("vics-1.x-cases.json"), &o).unwrap();
    assert_eq!(rep.records.len(), 2);
    assert_eq!(rep.skipped_empty, 1);
    let r = &rep.records[0];
    assert_eq!(r.md5, md5(R_MD5));
    assert_eq!(r.flags.victim_identified, Some(true));
    assert_eq!(r.flags.offender_identified, Some(false));
    assert_eq!(r.flags.tags, vec!["test-data"]);
    assert!(matches!(&r.other[0].value, OpaqueValue::Bytes(b) if b.len() == 144));
    assert_eq!(hex::encode(&rep.records[1].sha256.unwrap()), E_SHA256);
    // The same synthetic PhotoDNA in base64 (2.0 fixture) and hex (1.x fixture).
    let media = import_bytes(&read("vics-2.0-media.json"), &o).unwrap();
    assert_eq!(media.records[0].other, r.other);
}

#[test]
fn vics_errors_name_the_record() {
    let doc = |media: &str| {
        format!("{{\"@odata.context\":\"x/$metadata#Media\",\"value\":[{{\"MD5\":\"{L_MD5}\"}},{media}]}}")
    };
    let (loc, why) = err_at(&doc("{\"MediaID\":7,\"MD5\":\"abc\"}"), Format::VicsJson);
    assert_eq!(loc, Location::Record("value[1] (MediaID 7)".into()));
    assert!(why.contains("MD5 must be 32 hex digits"), "{why}");
    let bad_hex = format!("{{\"SHA1\":\"{}\"}}", "g".repeat(40));
    let (loc, why) = err_at(&doc(&bad_hex), Format::VicsJson);
    assert_eq!(loc, Location::Record("value[1]".into()));
    assert!(why.contains("character 1"), "{why}");
    let (_, why) = err_at(&doc("{\"PhotoDNA\":\"!!notbase64\"}"), Format::VicsJson);
    assert!(why.contains("PhotoDNA"), "{why}");
    let (_, why) = err_at(
        &doc(&format!(
            "{{\"MD5\":\"{L_MD5}\",\"VictimIdentified\":\"maybe\"}}"
        )),
        Format::VicsJson,
    );
    assert!(why.contains("VictimIdentified"), "{why}");
    let (loc, _) = err_at(
        "{\"@odata.context\":\"x\",\n\"value\": [ }",
        Format::VicsJson,
    );
    assert!(matches!(loc, Location::LineColumn(2, _)), "{loc:?}");
    let cases = format!(
        "{{\"odata.metadata\":\"x#Cases\",\"value\":[{{\"Media\":[{{\"MD5\":\"{L_MD5}\"}},{{\"SHA256\":\"12\"}}]}}]}}"
    );
    let (loc, _) = err_at(&cases, Format::VicsJson);
    assert_eq!(loc, Location::Record("value[0].Media[1]".into()));
}

#[test]
fn ncmec_xml_with_deletion_and_links() {
    let rep = import_bytes(&read("ncmec.xml"), &opts("ncmec.xml")).unwrap();
    assert_eq!(rep.format, Format::NcmecXml);
    assert_eq!(rep.records.len(), 2, "test-image-2 was deleted");
    assert_eq!(rep.deleted, 1);
    let img = &rep.records[0];
    assert_eq!(img.id.as_deref(), Some("test-image-1"));
    assert_eq!(img.media, Some(MediaKind::Image));
    assert_eq!(img.md5, md5(L_MD5));
    assert_eq!(img.pdq.unwrap().hash.to_hex(), L_PDQ);
    assert_eq!(img.other[0].kind, "photodna");
    assert_eq!(img.category, Some(Category::new(Scheme::NcmecAB, "B2")));
    assert!(img.category.as_ref().unwrap().is_known());
    let vid = &rep.records[1];
    assert_eq!(vid.media, Some(MediaKind::Video));
    assert_eq!(vid.md5, md5(E_MD5));
    assert!(
        rep.warnings.iter().any(|w| w.message.contains("tmk-pdqf")),
        "{:?}",
        rep.warnings
    );
}

#[test]
fn ncmec_updates_replace_earlier_entries() {
    let x = format!(
        "<queryResult><videos><video><id>v</id><classification>A1</classification>\
         <fingerprints><md5>{L_MD5}</md5></fingerprints></video>\
         <video><id>v</id><classification>A2</classification>\
         <fingerprints><md5>{T_MD5}</md5></fingerprints></video></videos></queryResult>"
    );
    let rep = import_str(&x, Format::NcmecXml).unwrap();
    assert_eq!(rep.records.len(), 1);
    assert_eq!(rep.records[0].md5, md5(T_MD5));
    assert_eq!(rep.records[0].category.as_ref().unwrap().code, "A2");
}

#[test]
fn ncmec_errors_give_the_line() {
    let x = format!(
        "<queryResult>\n<images>\n<image><id>a</id>\n<fingerprints><md5>{L_MD5}</md5></fingerprints></image>\n\
         <image>\n<id>b</id><fingerprints><sha1>1234</sha1></fingerprints></image>\n</images></queryResult>"
    );
    let (loc, why) = err_at(&x, Format::NcmecXml);
    assert_eq!(loc, Location::RecordAtLine(2, 5));
    assert!(
        why.contains("<sha1>") && why.contains("40 hex digits"),
        "{why}"
    );
    let (loc, why) = err_at("<queryResult>\n<images>\n</image>", Format::NcmecXml);
    assert_eq!(loc, Location::Line(3));
    assert!(why.contains("bad XML"), "{why}");
    let (_, why) = err_at("<html/>", Format::NcmecXml);
    assert!(why.contains("not NCMEC"), "{why}");
}

#[test]
fn hma_csv_and_text() {
    let rep = import_bytes(&read("hma.csv"), &opts("hma.csv")).unwrap();
    assert_eq!(rep.records.len(), 3);
    assert_eq!(rep.records[0].pdq.unwrap().quality, Some(75));
    assert!(rep.records[0]
        .flags
        .tags
        .contains(&"bank:test-bank".to_string()));
    assert_eq!(
        rep.records[0].category,
        Some(Category::new(Scheme::Custom("test-list".into()), "1"))
    );
    assert_eq!(rep.records[2].md5, md5(R_MD5));
    let rep = import_bytes(&read("hma.txt"), &opts("hma.txt")).unwrap();
    assert_eq!(rep.records.len(), 3);
    assert_eq!(rep.records[1].pdq.unwrap().hash.to_hex(), T_PDQ);
    assert_eq!(rep.records[2].md5, md5(E_MD5));
    let rep = import_str(
        &format!("pdq,{L_PDQ}\ntmk_pdqf,opaque-value\n"),
        Format::HmaCsv,
    )
    .unwrap();
    assert_eq!(rep.records[1].other[0].kind, "tmk_pdqf");
    assert_eq!(
        rep.records[1].other[0].value,
        OpaqueValue::Text("opaque-value".into())
    );
}

#[test]
fn hma_errors() {
    let short = &L_PDQ[..63];
    let (loc, why) = err_at(
        &format!("signal_type,signal\npdq,{L_PDQ}\npdq,{short}\n"),
        Format::HmaCsv,
    );
    assert_eq!(loc, Location::Line(3));
    assert!(why.contains("PDQ"), "{why}");
    let (loc, _) = err_at(&format!("pdq {L_PDQ}\n\nmd5 {L_MD5}x\n"), Format::HmaText);
    assert_eq!(loc, Location::Line(3));
    let (loc, _) = err_at(&format!("pdq {L_PDQ}\npdq\n"), Format::HmaText);
    assert_eq!(loc, Location::Line(2));
    let (loc, _) = err_at("a,b\n1,2\n", Format::HmaCsv);
    assert_eq!(loc, Location::Line(1));
}

#[test]
fn hashsum_gnu_bsd_and_escapes() {
    let rep = import_bytes(&read("md5sum.txt"), &opts("md5sum.txt")).unwrap();
    assert_eq!(rep.records.len(), 3);
    assert_eq!(rep.records[0].md5, md5(L_MD5));
    assert_eq!(
        rep.records[1].name.as_deref(),
        Some("demo/landscape-resized.jpg")
    );
    let rep = import_bytes(&read("sha256sum.txt"), &opts("sha256sum.txt")).unwrap();
    assert_eq!(hex::encode(&rep.records[1].sha256.unwrap()), E_SHA256);
    let text = format!("MD5 (a b.png) = {L_MD5}\n\\{T_MD5}  new\\nline\n");
    let rep = import_str(&text, Format::HashSum).unwrap();
    assert_eq!(rep.records[0].name.as_deref(), Some("a b.png"));
    assert_eq!(rep.records[1].name.as_deref(), Some("new\nline"));
    let rep = import_str(
        &format!("{L_MD5}  a\nd41d8cd98f00b204e9800998ecf8427e  empty\n"),
        Format::HashSum,
    )
    .unwrap();
    assert_eq!((rep.records.len(), rep.skipped_empty), (1, 1));
}

#[test]
fn hashsum_errors() {
    let (loc, why) = err_at(
        &format!("{L_MD5}  a\n{}  b\n", &L_MD5[..31]),
        Format::HashSum,
    );
    assert_eq!(loc, Location::Line(2));
    assert!(why.contains("31 characters"), "{why}");
    let (loc, why) = err_at(&format!("{L_MD5}  a\n{L_SHA1}  b\n"), Format::HashSum);
    assert_eq!(loc, Location::Line(2));
    assert!(why.contains("line 1 was md5"), "{why}");
    let (loc, _) = err_at(&format!("\n{L_MD5} a\n"), Format::HashSum);
    assert_eq!(loc, Location::Line(2));
    let bad = format!("{}z  a", &L_MD5[..31]);
    let (loc, why) = err_at(&bad, Format::HashSum);
    assert_eq!(loc, Location::Line(1));
    assert!(why.contains("character 32"), "{why}");
}

#[test]
fn hashdeep() {
    let rep = import_bytes(&read("hashdeep.txt"), &opts("hashdeep.txt")).unwrap();
    assert_eq!(rep.format, Format::Hashdeep);
    assert_eq!(rep.records.len(), 2);
    assert_eq!(rep.skipped_empty, 1);
    assert_eq!(rep.records[0].size, Some(13749));
    assert_eq!(
        rep.records[1].name.as_deref(),
        Some("/tmp/demo/tiles, copy.png")
    );
    let with_tiger = format!(
        "%%%% HASHDEEP-1.0\n%%%% size,md5,tiger,filename\n5,{L_MD5},{},f\n",
        "ab".repeat(24)
    );
    let rep = import_str(&with_tiger, Format::Hashdeep).unwrap();
    assert_eq!(rep.records[0].other[0].kind, "tiger");
    let (loc, why) = err_at(
        &format!("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n## c\nx,{L_MD5},f\n"),
        Format::Hashdeep,
    );
    assert_eq!(loc, Location::Line(4));
    assert!(why.contains("size"), "{why}");
    let (loc, _) = err_at(&format!("{L_MD5},f\n"), Format::Hashdeep);
    assert_eq!(loc, Location::Line(1));
    let (loc, _) = err_at(
        "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n5,abc\n",
        Format::Hashdeep,
    );
    assert_eq!(loc, Location::Line(3));
}

fn make_nsrl(path: &Path, full: bool) {
    let conn = rusqlite_conn(path);
    let cols = if full {
        "sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, file_name TEXT, file_size INTEGER, package_id INTEGER"
    } else {
        "sha256 TEXT, sha1 TEXT, md5 TEXT"
    };
    conn.execute_batch(&format!("CREATE TABLE FILE ({cols});"))
        .unwrap();
    let rows = [
        (L_SHA256, L_SHA1, L_MD5),
        (E_SHA256, "67be48c437e2b5f30a10a58c8eb6b13e19c53d1b", E_MD5),
        (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "d41d8cd98f00b204e9800998ecf8427e",
        ),
    ];
    for (a, b, c) in rows {
        if full {
            conn.execute(
                "INSERT INTO FILE VALUES (?1, ?2, ?3, '00000000', 'test-data.png', 42, 1)",
                [a.to_uppercase(), b.to_uppercase(), c.to_uppercase()],
            )
            .unwrap();
        } else {
            conn.execute(
                "INSERT INTO FILE VALUES (?1, ?2, ?3)",
                [a.to_uppercase(), b.to_uppercase(), c.to_uppercase()],
            )
            .unwrap();
        }
    }
}

fn rusqlite_conn(path: &Path) -> rusqlite::Connection {
    let _ = std::fs::remove_file(path);
    rusqlite::Connection::open(path).unwrap()
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nigehbaan-lists-{}-{name}", std::process::id()))
}

#[test]
fn nsrl_full_and_minimal() {
    for full in [true, false] {
        let path = temp(&format!("nsrl-{full}.db"));
        make_nsrl(&path, full);
        let rep = import_path(&path, &opts("NSRLFile.db")).unwrap();
        assert_eq!(rep.format, Format::NsrlSqlite);
        assert_eq!(rep.records.len(), 2);
        assert_eq!(rep.skipped_empty, 1, "the NSRL's empty file is dropped");
        let r = &rep.records[0];
        assert_eq!(r.status, Status::Known);
        assert_eq!(r.md5, md5(L_MD5));
        assert_eq!(hex::encode(&r.sha256.unwrap()), L_SHA256);
        if full {
            assert_eq!(r.name.as_deref(), Some("test-data.png"));
            assert_eq!(r.size, Some(42));
        }
        let mut n = 0;
        let rep = nsrl::for_each(&path, &opts("NSRLFile.db"), |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((n, rep.records.len()), (2, 0));
        let e = import_bytes(&std::fs::read(&path).unwrap(), &opts("NSRLFile.db")).unwrap_err();
        assert!(e.reason.contains("file path"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn nsrl_bad_row_and_wrong_db() {
    let path = temp("nsrl-bad.db");
    let conn = rusqlite_conn(&path);
    conn.execute_batch(&format!(
        "CREATE TABLE FILE (sha256 TEXT, sha1 TEXT, md5 TEXT);\
         INSERT INTO FILE VALUES ('{L_SHA256}', NULL, NULL);\
         INSERT INTO FILE VALUES (NULL, NULL, 'ABC');"
    ))
    .unwrap();
    drop(conn);
    let e = import_path(&path, &opts("bad.db")).unwrap_err();
    assert_eq!(e.location, Location::Row("FILE".into(), 2));
    assert!(
        e.to_string().starts_with("bad.db: table FILE, row 2: MD5"),
        "{e}"
    );
    let conn = rusqlite_conn(&path);
    conn.execute_batch("CREATE TABLE other (x TEXT);").unwrap();
    drop(conn);
    let e = import_path(&path, &opts("other.db")).unwrap_err();
    assert!(e.reason.contains("no FILE table"), "{e}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn generic_csv_with_mapping() {
    let map = ColumnMap::parse(
        "name=File,md5=Hash MD5,pdq=Perceptual,category=Cat,victim_identified=Victim ID",
    )
    .unwrap();
    let mut o = opts("generic.csv");
    o.format = Some(Format::GenericCsv);
    o.scheme = Some(Scheme::Iwf);
    o.columns = Some(map.clone());
    let rep = import_bytes(&read("generic.csv"), &o).unwrap();
    assert_eq!(rep.records.len(), 2);
    let r = &rep.records[0];
    assert_eq!(r.md5, md5(L_MD5));
    assert_eq!(r.pdq.unwrap().hash.to_hex(), L_PDQ);
    assert_eq!(
        r.category.as_ref().unwrap().info().unwrap().label,
        "Category A"
    );
    assert_eq!(r.flags.victim_identified, Some(true));
    assert_eq!(r.name.as_deref(), Some("landscape.png"));
    // Missing column and bad cell.
    o.columns = Some(ColumnMap::parse("md5=Nope").unwrap());
    let e = import_bytes(&read("generic.csv"), &o).unwrap_err();
    assert_eq!(e.location, Location::Line(1));
    o.columns = Some(map);
    let bad = format!(
        "File,Hash MD5,Perceptual,Cat,Victim ID\na,{L_MD5},,A,\nb,{},,A,\n",
        &L_MD5[1..]
    );
    let e = import_bytes(bad.as_bytes(), &o).unwrap_err();
    assert_eq!(e.location, Location::Line(3));
    o.columns = None;
    assert!(import_bytes(bad.as_bytes(), &o).is_err());
    assert!(ColumnMap::parse("category=Cat").is_err());
    assert!(ColumnMap::parse("colour=x").is_err());
}

#[test]
fn export_import_round_trip() {
    let mut all = Vec::new();
    for f in [
        "vics-2.0-media.json",
        "vics-1.x-cases.json",
        "ncmec.xml",
        "hashdeep.txt",
    ] {
        all.extend(import_bytes(&read(f), &opts(f)).unwrap().records);
    }
    // CSV keeps everything but provenance.
    let mut csv = Vec::new();
    export::write_csv(&all, &mut csv).unwrap();
    assert_eq!(detect(&csv), Some(Format::NigehbaanCsv));
    let back = import_bytes(&csv, &opts("export.csv")).unwrap();
    assert_eq!(back.records.len(), all.len());
    for (a, b) in all.iter().zip(&back.records) {
        let mut b = b.clone();
        b.provenance = a.provenance.clone();
        assert_eq!(*a, b);
    }
    // VICS keeps hashes, Project VIC categories, flags, ids, names, sizes.
    let vics_only: Vec<_> = all
        .iter()
        .filter(|r| {
            r.category
                .as_ref()
                .is_none_or(|c| c.scheme == Scheme::ProjectVicUs)
        })
        .cloned()
        .collect();
    let mut json = Vec::new();
    export::write_vics_json(&vics_only, &mut json).unwrap();
    assert_eq!(detect(&json), Some(Format::VicsJson));
    let back = import_bytes(&json, &opts("export.json")).unwrap();
    assert_eq!(back.records.len(), vics_only.len());
    for (i, (a, b)) in vics_only.iter().zip(&back.records).enumerate() {
        let mut b = b.clone();
        b.provenance = a.provenance.clone();
        b.media = a.media;
        if a.id.is_none() {
            assert_eq!(b.id, Some((i + 1).to_string()));
            b.id = None;
        }
        assert_eq!(*a, b);
    }
}

#[test]
fn conflicts_across_lists() {
    let vic = import_bytes(
        &read("vics-2.0-media.json"),
        &ImportOptions::new("a", "vic"),
    )
    .unwrap();
    let mut o = ImportOptions::new("b", "nsrl-like");
    o.status = Some(Status::Known);
    let known = import_bytes(&read("md5sum.txt"), &o).unwrap();
    let a = vic.records.iter().find(|r| r.md5 == md5(L_MD5)).unwrap();
    let b = known.records.iter().find(|r| r.md5 == md5(L_MD5)).unwrap();
    let c = find_conflict(&[a, b]).unwrap();
    assert!(c.status);
    assert_eq!(c.lists, vec!["vic", "nsrl-like"]);
}

#[test]
fn unknown_categories_are_kept_and_warned() {
    let doc = format!(
        "{{\"@odata.context\":\"x#Media\",\"value\":[{{\"MD5\":\"{L_MD5}\",\"Category\":9}}]}}"
    );
    let rep = import_str(&doc, Format::VicsJson).unwrap();
    let c = rep.records[0].category.as_ref().unwrap();
    assert_eq!(c.code, "9");
    assert!(!c.is_known());
    assert!(
        rep.warnings.iter().any(|w| w.message.contains("\"9\"")),
        "{:?}",
        rep.warnings
    );
}

#[test]
fn errors_display_file_location_reason() {
    let e = import_str(&format!("{L_MD5}  a\nzz  b\n"), Format::HashSum).unwrap_err();
    assert!(e.to_string().starts_with("list.txt: line 2: "), "{e}");
    let mut o = opts("mystery.bin");
    o.format = None;
    let e = import_bytes(b"random", &o).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("mystery.bin: whole file: list format not recognised"));
}

#[test]
fn a_million_lines_import_in_linear_time() {
    let mut text = String::with_capacity(1_000_000 * 40);
    for i in 0..1_000_000u32 {
        let mut h = [0u8; 16];
        h[..4].copy_from_slice(&i.to_be_bytes());
        h[15] = 1;
        text.push_str(&hex::encode(&h));
        text.push_str("  f\n");
    }
    let t = std::time::Instant::now();
    let rep = import_str(&text, Format::HashSum).unwrap();
    assert_eq!(rep.records.len(), 1_000_000);
    assert!(t.elapsed().as_secs() < 60, "{:?}", t.elapsed());
}
