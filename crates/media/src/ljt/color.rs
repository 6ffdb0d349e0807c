//! Chroma upsampling ("fancy" triangle filters where libjpeg-turbo uses
//! them, replication otherwise) and YCbCr → RGB conversion with
//! libjpeg-turbo's 16-bit fixed-point tables.

use nigehbaan_pdq::cpu::Avx2;

/// A decoded component plane: `dw` × `dh` valid samples, `stride` apart.
pub(crate) struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
    pub dw: usize,
    pub dh: usize,
}

impl Plane<'_> {
    /// Row `y`, clamped into the valid rows (libjpeg replicates the edge
    /// rows as context), `dw` samples long.
    #[inline(always)]
    pub(crate) fn row(&self, y: isize) -> &[u8] {
        let y = y.clamp(0, self.dh as isize - 1) as usize;
        let s = y * self.stride;
        &self.data[s..s + self.dw]
    }
}

/// How one component is brought up to full resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Full,
    /// Horizontal ×2 triangle filter.
    H2V1Fancy,
    /// Vertical ×2 triangle filter.
    H1V2Fancy,
    /// ×2 both ways triangle filter.
    H2V2Fancy,
    /// Replicate each sample `h` × `v` times.
    Replicate {
        h: usize,
        v: usize,
    },
}

impl Method {
    /// libjpeg-turbo's choice for a component with upsampling ratios
    /// `hr`, `vr` (already known to be integral) and `dw` samples a row.
    pub(crate) fn choose(hr: usize, vr: usize, dw: usize) -> Method {
        match (hr, vr) {
            (1, 1) => Method::Full,
            (2, 1) if dw > 2 => Method::H2V1Fancy,
            (1, 2) => Method::H1V2Fancy,
            (2, 2) if dw > 2 => Method::H2V2Fancy,
            (h, v) => Method::Replicate { h, v },
        }
    }
}

/// Writes output row `y` of a component upsampled with `m` into `out`
/// (`out.len()` = image width; at most 2·dw for the ×2 filters).
/// Reusable row buffers for [`upsample_row`].
#[derive(Default)]
pub(crate) struct Scratch {
    row: Vec<u8>,
    sums: Vec<u16>,
}

/// Writes output row `y` of a component upsampled with `m` into `out`.
#[inline(always)]
pub(crate) fn upsample_row(
    p: &Plane,
    m: Method,
    y: usize,
    out: &mut [u8],
    s: &mut Scratch,
    avx2: Option<Avx2>,
) {
    let w = out.len();
    match m {
        Method::Full => out.copy_from_slice(&p.row(y as isize)[..w]),
        Method::Replicate { h, v } => {
            let src = p.row((y / v) as isize);
            // Columns past dw come from the block padding in libjpeg; the
            // output width never needs them for integral ratios.
            for (x, o) in out.iter_mut().enumerate() {
                *o = src.get(x / h).copied().unwrap_or(0);
            }
        }
        Method::H2V1Fancy => {
            let src = p.row(y as isize);
            if out.len() == 2 * src.len() {
                h2v1_dispatch(src, out, avx2);
            } else {
                s.row.resize(2 * src.len(), 0);
                h2v1_dispatch(src, &mut s.row, avx2);
                out.copy_from_slice(&s.row[..w]);
            }
        }
        Method::H1V2Fancy => {
            let i = (y / 2) as isize;
            let near = p.row(i);
            let (far, bias) = if y.is_multiple_of(2) {
                (p.row(i - 1), 1u16)
            } else {
                (p.row(i + 1), 2u16)
            };
            let n = w.min(near.len());
            for ((o, &a), &b) in out[..n].iter_mut().zip(&near[..n]).zip(&far[..n]) {
                *o = ((a as u16 * 3 + b as u16 + bias) >> 2) as u8;
            }
        }
        Method::H2V2Fancy => {
            let i = (y / 2) as isize;
            let near = p.row(i);
            let far = if y.is_multiple_of(2) {
                p.row(i - 1)
            } else {
                p.row(i + 1)
            };
            s.sums.resize(near.len(), 0);
            if out.len() == 2 * near.len() {
                h2v2_dispatch(near, far, &mut s.sums, out, avx2);
            } else {
                s.row.resize(2 * near.len(), 0);
                h2v2_dispatch(near, far, &mut s.sums, &mut s.row, avx2);
                out.copy_from_slice(&s.row[..w]);
            }
        }
    }
}

