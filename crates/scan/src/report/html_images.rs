//! The per-exhibit disk-image tree of `report.html`: image → partitions →
//! file systems, with the live, deleted and carved items each gave, and
//! the image's verification. Self-contained HTML (no scripts, no
//! pictures), every text escaped, every label from the catalogue
//! ([`super::i18n`]) in the page's languages.

use super::html_parts::{code, human, v, Ctx};
use super::i18n::Key;
use super::images::{ImageCounts, ImageCustody, ImageRecord, VerifyResult};
use maud::{html, Markup};

/// The image tree of one exhibit as an HTML fragment (empty when the
/// exhibit holds no disk image), labelled in the page's languages.
/// `custody` supplies each image's acquisition metadata and hashes
/// (matched by exhibit and path). Built with maud, so every value is
/// escaped; values from the evidence are isolated left to right with
/// hidden characters made visible.
pub(super) fn render_images(
    c: &Ctx,
    exhibit: &str,
    images: &[ImageRecord],
    custody: &[ImageCustody],
) -> Markup {
    let l = |k: Key| c.inline(k);
    html! {
        @for img in images.iter().filter(|i| i.exhibit == exhibit) {
            details.image open {
                summary {
                    (code(&img.path)) " — " (v(&img.container)) " (" (v(&human(img.media_bytes))) "); "
                    (l(Key::PartitionTable)) ": " (v(&img.partition_table)) "; "
                    (l(Key::Verification)) ": " (l(verification(img.verification)))
                }
                @if let Some(x) = custody.iter().find(|x| x.exhibit == img.exhibit && x.path == img.path) {
                    (custody_rows(c, x))
                }
                ul {
                    @for p in &img.partitions {
                        li {
                            (l(Key::Partition)) " " (v(&p.index.to_string())) ": " (v(&p.kind)) "; "
                            (l(Key::StartByte)) ": " (v(&p.start.to_string())) "; "
                            (l(Key::Size)) ": " (v(&human(p.length)))
                            @if p.clamped { " (" (l(Key::CutAtEnd)) ")" }
                            "; " (l(Key::FileSystem)) ": "
                            @if let Some(fs) = &p.file_system { (v(fs)) } @else { (l(Key::NoneRecognised)) }
                            @for fs in img.file_systems.iter().filter(|f| f.partition == p.index) {
                                br; (code(&fs.path)) ": " (counts(c, &fs.counts))
                            }
                        }
                    }
                    @if img.unpartitioned_bytes_searched > 0 {
                        li {
                            (l(Key::Unpartitioned)) ": " (l(Key::Searched)) " "
                            (v(&human(img.unpartitioned_bytes_searched))) ", "
                            (l(Key::Carved)) " " (v(&img.unpartitioned_carved.to_string()))
                        }
                    }
                }
                p { (l(Key::Totals)) ": " (counts(c, &img.totals)) }
            }
        }
    }
}

/// The label of a verification's result.
fn verification(r: VerifyResult) -> Key {
    match r {
        VerifyResult::NotRequested => Key::VerifyNotRequested,
        VerifyResult::Verified => Key::VerifyVerified,
        VerifyResult::Mismatch => Key::VerifyMismatch,
        VerifyResult::Unreadable => Key::VerifyUnreadable,
        VerifyResult::NoStoredHash => Key::VerifyNoStoredHash,
    }
}

fn counts(c: &Ctx, n: &ImageCounts) -> Markup {
    let l = |k: Key| c.inline(k);
    html! {
        (l(Key::Live)) " " (v(&n.live.to_string())) ", " (l(Key::Deleted)) " " (v(&n.deleted.to_string()))
        ", " (l(Key::Carved)) " " (v(&n.carved.to_string())) "; "
        (l(Key::UnallocatedSearched)) ": " (v(&human(n.unallocated_bytes_searched)))
    }
}

