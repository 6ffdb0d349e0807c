//! Pieces of `report.html`: labels in one or two languages, values kept
//! left to right, sizes, and the sections written row by row (hits, their
//! further records, groups, errors), streamed from the report's spills.
//!
//! Everything goes through maud, which escapes every interpolation; text
//! from the evidence goes through [`visible`] first, so control and
//! bidirectional characters read as escapes.

use super::display::visible;
use super::i18n::{Key, Lang, Langs};
use super::{ErrorEntry, Report};
use crate::model::{Hit, Item};
use maud::{html, Markup, PreEscaped};
use nigehbaan_lists::Status;
use nigehbaan_match::MatchKind;
use std::io::{self, Write};

/// The rows `report.html` lists, each read in report order (from the
/// spills, so that a report of any size is streamed).
pub(crate) trait Rows {
    /// Every hit item.
    fn hits(&self, f: &mut dyn FnMut(Item) -> io::Result<()>) -> io::Result<()>;
    /// Every item's error.
    fn errors(&self, f: &mut dyn FnMut(ErrorEntry) -> io::Result<()>) -> io::Result<()>;
    /// Every member of an exact-duplicate group, by group.
    fn duplicates(&self, f: &mut dyn FnMut(u32, Item) -> io::Result<()>) -> io::Result<()>;
    /// Every member of a near-duplicate group (`exhibit: path`), by group.
    fn near(&self, f: &mut dyn FnMut(u32, String) -> io::Result<()>) -> io::Result<()>;
}

/// How the page speaks: its languages.
pub(super) struct Ctx<'a> {
    pub langs: &'a Langs,
}

impl Ctx<'_> {
    /// A label in every language of the page (bilingual: the second in its
    /// own span, right to left when Urdu).
    pub fn l(&self, k: Key) -> Markup {
        self.each(|l| l.get(k).to_string())
    }

    /// A label inside running text in every language of the page
    /// (bilingual: `label / لیبل`, each in an inline span of its own
    /// language, so the line is not broken).
    pub fn inline(&self, k: Key) -> Markup {
        let list = self.langs.list();
        if list.len() == 1 {
            return html! { (list[0].get(k)) };
        }
        html! {
            @for (i, l) in list.iter().enumerate() {
                @if i > 0 { " / " }
                span lang=(l.tag()) dir=(if l.rtl() { "rtl" } else { "ltr" }) { (l.get(k)) }
            }
        }
    }

    /// Text in every language, each in a span of its own language.
    pub fn each(&self, f: impl Fn(Lang) -> String) -> Markup {
        let list = self.langs.list();
        if list.len() == 1 {
            return html! { (f(list[0])) };
        }
        html! {
            @for l in list {
                span.t lang=(l.tag()) dir=(if l.rtl() { "rtl" } else { "ltr" }) { (f(*l)) }
            }
        }
    }

    /// Paragraphs in every language.
    pub fn paras(&self, f: impl Fn(Lang) -> Vec<String>) -> Markup {
        html! {
            @for l in self.langs.list() {
                @for p in f(*l) {
                    p lang=(l.tag()) dir=(if l.rtl() { "rtl" } else { "ltr" }) { (p) }
                }
            }
        }
    }
}

/// A value from the evidence or the machine (path, hash, number, id):
/// left to right, isolated from the text around it, with hidden
/// characters made visible.
pub(super) fn v(s: &str) -> Markup {
    html! { bdi.v dir="ltr" { (visible(s)) } }
}

/// Like [`v`], in a fixed-width font that may break anywhere (hashes,
/// paths).
pub(super) fn code(s: &str) -> Markup {
    html! { bdi.v dir="ltr" { code { (visible(s)) } } }
}

/// An optional value, or a dash.
pub(super) fn opt(s: &Option<String>) -> Markup {
    match s {
        Some(s) => v(s),
        None => html! { "—" },
    }
}

/// A size for people: `64.0 GiB` (exact bytes are in the appendix).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut x = bytes as f64;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    format!("{x:.1} {}", UNITS[u])
}

