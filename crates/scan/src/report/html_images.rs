//! The per-exhibit disk-image tree of `report.html`: image → partitions →
//! file systems, with the live, deleted and carved items each gave, and
//! the image's verification. Self-contained HTML (no scripts, no
//! pictures), every text escaped.

use super::html_parts::{code, human, v};
use super::images::{ImageCounts, ImageCustody, ImageRecord};
use maud::{html, Markup};

/// The image tree of one exhibit as an HTML fragment (empty when the
/// exhibit holds no disk image). `custody` supplies each image's
/// acquisition metadata and hashes (matched by exhibit and path). Built
/// with maud, so every value is escaped; values from the evidence are
/// isolated left to right with hidden characters made visible.
pub fn render_images(exhibit: &str, images: &[ImageRecord], custody: &[ImageCustody]) -> Markup {
    html! {
        @for img in images.iter().filter(|i| i.exhibit == exhibit) {
            details.image open {
                summary {
                    (code(&img.path)) " — " (v(&img.container)) " (" (v(&human(img.media_bytes))) "), "
                    "partition table " (v(&img.partition_table)) ", verification: " (img.verification.name())
                }
                @if let Some(c) = custody.iter().find(|c| c.exhibit == img.exhibit && c.path == img.path) {
                    (custody_rows(c))
                }
                ul {
                    @for p in &img.partitions {
                        li {
                            "partition " (p.index) ": " (v(&p.kind)) " at byte " (v(&p.start.to_string()))
                            " (" (v(&human(p.length)))
                            @if p.clamped { ", cut at the disk's end" }
                            ") — file system: " (v(p.file_system.as_deref().unwrap_or("none recognised")))
                            @for fs in img.file_systems.iter().filter(|f| f.partition == p.index) {
                                br; (code(&fs.path)) ": " (counts(&fs.counts))
                            }
                        }
                    }
                    @if img.unpartitioned_bytes_searched > 0 {
                        li {
                            "regions no partition covers: " (v(&human(img.unpartitioned_bytes_searched)))
                            " searched, " (img.unpartitioned_carved) " carved"
                        }
                    }
                }
                p { "Totals: " (counts(&img.totals)) }
            }
        }
    }
}

fn counts(c: &ImageCounts) -> Markup {
    html! {
        (c.live) " live, " (c.deleted) " deleted, " (c.carved) " carved; "
        (v(&human(c.unallocated_bytes_searched))) " of unallocated space searched"
    }
}

fn custody_rows(c: &ImageCustody) -> Markup {
    let mut rows: Vec<(&str, &str)> = Vec::new();
    if let Some(a) = &c.acquisition {
        for (k, val) in [
            ("Case", &a.case_number),
            ("Evidence number", &a.evidence_number),
            ("Examiner", &a.examiner),
            ("Acquired", &a.acquired_utc),
            ("Acquiring tool", &a.tool_version),
        ] {
            if let Some(val) = val {
                rows.push((k, val));
            }
        }
    }
    for (k, val) in [
        ("Stored MD5", &c.stored_md5),
        ("Computed MD5", &c.computed_md5),
        ("Stored SHA-1", &c.stored_sha1),
        ("Computed SHA-1", &c.computed_sha1),
    ] {
        if let Some(val) = val {
            rows.push((k, val));
        }
    }
    for u in &c.unreadable {
        rows.push(("Not readable", u));
    }
    html! {
        @if !rows.is_empty() {
            table.image-custody {
                @for (k, val) in &rows { tr { th { (k) } td { (code(val)) } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::images::{FileSystemRecord, PartitionRecord, VerifyResult};

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
        let html = render_images("EX", &[img], &[c]).into_string();
        assert!(html.contains("ev/&lt;disk&gt;.E01!p1:fat16"), "{html}");
        assert!(!html.contains("<disk>"));
        assert!(html.contains("2 live, 1 deleted, 3 carved"));
        assert!(html.contains("verification: verified"));
        assert!(html.contains("<th>Stored MD5</th><td><bdi"), "{html}");
        assert!(render_images("OTHER", &[], &[]).into_string().is_empty());
    }
}
