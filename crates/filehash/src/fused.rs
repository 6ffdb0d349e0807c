//! MD5, SHA-1 and SHA-256 of the same bytes in one pass, each 64-byte block
//! going through the three compression functions together.
//!
//! MD5 is one long chain of dependent additions and rotations: a core spends
//! most of an MD5 block waiting on it, with execution units idle. SHA-1 and
//! SHA-256 run on the CPU's SHA extensions (SHA-NI), which are separate
//! units. Interleaving the three in one instruction stream — four MD5 steps,
//! then a SHA-256 quad-round, then a SHA-1 quad-round or two — lets the
//! out-of-order core run the SHA rounds while MD5 waits, instead of one
//! after another. Used only when the CPU has SHA-NI, SSSE3 and SSE4.1; the
//! RustCrypto implementations are used otherwise and are the oracle of the
//! tests.

use crate::Digests;
use std::arch::x86_64::*;

const MD5_K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

const MD5_SHIFT: [[u32; 4]; 4] = [
    [7, 12, 17, 22],
    [5, 9, 14, 20],
    [4, 11, 16, 23],
    [6, 10, 15, 21],
];

const SHA256_K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// True when this CPU can run [`Fused`].
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("sha")
        && std::arch::is_x86_feature_detected!("sse2")
        && std::arch::is_x86_feature_detected!("ssse3")
        && std::arch::is_x86_feature_detected!("sse4.1")
}

/// The three digests in progress.
#[derive(Clone)]
pub(crate) struct Fused {
    md5: [u32; 4],
    sha1: [u32; 5],
    sha256: [u32; 8],
    /// Bytes of an incomplete block.
    buf: [u8; 64],
    buf_len: usize,
    /// Bytes fed so far.
    total: u64,
}

impl Fused {
    /// Fresh state; `None` when the CPU lacks the instructions (see
    /// [`available`]).
    pub(crate) fn new() -> Option<Fused> {
        available().then_some(Fused {
            md5: [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476],
            sha1: [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0],
            sha256: [
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                0x5be0cd19,
            ],
            buf: [0; 64],
            buf_len: 0,
            total: 0,
        })
    }

    fn blocks(&mut self, data: &[u8]) {
        debug_assert_eq!(data.len() % 64, 0);
        // SAFETY: a `Fused` exists only when `available()` said the CPU has
        // the instructions `compress` is compiled for.
        unsafe { compress(&mut self.md5, &mut self.sha1, &mut self.sha256, data) };
    }

