//! The 256-bit PDQ hash value: bit layout, hex text form and Hamming distance.

use std::fmt;
use std::str::FromStr;

/// A 256-bit PDQ hash.
///
/// Bit `k` (0..256) is the DCT coefficient at row `k / 16`, column `k % 16`
/// of the 16×16 block. It is stored in little-endian 64-bit limbs: bit `k` is
/// bit `k % 64` of limb `k / 64`.
///
/// The text form is the reference's: 64 lower-case hex digits, the 16-bit
/// words printed from the last (bits 240..256) to the first (bits 0..16),
/// i.e. the big-endian hex of the 256-bit number whose bit `k` is bit `k`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash256(pub [u64; 4]);

impl Hash256 {
    /// The all-zero hash (what the reference returns for unhashable images).
    pub const ZERO: Hash256 = Hash256([0; 4]);

    /// Sets bit `k` (0..256).
    #[inline]
    pub fn set_bit(&mut self, k: usize) {
        self.0[k / 64] |= 1u64 << (k % 64);
    }

    /// Returns bit `k` (0..256).
    #[inline]
    pub fn bit(&self, k: usize) -> bool {
        (self.0[k / 64] >> (k % 64)) & 1 == 1
    }

    /// The number of differing bits between two hashes.
    #[inline]
    pub fn distance(&self, other: &Hash256) -> u32 {
        (self.0[0] ^ other.0[0]).count_ones()
            + (self.0[1] ^ other.0[1]).count_ones()
            + (self.0[2] ^ other.0[2]).count_ones()
            + (self.0[3] ^ other.0[3]).count_ones()
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.0.iter().map(|l| l.count_ones()).sum()
    }

    /// True for the all-zero hash.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The 32 bytes of the big-endian 256-bit number (the bytes of the hex text).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().rev().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    /// Inverse of [`Hash256::to_bytes`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Hash256 {
        let mut limbs = [0u64; 4];
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            limbs[3 - i] = u64::from_be_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        Hash256(limbs)
    }

    /// Parses the 64-hex-digit text form (either case, surrounding
    /// whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Hash256, ParseHashError> {
        match crate::hex::decode_fixed::<32>(text) {
            Ok(bytes) => Ok(Hash256::from_bytes(&bytes)),
            Err(crate::hex::HexError::Digit { position, .. }) => {
                Err(ParseHashError::Digit(position - 1))
            }
            Err(_) => Err(ParseHashError::Length(text.trim().len())),
        }
    }

    /// The 64-hex-digit text form (lower case).
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.to_bytes())
    }
}

/// Why a PDQ hash text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseHashError {
    /// The text is not 64 characters long (the length found).
    Length(usize),
    /// The character at this position is not a hex digit.
    Digit(usize),
}

impl fmt::Display for ParseHashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseHashError::Length(n) => {
                write!(f, "a PDQ hash is 64 hex digits, this one has {n}")
            }
            ParseHashError::Digit(i) => {
                write!(f, "character {} of the PDQ hash is not a hex digit", i + 1)
            }
        }
    }
}

impl std::error::Error for ParseHashError {}

impl FromStr for Hash256 {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash256::from_hex(s)
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_bit_order() {
        let mut h = Hash256::ZERO;
        h.set_bit(0);
        assert_eq!(
            h.to_hex(),
            "0000000000000000000000000000000000000000000000000000000000000001"
        );
        let mut h = Hash256::ZERO;
        h.set_bit(255);
        assert!(h.to_hex().starts_with('8'));
        let text = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let h = Hash256::from_hex(text).unwrap();
        assert_eq!(h.to_hex(), text);
        assert_eq!(Hash256::from_bytes(&h.to_bytes()), h);
        assert_eq!(Hash256::from_hex(&text.to_uppercase()).unwrap(), h);
    }

    #[test]
    fn bad_hex_is_refused() {
        assert_eq!(Hash256::from_hex("abc"), Err(ParseHashError::Length(3)));
        let bad = format!("{}g", "0".repeat(63));
        assert_eq!(Hash256::from_hex(&bad), Err(ParseHashError::Digit(63)));
    }

    #[test]
    fn distance_counts_bits() {
        let a = Hash256([u64::MAX, 0, 0, 0]);
        let b = Hash256([0, 0, 0, 1]);
        assert_eq!(a.distance(&b), 65);
        assert_eq!(a.distance(&a), 0);
    }
}