#[inline(always)]
fn h2v1_dispatch(src: &[u8], out: &mut [u8], avx2: Option<Avx2>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(_avx2) = avx2 {
        // SAFETY: an `Avx2` token exists only when the CPU has AVX2, the
        // one requirement of `h2v1_avx2`.
        return unsafe { h2v1_avx2(src, out) };
    }
    let _ = avx2;
    h2v1(src, out)
}

#[inline(always)]
fn h2v2_dispatch(near: &[u8], far: &[u8], cs: &mut [u16], out: &mut [u8], avx2: Option<Avx2>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(_avx2) = avx2 {
        // SAFETY: an `Avx2` token exists only when the CPU has AVX2, the
        // one requirement of `h2v2_avx2`.
        return unsafe { h2v2_avx2(near, far, cs, out) };
    }
    let _ = avx2;
    h2v2(near, far, cs, out)
}

/// YCbCr → RGB for one row, with AVX2 when an `avx2` token is given.
#[inline(always)]
pub(crate) fn convert_row_dispatch(
    y: &[u8],
    cb: &[u8],
    cr: &[u8],
    out: &mut [u8],
    avx2: Option<Avx2>,
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(_avx2) = avx2 {
        // SAFETY: an `Avx2` token exists only when the CPU has AVX2, the
        // one requirement of `convert_row_avx2`.
        return unsafe { convert_row_avx2(y, cb, cr, out) };
    }
    let _ = avx2;
    convert_row(y, cb, cr, out)
}

/// Horizontal triangle filter: `out.len() == 2 * src.len()`, `src.len() > 2`.
#[inline(always)]
fn h2v1(src: &[u8], out: &mut [u8]) {
    let n = src.len();
    out[0] = src[0];
    out[1] = ((src[0] as u16 * 3 + src[1] as u16 + 2) >> 2) as u8;
    let (prev, cur, next) = (&src[..n - 2], &src[1..n - 1], &src[2..]);
    let mid = &mut out[2..2 * n - 2];
    for (((o, &p), &c), &x) in mid.chunks_exact_mut(2).zip(prev).zip(cur).zip(next) {
        let c = c as u16 * 3;
        o[0] = ((c + p as u16 + 1) >> 2) as u8;
        o[1] = ((c + x as u16 + 2) >> 2) as u8;
    }
    out[2 * n - 2] = ((src[n - 1] as u16 * 3 + src[n - 2] as u16 + 1) >> 2) as u8;
    out[2 * n - 1] = src[n - 1];
}

/// Two-way triangle filter for one output row: `near` is the nearer input
/// row, `far` the other one; `out.len() == 2 * near.len()`, `near.len() > 2`.
/// `cs` is scratch of `near.len()` entries for the column sums.
#[inline(always)]
fn h2v2(near: &[u8], far: &[u8], cs: &mut [u16], out: &mut [u8]) {
    let n = near.len();
    for ((c, &a), &b) in cs[..n].iter_mut().zip(near).zip(&far[..n]) {
        *c = a as u16 * 3 + b as u16;
    }
    out[0] = ((cs[0] * 4 + 8) >> 4) as u8;
    out[1] = ((cs[0] * 3 + cs[1] + 7) >> 4) as u8;
    let (prev, cur, next) = (&cs[..n - 2], &cs[1..n - 1], &cs[2..n]);
    let mid = &mut out[2..2 * n - 2];
    for (((o, &p), &c), &x) in mid.chunks_exact_mut(2).zip(prev).zip(cur).zip(next) {
        let c = c * 3;
        o[0] = ((c + p + 8) >> 4) as u8;
        o[1] = ((c + x + 7) >> 4) as u8;
    }
    out[2 * n - 2] = ((cs[n - 1] * 3 + cs[n - 2] + 8) >> 4) as u8;
    out[2 * n - 1] = ((cs[n - 1] * 4 + 7) >> 4) as u8;
}

