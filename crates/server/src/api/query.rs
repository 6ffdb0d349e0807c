//! Query strings: percent-decoding and the per-route parameter check.

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::RawQuery;

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

pub(crate) struct Query(HashMap<String, String>);

impl Query {
    pub(crate) fn new(raw: &RawQuery, allowed: &[&str]) -> ApiResult<Query> {
        let q = parse_query(raw.0.as_deref())?;
        if let Some(k) = q.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad(
                "bad_query",
                format!(
                    "unknown query parameter {k:?} (this route takes: {})",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Query(q))
    }

    pub(crate) fn get<T: FromStr>(&self, name: &str) -> ApiResult<Option<T>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad(
                    "bad_query",
                    format!("query parameter {name} has a bad value {v:?}"),
                )
            }),
        }
    }

    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}