/// A string for CSS `content`, every character that is not a plain
/// ASCII letter or digit written as a CSS escape (so nothing in it can
/// end the string or the style sheet).
pub(super) fn css_string(s: &str) -> String {
    let mut o = String::from("\"");
    for c in visible(s).chars() {
        // A space right after a six-digit escape would be taken as the
        // escape's end, so spaces are escaped too.
        if c.is_ascii_alphanumeric() {
            o.push(c);
        } else {
            o.push_str(&format!("\\{:06x}", c as u32));
        }
    }
    o.push('"');
    o
}

/// How a hit matched, for people: `exact (SHA-256)` or `similar (PDQ),
/// distance 4 (98.4 %), rot90`.
fn how(c: &Ctx, h: &Hit) -> Markup {
    let kind = h.match_kind.name().to_uppercase().replace("SHA", "SHA-");
    match h.distance {
        Some(d) if h.match_kind == MatchKind::Pdq => {
            let pct = (256.0 - f64::from(d)) / 256.0 * 100.0;
            html! {
                (c.l(Key::Similar)) " " (v("PDQ")) ", " (c.l(Key::Distance)) " " (v(&d.to_string()))
                " " (v(&format!("({pct:.1} %)")))
                @if let Some(var) = h.variant.as_deref().filter(|x| *x != "orig") { ", " (v(var)) }
            }
        }
        _ if h.match_kind == MatchKind::Vpdq => {
            let ranges = h.video.as_ref().map_or(String::new(), |x| {
                x.time_ranges
                    .iter()
                    .map(|[a, b]| format!("{a:.1}–{b:.1}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            html! {
                (c.l(Key::Similar)) " " (v("vPDQ"))
                @if let Some(x) = &h.video {
                    ", " (v(&format!("{:.1} %", x.query_match_percent))) " " (c.l(Key::OfTheVideo))
                    ", " (v(&format!("{:.1} %", x.compared_match_percent))) " " (c.l(Key::OfTheListed))
                    @if !ranges.is_empty() { "; " (c.l(Key::MatchedAt)) " " (v(&ranges)) }
                }
            }
        }
        _ => html! { (c.l(Key::Exact)) " " (v(&format!("({kind})"))) },
    }
}

fn list_cell(h: &Hit) -> Markup {
    html! {
        (v(&h.list))
        @if let Some(ver) = &h.list_version { br; small { "v " (v(ver)) } }
    }
}

fn category_cell(c: &Ctx, h: &Hit) -> Markup {
    match &h.category {
        Some(cat) => html! {
            (v(&cat.key()))
            @if let Some(l) = &cat.label { br; small { (visible(l)) } }
        },
        None => c.l(Key::Uncategorised),
    }
}

fn hashes(it: &Item) -> Markup {
    let rows: [(&str, Option<String>); 4] = [
        ("MD5", it.md5.map(|h| h.to_string())),
        ("SHA-1", it.sha1.map(|h| h.to_string())),
        ("SHA-256", it.sha256.map(|h| h.to_string())),
        ("PDQ", it.pdq.map(|h| h.to_string())),
    ];
    html! {
        @for (name, val) in rows.iter().filter_map(|(n, x)| x.as_ref().map(|x| (n, x))) {
            span.hl { (name) } " " (code(val)) br;
        }
    }
}

/// The hits table, one row per file with its strongest match, and the
/// number of files with further records.
pub(super) fn hits_table(c: &Ctx, w: &mut dyn Write, rows: &dyn Rows) -> io::Result<u64> {
    let head = html! {
        table.hits {
            colgroup {
                col style="width:7%"; col style="width:9%"; col style="width:23%";
                col style="width:14%"; col style="width:11%"; col style="width:10%";
                col style="width:26%";
            }
            thead { tr {
                th { (c.l(Key::Number)) } th { (c.l(Key::Exhibit)) } th { (c.l(Key::Path)) }
                th { (c.l(Key::Match)) } th { (c.l(Key::List)) } th { (c.l(Key::Category)) }
                th { (c.l(Key::Hashes)) }
            } }
            (PreEscaped("<tbody>"))
        }
    };
    let mut s = head.into_string();
    // The table's close tags: maud closes what it opens, so the body is
    // opened and closed by hand around the streamed rows.
    s.truncate(s.len() - "</table>".len());
    w.write_all(s.as_bytes())?;
    let (mut n, mut further) = (0u64, 0u64);
    rows.hits(&mut |it| {
        n += 1;
        let Some(best) = super::strongest(&it, false) else {
            return Ok(());
        };
        let more = it.hits.iter().filter(|h| !std::ptr::eq(*h, best)).count();
        further += u64::from(more > 0);
        let row = html! {
            tr {
                td { (v(&n.to_string())) }
                td { (v(&it.exhibit)) }
                td { (code(&it.path)) @if let Some(sz) = it.size { br; small { (v(&human(sz))) } } }
                td { (how(c, best)) }
                td { (list_cell(best)) }
                td { (category_cell(c, best)) }
                td { (hashes(&it))
                    @if more > 0 { small.more { "+" (v(&more.to_string())) " " (c.l(Key::MoreRecords)) } } }
            }
        };
        w.write_all(row.into_string().as_bytes())
    })?;
    if n == 0 {
        let none = html! { tr { td colspan="7" { (c.l(Key::NoHits)) } } };
        w.write_all(none.into_string().as_bytes())?;
    }
    w.write_all(b"</tbody></table>")?;
    Ok(further)
}

/// Appendix A: every matching record besides each file's strongest.
pub(super) fn further_records(c: &Ctx, w: &mut dyn Write, rows: &dyn Rows) -> io::Result<()> {
    let head = html! {
        h2 #appendix-a { (c.l(Key::FurtherRecords)) }
        p { (c.l(Key::FurtherRecordsNote)) }
    };
    w.write_all(head.into_string().as_bytes())?;
    w.write_all(
        html! {
            thead { tr {
                th style="width:9%" { (c.l(Key::Number)) } th style="width:21%" { (c.l(Key::List)) }
                th style="width:10%" { (c.l(Key::Record)) } th style="width:25%" { (c.l(Key::Match)) }
                th style="width:35%" { (c.l(Key::Category)) }
            } }
        }
        .into_string()
        .replace("<thead>", "<table><thead>")
        .as_bytes(),
    )?;
    w.write_all(b"<tbody>")?;
    let mut n = 0u64;
    let mut any = false;
    rows.hits(&mut |it| {
        n += 1;
        let best = super::strongest(&it, false);
        for h in it.hits.iter().filter(|h| best.is_none_or(|b| !std::ptr::eq(*h, b))) {
            any = true;
            let row = html! { tr {
                td { (v(&n.to_string())) }
                td { (list_cell(h)) @if h.status != Status::Notable { br; small { (v(h.status.name())) } } }
                td { (v(&h.record.to_string())) @if let Some(id) = &h.record_id { br; small { (v(id)) } } }
                td { (how(c, h)) }
                td { (category_cell(c, h)) }
            } };
            w.write_all(row.into_string().as_bytes())?;
        }
        Ok(())
    })?;
    if !any {
        let none = html! { tr { td colspan="5" { (c.l(Key::NoneText)) } } };
        w.write_all(none.into_string().as_bytes())?;
    }
    w.write_all(b"</tbody></table>")
}

/// The exact- and near-duplicate groups, one row per member.
pub(super) fn groups(c: &Ctx, w: &mut dyn Write, r: &Report, rows: &dyn Rows) -> io::Result<()> {
    let open = |k: Key, n: u64| {
        html! {
            h2 { (c.l(k)) " " (v(&format!("({n})"))) }
            (PreEscaped("<table><thead><tr><th style=\"width:10%\">"))
            (c.l(Key::Group)) (PreEscaped("</th><th>")) (c.l(Key::Members))
            (PreEscaped("</th></tr></thead><tbody>"))
        }
        .into_string()
    };
    w.write_all(open(Key::DuplicateGroups, r.summary.duplicate_groups).as_bytes())?;
    let mut last = 0u32;
    rows.duplicates(&mut |g, it| {
        let first = g != last;
        last = g;
        let row = html! { tr.grp[first] {
            td { @if first { (v(&g.to_string())) } }
            td { (v(&it.exhibit)) ": " (code(&it.path))
                 @if first { @if let Some(s) = it.sha256 { br; span.hl { "SHA-256" } " " (code(&s.to_string())) } } }
        } };
        w.write_all(row.into_string().as_bytes())
    })?;
    if last == 0 {
        w.write_all(
            html! { tr { td colspan="2" { (c.l(Key::NoneText)) } } }
                .into_string()
                .as_bytes(),
        )?;
    }
    w.write_all(b"</tbody></table>")?;
    w.write_all(open(Key::NearGroups, r.summary.near_duplicate_groups).as_bytes())?;
    let mut last = 0u32;
    rows.near(&mut |g, label| {
        let first = g != last;
        last = g;
        let row = html! { tr.grp[first] {
            td { @if first { (v(&g.to_string())) } } td { (code(&label)) }
        } };
        w.write_all(row.into_string().as_bytes())
    })?;
    if last == 0 {
        w.write_all(
            html! { tr { td colspan="2" { (c.l(Key::NoneText)) } } }
                .into_string()
                .as_bytes(),
        )?;
    }
    w.write_all(b"</tbody></table>")
}

/// The errors, streamed, and the exclusions.
pub(super) fn errors_and_exclusions(
    c: &Ctx,
    w: &mut dyn Write,
    r: &Report,
    rows: &dyn Rows,
) -> io::Result<()> {
    let head = html! {
        h2 { (c.l(Key::Errors)) " " (v(&format!("({})", r.summary.total.errors))) }
        (PreEscaped("<table><thead><tr><th style=\"width:12%\">")) (c.l(Key::Exhibit))
        (PreEscaped("</th><th style=\"width:48%\">")) (c.l(Key::Path))
        (PreEscaped("</th><th>")) (c.l(Key::Reason)) (PreEscaped("</th></tr></thead><tbody>"))
    };
    w.write_all(head.into_string().as_bytes())?;
    let mut any = false;
    rows.errors(&mut |e| {
        any = true;
        let row = html! { tr { td { (v(&e.exhibit)) } td { (code(&e.path)) } td { (visible(&e.reason)) } } };
        w.write_all(row.into_string().as_bytes())
    })?;
    if !any {
        w.write_all(
            html! { tr { td colspan="3" { (c.l(Key::NoneText)) } } }
                .into_string()
                .as_bytes(),
        )?;
    }
    w.write_all(b"</tbody></table>")?;
    let body = html! {
        h2 { (c.l(Key::Exclusions)) " " (v(&format!("({})", r.exclusions.len()))) }
        table {
            thead { tr {
                th style="width:10%" { (c.l(Key::Exhibit)) } th style="width:30%" { (c.l(Key::Path)) }
                th style="width:12%" { (c.l(Key::Kind)) } th style="width:28%" { (c.l(Key::Reason)) }
                th style="width:8%" { (c.l(Key::Hashed)) } th style="width:12%" { (c.l(Key::LeavesUnexamined)) }
            } }
            tbody {
                @for e in &r.exclusions {
                    tr {
                        td { (v(&e.exhibit)) } td { (code(&crate::model::readable_name(&e.path))) }
                        td { (v(e.kind.name())) } td { (visible(&e.reason)) }
                        td { (c.l(if e.hashed { Key::Yes } else { Key::No })) }
                        td { @if e.incomplete { span.warn { (c.l(Key::Yes)) } } @else { (c.l(Key::No)) } }
                    }
                }
                @if r.exclusions.is_empty() { tr { td colspan="6" { (c.l(Key::NoneText)) } } }
            }
        }
    };
    w.write_all(body.into_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_people() {
        assert_eq!(human(0), "0 bytes");
        assert_eq!(human(1023), "1023 bytes");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(68_719_476_736), "64.0 GiB");
    }

    #[test]
    fn css_strings_cannot_escape() {
        let s = css_string("a\"}</style><script>\u{202e}");
        assert!(!s[1..s.len() - 1].contains(['"', '<', '>', '}', '\u{202e}']));
        assert!(s.starts_with("\"a\\000022"));
    }

    #[test]
    fn values_are_escaped_and_visible() {
        let m = v("<b>rtl\u{202e}gpj.exe").into_string();
        assert_eq!(
            m,
            "<bdi class=\"v\" dir=\"ltr\">&lt;b&gt;rtl\\u202egpj.exe</bdi>"
        );
    }
}
