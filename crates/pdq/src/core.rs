//! The PDQ algorithm, in the reference's exact floating-point operation order.
//!
//! Every output value is computed with the same sequence of f32 operations as
//! facebook/ThreatExchange `pdq/cpp` (no FMA contraction, no reassociation), so
//! identical pixels give identical bits. Speed comes from doing independent
//! rows or columns side by side (SIMD lanes), never from reordering one
//! value's arithmetic.

use crate::hash::Hash256;

/// Images with a side under this many pixels are not hashable (the reference
/// returns the zero hash with quality 0).
pub const MIN_HASHABLE_DIM: usize = 5;

const LUMA_R: f32 = 0.299;
const LUMA_G: f32 = 0.587;
const LUMA_B: f32 = 0.114;

/// Side of the image that the reference-cli pipeline squashes large images to.
pub const CLI_SQUASH_SIDE: usize = 512;

/// The 16×64 DCT matrix, row-major, exactly as the reference computes it.
pub fn dct_matrix() -> &'static [[f32; 64]; 16] {
    use std::sync::OnceLock;
    static MATRIX: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut d = [[0f32; 64]; 16];
        for (i, row) in d.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let angle =
                    (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                *v = (scale as f64 * angle.cos()) as f32;
            }
        }
        d
    })
}

/// Window size of one Jarosz box pass for a dimension reduced to 64.
#[inline]
pub fn jarosz_window(dim: usize) -> usize {
    dim.div_ceil(2 * 64)
}

/// Converts interleaved RGB8 pixels to luma, `0.299R + 0.587G + 0.114B` in f32
/// left to right, as the reference does.
#[inline(always)]
pub fn luma_from_rgb(rgb: &[u8], out: &mut [f32]) {
    debug_assert_eq!(rgb.len(), out.len() * 3);
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(_avx2) = crate::cpu::Avx2::detect() {
            // SAFETY: an `Avx2` token exists only when the CPU has AVX2,
            // the one requirement of `luma_from_rgb_avx2`.
            unsafe { luma_from_rgb_avx2(rgb, out) };
            return;
        }
    }
    luma_from_rgb_portable(rgb, out);
}

/// Luma from planar R, G and B rows: the same arithmetic as
/// [`luma_from_rgb`] on the interleaved pixels, with no de-interleaving
/// (it vectorises as it stands).
#[inline(always)]
pub fn luma_from_planar(r: &[u8], g: &[u8], b: &[u8], out: &mut [f32]) {
    for (((o, &r), &g), &b) in out.iter_mut().zip(r).zip(g).zip(b) {
        *o = LUMA_R * r as f32 + LUMA_G * g as f32 + LUMA_B * b as f32;
    }
}

/// Portable luma conversion; eight pixels at a time so that it vectorises.
#[inline(always)]
fn luma_from_rgb_portable(rgb: &[u8], out: &mut [f32]) {
    let mut px = rgb.chunks_exact(24);
    let mut o8 = out.chunks_exact_mut(8);
    for (p, o) in (&mut px).zip(&mut o8) {
        for k in 0..8 {
            o[k] = LUMA_R * p[3 * k] as f32
                + LUMA_G * p[3 * k + 1] as f32
                + LUMA_B * p[3 * k + 2] as f32;
        }
    }
    for (p, o) in px.remainder().chunks_exact(3).zip(o8.into_remainder()) {
        *o = LUMA_R * p[0] as f32 + LUMA_G * p[1] as f32 + LUMA_B * p[2] as f32;
    }
}

