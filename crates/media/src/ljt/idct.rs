//! The accurate integer inverse DCT ("islow"), with the same fixed-point
//! arithmetic as libjpeg-turbo's default decoder so that every sample
//! matches: 13-bit constants, two extra bits kept between the passes, and a
//! final clamp to 0..=255 (libjpeg-turbo's SIMD code saturates the same way).

const CONST_BITS: i32 = 13;
const PASS1_BITS: i32 = 2;

// round(x * 2^13) for the rotation constants.
const F_0_298: i32 = 2446;
const F_0_390: i32 = 3196;
const F_0_541: i32 = 4433;
const F_0_765: i32 = 6270;
const F_0_899: i32 = 7373;
const F_1_175: i32 = 9633;
const F_1_501: i32 = 12299;
const F_1_847: i32 = 15137;
const F_1_961: i32 = 16069;
const F_2_053: i32 = 16819;
const F_2_562: i32 = 20995;
const F_3_072: i32 = 25172;

/// One 8-point pass over eight lanes at once. `v[k][lane]` is input `k`
/// (already scaled); outputs are written to `out[k][lane]` after adding
/// `round` and shifting right by `shift`.
#[inline(always)]
fn pass(v: &[[i32; 8]; 8], out: &mut [[i32; 8]; 8], shift: i32, round: i32) {
    for l in 0..8 {
        let z2 = v[2][l];
        let z3 = v[6][l];
        let z1 = (z2.wrapping_add(z3)).wrapping_mul(F_0_541);
        let tmp2 = z1.wrapping_add(z3.wrapping_mul(-F_1_847));
        let tmp3 = z1.wrapping_add(z2.wrapping_mul(F_0_765));

        let tmp0 = v[0][l]
            .wrapping_add(v[4][l])
            .wrapping_shl(CONST_BITS as u32);
        let tmp1 = v[0][l]
            .wrapping_sub(v[4][l])
            .wrapping_shl(CONST_BITS as u32);

        let tmp10 = tmp0.wrapping_add(tmp3).wrapping_add(round);
        let tmp13 = tmp0.wrapping_sub(tmp3).wrapping_add(round);
        let tmp11 = tmp1.wrapping_add(tmp2).wrapping_add(round);
        let tmp12 = tmp1.wrapping_sub(tmp2).wrapping_add(round);

        let t0 = v[7][l];
        let t1 = v[5][l];
        let t2 = v[3][l];
        let t3 = v[1][l];

        let z1 = t0.wrapping_add(t3);
        let z2 = t1.wrapping_add(t2);
        let z3 = t0.wrapping_add(t2);
        let z4 = t1.wrapping_add(t3);
        let z5 = z3.wrapping_add(z4).wrapping_mul(F_1_175);

        let t0 = t0.wrapping_mul(F_0_298);
        let t1 = t1.wrapping_mul(F_2_053);
        let t2 = t2.wrapping_mul(F_3_072);
        let t3 = t3.wrapping_mul(F_1_501);
        let z1 = z1.wrapping_mul(-F_0_899);
        let z2 = z2.wrapping_mul(-F_2_562);
        let z3 = z3.wrapping_mul(-F_1_961).wrapping_add(z5);
        let z4 = z4.wrapping_mul(-F_0_390).wrapping_add(z5);

        let t0 = t0.wrapping_add(z1).wrapping_add(z3);
        let t1 = t1.wrapping_add(z2).wrapping_add(z4);
        let t2 = t2.wrapping_add(z2).wrapping_add(z3);
        let t3 = t3.wrapping_add(z1).wrapping_add(z4);

        out[0][l] = tmp10.wrapping_add(t3) >> shift;
        out[7][l] = tmp10.wrapping_sub(t3) >> shift;
        out[1][l] = tmp11.wrapping_add(t2) >> shift;
        out[6][l] = tmp11.wrapping_sub(t2) >> shift;
        out[2][l] = tmp12.wrapping_add(t1) >> shift;
        out[5][l] = tmp12.wrapping_sub(t1) >> shift;
        out[3][l] = tmp13.wrapping_add(t0) >> shift;
        out[4][l] = tmp13.wrapping_sub(t0) >> shift;
    }
}