/// libjpeg-turbo's YCbCr → RGB tables (SCALEBITS = 16), kept to check the
/// arithmetic form against.
#[cfg(test)]
pub(crate) struct YccTables {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i32; 256],
    cb_g: [i32; 256],
}

const SCALEBITS: i32 = 16;
const ONE_HALF: i32 = 1 << (SCALEBITS - 1);
/// FIX(x) = round(x · 2^16).
const FIX_1_40200: i32 = 91881;
const FIX_1_77200: i32 = 116130;
const FIX_0_71414: i32 = 46802;
const FIX_0_34414: i32 = 22554;

#[cfg(test)]
impl YccTables {
    pub(crate) fn new() -> Self {
        let mut t = YccTables {
            cr_r: [0; 256],
            cb_b: [0; 256],
            cr_g: [0; 256],
            cb_g: [0; 256],
        };
        for i in 0..256 {
            let x = i as i32 - 128;
            t.cr_r[i] = (FIX_1_40200 * x + ONE_HALF) >> SCALEBITS;
            t.cb_b[i] = (FIX_1_77200 * x + ONE_HALF) >> SCALEBITS;
            t.cr_g[i] = -FIX_0_71414 * x;
            t.cb_g[i] = -FIX_0_34414 * x + ONE_HALF;
        }
        t
    }

    /// Converts one row; `out.len() == 3 * y.len()`.
    pub(crate) fn convert_row(&self, y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
        convert_row(y, cb, cr, out)
    }
}

/// One pixel, computed as the tables would give it (the table entries are
/// these same expressions).
#[inline(always)]
fn ycc_pixel(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, b, r) = (y as i32, cb as i32 - 128, cr as i32 - 128);
    let rr = y + ((FIX_1_40200 * r + ONE_HALF) >> SCALEBITS);
    let gg = y + ((-FIX_0_34414 * b + ONE_HALF - FIX_0_71414 * r) >> SCALEBITS);
    let bb = y + ((FIX_1_77200 * b + ONE_HALF) >> SCALEBITS);
    [
        rr.clamp(0, 255) as u8,
        gg.clamp(0, 255) as u8,
        bb.clamp(0, 255) as u8,
    ]
}

/// YCbCr → RGB for one row, eight pixels at a time so that the arithmetic
/// vectorises. `out.len() == 3 * y.len()`.
#[inline(always)]
pub(crate) fn convert_row(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    const L: usize = 16;
    let n = y.len().min(cb.len()).min(cr.len()).min(out.len() / 3);
    let (y, cb, cr, out) = (&y[..n], &cb[..n], &cr[..n], &mut out[..3 * n]);
    let mut yc = y.chunks_exact(L);
    let mut bc = cb.chunks_exact(L);
    let mut rc = cr.chunks_exact(L);
    let mut oc = out.chunks_exact_mut(3 * L);
    for (((yy, bb), rr), oo) in (&mut yc).zip(&mut bc).zip(&mut rc).zip(&mut oc) {
        let mut r = [0i32; L];
        let mut g = [0i32; L];
        let mut b = [0i32; L];
        for i in 0..L {
            let (yv, bv, rv) = (yy[i] as i32, bb[i] as i32 - 128, rr[i] as i32 - 128);
            r[i] = (yv + ((FIX_1_40200 * rv + ONE_HALF) >> SCALEBITS)).clamp(0, 255);
            g[i] = (yv + ((-FIX_0_34414 * bv + ONE_HALF - FIX_0_71414 * rv) >> SCALEBITS))
                .clamp(0, 255);
            b[i] = (yv + ((FIX_1_77200 * bv + ONE_HALF) >> SCALEBITS)).clamp(0, 255);
        }
        for i in 0..L {
            oo[3 * i] = r[i] as u8;
            oo[3 * i + 1] = g[i] as u8;
            oo[3 * i + 2] = b[i] as u8;
        }
    }
    for (((&yy, &bb), &rr), oo) in yc
        .remainder()
        .iter()
        .zip(bc.remainder())
        .zip(rc.remainder())
        .zip(oc.into_remainder().chunks_exact_mut(3))
    {
        oo.copy_from_slice(&ycc_pixel(yy, bb, rr));
    }
}

