//! Text forms of a vPDQ hash: the reference tool's per-video file
//! (`frame_number,quality,pdq_hex,timestamp`, one line per hashed frame,
//! timestamp with 3 decimals) and HMA's signal string (a JSON array of
//! `"pdq_hex,quality,timestamp"` strings).

use crate::core::FrameHash;
use crate::error::ParseError;
use nigehbaan_pdq::Hash256;
use std::fmt::Write as _;

/// Writes frames in the reference tool's file format.
pub fn write_reference(frames: &[FrameHash]) -> String {
    let mut out = String::with_capacity(frames.len() * 80);
    for f in frames {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{},{},{},{:.3}",
            f.frame, f.quality, f.pdq, f.timestamp
        );
    }
    out
}

fn parse_quality(s: &str, line: usize) -> Result<u8, ParseError> {
    s.trim()
        .parse::<u8>()
        .ok()
        .filter(|q| *q <= 100)
        .ok_or(ParseError::BadField {
            line,
            field: "quality",
        })
}

fn parse_pdq(s: &str, line: usize) -> Result<Hash256, ParseError> {
    let s = s.trim();
    if s.len() != 64 {
        return Err(ParseError::BadField { line, field: "pdq" });
    }
    Hash256::from_hex(s).map_err(|_| ParseError::BadField { line, field: "pdq" })
}

fn parse_timestamp(s: &str, line: usize) -> Result<f64, ParseError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or(ParseError::BadField {
            line,
            field: "timestamp",
        })
}

/// Parses the reference tool's file format. Blank lines (and a trailing
/// carriage return) are ignored; every other line must have exactly four
/// fields.
pub fn parse_reference(text: &str) -> Result<Vec<FrameHash>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let fields: Vec<&str> = l.split(',').collect();
        if fields.len() != 4 {
            return Err(ParseError::FieldCount {
                line,
                found: fields.len(),
                expected: 4,
            });
        }
        let frame = fields[0]
            .trim()
            .parse::<u64>()
            .map_err(|_| ParseError::BadField {
                line,
                field: "frame_number",
            })?;
        out.push(FrameHash {
            frame,
            quality: parse_quality(fields[1], line)?,
            pdq: parse_pdq(fields[2], line)?,
            timestamp: parse_timestamp(fields[3], line)?,
        });
    }
    Ok(out)
}

/// Formats a timestamp as Python's `f"{t:.3}"` does (3 significant digits,
/// general format), which is how HMA writes them.
fn python_general_3(t: f64) -> String {
    if t == 0.0 {
        return "0.0".to_string();
    }
    // Round to 3 significant digits; Python switches to the exponent form
    // when the rounded value's exponent is under -4 or at least 2 (p - 1).
    let e = format!("{t:.2e}");
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..2).contains(&exp) {
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = (2 - exp).max(0) as usize;
    let s = format!("{t:.decimals$}");
    if s.contains('.') {
        let s = s.trim_end_matches('0');
        if s.ends_with('.') {
            // Python's 'g' would drop the point; f"{x:.3}" on a float keeps
            // one digit ("1.0", "10.0", "100.0").
            format!("{s}0")
        } else {
            s.to_string()
        }
    } else {
        format!("{s}.0")
    }
}

/// Writes HMA's signal string: a JSON array of `"pdq_hex,quality,timestamp"`.
pub fn write_signal(frames: &[FrameHash]) -> String {
    let mut out = String::from("[");
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(
            out,
            "\"{},{},{}\"",
            f.pdq,
            f.quality,
            python_general_3(f.timestamp)
        );
    }
    out.push(']');
    out
}

