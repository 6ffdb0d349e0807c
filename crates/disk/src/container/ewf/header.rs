//! Acquisition metadata from the `header2` (UTF-16) and `header` (ASCII)
//! sections of an E01: case number, examiner, dates, notes, tool version.

use std::collections::BTreeMap;

/// Acquisition metadata an E01 records (from its header sections). Every
/// field is as the acquiring tool wrote it; absent fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acquisition {
    /// Case number (`c`).
    pub case_number: Option<String>,
    /// Evidence number (`n`).
    pub evidence_number: Option<String>,
    /// Description (`a`).
    pub description: Option<String>,
    /// Examiner name (`e`).
    pub examiner: Option<String>,
    /// Notes (`t`).
    pub notes: Option<String>,
    /// Version of the acquiring software (`av`).
    pub software_version: Option<String>,
    /// Operating system the acquisition ran on (`ov`).
    pub os: Option<String>,
    /// Acquisition date as written (`m`): seconds since 1970 in `header2`,
    /// `YYYY M D h m s` local time in `header`.
    pub acquired: Option<String>,
    /// Acquisition date in seconds since 1970 (UTC), when written that way.
    pub acquired_unix: Option<i64>,
    /// System date at acquisition (`u`), as written.
    pub system_date: Option<String>,
    /// Device model (`md`).
    pub model: Option<String>,
    /// Device serial number (`sn`).
    pub serial: Option<String>,
    /// Every identifier and value of the `main` category, as written.
    pub fields: BTreeMap<String, String>,
}

/// Decodes header text: UTF-16LE (with or without a byte-order mark) for
/// `header2`, ASCII/Latin-1 for `header`.
pub fn decode_text(data: &[u8], utf16: bool) -> String {
    if utf16 {
        let body = data.strip_prefix(&[0xFF, 0xFE]).unwrap_or(data);
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        data.iter().map(|&b| b as char).collect()
    }
}

/// Parses header text: a line `main`, then a line of tab-separated field
/// identifiers, then a line of values. `None` when there is no such part.
pub fn parse(text: &str) -> Option<Acquisition> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let at = lines.iter().position(|l| l.trim() == "main")?;
    let keys = lines.get(at + 1)?.split('\t');
    let values = lines.get(at + 2)?.split('\t');
    let mut a = Acquisition::default();
    for (k, v) in keys.zip(values) {
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            continue;
        }
        a.fields.insert(k.to_string(), v.to_string());
        if v.is_empty() {
            continue;
        }
        let slot = match k {
            "c" => &mut a.case_number,
            "n" => &mut a.evidence_number,
            "a" => &mut a.description,
            "e" => &mut a.examiner,
            "t" => &mut a.notes,
            "av" => &mut a.software_version,
            "ov" => &mut a.os,
            "m" => &mut a.acquired,
            "u" => &mut a.system_date,
            "md" => &mut a.model,
            "sn" => &mut a.serial,
            _ => continue,
        };
        *slot = Some(v.to_string());
    }
    a.acquired_unix = a.acquired.as_deref().and_then(|m| m.parse().ok());
    Some(a)
}

impl Acquisition {
    /// Fills fields this one lacks from `other` (the `header` section
    /// completes the `header2` one).
    pub fn complete_from(&mut self, other: Acquisition) {
        fn take(a: &mut Option<String>, b: Option<String>) {
            if a.is_none() {
                *a = b;
            }
        }
        take(&mut self.case_number, other.case_number);
        take(&mut self.evidence_number, other.evidence_number);
        take(&mut self.description, other.description);
        take(&mut self.examiner, other.examiner);
        take(&mut self.notes, other.notes);
        take(&mut self.software_version, other.software_version);
        take(&mut self.os, other.os);
        take(&mut self.acquired, other.acquired);
        take(&mut self.system_date, other.system_date);
        take(&mut self.model, other.model);
        take(&mut self.serial, other.serial);
        if self.acquired_unix.is_none() {
            self.acquired_unix = other.acquired_unix;
        }
        for (k, v) in other.fields {
            self.fields.entry(k).or_insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_main_category() {
        let text = "3\nmain\na\tc\tn\te\tt\tav\tov\tm\tu\tp\n\
                    desc\tCASE-1\tEV-7\tAlice\tsome notes\t20140814\tLinux\t1733480000\t1733480001\t0\n\nsrce\n";
        let a = parse(text).unwrap();
        assert_eq!(a.case_number.as_deref(), Some("CASE-1"));
        assert_eq!(a.examiner.as_deref(), Some("Alice"));
        assert_eq!(a.notes.as_deref(), Some("some notes"));
        assert_eq!(a.acquired_unix, Some(1733480000));
        assert_eq!(a.fields.get("p").map(String::as_str), Some("0"));
    }

    #[test]
    fn utf16_with_bom() {
        let s = "1\r\nmain\r\nc\r\nX\r\n";
        let mut b = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let a = parse(&decode_text(&b, true)).unwrap();
        assert_eq!(a.case_number.as_deref(), Some("X"));
        assert!(parse("nothing here").is_none());
    }
}