/// Constants of the AVX2 colour kernel.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct YccConsts {
    c128: std::arch::x86_64::__m256i,
    half: std::arch::x86_64::__m256i,
    k_rr: std::arch::x86_64::__m256i,
    k_bb: std::arch::x86_64::__m256i,
    k_gb: std::arch::x86_64::__m256i,
    k_gr: std::arch::x86_64::__m256i,
}

#[cfg(target_arch = "x86_64")]
impl YccConsts {
    /// The constants in registers.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    unsafe fn new() -> Self {
        use std::arch::x86_64::*;
        // SAFETY: register set-up only (no memory access); AVX2 is this
        // function's contract.
        unsafe {
            YccConsts {
                c128: _mm256_set1_epi32(128),
                half: _mm256_set1_epi32(ONE_HALF),
                k_rr: _mm256_set1_epi32(FIX_1_40200),
                k_bb: _mm256_set1_epi32(FIX_1_77200),
                k_gb: _mm256_set1_epi32(-FIX_0_34414),
                k_gr: _mm256_set1_epi32(-FIX_0_71414),
            }
        }
    }
}

/// 16 pixels of YCbCr → 16 bytes each of R, G and B (the arithmetic of
/// [`convert_row`], clamped to 0..=255 by saturating packs).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn ycc16_avx2(
    yv: std::arch::x86_64::__m128i,
    bv: std::arch::x86_64::__m128i,
    rv: std::arch::x86_64::__m128i,
    k: &YccConsts,
) -> [std::arch::x86_64::__m128i; 3] {
    use std::arch::x86_64::*;
    // SAFETY: register arithmetic only (no memory access); AVX2 is this
    // function's contract.
    unsafe {
        let mut rgb = [[_mm256_setzero_si256(); 2]; 3];
        for (h, parts) in [
            (yv, bv, rv),
            (
                _mm_srli_si128::<8>(yv),
                _mm_srli_si128::<8>(bv),
                _mm_srli_si128::<8>(rv),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let yy = _mm256_cvtepu8_epi32(parts.0);
            let bb = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts.1), k.c128);
            let rr = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts.2), k.c128);
            let r = _mm256_add_epi32(
                yy,
                _mm256_srai_epi32::<16>(_mm256_add_epi32(_mm256_mullo_epi32(rr, k.k_rr), k.half)),
            );
            let g = _mm256_add_epi32(
                yy,
                _mm256_srai_epi32::<16>(_mm256_add_epi32(
                    _mm256_add_epi32(_mm256_mullo_epi32(bb, k.k_gb), k.half),
                    _mm256_mullo_epi32(rr, k.k_gr),
                )),
            );
            let b = _mm256_add_epi32(
                yy,
                _mm256_srai_epi32::<16>(_mm256_add_epi32(_mm256_mullo_epi32(bb, k.k_bb), k.half)),
            );
            rgb[0][h] = r;
            rgb[1][h] = g;
            rgb[2][h] = b;
        }
        // i32 → i16 (saturating, in order) → u8 (saturating = clamp 0..255).
        let w = |c: [__m256i; 2]| _mm256_permute4x64_epi64::<0xD8>(_mm256_packs_epi32(c[0], c[1]));
        let (rw, gw, bw) = (w(rgb[0]), w(rgb[1]), w(rgb[2]));
        let rg = _mm256_permute4x64_epi64::<0xD8>(_mm256_packus_epi16(rw, gw));
        let bb = _mm256_permute4x64_epi64::<0xD8>(_mm256_packus_epi16(bw, bw));
        [
            _mm256_castsi256_si128(rg),
            _mm256_extracti128_si256::<1>(rg),
            _mm256_castsi256_si128(bb),
        ]
    }
}