    /// Feeds bytes.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        if self.buf_len > 0 {
            let take = (64 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 64 {
                return;
            }
            let block = self.buf;
            self.blocks(&block);
            self.buf_len = 0;
        }
        let whole = data.len() / 64 * 64;
        if whole > 0 {
            self.blocks(&data[..whole]);
        }
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// The final digests.
    pub(crate) fn finish(mut self) -> Digests {
        let bits = self.total.wrapping_mul(8);
        // Padding: 0x80, zeros, then the bit length: little-endian for MD5,
        // big-endian for SHA-1 and SHA-256. The lengths sit in the same last
        // eight bytes, so the final block is made twice.
        let mut tail = [0u8; 128];
        tail[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
        tail[self.buf_len] = 0x80;
        let n = if self.buf_len < 56 { 64 } else { 128 };
        let mut md5 = self.md5;
        let mut le = tail;
        le[n - 8..n].copy_from_slice(&bits.to_le_bytes());
        let mut be = tail;
        be[n - 8..n].copy_from_slice(&bits.to_be_bytes());
        // The MD5 state after the little-endian padding, and the SHA states
        // after the big-endian one.
        {
            let (mut s1, mut s256) = (self.sha1, self.sha256);
            // SAFETY: as in `blocks`.
            unsafe { compress(&mut md5, &mut s1, &mut s256, &le[..n]) };
        }
        // SAFETY: as in `blocks`.
        unsafe { compress(&mut self.md5, &mut self.sha1, &mut self.sha256, &be[..n]) };
        let mut out = Digests {
            md5: [0; 16],
            sha1: [0; 20],
            sha256: [0; 32],
        };
        for (o, w) in out.md5.chunks_exact_mut(4).zip(md5) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        for (o, w) in out.sha1.chunks_exact_mut(4).zip(self.sha1) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        for (o, w) in out.sha256.chunks_exact_mut(4).zip(self.sha256) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// One MD5 step `i` (0..64) on the rotated state `(a, b, c, d)`: the new
/// `a`. The terms that do not depend on `b` (the previous step's result)
/// are added first, so that the chain from one step to the next is as
/// short as the round function allows.
#[inline(always)]
fn md5_step(i: usize, a: u32, b: u32, c: u32, d: u32, m: &[u32; 16]) -> u32 {
    let g = match i / 16 {
        0 => i,
        1 => (5 * i + 1) % 16,
        2 => (3 * i + 5) % 16,
        _ => (7 * i) % 16,
    };
    let t = a.wrapping_add(MD5_K[i]).wrapping_add(m[g]);
    let x = match i / 16 {
        0 => t.wrapping_add(d ^ (b & (c ^ d))),
        // (b & d) | (c & !d): the two parts share no bits, so add them.
        1 => t.wrapping_add(c & !d).wrapping_add(b & d),
        2 => t.wrapping_add(b ^ (c ^ d)),
        _ => t.wrapping_add(c ^ (b | !d)),
    };
    b.wrapping_add(x.rotate_left(MD5_SHIFT[i / 16][i % 4]))
}

/// MD5 steps `4g..4g+4`.
#[inline(always)]
fn md5_group(g: usize, s: &mut [u32; 4], m: &[u32; 16]) {
    let [mut a, mut b, mut c, mut d] = *s;
    a = md5_step(4 * g, a, b, c, d, m);
    d = md5_step(4 * g + 1, d, a, b, c, m);
    c = md5_step(4 * g + 2, c, d, a, b, m);
    b = md5_step(4 * g + 3, b, c, d, a, m);
    *s = [a, b, c, d];
}

/// SHA-256 rounds `4q..4q+4`, computing message words `4q..4q+4` first
/// when `q >= 4`. `w` holds the last four message quads (quad `q` at
/// `w[q % 4]`).
///
/// # Safety
/// The CPU must have SHA-NI and SSSE3 (see [`available`]).
#[inline(always)]
unsafe fn sha256_quad(q: usize, w: &mut [__m128i; 4], s0: &mut __m128i, s1: &mut __m128i) {
    // SAFETY: register arithmetic only (no memory access); the SHA-NI and
    // SSSE3 instructions are this function's contract.
    unsafe {
        if q >= 4 {
            let (old, next, prev2, prev1) =
                (w[q % 4], w[(q + 1) % 4], w[(q + 2) % 4], w[(q + 3) % 4]);
            let x = _mm_add_epi32(
                _mm_sha256msg1_epu32(old, next),
                _mm_alignr_epi8::<4>(prev1, prev2),
            );
            w[q % 4] = _mm_sha256msg2_epu32(x, prev1);
        }
        let k = _mm_set_epi32(
            SHA256_K[4 * q + 3] as i32,
            SHA256_K[4 * q + 2] as i32,
            SHA256_K[4 * q + 1] as i32,
            SHA256_K[4 * q] as i32,
        );
        let msg = _mm_add_epi32(w[q % 4], k);
        *s1 = _mm_sha256rnds2_epu32(*s1, *s0, msg);
        *s0 = _mm_sha256rnds2_epu32(*s0, *s1, _mm_shuffle_epi32::<0x0E>(msg));
    }
}

/// SHA-1 rounds `4q..4q+4` (message words as in [`sha256_quad`]). `prev`
/// is the `abcd` before the last quad; `e` the state's E on entry.
///
/// # Safety
/// The CPU must have SHA-NI and SSE2 (see [`available`]).
#[inline(always)]
unsafe fn sha1_quad(
    q: usize,
    m: &mut [__m128i; 4],
    abcd: &mut __m128i,
    prev: &mut __m128i,
    e: __m128i,
) {
    // SAFETY: register arithmetic only (no memory access); the SHA-NI and
    // SSE2 instructions are this function's contract.
    unsafe {
        if q >= 4 {
            let (old, next, prev2, prev1) =
                (m[q % 4], m[(q + 1) % 4], m[(q + 2) % 4], m[(q + 3) % 4]);
            let x = _mm_xor_si128(_mm_sha1msg1_epu32(old, next), prev2);
            m[q % 4] = _mm_sha1msg2_epu32(x, prev1);
        }
        let e_in = if q == 0 {
            _mm_add_epi32(e, m[0])
        } else {
            _mm_sha1nexte_epu32(*prev, m[q % 4])
        };
        *prev = *abcd;
        *abcd = match q / 5 {
            0 => _mm_sha1rnds4_epu32::<0>(*abcd, e_in),
            1 => _mm_sha1rnds4_epu32::<1>(*abcd, e_in),
            2 => _mm_sha1rnds4_epu32::<2>(*abcd, e_in),
            _ => _mm_sha1rnds4_epu32::<3>(*abcd, e_in),
        };
    }
}

/// Runs the three compression functions over `data` (whole 64-byte blocks).
///
/// # Safety
/// The CPU must have SHA-NI, SSE2, SSSE3 and SSE4.1 (see [`available`]).
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
unsafe fn compress(md5: &mut [u32; 4], sha1: &mut [u32; 5], sha256: &mut [u32; 8], data: &[u8]) {
    let be32 = _mm_set_epi64x(0x0c0d0e0f_08090a0b, 0x04050607_00010203);
    let be128 = _mm_set_epi64x(0x00010203_04050607, 0x08090a0b_0c0d0e0f);

    // SHA-256 state as the instructions want it: ABEF and CDGH.
    // SAFETY: `sha256` is 8 words: the two unaligned 16-byte loads read
    // words 0..4 and 4..8.
    let (dcba, hgfe) = unsafe {
        (
            _mm_loadu_si128(sha256.as_ptr().cast()),
            _mm_loadu_si128(sha256[4..].as_ptr().cast()),
        )
    };
    let cdab = _mm_shuffle_epi32::<0xB1>(dcba);
    let efgh = _mm_shuffle_epi32::<0x1B>(hgfe);
    let mut s0 = _mm_alignr_epi8::<8>(cdab, efgh);
    let mut s1 = _mm_blend_epi16::<0xF0>(efgh, cdab);
    // SHA-1 state: A in the top lane; E in the top lane of its own register.
    // SAFETY: `sha1` is 5 words; the unaligned 16-byte load reads 0..4.
    let mut abcd = _mm_shuffle_epi32::<0x1B>(unsafe { _mm_loadu_si128(sha1.as_ptr().cast()) });
    let mut e0 = _mm_set_epi32(sha1[4] as i32, 0, 0, 0);
    let mut st5 = *md5;

    for block in data.chunks_exact(64) {
        let p = block.as_ptr();
        let mut words = [0u32; 16];
        for (w, b) in words.iter_mut().zip(block.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        // SAFETY: `block` is 64 bytes (chunks_exact) and i < 4, so the
        // unaligned 16-byte load of bytes 16i..16i+16 is inside it.
        let load = |i: usize| unsafe { _mm_loadu_si128(p.add(16 * i).cast()) };
        let mut w = [
            _mm_shuffle_epi8(load(0), be32),
            _mm_shuffle_epi8(load(1), be32),
            _mm_shuffle_epi8(load(2), be32),
            _mm_shuffle_epi8(load(3), be32),
        ];
        let mut m = [
            _mm_shuffle_epi8(load(0), be128),
            _mm_shuffle_epi8(load(1), be128),
            _mm_shuffle_epi8(load(2), be128),
            _mm_shuffle_epi8(load(3), be128),
        ];
        let (s0_in, s1_in, abcd_in, e_in) = (s0, s1, abcd, e0);
        let md5_in = st5;
        let mut prev = abcd;

        macro_rules! group {
            ($g:literal; $($q1:literal),*) => {
                md5_group($g, &mut st5, &words);
                // SAFETY: this function's contract (SHA-NI, SSE2, SSSE3,
                // SSE4.1) covers the quads' requirements.
                unsafe { sha256_quad($g, &mut w, &mut s0, &mut s1) };
                // SAFETY: as above.
                $(unsafe { sha1_quad($q1, &mut m, &mut abcd, &mut prev, e0) };)*
            };
        }
        group!(0; 0);
        group!(1; 1);
        group!(2; 2);
        group!(3; 3, 4);
        group!(4; 5);
        group!(5; 6);
        group!(6; 7);
        group!(7; 8, 9);
        group!(8; 10);
        group!(9; 11);
        group!(10; 12);
        group!(11; 13, 14);
        group!(12; 15);
        group!(13; 16);
        group!(14; 17);
        group!(15; 18, 19);

        s0 = _mm_add_epi32(s0, s0_in);
        s1 = _mm_add_epi32(s1, s1_in);
        e0 = _mm_sha1nexte_epu32(prev, e_in);
        abcd = _mm_add_epi32(abcd, abcd_in);
        for (s, i) in st5.iter_mut().zip(md5_in) {
            *s = s.wrapping_add(i);
        }
    }

    *md5 = st5;
    let feba = _mm_shuffle_epi32::<0x1B>(s0);
    let dchg = _mm_shuffle_epi32::<0xB1>(s1);
    let (lo, hi) = (
        _mm_blend_epi16::<0xF0>(feba, dchg),
        _mm_alignr_epi8::<8>(dchg, feba),
    );
    let abcd = _mm_shuffle_epi32::<0x1B>(abcd);
    // SAFETY: unaligned 16-byte stores to words 0..4 and 4..8 of the
    // 8-word `sha256`, and to words 0..4 of the 5-word `sha1`.
    unsafe {
        _mm_storeu_si128(sha256.as_mut_ptr().cast(), lo);
        _mm_storeu_si128(sha256[4..].as_mut_ptr().cast(), hi);
        _mm_storeu_si128(sha1.as_mut_ptr().cast(), abcd);
    }
    sha1[4] = _mm_extract_epi32::<3>(e0) as u32;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn crates(data: &[u8]) -> Digests {
        use sha2::Digest;
        Digests {
            md5: md5::Md5::digest(data).into(),
            sha1: sha1::Sha1::digest(data).into(),
            sha256: sha2::Sha256::digest(data).into(),
        }
    }

    #[test]
    fn known_answers_and_every_short_length() {
        let Some(f) = Fused::new() else {
            eprintln!("note: no SHA-NI on this CPU; the fused digests are not used here");
            return;
        };
        let mut empty = f.clone();
        empty.update(b"");
        assert_eq!(
            nigehbaan_pdq::hex::encode(&empty.finish().md5),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        let data: Vec<u8> = (0..300u32).map(|i| (i * 31 + 7) as u8).collect();
        for n in 0..data.len() {
            let mut g = f.clone();
            g.update(&data[..n]);
            assert_eq!(g.finish(), crates(&data[..n]), "length {n}");
        }
    }

    proptest! {
        /// Any bytes fed in any pieces give the RustCrypto digests.
        #[test]
        fn matches_the_crates(
            data in proptest::collection::vec(any::<u8>(), 0..5000),
            cuts in proptest::collection::vec(0usize..5000, 0..6),
        ) {
            let Some(mut f) = Fused::new() else { return Ok(()) };
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut at = 0;
            for c in cuts {
                f.update(&data[at..c]);
                at = c;
            }
            f.update(&data[at..]);
            prop_assert_eq!(f.finish(), crates(&data));
        }
    }
}