#[inline(always)]
fn clamp_sample(x: i32) -> u8 {
    (x.wrapping_add(128)).clamp(0, 255) as u8
}

/// Inverse DCT of one block of coefficients in natural (row-major) order,
/// dequantised with `q` (natural order, values as libjpeg's 16-bit
/// multiplier table holds them). Writes 8 rows of 8 samples to `out`,
/// starting at `at`, `stride` apart. `out` must hold them.
/// The inverse DCT of a block whose AC coefficients are all zero: the
/// general computation reduces exactly to this (column pass: DC << 2;
/// row pass: (x + 16) >> 5).
#[inline(always)]
pub(crate) fn idct_dc(dc: i16, q: i32, out: &mut [u8], at: usize, stride: usize) {
    let dc = (dc as i32).wrapping_mul(q).wrapping_shl(PASS1_BITS as u32);
    let v = clamp_sample(dc.wrapping_add(1 << (PASS1_BITS + 2)) >> (PASS1_BITS + 3));
    for r in 0..8 {
        let s = at + r * stride;
        if let Some(row) = out.get_mut(s..s + 8) {
            row.fill(v);
        }
    }
}

#[inline(always)]
pub(crate) fn idct_block(
    coef: &[i16; 64],
    q: &[i32; 64],
    out: &mut [u8],
    at: usize,
    stride: usize,
) {
    // Whole block DC-only: every sample is the same.
    if coef[1..].iter().all(|&c| c == 0) {
        idct_dc(coef[0], q[0], out, at, stride);
        return;
    }
    idct_ac(coef, q, out, at, stride);
}

/// [`idct_block`] for a block known to have a nonzero AC coefficient (the
/// general computation, which is exact for any block).
#[inline(always)]
pub(crate) fn idct_ac(coef: &[i16; 64], q: &[i32; 64], out: &mut [u8], at: usize, stride: usize) {
    // Pass 1 over the columns: rows of the input are the eight inputs, the
    // lanes are the columns. A column whose AC terms are all zero gives its
    // scaled DC term everywhere, which the general formula also gives
    // exactly, so no special case is needed for bit-exactness.
    let mut v = [[0i32; 8]; 8];
    for k in 0..8 {
        for l in 0..8 {
            v[k][l] = (coef[k * 8 + l] as i32).wrapping_mul(q[k * 8 + l]);
        }
    }
    let mut ws = [[0i32; 8]; 8];
    // DESCALE(x, CONST_BITS - PASS1_BITS) = (x + 2^(n-1)) >> n
    pass(
        &v,
        &mut ws,
        CONST_BITS - PASS1_BITS,
        1 << (CONST_BITS - PASS1_BITS - 1),
    );

    // Pass 2 over the rows: transpose so that rows become lanes.
    let mut t = [[0i32; 8]; 8];
    for r in 0..8 {
        for c in 0..8 {
            t[c][r] = ws[r][c];
        }
    }
    let mut o = [[0i32; 8]; 8];
    let shift = CONST_BITS + PASS1_BITS + 3;
    pass(&t, &mut o, shift, 1 << (shift - 1));
    // o[c][r] is the sample at row r, column c.
    #[allow(clippy::needless_range_loop)] // indexed form vectorises better
    for r in 0..8 {
        let s = at + r * stride;
        if let Some(row) = out.get_mut(s..s + 8) {
            for c in 0..8 {
                row[c] = clamp_sample(o[c][r]);
            }
        }
    }
}