/// [`ycc16_avx2`] on the 16 samples of each row starting at `i`.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn ycc16_at(
    y: &[u8],
    cb: &[u8],
    cr: &[u8],
    i: usize,
    k: &YccConsts,
) -> [std::arch::x86_64::__m128i; 3] {
    use std::arch::x86_64::*;
    let load = |row: &[u8]| {
        let s = &row[i..i + 16];
        // SAFETY: `s` is 16 bytes long (slicing checked it); the load is
        // unaligned; AVX2 (so SSE2) is this function's contract.
        unsafe { _mm_loadu_si128(s.as_ptr() as *const __m128i) }
    };
    // SAFETY: AVX2 is this function's contract and `ycc16_avx2`'s only one.
    unsafe { ycc16_avx2(load(y), load(cb), load(cr), k) }
}

/// YCbCr → RGB for one row with explicit AVX2 (same integer arithmetic as
/// [`convert_row`], so the same bytes). `out.len() == 3 * y.len()`.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn convert_row_avx2(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    use std::arch::x86_64::*;
    let n = y.len().min(cb.len()).min(cr.len()).min(out.len() / 3);
    // Byte shuffles that interleave 16 R, G and B samples into 48 bytes.
    const fn mask(block: usize, chan: usize) -> [i8; 16] {
        let mut m = [-128i8; 16];
        let mut j = 0;
        while j < 16 {
            let k = block * 16 + j;
            if k % 3 == chan {
                m[j] = (k / 3) as i8;
            }
            j += 1;
        }
        m
    }
    const MASKS: [[[i8; 16]; 3]; 3] = [
        [mask(0, 0), mask(0, 1), mask(0, 2)],
        [mask(1, 0), mask(1, 1), mask(1, 2)],
        [mask(2, 0), mask(2, 1), mask(2, 2)],
    ];
    // SAFETY: each load reads one 16-byte mask array, unaligned.
    let m: [[__m128i; 3]; 3] =
        MASKS.map(|b| b.map(|x| unsafe { _mm_loadu_si128(x.as_ptr() as *const __m128i) }));
    // SAFETY: AVX2 is this function's contract.
    let k = unsafe { YccConsts::new() };
    let out = &mut out[..3 * n];
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n <= every input row's length; AVX2 is this
        // function's contract.
        let [r8, g8, b8] = unsafe { ycc16_at(y, cb, cr, i, &k) };
        let o = &mut out[3 * i..3 * i + 48];
        for (blk, mk) in m.iter().enumerate() {
            let v = _mm_or_si128(
                _mm_or_si128(_mm_shuffle_epi8(r8, mk[0]), _mm_shuffle_epi8(g8, mk[1])),
                _mm_shuffle_epi8(b8, mk[2]),
            );
            // SAFETY: `o` is 48 bytes long, so bytes 16 * blk..16 * blk + 16
            // (blk < 3) are inside it; the store is unaligned.
            unsafe { _mm_storeu_si128(o.as_mut_ptr().add(16 * blk) as *mut __m128i, v) };
        }
        i += 16;
    }
    convert_row(&y[i..n], &cb[i..n], &cr[i..n], &mut out[3 * i..3 * n]);
}

