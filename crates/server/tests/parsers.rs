//! Property tests for the request parsers: they never panic, accept
//! exactly the well-formed inputs, and answer every bad one with a 400 and
//! a stable code.

use nigehbaan_server::api::{
    parse_entry, parse_json, parse_lookup, parse_query, EntryIn, LookupQuery, Parsed,
};
use nigehbaan_server::store::HashKind;
use proptest::prelude::*;

fn hex_of(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(b"0123456789abcdefABCDEF".to_vec()),
        len,
    )
    .prop_map(|v| String::from_utf8(v).unwrap())
}

proptest! {
    #[test]
    fn query_strings_never_panic(s in ".{0,200}") {
        match parse_query(Some(&s)) {
            Ok(_) => {}
            Err(e) => { prop_assert_eq!(e.status.as_u16(), 400); prop_assert_eq!(e.code, "bad_query"); }
        }
    }

    #[test]
    fn query_strings_round_trip(k in "[a-z_]{1,10}", v in "[ -~]{0,40}") {
        let enc: String = v.bytes().map(|b| format!("%{b:02X}")).collect();
        let q = parse_query(Some(&format!("{k}={enc}"))).unwrap();
        prop_assert_eq!(q.get(&k), Some(&v));
    }

    #[test]
    fn any_text_as_a_hash_is_accepted_only_when_well_formed(s in ".{0,80}", which in 0usize..4) {
        let mut q = LookupQuery::default();
        let (len, slot) = match which {
            0 => (64, &mut q.pdq),
            1 => (32, &mut q.md5),
            2 => (40, &mut q.sha1),
            _ => (64, &mut q.sha256),
        };
        *slot = Some(s.clone());
        let t = s.trim();
        let ok = t.len() == len && t.bytes().all(|b| b.is_ascii_hexdigit());
        match parse_lookup(&q) {
            Ok(_) => prop_assert!(ok),
            Err(e) => { prop_assert!(!ok); prop_assert_eq!(e.code, "bad_hash"); }
        }
    }

    #[test]
    fn well_formed_hashes_parse_to_their_bytes(h in hex_of(64), m in hex_of(32)) {
        let q = LookupQuery { pdq: Some(h.clone()), ..Default::default() };
        match parse_lookup(&q).unwrap() {
            Parsed::Pdq(p) => prop_assert_eq!(p.to_hex(), h.to_ascii_lowercase()),
            other => prop_assert!(false, "{other:?}"),
        }
        let q = LookupQuery { md5: Some(m.clone()), ..Default::default() };
        prop_assert_eq!(parse_lookup(&q).unwrap(), Parsed::Exact(HashKind::Md5, nigehbaan_lists::hex::decode_fixed::<16>(&m).unwrap().to_vec()));
    }

    #[test]
    fn two_hashes_in_one_query_are_refused(a in hex_of(32), b in hex_of(40)) {
        let q = LookupQuery { md5: Some(a), sha1: Some(b), ..Default::default() };
        prop_assert_eq!(parse_lookup(&q).unwrap_err().code, "bad_lookup");
    }

    #[test]
    fn arbitrary_bytes_as_json_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let r: Result<EntryIn, _> = parse_json(Ok(body.into()));
        if let Ok(e) = r {
            if let Err(err) = parse_entry(&e) {
                prop_assert_eq!(err.status.as_u16(), 400);
            }
        } else {
            prop_assert_eq!(r.unwrap_err().code, "bad_json");
        }
    }

    #[test]
    fn entries_need_a_hash_and_a_known_status(status in "[a-z]{0,8}", q in 0u8..=255) {
        let e = EntryIn { md5: Some("00".repeat(16)), status: Some(status.clone()), pdq_quality: Some(q), ..Default::default() };
        let ok = (status == "notable" || status == "known") && q <= 100;
        prop_assert_eq!(parse_entry(&e).is_ok(), ok);
        let none = EntryIn { status: Some("notable".into()), ..Default::default() };
        prop_assert_eq!(parse_entry(&none).unwrap_err().code, "no_hash");
    }
}
