//! The blur and decimation applied as two small weight matrices, for
//! approximate hashes of reduced-scale or luma-only decodes (`--fast`).
//!
//! The reference's two box passes per axis followed by decimation are
//! linear: each of the 64 kept outputs along an axis is a fixed weighted
//! sum of that axis's input samples (a tent about twice the window wide,
//! normalised at the image edges exactly as the reference's window counts
//! are). Applying those weights directly reads each pixel once and does
//! about one multiply-add per pixel, instead of four full-image filter
//! passes with two divisions per pixel. The sums come in a different order,
//! so results differ from the reference's in the last bits of `f32`: fine
//! for triage, never used for the exact pipelines.
//!
//! For a reduced-scale decode (each decoded sample standing for a d × d
//! block of the original), the weights are the original's, summed over
//! each block: the result is what the full-resolution blur would give if
//! the picture were flat inside each block, which is far closer to the full
//! pipeline than blurring the small image with scaled-down windows.
//!
//! The arithmetic is plain (no fused multiply-add) and the lane structure is
//! fixed, so every machine gives the same result.

use crate::core::{decimation_index, jarosz_window};
use crate::stream::{box_windows, Rows};

/// Lanes of the dot products.
const L: usize = 8;

/// The 64 kept outputs of one axis as weighted sums of its samples: output
/// `k` is `Σ w[k][i] * x[start[k] + i]` over `i < len` (weights padded with
/// zeros to a multiple of [`L`]).
#[derive(Debug, Clone)]
struct Taps {
    start: [usize; 64],
    len: [usize; 64],
    /// Padded weight-row length (a multiple of [`L`]).
    stride: usize,
    weights: Vec<f32>,
}

impl Taps {
    /// The reference's composite weights (two box passes, then decimation)
    /// along an axis of `full` samples, folded onto `reduced` samples each
    /// standing for `full.div_ceil(reduced)` consecutive ones.
    fn new(full: usize, reduced: usize) -> Taps {
        let window = jarosz_window(full);
        let wins = box_windows(full, window);
        let last = wins.len().saturating_sub(1);
        let win = |j: usize| wins.get(j.min(last)).copied().unwrap_or((0, full.min(1)));
        let d = full.div_ceil(reduced.max(1)).max(1);
        let map = |x: usize| (x / d).min(reduced.saturating_sub(1));
        let mut start = [0usize; 64];
        let mut len = [0usize; 64];
        let mut rows: Vec<Vec<f64>> = Vec::with_capacity(64);
        for k in 0..64 {
            let c = decimation_index(k, full);
            // Second pass: the first-pass outputs a..b; each of those is the
            // mean of its own window of samples.
            let (a, b) = win(c);
            let b = b.max(a + 1);
            let (s, e) = (win(a).0, win(b - 1).1.max(win(a).1));
            let (rs, re) = (map(s), map(e.saturating_sub(1).max(s)) + 1);
            let mut w = vec![0f64; re - rs];
            let outer = 1.0 / (b - a) as f64;
            for j in a..b {
                let (js, je) = win(j);
                let inner = outer / (je - js).max(1) as f64;
                for x in js..je {
                    w[map(x) - rs] += inner;
                }
            }
            start[k] = rs;
            len[k] = re - rs;
            rows.push(w);
        }
        let stride = len.iter().copied().max().unwrap_or(0).div_ceil(L) * L;
        let mut weights = vec![0f32; 64 * stride];
        for (k, w) in rows.iter().enumerate() {
            for (d, &v) in weights[k * stride..].iter_mut().zip(w) {
                *d = v as f32;
            }
        }
        Taps {
            start,
            len,
            stride,
            weights,
        }
    }

    fn row(&self, k: usize) -> &[f32] {
        &self.weights[k * self.stride..k * self.stride + self.len[k].div_ceil(L) * L]
    }
}

/// Reusable buffers.
#[derive(Default)]
pub(crate) struct ApproxScratch {
    row: Vec<f32>,
    /// Taps for `(rows, cols, full_rows, full_cols)`: horizontal, vertical.
    cached: Option<([usize; 4], Taps, Taps)>,
}

