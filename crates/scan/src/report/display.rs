//! Text shown to a person — in `report.html`, `hits.csv` and on the
//! terminal — with every character that could hide, reorder or forge what
//! is shown made visible as an escape.
//!
//! A file name is evidence, and may be hostile: U+202E (right-to-left
//! override) makes `rtl\u{202e}gpj.exe` render as `rtlexe.jpg`; a newline
//! splits a terminal line in two; ESC starts a terminal control sequence;
//! BEL rings. [`visible`] writes such characters as `\n`, `\r`, `\t` or
//! `\uXXXX` (`\u{XXXXX}` beyond the Basic Multilingual Plane), so what is
//! shown is what the name holds. The exact name is in `report.json`.

use std::borrow::Cow;
use std::fmt::Write;

/// True for a character [`visible`] escapes: C0 and C1 controls and DEL,
/// the bidirectional controls and marks, line and paragraph separators,
/// and invisible format characters that could make two names look alike
/// (zero-width space, word joiner, invisible operators, byte-order mark,
/// interlinear annotation, tag characters). The zero-width (non-)joiners
/// U+200C and U+200D are kept: Urdu, Persian, Indic scripts and emoji
/// need them.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{61c}'
        | '\u{180e}'
        | '\u{200b}'
        | '\u{200e}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{e0000}'..='\u{e007f}'
        | '\u{10ff00}'..='\u{10ffff}')
}

/// The characters that stand for single bytes in a lossless name
/// ([`crate::model::raw_name`]).
const RAW_BYTES: std::ops::RangeInclusive<u32> = 0x10_ff00..=0x10_ffff;

/// `s` with every [`is_hidden`] character escaped: `\n`, `\r`, `\t`, and
/// `\uXXXX` (at least four lower-case hex digits) for the others; a byte
/// of a lossless name that is not UTF-8 reads `\xNN`. Text without such
/// characters is returned as it is.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if RAW_BYTES.contains(&(c as u32)) => {
                // A byte of a name that is not UTF-8 (a lossless name).
                let _ = write!(out, "\\x{:02x}", c as u32 - RAW_BYTES.start());
            }
            c if is_hidden(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_characters_are_shown_escaped() {
        assert_eq!(visible("rtl\u{202e}gpj.exe"), "rtl\\u202egpj.exe");
        assert_eq!(visible("two\nlines"), "two\\nlines");
        assert_eq!(visible("a\u{1b}[31mb\u{7}"), "a\\u001b[31mb\\u0007");
        assert_eq!(visible("\tx\r"), "\\tx\\r");
        assert_eq!(visible("tag\u{e0041}"), "tag\\ue0041");
        let raw = crate::model::raw_name(b"bad\xff.jpg");
        assert_eq!(visible(&raw), "bad\\xff.jpg");
        assert!(matches!(visible("plain.jpg"), Cow::Borrowed(_)));
        // Scripts that need joiners keep them.
        assert_eq!(visible("می‌خواهم"), "می‌خواهم");
    }

    /// The oracle: Unicode's own classes, spelled out independently.
    fn oracle_hidden(c: char) -> bool {
        c.is_control()
            || matches!(c as u32, 0x202a..=0x202e | 0x2066..=0x2069 | 0x200e | 0x200f | 0x61c)
            || c == '\u{2028}'
            || c == '\u{2029}'
    }

    proptest! {
        #[test]
        fn output_holds_no_control_or_bidi_character(s in "\\PC*|[\\x00-\\x20\u{202a}-\u{202e}\u{2066}-\u{2069}a\\\\]*") {
            let v = visible(&s);
            prop_assert!(!v.chars().any(oracle_hidden), "{v:?}");
            // Nothing else changes: removing the escapes' effect keeps the
            // visible characters in order.
            let kept: String = s.chars().filter(|c| !is_hidden(*c)).collect();
            let shown: String = v.chars().filter(|c| !c.is_ascii_hexdigit() && *c != '\\' && *c != 'u' && *c != 'n' && *c != 'r' && *c != 't').collect();
            let kept_f: String = kept.chars().filter(|c| !c.is_ascii_hexdigit() && *c != '\\' && *c != 'u' && *c != 'n' && *c != 'r' && *c != 't').collect();
            prop_assert_eq!(shown, kept_f);
        }
    }
}
