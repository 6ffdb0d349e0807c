//! `report.html`: one self-contained page (inline CSS, no scripts, no
//! external assets and no images of any kind) for the examiner and the
//! court: custody, counts per category per exhibit with a bar chart drawn
//! in CSS, the hits, list provenance, settings, errors and exclusions.

use super::{ErrorEntry, Report};
use crate::model::{Disposition, Item};
use std::fmt::Write;

/// Escapes text for HTML, with control, bidirectional and invisible
/// characters shown as escapes ([`super::display::visible`]).
pub fn esc(s: &str) -> String {
    let s = super::display::visible(s);
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn opt(v: &Option<String>) -> String {
    v.as_deref().map(esc).unwrap_or_else(|| "—".into())
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#111;max-width:75em}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;padding:.25em .5em;\
text-align:left;vertical-align:top;font-size:.9em}th{background:#eee}code{font-size:.85em;\
word-break:break-all}.bar{background:#444;height:1em;display:inline-block}.warn{color:#a00;\
font-weight:bold}.ok{color:#070;font-weight:bold}h1{margin-bottom:0}.sub{color:#555}";

/// Writes the page: `hits` are the hit items and `errors` the items'
/// errors, both in report order (the report's own lists may be partial).
pub(crate) fn write(
    w: &mut dyn std::io::Write,
    r: &Report,
    json_sha256: &str,
    hits: &mut dyn Iterator<Item = Item>,
    errors: &mut dyn Iterator<Item = ErrorEntry>,
) -> std::io::Result<()> {
    let c = &r.custody;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>Nigehbaan scan report {}</title><style>{STYLE}</style></head><body>",
        opt(&c.case_number)
    );
    let _ = write!(
        h,
        "<h1>Nigehbaan scan report</h1><p class=\"sub\">This report contains hashes, paths and \
         metadata only. It contains no images.</p>"
    );
    let status = if r.status.complete {
        "<span class=\"ok\">complete</span>".to_string()
    } else if r.status.interrupted {
        "<span class=\"warn\">INCOMPLETE: interrupted (continue with --resume)</span>".to_string()
    } else {
        "<span class=\"warn\">INCOMPLETE: see errors and exclusions</span>".to_string()
    };
    let t = &r.summary.total;
    let _ = write!(
        h,
        "<h2>Summary</h2><table><tr><th>Status</th><td>{status}</td></tr>\
         <tr><th>Files hashed</th><td>{}</td></tr><tr><th>Bytes</th><td>{}</td></tr>\
         <tr><th>Hits (files matching a notable list)</th><td><b>{}</b></td></tr>\
         <tr><th>Known files set aside</th><td>{}</td></tr><tr><th>Unmatched</th><td>{}</td></tr>\
         <tr><th>Files with errors</th><td>{}</td></tr><tr><th>Exclusions</th><td>{} ({} left \
         evidence unexamined)</td></tr><tr><th>Exact-duplicate groups</th><td>{}</td></tr>\
         <tr><th>Near-duplicate groups (unmatched images)</th><td>{}</td></tr>\
         <tr><th>Exit status</th><td>{}</td></tr></table>",
        t.files,
        t.bytes,
        t.hits,
        t.known,
        t.unmatched,
        t.errors,
        r.summary.exclusions,
        r.summary.incomplete_exclusions,
        r.summary.duplicate_groups,
        r.summary.near_duplicate_groups,
        r.status.exit_code
    );

    // Chain of custody.
    let _ = write!(
        h,
        "<h2>Chain of custody</h2><table>\
         <tr><th>Case number</th><td>{}</td></tr><tr><th>Examiner</th><td>{}</td></tr>\
         <tr><th>Agency</th><td>{}</td></tr><tr><th>Tool</th><td>{} {}</td></tr>\
         <tr><th>Host</th><td>{} ({})</td></tr><tr><th>Started</th><td>{} (local {})</td></tr>\
         <tr><th>Finished</th><td>{} (local {})</td></tr><tr><th>Runs</th><td>{}</td></tr>\
         <tr><th>Command line</th><td><code>{}</code></td></tr>\
         <tr><th>SHA-256 of report.json</th><td><code>{}</code></td></tr></table>",
        opt(&c.case_number),
        opt(&c.examiner),
        opt(&c.agency),
        esc(&c.tool_name),
        esc(&c.tool_version),
        esc(&c.host),
        esc(&c.platform),
        esc(&c.started.utc),
        esc(&c.started.local),
        esc(&c.finished.utc),
        esc(&c.finished.local),
        esc(&crate::runs::describe(&c.runs)),
        esc(&c.command_line),
        esc(json_sha256)
    );
    h.push_str("<h3>Exhibits</h3><table><tr><th>Exhibit</th><th>Paths</th><th>Files on disk</th><th>Bytes</th></tr>");
    for e in &c.exhibits {
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&e.id),
            e.paths
                .iter()
                .map(|p| esc(p))
                .collect::<Vec<_>>()
                .join("<br>"),
            e.files_on_disk,
            e.bytes_on_disk
        );
    }
    h.push_str("</table>");

    // Counts per category per exhibit, with a chart.
    h.push_str("<h2>Hits per category per exhibit</h2>");
    let labels = &r.summary.category_labels;
    let max = r
        .summary
        .per_exhibit
        .values()
        .flat_map(|c| c.by_category.values())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    h.push_str("<table><tr><th>Exhibit</th><th>Category</th><th>Label</th><th>Files</th><th>Chart</th></tr>");
    let mut any = false;
    for (ex, counts) in &r.summary.per_exhibit {
        for (cat, n) in &counts.by_category {
            any = true;
            let width = (*n as f64 / max as f64 * 30.0).max(0.2);
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{n}</td>\
                 <td><span class=\"bar\" style=\"width:{width:.2}em\"></span></td></tr>",
                esc(ex),
                esc(cat),
                labels.get(cat).map(|l| esc(l)).unwrap_or_default()
            );
        }
    }
    if !any {
        h.push_str("<tr><td colspan=\"5\">No hits.</td></tr>");
    }
    h.push_str("</table>");
    h.push_str("<table><tr><th>Exhibit</th><th>Files</th><th>Hits</th><th>Known</th><th>Unmatched</th><th>Errors</th></tr>");
    for (ex, k) in &r.summary.per_exhibit {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(ex),
            k.files,
            k.hits,
            k.known,
            k.unmatched,
            k.errors
        );
    }
    h.push_str("</table>");

    // Hits.
    h.push_str("<h2>Hits</h2><table><tr><th>Exhibit</th><th>Path</th><th>Match</th><th>List</th><th>Category</th><th>SHA-256 / PDQ</th></tr>");
    w.write_all(h.as_bytes())?;
    for it in hits.filter(|i| i.disposition == Disposition::Hit) {
        h.clear();
        for m in it
            .hits
            .iter()
            .filter(|m| m.status == crate::model::Status::Notable)
        {
            let how = m.how();
            let cat = m.category.as_ref().map_or("—".to_string(), |c| {
                format!(
                    "{}{}",
                    c.key(),
                    c.label
                        .as_deref()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default()
                )
            });
            let _ = write!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{} {}</td><td>{}</td>\
                 <td><code>{}<br>{}</code></td></tr>",
                esc(&it.exhibit),
                esc(&it.path),
                esc(&how),
                esc(&m.list),
                opt(&m.list_version),
                esc(&cat),
                esc(&super::csv::hex(&it.sha256)),
                esc(&super::csv::hex(&it.pdq))
            );
        }
        w.write_all(h.as_bytes())?;
    }
    h.clear();
    h.push_str("</table>");

    // Lists.
    h.push_str("<h2>Lists matched against</h2><table><tr><th>Name</th><th>Version</th><th>Source</th><th>Date</th><th>Status</th><th>Records</th><th>Imported</th><th>Content SHA-256 (records)</th></tr>");
    for l in &c.lists {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><code>{}</code></td></tr>",
            esc(&l.name),
            opt(&l.version),
            opt(&l.source),
            opt(&l.list_date),
            esc(&l.status),
            l.record_count,
            esc(&l.imported_at),
            esc(&l.records_sha256)
        );
    }
    h.push_str("</table>");

    // Settings.
    let s = &r.settings;
    let _ = write!(
        h,
        "<h2>Settings</h2><table><tr><th>Digests</th><td>{}</td></tr>\
         <tr><th>PDQ</th><td>{} (pipeline {})</td></tr>\
         <tr><th>PDQ match threshold</th><td>distance ≤ {}</td></tr>\
         <tr><th>PDQ minimum quality</th><td>{}</td></tr>\
         <tr><th>Rotations/flips searched</th><td>{}</td></tr>\
         <tr><th>Container limits</th><td>depth {}, {} entries, {} bytes, ratio {}× above {} bytes; \
         entries over {} bytes digested as streams</td></tr>\
         <tr><th>Symbolic links followed</th><td>{}</td></tr><tr><th>Threads</th><td>{}</td></tr></table>",
        esc(&s.digests.join(", ")),
        if s.pdq { "yes" } else { "no" },
        esc(&s.pdq_pipeline),
        s.matching.threshold,
        s.matching.min_quality,
        if s.matching.dihedral { "yes" } else { "no" },
        s.limits.max_depth,
        s.limits.max_entries,
        s.limits.max_total_bytes,
        s.limits.max_ratio,
        s.limits.ratio_floor,
        s.limits.max_in_memory,
        if s.follow_symlinks { "yes" } else { "no" },
        s.threads
    );

    // Errors and exclusions.
    let n_errors = r.summary.total.errors;
    let _ = write!(h, "<h2>Errors ({n_errors})</h2>");
    if n_errors > 0 {
        h.push_str("<table><tr><th>Exhibit</th><th>Path</th><th>Reason</th></tr>");
        w.write_all(h.as_bytes())?;
        for e in errors {
            h.clear();
            let _ = write!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&e.exhibit),
                esc(&e.path),
                esc(&e.reason)
            );
            w.write_all(h.as_bytes())?;
        }
        h.clear();
        h.push_str("</table>");
    }
    let _ = write!(h, "<h2>Exclusions ({})</h2>", r.exclusions.len());
    if !r.exclusions.is_empty() {
        h.push_str("<table><tr><th>Exhibit</th><th>Path</th><th>Kind</th><th>Reason</th><th>Hashed</th><th>Leaves evidence unexamined</th></tr>");
        for e in &r.exclusions {
            let _ = write!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.exhibit),
                esc(&e.path),
                esc(&e.kind),
                esc(&e.reason),
                if e.hashed { "yes" } else { "no" },
                if e.incomplete { "<span class=\"warn\">yes</span>" } else { "no" }
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<p class=\"sub\">Generated by Nigehbaan. The machine-readable report.json is the \
                complete record; its SHA-256 is given above and in report.json.sha256.</p></body></html>\n");
    w.write_all(h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(esc("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
        assert_eq!(esc("a\u{1b}b"), "a\\u001bb");
        assert_eq!(esc("rtl\u{202e}gpj.exe"), "rtl\\u202egpj.exe");
        assert_eq!(esc("two\nlines"), "two\\nlines");
    }
}
