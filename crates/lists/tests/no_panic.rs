//! Arbitrary input never panics any text parser: it imports or errs.

use nigehbaan_lists::{detect, import_bytes, ColumnMap, Format, ImportOptions};
use proptest::prelude::*;

fn run(bytes: &[u8], format: Format) {
    let mut o = ImportOptions::new("fuzz", "fuzz");
    o.format = Some(format);
    if format == Format::GenericCsv {
        o.columns = Some(ColumnMap::parse("md5=md5,pdq=pdq,category=cat,size=size").unwrap());
    }
    let _ = import_bytes(bytes, &o);
}

const TEXT_FORMATS: [Format; 9] = [
    Format::VicsJson,
    Format::NcmecXml,
    Format::HmaCsv,
    Format::HmaText,
    Format::HashSum,
    Format::Hashdeep,
    Format::GenericCsv,
    Format::NigehbaanCsv,
    Format::Vpdq,
];

/// Strings built from the characters these formats care about, so the
/// parsers get past their first line more often than with random bytes.
fn structured() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("%%%% HASHDEEP-1.0\n".to_string()),
            Just("%%%% size,md5,filename\n".to_string()),
            Just("signal_type,signal\n".to_string()),
            Just("md5,sha1,sha256,pdq,pdq_quality,other_hashes,category_scheme,category,status,victim_identified,offender_identified,distributed,series,tags,id,name,size,media,list,source,version,list_date\n".to_string()),
            Just("<queryResult><images><image><id>".to_string()),
            Just("</id><fingerprints><md5>".to_string()),
            Just("</md5></fingerprints></image>".to_string()),
            Just("<deletedImage><id>a</id></deletedImage>".to_string()),
            Just("{\"@odata.context\":\"#Media\",\"value\":[{\"MD5\":\"".to_string()),
            Just("\"}]}".to_string()),
            Just("a622aaf671d0916f92b6bbc89db19633".to_string()),
            Just("pdq ".to_string()),
            Just("vpdq [\"".to_string()),
            Just("0,100,191b8f45eec034bfc1d4acac14af53d2cb2c94a663d32b29b44baad34b3cf434,0.000\n".to_string()),
            Just(",100,".to_string()),
            Just("md5,".to_string()),
            Just("  ".to_string()),
            Just(" *".to_string()),
            Just("\\".to_string()),
            Just("MD5 (".to_string()),
            Just(") = ".to_string()),
            Just("&amp;&#x41;&bogus;".to_string()),
            "[0-9a-fA-Fg,;\"\n\\\\ #%*()=<>/{}\\[\\]:]{0,12}",
            ".{0,6}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = detect(&bytes);
        for f in TEXT_FORMATS {
            run(&bytes, f);
        }
    }

    #[test]
    fn structured_text_never_panics(text in structured()) {
        let _ = detect(text.as_bytes());
        for f in TEXT_FORMATS {
            run(text.as_bytes(), f);
        }
    }
}