/// [`idct_ac`] with AVX2 intrinsics: the same wrapping 32-bit arithmetic,
/// lane for lane (pass 1 takes the eight columns as lanes, pass 2 the eight
/// rows after a transpose), so the output is identical.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn idct_ac_avx2(
    coef: &[i16; 64],
    q: &[i32; 64],
    out: &mut [u8],
    at: usize,
    stride: usize,
) {
    use std::arch::x86_64::*;

    /// One 8-point pass over eight lanes of 32-bit values.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    unsafe fn pass(v: [__m256i; 8], shift: i32, round: i32) -> [__m256i; 8] {
        // SAFETY: register arithmetic only (no memory access); AVX2 is
        // this function's contract.
        unsafe {
            let c = _mm256_set1_epi32;
            let z2 = v[2];
            let z3 = v[6];
            let z1 = _mm256_mullo_epi32(_mm256_add_epi32(z2, z3), c(F_0_541));
            let tmp2 = _mm256_add_epi32(z1, _mm256_mullo_epi32(z3, c(-F_1_847)));
            let tmp3 = _mm256_add_epi32(z1, _mm256_mullo_epi32(z2, c(F_0_765)));

            let tmp0 = _mm256_slli_epi32::<CONST_BITS>(_mm256_add_epi32(v[0], v[4]));
            let tmp1 = _mm256_slli_epi32::<CONST_BITS>(_mm256_sub_epi32(v[0], v[4]));
            let r = c(round);
            let tmp0 = _mm256_add_epi32(tmp0, r);
            let tmp1 = _mm256_add_epi32(tmp1, r);

            let tmp10 = _mm256_add_epi32(tmp0, tmp3);
            let tmp13 = _mm256_sub_epi32(tmp0, tmp3);
            let tmp11 = _mm256_add_epi32(tmp1, tmp2);
            let tmp12 = _mm256_sub_epi32(tmp1, tmp2);

            let t0 = v[7];
            let t1 = v[5];
            let t2 = v[3];
            let t3 = v[1];

            let z1 = _mm256_add_epi32(t0, t3);
            let z2 = _mm256_add_epi32(t1, t2);
            let z3 = _mm256_add_epi32(t0, t2);
            let z4 = _mm256_add_epi32(t1, t3);
            let z5 = _mm256_mullo_epi32(_mm256_add_epi32(z3, z4), c(F_1_175));

            let t0 = _mm256_mullo_epi32(t0, c(F_0_298));
            let t1 = _mm256_mullo_epi32(t1, c(F_2_053));
            let t2 = _mm256_mullo_epi32(t2, c(F_3_072));
            let t3 = _mm256_mullo_epi32(t3, c(F_1_501));
            let z1 = _mm256_mullo_epi32(z1, c(-F_0_899));
            let z2 = _mm256_mullo_epi32(z2, c(-F_2_562));
            let z3 = _mm256_add_epi32(_mm256_mullo_epi32(z3, c(-F_1_961)), z5);
            let z4 = _mm256_add_epi32(_mm256_mullo_epi32(z4, c(-F_0_390)), z5);

            let t0 = _mm256_add_epi32(_mm256_add_epi32(t0, z1), z3);
            let t1 = _mm256_add_epi32(_mm256_add_epi32(t1, z2), z4);
            let t2 = _mm256_add_epi32(_mm256_add_epi32(t2, z2), z3);
            let t3 = _mm256_add_epi32(_mm256_add_epi32(t3, z1), z4);

            let sh = _mm_cvtsi32_si128(shift);
            let d = |x| _mm256_sra_epi32(x, sh);
            [
                d(_mm256_add_epi32(tmp10, t3)),
                d(_mm256_add_epi32(tmp11, t2)),
                d(_mm256_add_epi32(tmp12, t1)),
                d(_mm256_add_epi32(tmp13, t0)),
                d(_mm256_sub_epi32(tmp13, t0)),
                d(_mm256_sub_epi32(tmp12, t1)),
                d(_mm256_sub_epi32(tmp11, t2)),
                d(_mm256_sub_epi32(tmp10, t3)),
            ]
        }
    }

    /// 8x8 transpose of 32-bit lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    unsafe fn transpose(m: [__m256i; 8]) -> [__m256i; 8] {
        // SAFETY: shuffles on registers only (no memory access); AVX2 is
        // this function's contract.
        unsafe {
            let a0 = _mm256_unpacklo_epi32(m[0], m[1]);
            let a1 = _mm256_unpackhi_epi32(m[0], m[1]);
            let a2 = _mm256_unpacklo_epi32(m[2], m[3]);
            let a3 = _mm256_unpackhi_epi32(m[2], m[3]);
            let a4 = _mm256_unpacklo_epi32(m[4], m[5]);
            let a5 = _mm256_unpackhi_epi32(m[4], m[5]);
            let a6 = _mm256_unpacklo_epi32(m[6], m[7]);
            let a7 = _mm256_unpackhi_epi32(m[6], m[7]);
            let b0 = _mm256_unpacklo_epi64(a0, a2);
            let b1 = _mm256_unpackhi_epi64(a0, a2);
            let b2 = _mm256_unpacklo_epi64(a1, a3);
            let b3 = _mm256_unpackhi_epi64(a1, a3);
            let b4 = _mm256_unpacklo_epi64(a4, a6);
            let b5 = _mm256_unpackhi_epi64(a4, a6);
            let b6 = _mm256_unpacklo_epi64(a5, a7);
            let b7 = _mm256_unpackhi_epi64(a5, a7);
            [
                _mm256_permute2x128_si256::<0x20>(b0, b4),
                _mm256_permute2x128_si256::<0x20>(b1, b5),
                _mm256_permute2x128_si256::<0x20>(b2, b6),
                _mm256_permute2x128_si256::<0x20>(b3, b7),
                _mm256_permute2x128_si256::<0x31>(b0, b4),
                _mm256_permute2x128_si256::<0x31>(b1, b5),
                _mm256_permute2x128_si256::<0x31>(b2, b6),
                _mm256_permute2x128_si256::<0x31>(b3, b7),
            ]
        }
    }

    // SAFETY: the loads read 16 bytes from within `coef` (row k of 8 i16)
    // and 32 bytes from within `q` (row k of 8 i32); the CPU has AVX2 (the
    // caller's contract).
    let v: [__m256i; 8] = std::array::from_fn(|k| unsafe {
        let c = _mm256_cvtepi16_epi32(_mm_loadu_si128(coef[k * 8..k * 8 + 8].as_ptr().cast()));
        let m = _mm256_loadu_si256(q[k * 8..k * 8 + 8].as_ptr().cast());
        _mm256_mullo_epi32(c, m)
    });
    // SAFETY: register arithmetic only, AVX2 available (caller's contract).
    let ws = unsafe {
        pass(
            v,
            CONST_BITS - PASS1_BITS,
            1 << (CONST_BITS - PASS1_BITS - 1),
        )
    };
    let shift = CONST_BITS + PASS1_BITS + 3;
    // SAFETY: register arithmetic only, AVX2 available (caller's contract).
    let o = unsafe { transpose(pass(transpose(ws), shift, 1 << (shift - 1))) };
    // o[r] now holds row r. Add 128 and saturate to 0..=255 (the same as
    // clamping, since the 16-bit saturation of packs keeps the sign).
    let (lo, hi) = {
        let k = _mm256_set1_epi32(128);
        let r: [__m256i; 8] = std::array::from_fn(|i| _mm256_add_epi32(o[i], k));
        let idx = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let b0 = _mm256_packus_epi16(
            _mm256_packs_epi32(r[0], r[1]),
            _mm256_packs_epi32(r[2], r[3]),
        );
        let b1 = _mm256_packus_epi16(
            _mm256_packs_epi32(r[4], r[5]),
            _mm256_packs_epi32(r[6], r[7]),
        );
        (
            _mm256_permutevar8x32_epi32(b0, idx),
            _mm256_permutevar8x32_epi32(b1, idx),
        )
    };
    let mut bytes = [0u8; 64];
    // SAFETY: each store writes 32 bytes within `bytes`.
    unsafe {
        _mm256_storeu_si256(bytes[..32].as_mut_ptr().cast(), lo);
        _mm256_storeu_si256(bytes[32..].as_mut_ptr().cast(), hi);
    }
    put_rows(&bytes, 8, out, at, stride);
}

