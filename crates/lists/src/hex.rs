//! Hash text as lists write it: the workspace's hex codec (re-exported from
//! [`nigehbaan_pdq::hex`], its one home), plus PhotoDNA's hex-or-base64
//! form and the typed error for a hash value a list gets wrong.

use base64::Engine;
use std::fmt;

pub use nigehbaan_pdq::hex::{
    decode_fixed, decode_vec, encode, encode_upper, is_hex, write_lower, HexError,
};

/// Text cut to 80 characters, for error messages.
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

/// A hash value that could not be read. The text is kept (cut to 80
/// characters) so the message can show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashTextError {
    /// Hex of a fixed-size hash (MD5, SHA-1, SHA-256, PDQ) or of an opaque
    /// hash type is malformed.
    Hex {
        /// The hash type, as a list names it (`MD5`, `SHA-256`, `pdq`, ...).
        kind: String,
        /// The text, shortened.
        text: String,
        /// What is wrong with it.
        source: HexError,
    },
    /// A PhotoDNA hash is neither 288 hex digits nor base64.
    PhotoDnaBase64 {
        /// The text, shortened.
        text: String,
        /// The base64 decoder's complaint.
        source: base64::DecodeError,
    },
    /// A PhotoDNA hash in base64 decodes to the wrong number of bytes.
    PhotoDnaLength {
        /// The number of bytes it decodes to.
        found: usize,
    },
}

impl HashTextError {
    /// A hex error for a hash of type `kind` given as `text`.
    pub fn hex(kind: &str, text: &str, source: HexError) -> HashTextError {
        HashTextError::Hex {
            kind: kind.to_string(),
            text: shorten(text.trim()),
            source,
        }
    }
}

impl fmt::Display for HashTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashTextError::Hex { kind, text, source } => write!(f, "{kind} {source}: {text}"),
            HashTextError::PhotoDnaBase64 { text, source } => write!(
                f,
                "PhotoDNA is neither 288 hex digits nor valid base64 ({source}): {text}"
            ),
            HashTextError::PhotoDnaLength { found } => write!(
                f,
                "PhotoDNA must be 144 bytes (288 hex digits or base64), this base64 decodes to {found} bytes"
            ),
        }
    }
}

impl std::error::Error for HashTextError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HashTextError::Hex { source, .. } => Some(source),
            HashTextError::PhotoDnaBase64 { source, .. } => Some(source),
            HashTextError::PhotoDnaLength { .. } => None,
        }
    }
}

/// Decodes exactly `N` bytes of a hash of type `kind` (for the error).
pub fn decode_hash<const N: usize>(text: &str, kind: &str) -> Result<[u8; N], HashTextError> {
    decode_fixed::<N>(text).map_err(|e| HashTextError::hex(kind, text, e))
}

/// Decodes a PhotoDNA hash given as 288 hex digits or as base64 (standard
/// alphabet, padded or not) of exactly 144 bytes.
pub fn decode_photodna(text: &str) -> Result<Vec<u8>, HashTextError> {
    let text = text.trim();
    if text.len() == 2 * PHOTODNA_LEN && is_hex(text) {
        return decode_vec(text).map_err(|e| HashTextError::hex("PhotoDNA", text, e));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    match engine.decode(text) {
        Ok(bytes) if bytes.len() == PHOTODNA_LEN => Ok(bytes),
        Ok(bytes) => Err(HashTextError::PhotoDnaLength { found: bytes.len() }),
        Err(source) => Err(HashTextError::PhotoDnaBase64 {
            text: shorten(text),
            source,
        }),
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
    fn hash_errors_name_the_type_and_keep_the_cause() {
        let e = decode_hash::<2>("abzd", "MD5").unwrap_err();
        assert!(matches!(
            e,
            HashTextError::Hex {
                source: HexError::Digit { position: 3, .. },
                ..
            }
        ));
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            e.to_string(),
            "MD5 character 3 ('z') is not a hex digit: abzd"
        );
    }

    #[test]
    fn photodna_hex_and_base64() {
        let bytes: Vec<u8> = (0..144u32).map(|i| (i * 7) as u8).collect();
        assert_eq!(decode_photodna(&encode(&bytes)).unwrap(), bytes);
        assert_eq!(decode_photodna(&base64_encode(&bytes)).unwrap(), bytes);
        assert!(matches!(
            decode_photodna("not base64!"),
            Err(HashTextError::PhotoDnaBase64 { .. })
        ));
        assert_eq!(
            decode_photodna(&base64_encode(&bytes[..100])),
            Err(HashTextError::PhotoDnaLength { found: 100 })
        );
    }
}