/// Parses HMA's signal string. Frame numbers are not in it: frames are
/// numbered by position (0, 1, 2…). An empty string is an empty video, as
/// in python-threatexchange.
pub fn parse_signal(text: &str) -> Result<Vec<FrameHash>, ParseError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<String> = serde_json::from_str(text).map_err(|_| ParseError::NotJsonArray)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let line = i + 1;
        let fields: Vec<&str> = item.split(',').collect();
        if fields.len() != 3 {
            return Err(ParseError::FieldCount {
                line,
                found: fields.len(),
                expected: 3,
            });
        }
        out.push(FrameHash {
            frame: i as u64,
            pdq: parse_pdq(fields[0], line)?,
            quality: parse_quality(fields[1], line)?,
            timestamp: parse_timestamp(fields[2], line)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const B: &str = "0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn reference_round_trip() {
        let text = format!("0,100,{A},0.000\n29,49,{B},0.968\n");
        let frames = parse_reference(&text).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].frame, 29);
        assert_eq!(frames[1].quality, 49);
        assert_eq!(frames[1].pdq.to_hex(), B);
        assert_eq!(frames[1].timestamp, 0.968);
        assert_eq!(write_reference(&frames), text);
        // CRLF and blank lines are tolerated.
        let crlf = text.replace('\n', "\r\n") + "\r\n";
        assert_eq!(parse_reference(&crlf).unwrap(), frames);
    }

    #[test]
    fn reference_errors_name_the_line_and_field() {
        let bad = format!("0,100,{A},0.000\n1,100,{A}\n");
        assert_eq!(
            parse_reference(&bad),
            Err(ParseError::FieldCount {
                line: 2,
                found: 3,
                expected: 4
            })
        );
        for (line, field) in [
            (format!("x,100,{A},0.0"), "frame_number"),
            (format!("0,101,{A},0.0"), "quality"),
            (format!("0,-1,{A},0.0"), "quality"),
            ("0,100,abc,0.0".to_string(), "pdq"),
            (format!("0,100,{A}00,0.0"), "pdq"),
            (format!("0,100,{A},nan"), "timestamp"),
            (format!("0,100,{A},-1"), "timestamp"),
        ] {
            assert_eq!(
                parse_reference(&line),
                Err(ParseError::BadField { line: 1, field }),
                "{line}"
            );
        }
    }

    #[test]
    fn signal_round_trip_with_python_timestamps() {
        let mk = |t: f64| FrameHash {
            frame: 0,
            quality: 87,
            pdq: A.parse().unwrap(),
            timestamp: t,
        };
        // Python: f"{0.0:.3}" = '0.0', f"{1.0:.3}" = '1.0', f"{0.9676:.3}" =
        // '0.968', f"{12.345:.3}" = '12.3', f"{96.76:.3}" = '96.8',
        // f"{123.4:.3}" = '1.23e+02', f"{0.0001234:.3}" = '0.000123'.
        for (t, s) in [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.9676, "0.968"),
            (12.345, "12.3"),
            (96.76, "96.8"),
            (123.4, "1.23e+02"),
            (0.0001234, "0.000123"),
            (10.0, "10.0"),
            (100.0, "1e+02"),
            (99.96, "1e+02"),
            (0.99996, "1.0"),
            (1.234e-5, "1.23e-05"),
        ] {
            assert_eq!(python_general_3(t), s, "{t}");
            let text = write_signal(&[mk(t)]);
            assert_eq!(text, format!("[\"{A},87,{s}\"]"));
            let back = parse_signal(&text).unwrap();
            assert_eq!(back[0].pdq, mk(t).pdq);
            assert_eq!(back[0].quality, 87);
        }
        assert_eq!(parse_signal("").unwrap(), vec![]);
        assert_eq!(parse_signal("[]").unwrap(), vec![]);
        assert_eq!(parse_signal("{}"), Err(ParseError::NotJsonArray));
        assert_eq!(parse_signal("[1]"), Err(ParseError::NotJsonArray));
        assert_eq!(
            parse_signal(&format!("[\"{A},87\"]")),
            Err(ParseError::FieldCount {
                line: 1,
                found: 2,
                expected: 3
            })
        );
    }
}
