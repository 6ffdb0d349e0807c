//! Query strings: each route's parameters are a struct that serde reads
//! ([`query_as`], unknown and repeated parameters refused);
//! [`parse_query`] checks the encoding (percent escapes, UTF-8) first so
//! that a malformed string gets the same answer on every route.

use std::collections::HashMap;

use axum::extract::RawQuery;
use serde::de::DeserializeOwned;

use super::{ApiError, ApiResult};

/// Parses a query string into name/value pairs (percent-decoded).
pub fn parse_query(raw: Option<&str>) -> ApiResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = percent_decode(k)?;
        let v = percent_decode(v)?;
        if out.insert(k.clone(), v).is_some() {
            return Err(ApiError::bad(
                "bad_query",
                format!("query parameter {k:?} is given twice"),
            ));
        }
    }
    Ok(out)
}

fn percent_decode(s: &str) -> ApiResult<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hexd = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let v = hexd
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad("bad_query", "bad percent-encoding in the query string")
                    })?;
                out.push(v);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ApiError::bad("bad_query", "the query string is not UTF-8"))
}

/// Reads a route's query parameters into `T` (a struct with
/// `#[serde(deny_unknown_fields)]`): bad encoding, unknown or repeated
/// parameters and bad values are a 400 `bad_query`.
pub(crate) fn query_as<T: DeserializeOwned>(raw: &RawQuery) -> ApiResult<T> {
    let s = raw.0.as_deref().unwrap_or("");
    parse_query(Some(s))?;
    serde_urlencoded::from_str(s)
        .map_err(|e| ApiError::bad("bad_query", format!("bad query string: {e}")))
}