/// Writes `samples` (rows of `n`, row-major) to `out` from `at`, rows
/// `stride` apart; rows that would fall outside `out` are dropped.
#[inline(always)]
fn put_rows(samples: &[u8], n: usize, out: &mut [u8], at: usize, stride: usize) {
    for (r, src) in samples.chunks_exact(n).enumerate() {
        let s = at + r * stride;
        if let Some(row) = out.get_mut(s..s + n) {
            row.copy_from_slice(src);
        }
    }
}

// Reduced-size inverse DCTs (libjpeg's jidctred.c): an 8×8 block of
// coefficients to 4×4, 2×2 or 1×1 samples, for decoding at 1/2, 1/4 or 1/8
// scale. Same fixed-point conventions as the full transform.
const F_0_211: i32 = 1730;
const F_0_509: i32 = 4176;
const F_0_601: i32 = 4926;
const F_0_720: i32 = 5906;
const F_0_850: i32 = 6967;
const F_1_061: i32 = 8697;
const F_1_272: i32 = 10426;
const F_1_451: i32 = 11893;
const F_2_172: i32 = 17799;
const F_3_624: i32 = 29692;

#[inline(always)]
fn descale(x: i32, n: i32) -> i32 {
    x.wrapping_add(1 << (n - 1)) >> n
}