/// Sum of `a[i] * b[i]` in [`L`] lanes, lanes added pairwise at the end.
/// `a` and `b` have the same length, a multiple of [`L`].
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; L];
    for (x, y) in a.chunks_exact(L).zip(b.chunks_exact(L)) {
        for l in 0..L {
            acc[l] += x[l] * y[l];
        }
    }
    reduce(acc)
}

#[inline(always)]
fn reduce(acc: [f32; L]) -> f32 {
    let q = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (q[0] + q[2]) + (q[1] + q[3])
}

/// [`dot`] with AVX: the same multiplications and additions, lane for
/// lane, so the same result.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn dot_avx(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len()) / L * L;
    // SAFETY: the caller guarantees AVX (this function's contract), the
    // only requirement of these register-only intrinsics.
    let mut acc = unsafe { _mm256_setzero_ps() };
    let mut i = 0;
    while i < n {
        // SAFETY: i + 8 <= n <= both lengths, so the two unaligned 8-float
        // loads stay inside `a` and `b`; AVX is the caller's contract.
        let (x, y) = unsafe {
            (
                _mm256_loadu_ps(a.as_ptr().add(i)),
                _mm256_loadu_ps(b.as_ptr().add(i)),
            )
        };
        // SAFETY: register-only arithmetic; AVX is the caller's contract.
        acc = unsafe { _mm256_add_ps(acc, _mm256_mul_ps(x, y)) };
        i += L;
    }
    let mut lanes = [0f32; L];
    // SAFETY: stores 8 floats into `lanes`, which holds exactly 8; AVX is
    // the caller's contract.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
    reduce(lanes)
}

/// The reference's blur and decimation to 64×64 of a `full` (rows, cols)
/// image, approximated from a `size` (rows, cols) decode of it pulled from
/// `src` (see the module documentation; `size == full` for a full-size
/// approximate decode).
pub(crate) fn blur_decimate_approx<R: Rows>(
    size: (usize, usize),
    full: (usize, usize),
    src: &mut R,
    s: &mut ApproxScratch,
) -> [[f32; 64]; 64] {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(_avx2) = crate::cpu::Avx2::detect() {
            // SAFETY: an `Avx2` token exists only when the CPU has AVX2,
            // the one requirement of `approx_avx2`.
            return unsafe { approx_avx2(size, full, src, s) };
        }
    }
    approx_impl(size, full, src, s, dot)
}

/// [`approx_impl`] compiled for AVX2, with the AVX dot product.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn approx_avx2<R: Rows>(
    size: (usize, usize),
    full: (usize, usize),
    src: &mut R,
    s: &mut ApproxScratch,
) -> [[f32; 64]; 64] {
    approx_impl(size, full, src, s, |a, b| {
        // SAFETY: this function's contract is a CPU with AVX2, which
        // includes AVX, `dot_avx`'s only requirement.
        unsafe { dot_avx(a, b) }
    })
}