/// YCbCr → planar R, G and B rows (the same bytes as [`convert_row`], not
/// interleaved), with AVX2 when an `avx2` token is given.
#[inline(always)]
pub(crate) fn convert_row_planar_dispatch(
    y: &[u8],
    cb: &[u8],
    cr: &[u8],
    rgb: [&mut [u8]; 3],
    avx2: Option<Avx2>,
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(_avx2) = avx2 {
        // SAFETY: an `Avx2` token exists only when the CPU has AVX2, the
        // one requirement of `convert_row_planar_avx2`.
        return unsafe { convert_row_planar_avx2(y, cb, cr, rgb) };
    }
    let _ = avx2;
    convert_row_planar(y, cb, cr, rgb)
}

/// Portable planar conversion.
fn convert_row_planar(y: &[u8], cb: &[u8], cr: &[u8], rgb: [&mut [u8]; 3]) {
    let [r, g, b] = rgb;
    for (i, ((&yy, &bb), &rr)) in y
        .iter()
        .zip(cb)
        .zip(cr)
        .enumerate()
        .take(r.len().min(g.len()).min(b.len()))
    {
        let [pr, pg, pb] = ycc_pixel(yy, bb, rr);
        r[i] = pr;
        g[i] = pg;
        b[i] = pb;
    }
}

/// [`convert_row_planar`] with explicit AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn convert_row_planar_avx2(y: &[u8], cb: &[u8], cr: &[u8], rgb: [&mut [u8]; 3]) {
    use std::arch::x86_64::*;
    let [r, g, b] = rgb;
    let n = y
        .len()
        .min(cb.len())
        .min(cr.len())
        .min(r.len())
        .min(g.len())
        .min(b.len());
    // SAFETY: AVX2 is this function's contract.
    let k = unsafe { YccConsts::new() };
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n <= every input row's length; AVX2 is this
        // function's contract.
        let [r8, g8, b8] = unsafe { ycc16_at(y, cb, cr, i, &k) };
        // SAFETY: i + 16 <= n <= every output row's length, so each
        // unaligned 16-byte store stays inside its row.
        unsafe {
            _mm_storeu_si128(r.as_mut_ptr().add(i) as *mut __m128i, r8);
            _mm_storeu_si128(g.as_mut_ptr().add(i) as *mut __m128i, g8);
            _mm_storeu_si128(b.as_mut_ptr().add(i) as *mut __m128i, b8);
        }
        i += 16;
    }
    convert_row_planar(
        &y[i..n],
        &cb[i..n],
        &cr[i..n],
        [&mut r[i..n], &mut g[i..n], &mut b[i..n]],
    );
}

/// [`h2v2`] with explicit AVX2 for the middle of the row (same bytes).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn h2v2_avx2(near: &[u8], far: &[u8], cs: &mut [u16], out: &mut [u8]) {
    use std::arch::x86_64::*;
    let n = near.len();
    // Bound every access below by `n` up front: a short `out`, `cs` or
    // `far` panics here instead of being written or read past its end.
    let (cs, far, out) = (&mut cs[..n], &far[..n], &mut out[..2 * n]);
    for ((c, &a), &b) in cs.iter_mut().zip(near).zip(far) {
        *c = a as u16 * 3 + b as u16;
    }
    out[0] = ((cs[0] * 4 + 8) >> 4) as u8;
    out[1] = ((cs[0] * 3 + cs[1] + 7) >> 4) as u8;
    let (k8, k7) = (_mm256_set1_epi16(8), _mm256_set1_epi16(7));
    let mut i = 1;
    while i + 17 <= n {
        // SAFETY: i >= 1 and i + 17 <= n = cs.len(), so the three unaligned
        // 16-lane loads (cs[i - 1..i + 15], cs[i..i + 16], cs[i + 1..i + 17])
        // are inside `cs`.
        let (prev, cur, next) = unsafe {
            let p = cs.as_ptr().add(i);
            (
                _mm256_loadu_si256(p.sub(1) as *const __m256i),
                _mm256_loadu_si256(p as *const __m256i),
                _mm256_loadu_si256(p.add(1) as *const __m256i),
            )
        };
        let c3 = _mm256_add_epi16(_mm256_add_epi16(cur, cur), cur);
        let even = _mm256_srli_epi16::<4>(_mm256_add_epi16(_mm256_add_epi16(c3, prev), k8));
        let odd = _mm256_srli_epi16::<4>(_mm256_add_epi16(_mm256_add_epi16(c3, next), k7));
        let v = _mm256_or_si256(even, _mm256_slli_epi16::<8>(odd));
        // SAFETY: out.len() == 2n (sliced above) and 2i + 32 <= 2n - 2, so
        // the unaligned 32-byte store is inside `out`.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(2 * i) as *mut __m256i, v) };
        i += 16;
    }
    while i + 1 < n {
        let c = cs[i] * 3;
        out[2 * i] = ((c + cs[i - 1] + 8) >> 4) as u8;
        out[2 * i + 1] = ((c + cs[i + 1] + 7) >> 4) as u8;
        i += 1;
    }
    out[2 * n - 2] = ((cs[n - 1] * 3 + cs[n - 2] + 8) >> 4) as u8;
    out[2 * n - 1] = ((cs[n - 1] * 4 + 7) >> 4) as u8;
}