fn custody_rows(c: &Ctx, x: &ImageCustody) -> Markup {
    let mut rows: Vec<(Key, &str)> = Vec::new();
    if let Some(a) = &x.acquisition {
        for (k, val) in [
            (Key::AcqCase, &a.case_number),
            (Key::EvidenceNumber, &a.evidence_number),
            (Key::AcqExaminer, &a.examiner),
            (Key::Acquired, &a.acquired_utc),
            (Key::AcqTool, &a.tool_version),
        ] {
            if let Some(val) = val {
                rows.push((k, val));
            }
        }
    }
    for (k, val) in [
        (Key::StoredMd5, &x.stored_md5),
        (Key::ComputedMd5, &x.computed_md5),
        (Key::StoredSha1, &x.stored_sha1),
        (Key::ComputedSha1, &x.computed_sha1),
    ] {
        if let Some(val) = val {
            rows.push((k, val));
        }
    }
    for u in &x.unreadable {
        rows.push((Key::NotReadable, u));
    }
    html! {
        @if !rows.is_empty() {
            table.image-custody {
                @for (k, val) in &rows { tr { th { (c.l(*k)) } td { (code(val)) } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::images::{FileSystemRecord, PartitionRecord};

    #[test]
    fn renders_the_tree_escaped() {
        let img = ImageRecord {
            exhibit: "EX".into(),
            path: "ev/<disk>.E01".into(),
            container: "e01".into(),
            media_bytes: 1 << 20,
            verification: VerifyResult::Verified,
            partition_table: "mbr".into(),
            partitions: vec![PartitionRecord {
                index: 1,
                kind: "FAT16 (0x06)".into(),
                start: 1024,
                length: 4096,
                clamped: false,
                file_system: Some("fat16".into()),
            }],
            file_systems: vec![FileSystemRecord {
                partition: 1,
                kind: "fat16".into(),
                path: "ev/<disk>.E01!p1:fat16".into(),
                counts: ImageCounts {
                    live: 2,
                    deleted: 1,
                    carved: 3,
                    unallocated_bytes_searched: 900,
                },
            }],
            ..ImageRecord::default()
        };
        let c = ImageCustody {
            exhibit: "EX".into(),
            path: "ev/<disk>.E01".into(),
            stored_md5: Some("ab".into()),
            ..ImageCustody::default()
        };
        let en = "en".parse().unwrap();
        let html = render_images(
            &Ctx { langs: &en },
            "EX",
            std::slice::from_ref(&img),
            std::slice::from_ref(&c),
        )
        .into_string();
        assert!(html.contains("ev/&lt;disk&gt;.E01!p1:fat16"), "{html}");
        assert!(!html.contains("<disk>"));
        assert!(
            html.contains("live <bdi class=\"v\" dir=\"ltr\">2</bdi>, deleted <bdi"),
            "{html}"
        );
        assert!(html.contains("verification: verified"), "{html}");
        assert!(html.contains("<th>Stored MD5</th><td><bdi"), "{html}");
        assert!(render_images(&Ctx { langs: &en }, "OTHER", &[], &[])
            .into_string()
            .is_empty());
        // In Urdu and bilingual pages every label is in the catalogue:
        // no English word of the tree is left in the Urdu one.
        let ur = "ur".parse().unwrap();
        let html = render_images(
            &Ctx { langs: &ur },
            "EX",
            std::slice::from_ref(&img),
            std::slice::from_ref(&c),
        )
        .into_string();
        for english in [
            "live",
            "deleted",
            "carved",
            "partition",
            "verification",
            "Stored",
            "Totals",
            "file system",
        ] {
            assert!(
                !html.contains(english),
                "{english} in the Urdu tree: {html}"
            );
        }
        assert!(
            html.contains("تصدیق ہو گئی") && html.contains("محفوظ شدہ MD5"),
            "{html}"
        );
        let both = "en,ur".parse().unwrap();
        let html = render_images(
            &Ctx { langs: &both },
            "EX",
            std::slice::from_ref(&img),
            std::slice::from_ref(&c),
        )
        .into_string();
        assert!(
            html.contains("Totals</span> / <span lang=\"ur\" dir=\"rtl\">میزان</span>"),
            "{html}"
        );
    }
}