/// AVX2 luma conversion: byte shuffles split eight RGB pixels into R, G and
/// B lanes; then the same multiplies and adds, in the same order, as the
/// portable code (no FMA).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn luma_from_rgb_avx2(rgb: &[u8], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = out.len().min(rgb.len() / 3);
    let z = -1i8;
    let r_lo = _mm_setr_epi8(0, 3, 6, 9, 12, 15, z, z, z, z, z, z, z, z, z, z);
    let r_hi = _mm_setr_epi8(z, z, z, z, z, z, 10, 13, z, z, z, z, z, z, z, z);
    let g_lo = _mm_setr_epi8(1, 4, 7, 10, 13, z, z, z, z, z, z, z, z, z, z, z);
    let g_hi = _mm_setr_epi8(z, z, z, z, z, 8, 11, 14, z, z, z, z, z, z, z, z);
    let b_lo = _mm_setr_epi8(2, 5, 8, 11, 14, z, z, z, z, z, z, z, z, z, z, z);
    let b_hi = _mm_setr_epi8(z, z, z, z, z, 9, 12, 15, z, z, z, z, z, z, z, z);
    let (cr, cg, cb) = (
        _mm256_set1_ps(LUMA_R),
        _mm256_set1_ps(LUMA_G),
        _mm256_set1_ps(LUMA_B),
    );
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: bytes 3i..3i+24 are inside `rgb` (i + 8 <= n <= len / 3):
        // the first load reads 3i..3i+16, the second 3i+8..3i+24; both are
        // unaligned loads.
        let (lo, hi) = unsafe {
            let p = rgb.as_ptr().add(3 * i);
            (
                _mm_loadu_si128(p as *const __m128i),
                _mm_loadu_si128(p.add(8) as *const __m128i),
            )
        };
        let r = _mm_or_si128(_mm_shuffle_epi8(lo, r_lo), _mm_shuffle_epi8(hi, r_hi));
        let g = _mm_or_si128(_mm_shuffle_epi8(lo, g_lo), _mm_shuffle_epi8(hi, g_hi));
        let b = _mm_or_si128(_mm_shuffle_epi8(lo, b_lo), _mm_shuffle_epi8(hi, b_hi));
        let rf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(r));
        let gf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(g));
        let bf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
        let y = _mm256_add_ps(
            _mm256_add_ps(_mm256_mul_ps(cr, rf), _mm256_mul_ps(cg, gf)),
            _mm256_mul_ps(cb, bf),
        );
        // SAFETY: outputs i..i+8 are inside `out` (i + 8 <= n <= out.len());
        // the store is unaligned.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(i), y) };
        i += 8;
    }
    luma_from_rgb_portable(&rgb[3 * i..3 * n], &mut out[i..n]);
}

/// One 1-D box filter with the reference's four phases and running f32 sum,
/// over `len` samples `stride` apart starting at `start`.
fn box1d(
    input: &[f32],
    output: &mut [f32],
    start: usize,
    len: usize,
    stride: usize,
    window: usize,
) {
    let full = window as isize;
    let half = (full + 2) / 2;
    let phase1 = half - 1;
    let phase2 = full - half + 1;
    let phase3 = len as isize - full;
    let phase4 = half - 1;
    let (mut li, mut ri, mut oi) = (start, start, start);
    let mut sum = 0f32;
    let mut count: i32 = 0;
    for _ in 0..phase1.max(0) {
        sum += input[ri];
        count += 1;
        ri += stride;
    }
    for _ in 0..phase2.max(0) {
        sum += input[ri];
        count += 1;
        output[oi] = sum / count as f32;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase3.max(0) {
        sum += input[ri];
        sum -= input[li];
        output[oi] = sum / count as f32;
        li += stride;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase4.max(0) {
        sum -= input[li];
        count -= 1;
        output[oi] = sum / count as f32;
        li += stride;
        oi += stride;
    }
}

/// The reference's decimation index: `(int)((out + 0.5) * in / 64)` in double.
#[inline]
pub fn decimation_index(out: usize, in_dim: usize) -> usize {
    (((out as f64 + 0.5) * in_dim as f64) / 64.0) as usize
}

/// Two Jarosz passes (rows then columns, twice) over `luma` (rows × cols),
/// then decimation to 64×64: a literal transcription of the reference, kept
/// as the oracle that the fast path in [`crate::Hasher`] is tested against.
pub fn blur_and_decimate_reference(luma: &[f32], rows: usize, cols: usize) -> [[f32; 64]; 64] {
    assert_eq!(luma.len(), rows * cols, "luma buffer size");
    let win_rows = jarosz_window(cols);
    let win_cols = jarosz_window(rows);
    let mut a = luma.to_vec();
    let mut b = vec![0f32; rows * cols];
    for _ in 0..2 {
        for i in 0..rows {
            box1d(&a, &mut b, i * cols, cols, 1, win_rows);
        }
        for j in 0..cols {
            box1d(&b, &mut a, j, rows, cols, win_cols);
        }
    }
    let mut out = [[0f32; 64]; 64];
    for (oi, out_row) in out.iter_mut().enumerate() {
        let ii = decimation_index(oi, rows);
        for (oj, v) in out_row.iter_mut().enumerate() {
            *v = a[ii * cols + decimation_index(oj, cols)];
        }
    }
    out
}

/// The reference's image-domain quality metric (integer 0..=100).
pub fn quality(buf: &[[f32; 64]; 64]) -> u8 {
    let mut gradient_sum: i32 = 0;
    for i in 0..63 {
        for j in 0..64 {
            let d = ((buf[i][j] - buf[i + 1][j]) * 100.0 / 255.0) as i32;
            gradient_sum += d.abs();
        }
    }
    for row in buf.iter() {
        for j in 0..63 {
            let d = ((row[j] - row[j + 1]) * 100.0 / 255.0) as i32;
            gradient_sum += d.abs();
        }
    }
    (gradient_sum / 90).min(100) as u8
}

/// `B = D·A·Dᵀ` for the 16 lowest non-DC frequencies, accumulating over `k`
/// upwards in f32 as the reference does.
pub fn dct64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    // T = D·A: T[i][j] = sum_k D[i][k] * A[k][j], k ascending; all j together.
    let mut t = [[0f32; 64]; 16];
    for i in 0..16 {
        let mut acc = [0f32; 64];
        for k in 0..64 {
            let dik = d[i][k];
            let ak = &a[k];
            for j in 0..64 {
                acc[j] += dik * ak[j];
            }
        }
        t[i] = acc;
    }
    // B = T·Dᵀ: B[i][j] = sum_k T[i][k] * D[j][k].
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let mut s = 0f32;
            for k in 0..64 {
                s += t[i][k] * d[j][k];
            }
            b[i][j] = s;
        }
    }
    b
}