/// [`h2v1`] with explicit AVX2 for the middle of the row (same bytes).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn h2v1_avx2(src: &[u8], out: &mut [u8]) {
    use std::arch::x86_64::*;
    let n = src.len();
    // Bound the stores by `n` up front: a short `out` panics here instead
    // of being written past its end.
    let out = &mut out[..2 * n];
    out[0] = src[0];
    out[1] = ((src[0] as u16 * 3 + src[1] as u16 + 2) >> 2) as u8;
    let (k1, k2) = (_mm256_set1_epi16(1), _mm256_set1_epi16(2));
    let mut i = 1;
    while i + 17 <= n {
        // SAFETY: i >= 1 and i + 17 <= n = src.len(), so the three
        // unaligned 16-byte loads (src[i - 1..i + 15], src[i..i + 16],
        // src[i + 1..i + 17]) are inside `src`.
        let (prev, cur, next) = unsafe {
            let p = src.as_ptr().add(i);
            let ld = |q: *const u8| _mm256_cvtepu8_epi16(_mm_loadu_si128(q as *const __m128i));
            (ld(p.sub(1)), ld(p), ld(p.add(1)))
        };
        let c3 = _mm256_add_epi16(_mm256_add_epi16(cur, cur), cur);
        let even = _mm256_srli_epi16::<2>(_mm256_add_epi16(_mm256_add_epi16(c3, prev), k1));
        let odd = _mm256_srli_epi16::<2>(_mm256_add_epi16(_mm256_add_epi16(c3, next), k2));
        let v = _mm256_or_si256(even, _mm256_slli_epi16::<8>(odd));
        // SAFETY: out.len() == 2n (sliced above) and 2i + 32 <= 2n - 2, so
        // the unaligned 32-byte store is inside `out`.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(2 * i) as *mut __m256i, v) };
        i += 16;
    }
    while i + 1 < n {
        let c = src[i] as u16 * 3;
        out[2 * i] = ((c + src[i - 1] as u16 + 1) >> 2) as u8;
        out[2 * i + 1] = ((c + src[i + 1] as u16 + 2) >> 2) as u8;
        i += 1;
    }
    out[2 * n - 2] = ((src[n - 1] as u16 * 3 + src[n - 2] as u16 + 1) >> 2) as u8;
    out[2 * n - 1] = src[n - 1];
}

/// Interleaves three planes' rows without conversion (Adobe RGB JPEGs).
pub(crate) fn interleave_row(a: &[u8], b: &[u8], c: &[u8], out: &mut [u8]) {
    for (((o, &x), &y), &z) in out.chunks_exact_mut(3).zip(a).zip(b).zip(c) {
        o[0] = x;
        o[1] = y;
        o[2] = z;
    }
}

#[cfg(test)]
#[path = "color_tests.rs"]
mod tests;
