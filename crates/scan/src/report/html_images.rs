//! The per-exhibit disk-image tree of `report.html`: image → partitions →
//! file systems, with the live, deleted and carved items each gave, and
//! the image's verification. Self-contained HTML (no scripts, no
//! pictures), every text escaped.

use super::html::esc;
use super::images::{ImageCounts, ImageCustody, ImageRecord};
use std::fmt::Write;

/// The image tree of one exhibit as an HTML fragment (empty when the
/// exhibit holds no disk image). `custody` supplies each image's
/// acquisition metadata and hashes (matched by exhibit and path).
pub fn render_images(exhibit: &str, images: &[ImageRecord], custody: &[ImageCustody]) -> String {
    let mut o = String::new();
    for img in images.iter().filter(|i| i.exhibit == exhibit) {
        let c = custody
            .iter()
            .find(|c| c.exhibit == img.exhibit && c.path == img.path);
        let _ = writeln!(
            o,
            "<details class=\"image\" open><summary><code>{}</code> — {} ({} bytes), \
             partition table {}, verification: {}</summary>",
            esc(&img.path),
            esc(&img.container),
            img.media_bytes,
            esc(&img.partition_table),
            img.verification.name()
        );
        if let Some(c) = c {
            custody_lines(&mut o, c);
        }
        o.push_str("<ul>\n");
        for p in &img.partitions {
            let _ = write!(
                o,
                "<li>partition {}: {} at byte {} ({} bytes{}) — file system: {}",
                p.index,
                esc(&p.kind),
                p.start,
                p.length,
                if p.clamped {
                    ", cut at the disk's end"
                } else {
                    ""
                },
                esc(p.file_system.as_deref().unwrap_or("none recognised"))
            );
            for fs in img.file_systems.iter().filter(|f| f.partition == p.index) {
                let _ = write!(o, "<br><code>{}</code>: ", esc(&fs.path));
                counts(&mut o, &fs.counts);
            }
            o.push_str("</li>\n");
        }
        if img.unpartitioned_bytes_searched > 0 {
            let _ = writeln!(
                o,
                "<li>regions no partition covers: {} bytes searched, {} carved</li>",
                img.unpartitioned_bytes_searched, img.unpartitioned_carved
            );
        }
        o.push_str("</ul>\n<p>Totals: ");
        counts(&mut o, &img.totals);
        o.push_str("</p>\n</details>\n");
    }
    o
}

fn counts(o: &mut String, c: &ImageCounts) {
    let _ = write!(
        o,
        "{} live, {} deleted, {} carved; {} bytes of unallocated space searched",
        c.live, c.deleted, c.carved, c.unallocated_bytes_searched
    );
}

fn custody_lines(o: &mut String, c: &ImageCustody) {
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(a) = &c.acquisition {
        for (k, v) in [
            ("Case", &a.case_number),
            ("Evidence number", &a.evidence_number),
            ("Examiner", &a.examiner),
            ("Acquired", &a.acquired_utc),
            ("Acquiring tool", &a.tool_version),
        ] {
            if let Some(v) = v {
                rows.push((k, v.clone()));
            }
        }
    }
    for (k, v) in [
        ("Stored MD5", &c.stored_md5),
        ("Computed MD5", &c.computed_md5),
        ("Stored SHA-1", &c.stored_sha1),
        ("Computed SHA-1", &c.computed_sha1),
    ] {
        if let Some(v) = v {
            rows.push((k, v.clone()));
        }
    }
    for u in &c.unreadable {
        rows.push(("Not readable", u.clone()));
    }
    if rows.is_empty() {
        return;
    }
    o.push_str("<table class=\"image-custody\">\n");
    for (k, v) in rows {
        let _ = writeln!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    o.push_str("</table>\n");
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
        let html = render_images("EX", &[img], &[c]);
        assert!(html.contains("ev/&lt;disk&gt;.E01!p1:fat16"), "{html}");
        assert!(!html.contains("<disk>"));
        assert!(html.contains("2 live, 1 deleted, 3 carved"));
        assert!(html.contains("verification: verified"));
        assert!(html.contains("<th>Stored MD5</th><td>ab</td>"));
        assert!(render_images("OTHER", &[], &[]).is_empty());
    }
}
