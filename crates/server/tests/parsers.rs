//! Property tests for the request parsers: they never panic, accept
//! exactly the well-formed inputs, and answer every bad one with a 400 and
//! a stable code.

use nigehbaan_server::api::{
    parse_entry, parse_json, parse_lookup, parse_query, EntryIn, LookupQuery, Parsed,
};
use nigehbaan_server::store::HashKind;
use proptest::prelude::*;
use std::collections::HashMap;

/// Reference hex decoding for the oracle: one nibble at a time, by table.
fn unhex(s: &str) -> Vec<u8> {
    const DIGITS: &str = "0123456789abcdef";
    let nib = |c: char| DIGITS.find(c.to_ascii_lowercase()).unwrap() as u8;
    let cs: Vec<char> = s.chars().collect();
    cs.chunks(2).map(|p| nib(p[0]) * 16 + nib(p[1])).collect()
}

/// Encodes `s` for a query string, each byte chosen by `pick`: 0 literal
/// (when that byte is safe), 1 `%XX`, 2 `%xx`, 3 `+` for a space (else `%XX`).
fn encode<'a>(s: &str, pick: &mut impl Iterator<Item = &'a u8>) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        let safe = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        match pick.next().copied().unwrap_or(1) {
            0 if safe => out.push(b as char),
            3 if b == b' ' => out.push('+'),
            2 => out.push_str(&format!("%{b:02x}")),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

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

    /// The oracle is the construction: distinct names and arbitrary values
    /// are encoded (each byte literal, `%XX` in either case, or `+` for a
    /// space, chosen at random), so the expected map is known without
    /// decoding anything.
    #[test]
    fn encoded_pairs_decode_to_what_was_encoded(
        pairs in proptest::collection::btree_map("[a-z_]{1,10}", "\\PC{0,20}", 0..6),
        picks in proptest::collection::vec(0u8..4, 400),
    ) {
        let mut pick = picks.iter().cycle();
        let parts: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k, &mut pick), encode(v, &mut pick)))
            .collect();
        let raw = parts.join("&");
        let got = parse_query(Some(&raw)).unwrap();
        let want: HashMap<String, String> = pairs.into_iter().collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn a_bad_escape_anywhere_is_refused(
        k in "[a-z]{1,8}",
        before in "[a-z0-9]{0,8}",
        bad in prop_oneof![Just("%".to_string()), Just("%4".to_string()), "%[g-z][0-9a-f]", "%[0-9a-f][g-z]"],
    ) {
        let e = parse_query(Some(&format!("{k}={before}{bad}"))).unwrap_err();
        prop_assert_eq!((e.status.as_u16(), e.code), (400, "bad_query"));
    }

    #[test]
    fn a_repeated_name_is_refused(k in "[a-z]{1,8}", a in "[a-z]{0,5}", b in "[a-z]{0,5}") {
        let e = parse_query(Some(&format!("{k}={a}&{k}={b}"))).unwrap_err();
        prop_assert_eq!((e.status.as_u16(), e.code), (400, "bad_query"));
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
            Parsed::Pdq(p) => prop_assert_eq!(p.to_bytes().to_vec(), unhex(&h)),
            other => prop_assert!(false, "{other:?}"),
        }
        let q = LookupQuery { md5: Some(m.clone()), ..Default::default() };
        prop_assert_eq!(parse_lookup(&q).unwrap(), Parsed::Exact(HashKind::Md5, unhex(&m)));
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