/// Fills an `n` × `n` block with the sample of a DC-only block (the value
/// every reduced transform gives when all AC terms are zero).
#[inline(always)]
pub(crate) fn idct_dc_n(dc: i16, q: i32, out: &mut [u8], at: usize, stride: usize, n: usize) {
    let dc = (dc as i32).wrapping_mul(q).wrapping_shl(PASS1_BITS as u32);
    let v = clamp_sample(dc.wrapping_add(1 << (PASS1_BITS + 2)) >> (PASS1_BITS + 3));
    for r in 0..n {
        let s = at + r * stride;
        if let Some(row) = out.get_mut(s..s + n) {
            row.fill(v);
        }
    }
}

/// One 8-in, 4-out pass of libjpeg's `jpeg_idct_4x4` over `L` lanes at
/// once (input 4 is unused). libjpeg's shortcuts for all-zero AC inputs give
/// exactly what this general form gives, so none is needed.
#[inline(always)]
fn pass4<const L: usize>(v: &[[i32; L]; 8], out: &mut [[i32; L]; 4], shift: i32) {
    let round = 1 << (shift - 1);
    for l in 0..L {
        let tmp0 = v[0][l].wrapping_shl((CONST_BITS + 1) as u32);
        let tmp2 = v[2][l]
            .wrapping_mul(F_1_847)
            .wrapping_add(v[6][l].wrapping_mul(-F_0_765));
        let tmp10 = tmp0.wrapping_add(tmp2).wrapping_add(round);
        let tmp12 = tmp0.wrapping_sub(tmp2).wrapping_add(round);
        let (z1, z2, z3, z4) = (v[7][l], v[5][l], v[3][l], v[1][l]);
        let t0 = z1
            .wrapping_mul(-F_0_211)
            .wrapping_add(z2.wrapping_mul(F_1_451))
            .wrapping_add(z3.wrapping_mul(-F_2_172))
            .wrapping_add(z4.wrapping_mul(F_1_061));
        let t2 = z1
            .wrapping_mul(-F_0_509)
            .wrapping_add(z2.wrapping_mul(-F_0_601))
            .wrapping_add(z3.wrapping_mul(F_0_899))
            .wrapping_add(z4.wrapping_mul(F_2_562));
        out[0][l] = tmp10.wrapping_add(t2) >> shift;
        out[3][l] = tmp10.wrapping_sub(t2) >> shift;
        out[1][l] = tmp12.wrapping_add(t0) >> shift;
        out[2][l] = tmp12.wrapping_sub(t0) >> shift;
    }
}

/// libjpeg's `jpeg_idct_4x4`: one block to 4×4 samples.
#[inline(always)]
pub(crate) fn idct_4x4(coef: &[i16; 64], q: &[i32; 64], out: &mut [u8], at: usize, stride: usize) {
    // Pass 1 over the columns (lanes), then over the four rows.
    let mut v = [[0i32; 8]; 8];
    for k in 0..8 {
        for l in 0..8 {
            v[k][l] = (coef[k * 8 + l] as i32).wrapping_mul(q[k * 8 + l]);
        }
    }
    let mut ws = [[0i32; 8]; 4];
    pass4(&v, &mut ws, CONST_BITS - PASS1_BITS + 1);
    let mut t = [[0i32; 4]; 8];
    for r in 0..4 {
        for c in 0..8 {
            t[c][r] = ws[r][c];
        }
    }
    let mut o = [[0i32; 4]; 4];
    pass4(&t, &mut o, CONST_BITS + PASS1_BITS + 3 + 1);
    // o[c][r] is the sample at row r, column c.
    #[allow(clippy::needless_range_loop)]
    for r in 0..4 {
        let s = at + r * stride;
        if let Some(row) = out.get_mut(s..s + 4) {
            for c in 0..4 {
                row[c] = clamp_sample(o[c][r]);
            }
        }
    }
}

