//! `report.html`: the court document. One self-contained page (inline
//! CSS, no scripts, no external assets, no images of any kind), printable
//! on A4 with a running header (case number, exhibits) and a "page X of
//! Y" footer, table headers repeated on every page and no row split.
//!
//! Built with maud: every interpolation is escaped by default, and the
//! template is Rust, checked by the compiler (maud rather than askama: no
//! template files to keep in step, and rows can be rendered one at a time,
//! so a report with 100,000 hits is streamed from the spills). Text from
//! the evidence is also made [visible](super::display::visible).
//!
//! Order, as issue 14 asks: title block; findings; method and limits;
//! chain of custody; exhibits; hits per category; hits (one row per file);
//! duplicate and near-duplicate groups; lists; errors and exclusions;
//! declaration and signature block; appendix A (further records);
//! appendix B (settings, command lines, exact sizes).

use super::html_images::render_images;
pub(crate) use super::html_parts::Rows;
use super::html_parts::{
    code, css_string, errors_and_exclusions, further_records, groups, hits_table, human, opt, v,
    Ctx,
};
use super::i18n::{Facts, Key, Lang, Langs};
use super::Report;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::io::{self, Write};

/// The print and screen style. Fonts: Urdu in Nastaliq (Noto Nastaliq
/// Urdu, Jameel Noori Nastaleeq), then Naskh fallbacks.
const STYLE: &str = r#"
@page{size:A4;margin:22mm 15mm 20mm 15mm;
 @top-left{font:8pt sans-serif;color:#333}
 @top-right{font:8pt sans-serif;color:#333}
 @bottom-center{font:8pt sans-serif;color:#333}}
html{font-family:"Noto Sans","DejaVu Sans","Liberation Sans",Arial,sans-serif;font-size:10pt;color:#000}
body{margin:0 auto;max-width:62em}
@media screen{body{margin:2em auto;padding:0 1em}}
:lang(ur),[dir=rtl]{font-family:"Noto Nastaliq Urdu","Jameel Noori Nastaleeq","Noto Naskh Arabic","Noto Sans Arabic","DejaVu Sans",serif;line-height:2.1}
span.t{display:block}span.t+span.t{font-size:.95em}
h1{font-size:15pt;margin:0 0 .3em}h2{font-size:12pt;margin:1.2em 0 .4em;break-after:avoid;page-break-after:avoid}
p{margin:.3em 0 .6em;text-align:justify}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:.3em 0 1em}
th,td{border:1px solid #888;padding:.2em .35em;text-align:start;vertical-align:top;overflow-wrap:anywhere;word-break:break-word;font-size:8.5pt}
th{background:#eee}thead{display:table-header-group}
tr{break-inside:avoid;page-break-inside:avoid}
table.kv th{width:32%}
bdi.v{unicode-bidi:isolate;direction:ltr}
code{font-family:"DejaVu Sans Mono","Liberation Mono",monospace;font-size:7.5pt;word-break:break-all;overflow-wrap:anywhere}
small{font-size:7.5pt;color:#333}.hl{font-size:7pt;color:#444;font-weight:bold}
.more{display:block;margin-top:.2em}
tr.grp td{border-top:2px solid #444}
.bar{background:#444;height:.8em;display:inline-block;print-color-adjust:exact;-webkit-print-color-adjust:exact}
.warn{color:#a00;font-weight:bold}.ok{color:#060;font-weight:bold}
.sub{color:#333}.sig td{height:2.6em}
"#;

/// The running header and footer in every language of the page, one line
/// per language in the header (CSS strings escaped by [`css_string`]).
fn page_style(r: &Report, langs: &Langs) -> String {
    let c = &r.custody;
    let case = |l: Lang| {
        let mut s = format!(
            "{} {}",
            l.get(Key::CaseNumber),
            c.case_number.as_deref().unwrap_or("—")
        );
        if let Some(f) = &c.case.fir {
            s.push_str(&format!("  {} {f}", l.get(Key::Fir)));
        }
        s
    };
    let exhibits: Vec<&str> = c.exhibits.iter().map(|e| e.id.as_str()).collect();
    let exhibits = exhibits.join(", ");
    // One CSS string per language, joined by a line break (`\A`, shown
    // as one by `white-space: pre-wrap`).
    let lines = |f: &dyn Fn(Lang) -> String| {
        langs
            .list()
            .iter()
            .map(|l| css_string(&f(*l)))
            .collect::<Vec<_>>()
            .join(" \"\\A\" ")
    };
    let h1 = lines(&case);
    let h2 = lines(&|l: Lang| format!("{} {exhibits}", l.get(Key::Exhibit)));
    let footer = langs
        .list()
        .iter()
        .map(|l| {
            format!(
                "{} counter(page) {} counter(pages)",
                css_string(&format!("{} ", l.get(Key::Page))),
                css_string(&format!(" {} ", l.get(Key::Of)))
            )
        })
        .collect::<Vec<_>>()
        .join(&format!(" {} ", css_string("   /   ")));
    format!(
        "@page{{@top-left{{content:{h1};white-space:pre-wrap}}\
         @top-right{{content:{h2};white-space:pre-wrap;text-align:end}}\
         @bottom-center{{content:{footer}}}}}"
    )
}

fn facts(r: &Report, l: Lang) -> Facts {
    let labels = &r.summary.category_labels;
    Facts {
        files: r.summary.total.files,
        hits: r.summary.total.hits,
        known: r.summary.total.known,
        unexamined: r.summary.total.errors + r.summary.incomplete_exclusions,
        per_exhibit: r
            .summary
            .per_exhibit
            .iter()
            .map(|(ex, k)| {
                let cats = k
                    .by_category
                    .iter()
                    .map(|(cat, n)| {
                        let name = match (cat.as_str(), labels.get(cat)) {
                            ("uncategorised", _) => l.get(Key::Uncategorised).to_string(),
                            (_, Some(label)) => format!("{cat} ({label})"),
                            (_, None) => cat.clone(),
                        };
                        (super::display::visible(&name).into_owned(), *n)
                    })
                    .collect();
                (super::display::visible(ex).into_owned(), k.hits, cats)
            })
            .collect(),
        complete: r.status.complete,
    }
}

fn title_block(c: &Ctx, r: &Report) -> Markup {
    let k = &r.custody;
    let row = |key: Key, val: Markup| html! { tr { th { (c.l(key)) } td { (val) } } };
    let status = if r.status.complete {
        html! { span.ok { (c.l(Key::Complete)) } }
    } else if r.status.interrupted {
        html! { span.warn { (c.l(Key::Interrupted)) } }
    } else {
        html! { span.warn { (c.l(Key::Incomplete)) } }
    };
    html! {
        h1 { (c.l(Key::Title)) }
        p.sub { (c.l(Key::NoPictures)) }
        table.kv {
            (row(Key::Agency, opt(&k.agency)))
            (row(Key::Lab, opt(&k.case.lab)))
            (row(Key::CaseNumber, opt(&k.case_number)))
            (row(Key::Fir, opt(&k.case.fir)))
            (row(Key::PoliceStation, opt(&k.case.police_station)))
            (row(Key::Court, opt(&k.case.court)))
            (row(Key::Laws, html! { @for (i, law) in k.case.laws.iter().enumerate() {
                @if i > 0 { br; } (v(law)) } @if k.case.laws.is_empty() { "—" } }))
            (row(Key::ReportDate, html! { (v(&k.finished.utc)) br; small { (v(&k.finished.local)) } }))
            (row(Key::Examiner, opt(&k.examiner)))
            (row(Key::Designation, opt(&k.case.designation)))
            (row(Key::Status, status))
        }
    }
}

fn custody(c: &Ctx, r: &Report, json_sha256: &str) -> Markup {
    let k = &r.custody;
    let row = |key: Key, val: Markup| html! { tr { th { (c.l(key)) } td { (val) } } };
    html! {
        h2 { (c.l(Key::Custody)) }
        table.kv {
            (row(Key::Tool, v(&format!("{} {}", k.tool_name, k.tool_version))))
            (row(Key::Host, v(&format!("{} ({})", k.host, k.platform))))
            (row(Key::Started, html! { (v(&k.started.utc)) br; small { (v(&k.started.local)) } }))
            (row(Key::Finished, html! { (v(&k.finished.utc)) br; small { (v(&k.finished.local)) } }))
            (row(Key::Runs, v(&crate::runs::describe(&k.runs))))
            (row(Key::JsonSha, code(json_sha256)))
        }
        h2 { (c.l(Key::Exhibits)) }
        table {
            thead { tr {
                th style="width:14%" { (c.l(Key::Exhibit)) } th style="width:14%" { (c.l(Key::Seal)) }
                th style="width:44%" { (c.l(Key::Paths)) } th style="width:14%" { (c.l(Key::FilesOnDisk)) }
                th style="width:14%" { (c.l(Key::Size)) }
            } }
            tbody { @for e in &k.exhibits { tr {
                td { (v(&e.id)) }
                td { @if let Some(s) = k.case.seal(&e.id) { (v(s)) } @else { "—" } }
                td { @for (i, p) in e.paths.iter().enumerate() { @if i > 0 { br; } (code(p)) } }
                td { (v(&e.files_on_disk.to_string())) }
                td { (v(&human(e.bytes_on_disk))) }
            } } }
        }
        // The per-exhibit disk-image tree (image → partitions → file
        // systems with live/deleted/carved counts).
        @for e in &k.exhibits { (render_images(c, &e.id, &r.images, &k.images)) }
    }
}

fn categories(c: &Ctx, r: &Report) -> Markup {
    let labels = &r.summary.category_labels;
    let max = r
        .summary
        .per_exhibit
        .values()
        .flat_map(|k| k.by_category.values())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let any = r
        .summary
        .per_exhibit
        .values()
        .any(|k| !k.by_category.is_empty());
    html! {
        h2 { (c.l(Key::PerCategory)) }
        table {
            thead { tr {
                th style="width:16%" { (c.l(Key::Exhibit)) } th style="width:22%" { (c.l(Key::Category)) }
                th style="width:30%" { "" } th style="width:10%" { (c.l(Key::Files)) }
                th style="width:22%" { "" }
            } }
            tbody {
                @for (ex, k) in &r.summary.per_exhibit { @for (cat, n) in &k.by_category {
                    tr {
                        td { (v(ex)) }
                        td { @if cat == "uncategorised" { (c.l(Key::Uncategorised)) } @else { (v(cat)) } }
                        td { (super::display::visible(labels.get(cat).map_or("", String::as_str))) }
                        td { (v(&n.to_string())) }
                        td { span.bar style=(format!("width:{:.1}%", (*n as f64 / max as f64 * 100.0).max(1.0))) {} }
                    }
                } }
                @if !any { tr { td colspan="5" { (c.l(Key::NoHits)) } } }
            }
        }
        table {
            thead { tr {
                th { (c.l(Key::Exhibit)) } th { (c.l(Key::Files)) } th { (c.l(Key::Hits)) }
                th { (c.l(Key::Known)) } th { (c.l(Key::Unmatched)) } th { (c.l(Key::Errors)) }
            } }
            tbody { @for (ex, k) in &r.summary.per_exhibit { tr {
                td { (v(ex)) } td { (v(&k.files.to_string())) } td { b { (v(&k.hits.to_string())) } }
                td { (v(&k.known.to_string())) } td { (v(&k.unmatched.to_string())) }
                td { (v(&k.errors.to_string())) }
            } } }
        }
    }
}

fn lists(c: &Ctx, r: &Report) -> Markup {
    html! {
        h2 { (c.l(Key::Lists)) }
        table {
            thead { tr {
                th style="width:13%" { (c.l(Key::Name)) } th style="width:9%" { (c.l(Key::Version)) }
                th style="width:13%" { (c.l(Key::Issuer)) } th style="width:10%" { (c.l(Key::ListDate)) }
                th style="width:9%" { (c.l(Key::Records)) }
                th style="width:23%" { (c.l(Key::SourceSha)) } th style="width:23%" { (c.l(Key::RecordsSha)) }
            } }
            tbody { @for l in &r.custody.lists { tr {
                td { (v(&l.name)) br; small { (v(&l.status)) } }
                td { (opt(&l.version)) } td { (opt(&l.source)) } td { (opt(&l.list_date)) }
                td { (v(&l.record_count.to_string())) }
                td { (code(&l.source_sha256)) } td { (code(&l.records_sha256)) }
            } } }
        }
    }
}

fn declaration(c: &Ctx, r: &Report) -> Markup {
    let k = &r.custody;
    let row = |key: Key, val: Markup| html! { tr { th { (c.l(key)) } td { (val) } } };
    html! {
        h2 { (c.l(Key::Declaration)) }
        (c.paras(|l| vec![l.get(Key::DeclarationText).to_string()]))
        table.kv.sig {
            (row(Key::Name, opt(&k.examiner)))
            (row(Key::Designation, opt(&k.case.designation)))
            (row(Key::Signature, html! {}))
            (row(Key::Date, html! {}))
            (row(Key::Place, html! {}))
        }
    }
}

fn settings(c: &Ctx, r: &Report) -> Markup {
    let s = &r.settings;
    let yes = |b: bool| c.l(if b { Key::Yes } else { Key::No });
    let row = |key: Key, val: Markup| html! { tr { th { (c.l(key)) } td { (val) } } };
    let limits = format!(
        "depth {}, {} entries, {} bytes, ratio {}x above {} bytes; entries over {} bytes digested as streams",
        s.limits.max_depth, s.limits.max_entries, s.limits.max_total_bytes, s.limits.max_ratio,
        s.limits.ratio_floor, s.limits.max_in_memory
    );
    html! {
        h2 #appendix-b { (c.l(Key::Appendix)) }
        table.kv {
            (row(Key::Digests, v(&s.digests.join(", "))))
            (row(Key::Threshold, v(&format!("≤ {} (PDQ {}, {})", s.matching.threshold, if s.pdq { "on" } else { "off" }, s.pdq_pipeline))))
            (row(Key::MinQuality, v(&s.matching.min_quality.to_string())))
            (row(Key::Dihedral, yes(s.matching.dihedral)))
            (row(Key::Limits, v(&limits)))
            (row(Key::Symlinks, yes(s.follow_symlinks)))
            (row(Key::Carve, yes(s.carve)))
            (row(Key::Threads, v(&s.threads.to_string())))
            (row(Key::ExitStatus, v(&r.status.exit_code.to_string())))
        }
        h2 { (c.l(Key::CommandLine)) }
        table { tbody {
            @for (i, run) in r.custody.runs.iter().enumerate() {
                tr { td style="width:8%" { (v(&(i + 1).to_string())) } td { (code(&run.command_line)) } }
            }
            @if r.custody.runs.is_empty() { tr { td { (code(&r.custody.command_line)) } } }
        } }
        h2 { (c.l(Key::ExactSizes)) }
        table {
            thead { tr { th { (c.l(Key::Exhibit)) } th { (c.l(Key::Size)) } th { (c.l(Key::Bytes)) } } }
            tbody {
                @for e in &r.custody.exhibits { tr {
                    td { (v(&e.id)) } td { (v(&human(e.bytes_on_disk))) } td { (v(&e.bytes_on_disk.to_string())) }
                } }
                tr { td { (c.l(Key::Files)) } td { (v(&human(r.summary.total.bytes))) }
                     td { (v(&r.summary.total.bytes.to_string())) } }
            }
        }
    }
}

/// Writes the page; `rows` gives the hits, errors and group members in
/// report order.
pub(crate) fn write(
    w: &mut dyn Write,
    r: &Report,
    json_sha256: &str,
    langs: &Langs,
    rows: &dyn Rows,
) -> io::Result<()> {
    let c = Ctx { langs };
    let main = langs.main();
    let lists_text = r
        .custody
        .lists
        .iter()
        .map(|l| {
            let mut s = l.name.clone();
            if let Some(v) = &l.version {
                s.push_str(&format!(" {v}"));
            }
            if let Some(src) = &l.source {
                s.push_str(&format!(" ({src})"));
            }
            super::display::visible(&s).into_owned()
        })
        .collect::<Vec<_>>()
        .join("; ");
    let title = format!(
        "{} {}",
        main.get(Key::CaseNumber),
        r.custody.case_number.as_deref().unwrap_or("—")
    );
    let head = html! {
        (DOCTYPE)
        (PreEscaped(format!("<html lang=\"{}\" dir=\"{}\">", main.tag(), if main.rtl() { "rtl" } else { "ltr" })))
        head {
            meta charset="utf-8";
            meta name="referrer" content="no-referrer";
            title { (super::display::visible(&title)) }
            style { (PreEscaped(STYLE)) (PreEscaped(page_style(r, langs))) }
        }
        (PreEscaped("<body>"))
        (title_block(&c, r))
        h2 { (c.l(Key::Findings)) }
        (c.paras(|l| vec![l.findings(&facts(r, l))]))
        h2 { (c.l(Key::Method)) }
        (c.paras(|l| l.method(r.settings.matching.threshold, r.settings.matching.dihedral, &lists_text)))
        (custody(&c, r, json_sha256))
        (categories(&c, r))
        h2 { (c.l(Key::HitsHeading)) " " (v(&format!("({})", r.summary.total.hits))) }
        p { (c.l(Key::UnmatchedNotListed)) }
    };
    w.write_all(head.into_string().as_bytes())?;
    hits_table(&c, w, rows)?;
    groups(&c, w, r, rows)?;
    w.write_all(lists(&c, r).into_string().as_bytes())?;
    errors_and_exclusions(&c, w, r, rows)?;
    w.write_all(declaration(&c, r).into_string().as_bytes())?;
    further_records(&c, w, rows)?;
    let tail = html! {
        (settings(&c, r))
        p.sub { (c.l(Key::Footer)) }
        (PreEscaped("</body></html>\n"))
    };
    w.write_all(tail.into_string().as_bytes())
}
