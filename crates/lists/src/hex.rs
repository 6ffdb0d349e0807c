//! Strict hex and base64 decoding: a wrong length or a bad digit is an
//! error, never a truncated or padded value.

use base64::Engine;

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// True when `text` is non-empty and all hex digits.
pub fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|c| val(c).is_some())
}

/// Decodes exactly `N` bytes from `2N` hex digits (either case, surrounding
/// whitespace ignored). `what` names the hash in the error.
pub fn decode_fixed<const N: usize>(text: &str, what: &str) -> Result<[u8; N], String> {
    let text = text.trim();
    if text.len() != 2 * N {
        return Err(format!(
            "{what} must be {} hex digits, found {} characters: {}",
            2 * N,
            text.chars().count(),
            shorten(text)
        ));
    }
    let mut out = [0u8; N];
    decode_into(text, &mut out, what)?;
    Ok(out)
}

/// Decodes any even number of hex digits.
pub fn decode_vec(text: &str, what: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return Err(format!(
            "{what} has an odd number of hex digits ({})",
            text.len()
        ));
    }
    let mut out = vec![0u8; text.len() / 2];
    decode_into(text, &mut out, what)?;
    Ok(out)
}

fn decode_into(text: &str, out: &mut [u8], what: &str) -> Result<(), String> {
    let raw = text.as_bytes();
    for (i, o) in out.iter_mut().enumerate() {
        let hi = val(raw[2 * i]);
        let lo = val(raw[2 * i + 1]);
        match (hi, lo) {
            (Some(h), Some(l)) => *o = (h << 4) | l,
            (None, _) => return Err(bad_digit(text, 2 * i, what)),
            (_, None) => return Err(bad_digit(text, 2 * i + 1, what)),
        }
    }
    Ok(())
}

fn bad_digit(text: &str, at: usize, what: &str) -> String {
    let c = text[at..].chars().next().unwrap_or('?');
    format!(
        "{what}: character {} ({c:?}) is not a hex digit: {}",
        at + 1,
        shorten(text)
    )
}

/// Text cut to 80 characters for error messages.
pub fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_string()
    } else {
        let s: String = text.chars().take(77).collect();
        format!("{s}...")
    }
}

/// The number of bytes in a PhotoDNA hash.
pub const PHOTODNA_LEN: usize = 144;

/// Decodes a PhotoDNA hash given as 288 hex digits or as base64 (standard
/// alphabet, padded or not) of exactly 144 bytes.
pub fn decode_photodna(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    if text.len() == 2 * PHOTODNA_LEN && is_hex(text) {
        return decode_vec(text, "PhotoDNA");
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    match engine.decode(text) {
        Ok(bytes) if bytes.len() == PHOTODNA_LEN => Ok(bytes),
        Ok(bytes) => Err(format!(
            "PhotoDNA must be 144 bytes (288 hex digits or base64), this base64 decodes to {} bytes",
            bytes.len()
        )),
        Err(e) => Err(format!(
            "PhotoDNA is neither 288 hex digits nor valid base64 ({e}): {}",
            shorten(text)
        )),
    }
}

/// Standard padded base64 of `bytes`.
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_fixed_decoding() {
        assert_eq!(decode_fixed::<2>("aBcd", "x").unwrap(), [0xab, 0xcd]);
        assert!(decode_fixed::<2>("abc", "x")
            .unwrap_err()
            .contains("4 hex digits"));
        assert!(decode_fixed::<2>("abcde", "x").is_err());
        let e = decode_fixed::<2>("abzd", "MD5").unwrap_err();
        assert!(e.contains("character 3"), "{e}");
    }

    #[test]
    fn photodna_hex_and_base64() {
        let bytes: Vec<u8> = (0..144u32).map(|i| (i * 7) as u8).collect();
        assert_eq!(decode_photodna(&encode(&bytes)).unwrap(), bytes);
        assert_eq!(decode_photodna(&base64_encode(&bytes)).unwrap(), bytes);
        assert!(decode_photodna("not base64!").is_err());
        assert!(decode_photodna(&base64_encode(&bytes[..100])).is_err());
    }
}