/// Row `k` of a block, dequantised: eight 32-bit lanes.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn dequant_row(coef: &[i16; 64], q: &[i32; 64], k: usize) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let (c, m) = (&coef[k * 8..k * 8 + 8], &q[k * 8..k * 8 + 8]);
    // SAFETY: the loads read 16 bytes from within `c` (8 i16) and 32 bytes
    // from within `m` (8 i32).
    unsafe {
        let x = _mm256_cvtepi16_epi32(_mm_loadu_si128(c.as_ptr().cast()));
        _mm256_mullo_epi32(x, _mm256_loadu_si256(m.as_ptr().cast()))
    }
}

/// [`idct_4x4`] with AVX2 intrinsics: the same wrapping 32-bit arithmetic,
/// lane for lane (pass 1 takes the eight columns as lanes; pass 2 takes the
/// four rows as lanes, with the even/odd inputs paired in the two halves of
/// a register), so the output is identical.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn idct_4x4_avx2(
    coef: &[i16; 64],
    q: &[i32; 64],
    out: &mut [u8],
    at: usize,
    stride: usize,
) {
    use std::arch::x86_64::*;
    let c = _mm256_set1_epi32;
    // Row 4 is not used by the reduced transform.
    // SAFETY: AVX2 is enabled here (the caller's contract).
    let v = |k: usize| unsafe { dequant_row(coef, q, k) };
    let mul = |x, k| _mm256_mullo_epi32(x, c(k));
    let add = |a, b| _mm256_add_epi32(a, b);
    let sub = |a, b| _mm256_sub_epi32(a, b);
    // Pass 1: columns as lanes.
    let shift1 = CONST_BITS - PASS1_BITS + 1;
    let round1 = c(1 << (shift1 - 1));
    let tmp0 = _mm256_slli_epi32::<{ CONST_BITS + 1 }>(v(0));
    let tmp2 = add(mul(v(2), F_1_847), mul(v(6), -F_0_765));
    let tmp10 = add(add(tmp0, tmp2), round1);
    let tmp12 = add(sub(tmp0, tmp2), round1);
    let (z1, z2, z3, z4) = (v(7), v(5), v(3), v(1));
    let t0 = add(
        add(mul(z1, -F_0_211), mul(z2, F_1_451)),
        add(mul(z3, -F_2_172), mul(z4, F_1_061)),
    );
    let t2 = add(
        add(mul(z1, -F_0_509), mul(z2, -F_0_601)),
        add(mul(z3, F_0_899), mul(z4, F_2_562)),
    );
    let w0 = _mm256_srai_epi32::<{ CONST_BITS - PASS1_BITS + 1 }>(add(tmp10, t2));
    let w3 = _mm256_srai_epi32::<{ CONST_BITS - PASS1_BITS + 1 }>(sub(tmp10, t2));
    let w1 = _mm256_srai_epi32::<{ CONST_BITS - PASS1_BITS + 1 }>(add(tmp12, t0));
    let w2 = _mm256_srai_epi32::<{ CONST_BITS - PASS1_BITS + 1 }>(sub(tmp12, t0));
    // Transpose: cXY holds column X of rows 0..4 in its low half, column Y
    // in its high half.
    let a0 = _mm256_unpacklo_epi32(w0, w1);
    let a1 = _mm256_unpackhi_epi32(w0, w1);
    let b0 = _mm256_unpacklo_epi32(w2, w3);
    let b1 = _mm256_unpackhi_epi32(w2, w3);
    let c04 = _mm256_unpacklo_epi64(a0, b0);
    let c15 = _mm256_unpackhi_epi64(a0, b0);
    let c26 = _mm256_unpacklo_epi64(a1, b1);
    let c37 = _mm256_unpackhi_epi64(a1, b1);
    let pair = |lo: i32, hi: i32| _mm256_setr_epi32(lo, lo, lo, lo, hi, hi, hi, hi);
    let fold =
        |x: __m256i| _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256::<1>(x));
    // Pass 2: rows as lanes. The sums are the same terms as pass 1's, added
    // in an order that wrapping arithmetic makes irrelevant.
    let shift2 = CONST_BITS + PASS1_BITS + 3 + 1;
    let round2 = _mm_set1_epi32(1 << (shift2 - 1));
    let tmp0 = _mm_slli_epi32::<{ CONST_BITS + 1 }>(_mm256_castsi256_si128(c04));
    let tmp2 = fold(_mm256_mullo_epi32(c26, pair(F_1_847, -F_0_765)));
    let t0 = fold(add(
        _mm256_mullo_epi32(c15, pair(F_1_061, F_1_451)),
        _mm256_mullo_epi32(c37, pair(-F_2_172, -F_0_211)),
    ));
    let t2 = fold(add(
        _mm256_mullo_epi32(c15, pair(F_2_562, -F_0_601)),
        _mm256_mullo_epi32(c37, pair(F_0_899, -F_0_509)),
    ));
    let tmp10 = _mm_add_epi32(_mm_add_epi32(tmp0, tmp2), round2);
    let tmp12 = _mm_add_epi32(_mm_sub_epi32(tmp0, tmp2), round2);
    let k = _mm_set1_epi32(128);
    let fin = |x| _mm_add_epi32(_mm_srai_epi32::<{ CONST_BITS + PASS1_BITS + 3 + 1 }>(x), k);
    // Output column X for rows 0..4.
    let o0 = fin(_mm_add_epi32(tmp10, t2));
    let o3 = fin(_mm_sub_epi32(tmp10, t2));
    let o1 = fin(_mm_add_epi32(tmp12, t0));
    let o2 = fin(_mm_sub_epi32(tmp12, t0));
    // Saturate to 0..=255 (the same as clamping), then from column-major
    // to row-major bytes.
    let bytes = _mm_packus_epi16(_mm_packs_epi32(o0, o1), _mm_packs_epi32(o2, o3));
    let rows = _mm_shuffle_epi8(
        bytes,
        _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
    );
    let mut b = [0u8; 16];
    // SAFETY: writes 16 bytes within `b`.
    unsafe { _mm_storeu_si128(b.as_mut_ptr().cast(), rows) };
    put_rows(&b, 4, out, at, stride);
}