/// The lower median (`sorted[127]`) of the 256 coefficients, as the
/// reference's Torben selection returns.
fn median(b: &[[f32; 16]; 16]) -> f32 {
    let mut v: Vec<f32> = b.iter().flatten().copied().collect();
    let (_, m, _) = v.select_nth_unstable_by(127, |x, y| x.total_cmp(y));
    // total_cmp orders -0.0 before 0.0; both compare equal under `>`, so
    // either gives the same bits.
    *m
}

/// Bits: coefficient strictly greater than the median.
pub fn bits(b: &[[f32; 16]; 16]) -> Hash256 {
    let m = median(b);
    let mut h = Hash256::ZERO;
    for i in 0..16 {
        for j in 0..16 {
            if b[i][j] > m {
                h.set_bit(i * 16 + j);
            }
        }
    }
    h
}

/// The eight dihedral transforms of the DCT block, in the reference's order:
/// original, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1.
pub fn dihedral_blocks(a: &[[f32; 16]; 16]) -> [[[f32; 16]; 16]; 8] {
    let mut out = [[[0f32; 16]; 16]; 8];
    for i in 0..16 {
        for j in 0..16 {
            let v = a[i][j];
            let odd_i = i & 1 == 1;
            let odd_j = j & 1 == 1;
            let odd_ij = (i + j) & 1 == 1;
            out[0][i][j] = v;
            out[1][j][i] = if odd_j { v } else { -v };
            out[2][i][j] = if odd_ij { -v } else { v };
            out[3][j][i] = if odd_i { v } else { -v };
            out[4][i][j] = if odd_i { v } else { -v };
            out[5][i][j] = if odd_j { v } else { -v };
            out[6][j][i] = v;
            out[7][j][i] = if odd_ij { -v } else { v };
        }
    }
    out
}

/// Luma of a grey value replicated to R=G=B (what the full/HMA pipeline hashes
/// for greyscale images, which it expands to three channels).
pub fn grey_luma_table() -> &'static [f32; 256] {
    use std::sync::OnceLock;
    static TABLE: OnceLock<[f32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0f32; 256];
        for (g, v) in t.iter_mut().enumerate() {
            let g = g as f32;
            *v = LUMA_R * g + LUMA_G * g + LUMA_B * g;
        }
        t
    })
}

#[cfg(test)]
mod luma_tests {
    use super::*;

    #[test]
    fn avx2_luma_is_identical_to_portable() {
        let mut s = 0x1234_5678u32;
        for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 100, 4031] {
            let rgb: Vec<u8> = (0..len * 3)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    s as u8
                })
                .collect();
            let mut a = vec![0f32; len];
            let mut b = vec![0f32; len];
            luma_from_rgb(&rgb, &mut a);
            luma_from_rgb_portable(&rgb, &mut b);
            let plane = |c: usize| rgb.iter().skip(c).step_by(3).copied().collect::<Vec<u8>>();
            let mut p = vec![0f32; len];
            luma_from_planar(&plane(0), &plane(1), &plane(2), &mut p);
            assert_eq!(
                p.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "planar, len {len}"
            );
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "len {len}"
            );
        }
    }
}