#[inline(always)]
fn approx_impl<R: Rows>(
    (rows, cols): (usize, usize),
    (full_rows, full_cols): (usize, usize),
    src: &mut R,
    s: &mut ApproxScratch,
    dot: impl Fn(&[f32], &[f32]) -> f32,
) -> [[f32; 64]; 64] {
    let key = [rows, cols, full_rows, full_cols];
    if !matches!(&s.cached, Some((k, _, _)) if *k == key) {
        let h = Taps::new(full_cols, cols);
        let v = Taps::new(full_rows, rows);
        s.cached = Some((key, h, v));
    }
    let Some((_, h, v)) = &s.cached else {
        unreachable!("taps were just cached")
    };
    // Room for the zero-padded tail of the last weight row.
    let padded = cols + h.stride;
    s.row.clear();
    s.row.resize(padded, 0.0);
    let mut out = [[0f32; 64]; 64];
    let mut t = [0f32; 64];
    // Kept rows whose vertical taps may still include the current row.
    let mut first = 0usize;
    for r in 0..rows {
        while first < 64 && v.start[first] + v.len[first] <= r {
            first += 1;
        }
        if first == 64 {
            break;
        }
        if v.start[first] > r {
            continue;
        }
        src.fill(r, &mut s.row[..cols]);
        for (k, tk) in t.iter_mut().enumerate() {
            let w = h.row(k);
            *tk = dot(&s.row[h.start[k]..h.start[k] + w.len()], w);
        }
        let mut kr = first;
        while kr < 64 && v.start[kr] <= r {
            let wv = v.weights[kr * v.stride + (r - v.start[kr])];
            if wv != 0.0 {
                for (o, x) in out[kr].iter_mut().zip(&t) {
                    *o += wv * x;
                }
            }
            kr += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::blur_and_decimate_reference;
    use crate::LumaRows;
    use proptest::prelude::*;

    fn compare(size: (usize, usize), full: (usize, usize), luma: &[f32], want: &[[f32; 64]; 64]) {
        let mut s = ApproxScratch::default();
        let cols = size.1;
        let got = blur_decimate_approx(size, full, &mut LumaRows { luma, cols }, &mut s);
        for r in 0..64 {
            for c in 0..64 {
                let (a, b) = (got[r][c], want[r][c]);
                assert!(
                    (a - b).abs() <= 1e-3 * (1.0 + b.abs()),
                    "{size:?} of {full:?} at ({r},{c}): {a} vs {b}"
                );
            }
        }
    }

    fn image(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..rows * cols)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 33) % 256) as f32
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// At full size, the weights give the reference's blur up to f32
        /// rounding.
        #[test]
        fn matches_the_reference_blur(rows in 5usize..400, cols in 5usize..400, seed: u64) {
            let luma = image(rows, cols, seed);
            let want = blur_and_decimate_reference(&luma, rows, cols);
            compare((rows, cols), (rows, cols), &luma, &want);
        }

        /// A reduced image whose samples each stand for a flat d × d block
        /// of the original gives the original's blur (the folded weights
        /// are exact for such pictures), edge blocks included.
        #[test]
        fn folded_weights_are_exact_for_flat_blocks(
            rows in 5usize..90, cols in 5usize..90, d in 1usize..5, extra in 0usize..4, seed: u64,
        ) {
            let (full_rows, full_cols) = (rows * d - extra.min(d - 1), cols * d - extra.min(d - 1));
            let small = image(rows, cols, seed);
            let full: Vec<f32> = (0..full_rows * full_cols)
                .map(|i| small[(i / full_cols) / d * cols + (i % full_cols) / d])
                .collect();
            let want = blur_and_decimate_reference(&full, full_rows, full_cols);
            compare((rows, cols), (full_rows, full_cols), &small, &want);
        }
    }

    #[test]
    fn large_image_matches() {
        let (rows, cols) = (1134, 1512);
        let luma = image(rows, cols, 7);
        let want = blur_and_decimate_reference(&luma, rows, cols);
        compare((rows, cols), (rows, cols), &luma, &want);
    }

    /// The AVX dot product gives the portable one's result bit for bit.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx_dot_is_the_portable_dot() {
        if crate::cpu::Avx2::detect().is_none() {
            eprintln!("note: no AVX2 on this CPU; the portable dot product is checked alone");
            for n in [0usize, 8, 16, 40, 64, 200] {
                let a = image(1, n, n as u64);
                let b: Vec<f32> = image(1, n, 99).iter().map(|v| v / 255.0).collect();
                let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                assert!((dot(&a, &b) - want).abs() <= want.abs() * 1e-5 + 1e-3);
            }
            return;
        }
        for n in [0usize, 8, 16, 40, 64, 200] {
            let a = image(1, n, n as u64);
            let b: Vec<f32> = image(1, n, 99).iter().map(|v| v / 255.0).collect();
            // SAFETY: an `Avx2` token was made above, so the CPU has AVX.
            let fast = unsafe { dot_avx(&a, &b) };
            assert_eq!(fast.to_bits(), dot(&a, &b).to_bits(), "length {n}");
        }
    }

    #[test]
    fn weights_sum_to_one() {
        for (full, reduced) in [
            (5usize, 5usize),
            (64, 64),
            (100, 50),
            (1512, 1512),
            (4032, 1008),
            (4032, 504),
            (7, 2),
        ] {
            let t = Taps::new(full, reduced);
            for k in 0..64 {
                let s: f32 = t.row(k).iter().sum();
                assert!(
                    (s - 1.0).abs() < 1e-4,
                    "{full} → {reduced}, output {k}: {s}"
                );
                assert!(t.start[k] + t.len[k] <= reduced);
            }
        }
    }
}