/// libjpeg's `jpeg_idct_2x2`: one block to 2×2 samples.
#[inline(always)]
pub(crate) fn idct_2x2(coef: &[i16; 64], q: &[i32; 64], out: &mut [u8], at: usize, stride: usize) {
    let dq = |k: usize| (coef[k] as i32).wrapping_mul(q[k]);
    let odd = |a: i32, b: i32, c: i32, d: i32| {
        // a, b, c, d: inputs 7, 5, 3, 1.
        a.wrapping_mul(-F_0_720)
            .wrapping_add(b.wrapping_mul(F_0_850))
            .wrapping_add(c.wrapping_mul(-F_1_272))
            .wrapping_add(d.wrapping_mul(F_3_624))
    };
    let mut ws = [[0i32; 8]; 2];
    // libjpeg's shortcuts for all-zero odd inputs give what the general
    // form gives (short of 32-bit overflow, where neither is meaningful),
    // so none is taken: the AVX2 version computes the same.
    for c in [0, 1, 3, 5, 7] {
        let tmp10 = dq(c).wrapping_shl((CONST_BITS + 2) as u32);
        let tmp0 = odd(dq(56 + c), dq(40 + c), dq(24 + c), dq(8 + c));
        let n = CONST_BITS - PASS1_BITS + 2;
        ws[0][c] = descale(tmp10.wrapping_add(tmp0), n);
        ws[1][c] = descale(tmp10.wrapping_sub(tmp0), n);
    }
    for (r, w) in ws.iter().enumerate() {
        let s = at + r * stride;
        let Some(row) = out.get_mut(s..s + 2) else {
            continue;
        };
        let tmp10 = w[0].wrapping_shl((CONST_BITS + 2) as u32);
        let tmp0 = odd(w[7], w[5], w[3], w[1]);
        let n = CONST_BITS + PASS1_BITS + 3 + 2;
        row[0] = clamp_sample(descale(tmp10.wrapping_add(tmp0), n));
        row[1] = clamp_sample(descale(tmp10.wrapping_sub(tmp0), n));
    }
}

