//! The workspace's one hex codec: lower-case (or upper-case) encoding and
//! strict decoding. A wrong length or a bad digit is an error, never a
//! truncated or padded value. It lives here, in the lowest crate, because
//! PDQ hashes are exchanged as hex; every other crate uses it (the `lists`
//! crate re-exports it as `nigehbaan_lists::hex`).

use std::fmt;

const LOWER: &[u8; 16] = b"0123456789abcdef";
const UPPER: &[u8; 16] = b"0123456789ABCDEF";
/// Digit values by byte; `INVALID` for anything that is not a hex digit.
const INVALID: u8 = 0xff;
const VALUES: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn encode_with(bytes: &[u8], digits: &[u8; 16]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(digits[usize::from(b >> 4)]);
        out.push(digits[usize::from(b & 15)]);
    }
    // Every byte pushed is an ASCII digit or letter.
    String::from_utf8(out).unwrap_or_default()
}

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    encode_with(bytes, LOWER)
}

/// Upper-case hex of `bytes` (as VICS writes MD5 and SHA-1).
pub fn encode_upper(bytes: &[u8]) -> String {
    encode_with(bytes, UPPER)
}

/// Writes the lower-case hex of `bytes` to a formatter without allocating.
pub fn write_lower(bytes: &[u8], f: &mut impl fmt::Write) -> fmt::Result {
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        for (i, &b) in chunk.iter().enumerate() {
            buf[2 * i] = LOWER[usize::from(b >> 4)];
            buf[2 * i + 1] = LOWER[usize::from(b & 15)];
        }
        let text = std::str::from_utf8(&buf[..2 * chunk.len()]).map_err(|_| fmt::Error)?;
        f.write_str(text)?;
    }
    Ok(())
}

/// True when `text` is non-empty and all hex digits (either case).
pub fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|c| VALUES[usize::from(c)] != INVALID)
}

/// Why a hex text could not be decoded. Positions count characters from 1
/// after surrounding whitespace is removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HexError {
    /// The text does not have the number of digits the value needs.
    Length {
        /// The number of hex digits required.
        expected: usize,
        /// The number of characters found.
        found: usize,
    },
    /// A value of any length was asked for, but the digit count is odd.
    OddLength {
        /// The number of characters found.
        found: usize,
    },
    /// A character is not a hex digit.
    Digit {
        /// Its position (1-based, in characters).
        position: usize,
        /// The character.
        found: char,
    },
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::Length { expected, found } => {
                write!(f, "must be {expected} hex digits, found {found} characters")
            }
            HexError::OddLength { found } => {
                write!(f, "has an odd number of hex digits ({found})")
            }
            HexError::Digit { position, found } => {
                write!(f, "character {position} ({found:?}) is not a hex digit")
            }
        }
    }
}

impl std::error::Error for HexError {}

/// Decodes exactly `N` bytes from `2N` hex digits (either case, surrounding
/// whitespace ignored).
pub fn decode_fixed<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    let text = text.trim();
    if text.len() != 2 * N {
        return Err(HexError::Length {
            expected: 2 * N,
            found: text.chars().count(),
        });
    }
    let mut out = [0u8; N];
    decode_into(text, &mut out)?;
    Ok(out)
}

/// Decodes any even number of hex digits (surrounding whitespace ignored).
pub fn decode_vec(text: &str) -> Result<Vec<u8>, HexError> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return Err(HexError::OddLength {
            found: text.chars().count(),
        });
    }
    let mut out = vec![0u8; text.len() / 2];
    decode_into(text, &mut out)?;
    Ok(out)
}

/// `text.len()` must be `2 * out.len()`.
fn decode_into(text: &str, out: &mut [u8]) -> Result<(), HexError> {
    let raw = text.as_bytes();
    for (o, pair) in out.iter_mut().zip(raw.chunks_exact(2)) {
        let hi = VALUES[usize::from(pair[0])];
        let lo = VALUES[usize::from(pair[1])];
        if (hi | lo) & 0xf0 != 0 {
            return Err(first_bad_digit(text));
        }
        *o = (hi << 4) | lo;
    }
    Ok(())
}

fn first_bad_digit(text: &str) -> HexError {
    text.chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_hexdigit())
        .map_or(
            HexError::Digit {
                position: 1,
                found: '?',
            },
            |(i, c)| HexError::Digit {
                position: i + 1,
                found: c,
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_both_cases() {
        assert_eq!(encode(&[0x00, 0xab, 0x7f]), "00ab7f");
        assert_eq!(encode_upper(&[0x00, 0xab, 0x7f]), "00AB7F");
        let mut s = String::new();
        let long: Vec<u8> = (0..=255).collect();
        write_lower(&long, &mut s).unwrap();
        assert_eq!(s, encode(&long));
    }

    #[test]
    fn strict_fixed_decoding() {
        assert_eq!(decode_fixed::<2>(" aBcd\n").unwrap(), [0xab, 0xcd]);
        assert_eq!(
            decode_fixed::<2>("abc"),
            Err(HexError::Length {
                expected: 4,
                found: 3
            })
        );
        assert!(decode_fixed::<2>("abcde").is_err());
        assert_eq!(
            decode_fixed::<2>("abzd"),
            Err(HexError::Digit {
                position: 3,
                found: 'z'
            })
        );
        // A multi-byte character is reported as itself, at its place.
        assert_eq!(
            decode_fixed::<2>("aé1"),
            Err(HexError::Digit {
                position: 2,
                found: 'é'
            })
        );
        assert_eq!(decode_vec("abc"), Err(HexError::OddLength { found: 3 }));
        assert_eq!(decode_vec("").unwrap(), Vec::<u8>::new());
        assert!(is_hex("09afAF") && !is_hex("") && !is_hex("0g"));
    }

    #[test]
    fn round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode_vec(&encode(&all)).unwrap(), all);
        assert_eq!(decode_vec(&encode_upper(&all)).unwrap(), all);
    }
}
