//! `hits.csv`: one row per (file, list entry) for files that matched a
//! notable list.

use crate::model::{Disposition, Hex, Item};

const HEADER: &[&str] = &[
    "exhibit",
    "path",
    "size",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "list",
    "list_version",
    "record",
    "record_id",
    "match_kind",
    "matched_hashes",
    "distance",
    "variant",
    "listed_hash",
    "category_scheme",
    "category_code",
    "category_label",
    "status",
    "series",
    "duplicate_group",
    "conflict",
    "path_bytes",
];

/// A CSV cell, quoted when it holds a comma, quote or line break. Cells
/// starting with `=`, `+`, `-`, `@`, TAB or CR get a leading `'` so that a
/// spreadsheet never runs them as formulas; control, bidirectional and
/// invisible characters are written as visible escapes (`\n`, `\u202e`:
/// see [`super::display::visible`]), as spreadsheets would otherwise act on
/// them or hide them.
pub fn csv_cell(s: &str) -> String {
    let shown = super::display::visible(s);
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{shown}")
    } else {
        shown.into_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A digest's hex, or nothing.
pub(crate) fn hex<const N: usize>(v: &Option<Hex<N>>) -> String {
    v.map(|h| h.to_string()).unwrap_or_default()
}

/// The header line of `hits.csv`.
pub fn header() -> String {
    let mut out = HEADER.join(",");
    out.push('\n');
    out
}

/// The lines of `hits.csv` for one item: one per notable list entry it
/// matched (none unless it is a hit).
pub fn rows(it: &Item) -> String {
    let mut out = String::new();
    if it.disposition != Disposition::Hit {
        return out;
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    for h in it
        .hits
        .iter()
        .filter(|h| h.status == crate::model::Status::Notable)
    {
        let cat = h.category.as_ref();
        let row = [
            it.exhibit.clone(),
            it.path.clone(),
            it.size.map(|s| s.to_string()).unwrap_or_default(),
            hex(&it.md5),
            hex(&it.sha1),
            hex(&it.sha256),
            hex(&it.pdq),
            h.list.clone(),
            opt(&h.list_version),
            h.record.to_string(),
            opt(&h.record_id),
            h.match_kind.to_string(),
            h.matched_hashes
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join("+"),
            h.distance.map(|d| d.to_string()).unwrap_or_default(),
            opt(&h.variant),
            opt(&h.listed_hash),
            cat.map(|c| c.scheme.clone()).unwrap_or_default(),
            cat.map(|c| c.code.clone()).unwrap_or_default(),
            cat.and_then(|c| c.label.clone()).unwrap_or_default(),
            h.status.to_string(),
            opt(&h.series),
            it.duplicate_group
                .map(|g| g.to_string())
                .unwrap_or_default(),
            opt(&it.conflict),
            opt(&it.path_bytes),
        ];
        let line: Vec<String> = row.iter().map(|f| csv_cell(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::csv_cell as field;

    #[test]
    fn fields_are_quoted_and_defused() {
        assert_eq!(field("a"), "a");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
        assert_eq!(field("\t=cmd()"), "'\\t=cmd()");
        assert_eq!(field("\r+1"), "'\\r+1");
        assert_eq!(field("a\u{1b}[2Jb\u{7}"), "a\\u001b[2Jb\\u0007");
        assert_eq!(field("x\ny,z"), "\"x\\ny,z\"");
    }
}