/// [`idct_2x2`] with AVX2 intrinsics: the same wrapping 32-bit arithmetic
/// (libjpeg's shortcuts for all-zero inputs give exactly what the general
/// form gives, so none is taken), so the output is identical.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn idct_2x2_avx2(
    coef: &[i16; 64],
    q: &[i32; 64],
    out: &mut [u8],
    at: usize,
    stride: usize,
) {
    use std::arch::x86_64::*;
    let c = _mm256_set1_epi32;
    // Rows 2, 4 and 6 are not used.
    // SAFETY: AVX2 is enabled here (the caller's contract).
    let v = |k: usize| unsafe { dequant_row(coef, q, k) };
    let mul = |x, k| _mm256_mullo_epi32(x, c(k));
    let add = |a, b| _mm256_add_epi32(a, b);
    // Pass 1: columns as lanes (columns 2, 4, 6 are computed and unused).
    let round1 = c(1 << (CONST_BITS - PASS1_BITS + 2 - 1));
    let tmp10 = add(_mm256_slli_epi32::<{ CONST_BITS + 2 }>(v(0)), round1);
    let tmp0 = add(
        add(mul(v(7), -F_0_720), mul(v(5), F_0_850)),
        add(mul(v(3), -F_1_272), mul(v(1), F_3_624)),
    );
    let w0 = _mm256_srai_epi32::<{ CONST_BITS - PASS1_BITS + 2 }>(add(tmp10, tmp0));
    let w1 = _mm256_srai_epi32::<{ CONST_BITS - PASS1_BITS + 2 }>(_mm256_sub_epi32(tmp10, tmp0));
    // Pass 2: each row's odd part is a sum over its lanes 1, 3, 5, 7.
    let k = _mm256_setr_epi32(0, F_3_624, 0, -F_1_272, 0, F_0_850, 0, -F_0_720);
    let h = _mm256_hadd_epi32(_mm256_mullo_epi32(w0, k), _mm256_mullo_epi32(w1, k));
    let h = _mm256_hadd_epi32(h, h);
    // Lane 0: row 0's odd part, lane 1: row 1's (low half + high half).
    let odd = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
    let even = _mm_slli_epi32::<{ CONST_BITS + 2 }>(_mm_unpacklo_epi32(
        _mm256_castsi256_si128(w0),
        _mm256_castsi256_si128(w1),
    ));
    let round2 = _mm_set1_epi32(1 << (CONST_BITS + PASS1_BITS + 3 + 2 - 1));
    let even = _mm_add_epi32(even, round2);
    // (row 0 left, row 1 left, row 0 right, row 1 right)
    let sums = _mm_unpacklo_epi64(_mm_add_epi32(even, odd), _mm_sub_epi32(even, odd));
    let o = _mm_add_epi32(
        _mm_srai_epi32::<{ CONST_BITS + PASS1_BITS + 3 + 2 }>(sums),
        _mm_set1_epi32(128),
    );
    let bytes = _mm_packus_epi16(_mm_packs_epi32(o, o), _mm_setzero_si128());
    let b = (_mm_cvtsi128_si32(bytes) as u32).to_le_bytes();
    put_rows(&[b[0], b[2], b[1], b[3]], 2, out, at, stride);
}

/// A block inverse-transformed to `n` × `n` samples (`n` = 8, 4, 2 or 1).
#[inline(always)]
pub(crate) fn idct_scaled(
    coef: &[i16; 64],
    q: &[i32; 64],
    out: &mut [u8],
    at: usize,
    stride: usize,
    n: usize,
) {
    match n {
        8 => idct_block(coef, q, out, at, stride),
        4 => idct_4x4(coef, q, out, at, stride),
        2 => idct_2x2(coef, q, out, at, stride),
        _ => idct_dc_n(coef[0], q[0], out, at, stride, 1),
    }
}

#[cfg(test)]
#[path = "idct_tests.rs"]
mod tests;
