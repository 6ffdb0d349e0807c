//! The fast path of the Jarosz blur and decimation.
//!
//! Same values as [`crate::core::blur_and_decimate`], bit for bit: every
//! output is produced by the same f32 operations in the same order. What
//! changes is the schedule:
//!
//! * rows are filtered eight at a time as SIMD lanes (transposed blocks);
//! * luma is produced row by row from the pixels, never stored whole;
//! * the second row pass divides only at the 64 columns that decimation
//!   keeps, and the last column pass runs on those 64 columns only, dividing
//!   only at the 64 rows kept;
//! * on x86-64 with AVX2 the whole kernel is compiled a second time for AVX2
//!   and chosen at run time.

use crate::core::{decimation_index, jarosz_window};

const L: usize = 8;

/// Reusable buffers for the streaming blur.
#[derive(Default)]
pub(crate) struct StreamScratch {
    /// Ring of first-row-pass output rows, `win_v + 16` rows of `cols`.
    ring: Vec<f32>,
    /// Eight rows, row-major: luma in, or column-pass output to stage.
    block: Vec<f32>,
    stage: Vec<f32>,
    t_in: Vec<[f32; L]>,
    t_out: Vec<[f32; L]>,
    /// Column-pass output rows staged as lanes for the second row pass.
    staged: Vec<[f32; L]>,
    col_sum: Vec<f32>,
    /// Second row pass at the 64 kept columns, rows × 64.
    kept: Vec<[f32; 64]>,
}

/// Grows a buffer to at least `n` elements without touching existing ones
/// (every element used is written before it is read).
fn ensure_len<T: Copy>(v: &mut Vec<T>, n: usize, zero: T) {
    if v.len() < n {
        v.resize(n, zero);
    }
}

/// Phase lengths of the reference box filter for a signal of `n` samples.
#[inline(always)]
fn phases(n: usize, window: usize) -> [usize; 4] {
    let n = n as isize;
    let full = window as isize;
    let half = (full + 2) / 2;
    [
        (half - 1).max(0) as usize,
        (full - half + 1).max(0) as usize,
        (n - full).max(0) as usize,
        (half - 1).max(0) as usize,
    ]
}

/// The input window `[start, end)` behind each output of the reference's box
/// filter over `n` samples (the same phases as [`box_run`]).
pub(crate) fn box_windows(n: usize, window: usize) -> Vec<(usize, usize)> {
    let [p1, p2, p3, p4] = phases(n, window);
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut out = Vec::with_capacity(n);
    hi += p1;
    for _ in 0..p2 {
        hi += 1;
        out.push((lo, hi));
    }
    for _ in 0..p3 {
        hi += 1;
        lo += 1;
        out.push((lo, hi));
    }
    for _ in 0..p4 {
        lo += 1;
        out.push((lo, hi));
    }
    out
}

/// The reference's box filter over `N`-lane samples: the running f32 sum
/// through the four phases, handing each output position `oi`, the current
/// sums and the window count to `emit` (which divides where it needs to).
#[inline(always)]
fn box_run<const N: usize>(
    input: &[[f32; N]],
    window: usize,
    mut emit: impl FnMut(usize, &[f32; N], f32),
) {
    let [p1, p2, p3, p4] = phases(input.len(), window);
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut sum = [0f32; N];
    let mut count: i32 = 0;
    for _ in 0..p1 {
        let x = &input[ri];
        for l in 0..N {
            sum[l] += x[l];
        }
        count += 1;
        ri += 1;
    }
    for _ in 0..p2 {
        let x = &input[ri];
        for l in 0..N {
            sum[l] += x[l];
        }
        count += 1;
        emit(oi, &sum, count as f32);
        ri += 1;
        oi += 1;
    }
    let c = count as f32;
    for _ in 0..p3 {
        let (x, y) = (&input[ri], &input[li]);
        for l in 0..N {
            sum[l] += x[l];
            sum[l] -= y[l];
        }
        emit(oi, &sum, c);
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p4 {
        let y = &input[li];
        for l in 0..N {
            sum[l] -= y[l];
        }
        count -= 1;
        emit(oi, &sum, count as f32);
        li += 1;
        oi += 1;
    }
}

/// Full box filter over `N`-lane samples (every output written).
#[inline(always)]
fn box_lanes<const N: usize>(input: &[[f32; N]], output: &mut [[f32; N]], window: usize) {
    box_run(input, window, |oi, sum, c| {
        let o = &mut output[oi];
        for l in 0..N {
            o[l] = sum[l] / c;
        }
    });
}

/// Box filter over `N`-lane samples that writes only the outputs at the
/// (ascending, possibly repeated) indices in `keep`: `out[k]` is output
/// `keep[k]`. The running sum is the same as the full filter's.
#[inline(always)]
fn box_lanes_kept<const N: usize>(
    input: &[[f32; N]],
    window: usize,
    keep: &[usize; 64],
    out: &mut [[f32; N]; 64],
) {
    let mut k = 0usize;
    box_run(input, window, |oi, sum, c| {
        while k < 64 && keep[k] == oi {
            for l in 0..N {
                out[k][l] = sum[l] / c;
            }
            k += 1;
        }
    });
}

/// A source of luma rows. Implementations should be `#[inline(always)]` so
/// that the conversion is compiled inside the AVX2 kernel.
pub(crate) trait Rows {
    /// Writes luma row `r` into `out`.
    fn fill(&mut self, r: usize, out: &mut [f32]);
}

/// Transposes 8×8 tiles of f32 (exact data movement, no arithmetic).
pub(crate) trait Transpose: Copy {
    /// `out[j][i] = rows[i][j]`.
    fn tr8(self, rows: &[[f32; 8]; 8]) -> [[f32; 8]; 8];
}

/// Portable transpose.
#[derive(Clone, Copy)]
struct ScalarTranspose;

impl Transpose for ScalarTranspose {
    #[inline(always)]
    fn tr8(self, rows: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
        let mut out = [[0f32; 8]; 8];
        for i in 0..8 {
            for j in 0..8 {
                out[j][i] = rows[i][j];
            }
        }
        out
    }
}

/// AVX transpose, made only from an [`Avx2`](crate::cpu::Avx2) token;
/// used from the AVX2-compiled kernel, where it inlines.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct AvxTranspose(crate::cpu::Avx2);

#[cfg(target_arch = "x86_64")]
impl Transpose for AvxTranspose {
    #[inline(always)]
    fn tr8(self, rows: &[[f32; 8]; 8]) -> [[f32; 8]; 8] {
        use std::arch::x86_64::*;
        // SAFETY: `self` holds an `Avx2` token, which exists only when the
        // CPU has AVX2 (hence AVX); the loads read and the stores write
        // whole `[f32; 8]` arrays, unaligned.
        unsafe {
            let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(rows[i].as_ptr()));
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            let t6 = _mm256_unpacklo_ps(r[6], r[7]);
            let t7 = _mm256_unpackhi_ps(r[6], r[7]);
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let o = [
                _mm256_permute2f128_ps::<0x20>(u0, u4),
                _mm256_permute2f128_ps::<0x20>(u1, u5),
                _mm256_permute2f128_ps::<0x20>(u2, u6),
                _mm256_permute2f128_ps::<0x20>(u3, u7),
                _mm256_permute2f128_ps::<0x31>(u0, u4),
                _mm256_permute2f128_ps::<0x31>(u1, u5),
                _mm256_permute2f128_ps::<0x31>(u2, u6),
                _mm256_permute2f128_ps::<0x31>(u3, u7),
            ];
            let mut out = [[0f32; 8]; 8];
            for (dst, v) in out.iter_mut().zip(o.iter()) {
                _mm256_storeu_ps(dst.as_mut_ptr(), *v);
            }
            out
        }
    }
}

/// Copies an 8-row block (row-major, `cols` wide, rows past `nr` ignored)
/// into lanes: `lanes[x][l] = block[l * cols + x]`.
#[inline(always)]
fn rows_to_lanes<T: Transpose>(
    t: T,
    block: &[f32],
    cols: usize,
    nr: usize,
    lanes: &mut [[f32; L]],
) {
    let full = cols / 8 * 8;
    let mut x0 = 0;
    while x0 < full {
        let mut tile = [[0f32; 8]; 8];
        for (l, t) in tile.iter_mut().enumerate().take(nr) {
            t.copy_from_slice(&block[l * cols + x0..l * cols + x0 + 8]);
        }
        let tr = t.tr8(&tile);
        lanes[x0..x0 + 8].copy_from_slice(&tr);
        x0 += 8;
    }
    for x in full..cols {
        for l in 0..L {
            lanes[x][l] = if l < nr { block[l * cols + x] } else { 0.0 };
        }
    }
}

/// Inverse of [`rows_to_lanes`] for the first `nr` lanes, each lane going to
/// the destination row that `dst_row(l)` names.
#[inline(always)]
fn lanes_to_rows<T: Transpose, F: FnMut(usize) -> usize>(
    t: T,
    lanes: &[[f32; L]],
    cols: usize,
    nr: usize,
    out: &mut [f32],
    mut dst_row: F,
) {
    let starts: [usize; L] = std::array::from_fn(|l| if l < nr { dst_row(l) * cols } else { 0 });
    let full = cols / 8 * 8;
    let mut x0 = 0;
    while x0 < full {
        let tile: &[[f32; 8]; 8] = lanes[x0..x0 + 8].try_into().expect("8 lanes");
        let tr = t.tr8(tile);
        for l in 0..nr {
            out[starts[l] + x0..starts[l] + x0 + 8].copy_from_slice(&tr[l]);
        }
        x0 += 8;
    }
    for x in full..cols {
        for l in 0..nr {
            out[starts[l] + x] = lanes[x][l];
        }
    }
}

/// Window sizes and kept rows/columns of the blur and decimation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    win_h: usize,
    win_v: usize,
    keep_cols: [usize; 64],
    keep_rows: [usize; 64],
}

impl Geometry {
    /// The reference's geometry for a rows × cols image.
    pub(crate) fn exact(rows: usize, cols: usize) -> Geometry {
        Geometry {
            win_h: jarosz_window(cols),
            win_v: jarosz_window(rows),
            keep_cols: std::array::from_fn(|k| decimation_index(k, cols)),
            keep_rows: std::array::from_fn(|k| decimation_index(k, rows)),
        }
    }
}

/// Blur (two Jarosz passes) and decimate to 64×64, pulling luma rows from
/// `src`.
pub(crate) fn blur_decimate<R: Rows>(
    rows: usize,
    cols: usize,
    src: &mut R,
    s: &mut StreamScratch,
) -> [[f32; 64]; 64] {
    blur_decimate_geom(rows, cols, &Geometry::exact(rows, cols), src, s)
}

/// [`blur_decimate`] with an explicit geometry.
pub(crate) fn blur_decimate_geom<R: Rows>(
    rows: usize,
    cols: usize,
    geom: &Geometry,
    src: &mut R,
    s: &mut StreamScratch,
) -> [[f32; 64]; 64] {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(avx2) = crate::cpu::Avx2::detect() {
            // SAFETY: an `Avx2` token exists only when the CPU has AVX2,
            // the one requirement of `blur_decimate_avx2`.
            return unsafe { blur_decimate_avx2(AvxTranspose(avx2), rows, cols, geom, src, s) };
        }
    }
    blur_decimate_impl(ScalarTranspose, rows, cols, geom, src, s)
}

/// [`blur_decimate_impl`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn blur_decimate_avx2<R: Rows>(
    t: AvxTranspose,
    rows: usize,
    cols: usize,
    geom: &Geometry,
    src: &mut R,
    s: &mut StreamScratch,
) -> [[f32; 64]; 64] {
    blur_decimate_impl(t, rows, cols, geom, src, s)
}

/// Produces rows `r0..r0+nr` of the first row pass into the ring.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn produce_block<R: Rows, T: Transpose>(
    t: T,
    src: &mut R,
    r0: usize,
    nr: usize,
    cols: usize,
    win_h: usize,
    block: &mut [f32],
    t_in: &mut [[f32; L]],
    t_out: &mut [[f32; L]],
    ring: &mut [f32],
    cap: usize,
) {
    for l in 0..nr {
        src.fill(r0 + l, &mut block[l * cols..(l + 1) * cols]);
    }
    rows_to_lanes(t, block, cols, nr, t_in);
    box_lanes::<L>(t_in, t_out, win_h);
    lanes_to_rows(t, t_out, cols, nr, ring, |l| (r0 + l) % cap);
}

#[inline(always)]
fn blur_decimate_impl<R: Rows, T: Transpose>(
    tp: T,
    rows: usize,
    cols: usize,
    geom: &Geometry,
    src: &mut R,
    s: &mut StreamScratch,
) -> [[f32; 64]; 64] {
    let Geometry {
        win_h,
        win_v,
        keep_cols,
        keep_rows,
    } = *geom;
    // The column filter reads rows li..=ri with ri - li <= win_v, and rows
    // are produced eight at a time: this many ring rows are enough.
    let cap = win_v + 2 * L;
    let StreamScratch {
        ring,
        block,
        stage,
        t_in,
        t_out,
        staged,
        col_sum,
        kept,
    } = s;
    ensure_len(ring, cap * cols, 0.0);
    ensure_len(block, L * cols, 0.0);
    ensure_len(stage, L * cols, 0.0);
    ensure_len(t_in, cols, [0.0; L]);
    ensure_len(t_out, cols, [0.0; L]);
    ensure_len(staged, cols, [0.0; L]);
    ensure_len(kept, rows, [0.0; 64]);
    col_sum.clear();
    col_sum.resize(cols, 0.0);
    let (block, stage, t_in, t_out, staged) = (
        &mut block[..L * cols],
        &mut stage[..L * cols],
        &mut t_in[..cols],
        &mut t_out[..cols],
        &mut staged[..cols],
    );

    let mut produced = 0usize;
    macro_rules! need_row {
        ($r:expr) => {
            while produced <= $r {
                let nr = L.min(rows - produced);
                produce_block(
                    tp, src, produced, nr, cols, win_h, block, t_in, t_out, ring, cap,
                );
                produced += nr;
            }
        };
    }
    let ring_row = |ring: &[f32], r: usize| -> std::ops::Range<usize> {
        let slot = r % cap;
        let _ = ring;
        slot * cols..(slot + 1) * cols
    };

    // Column pass over the ring feeding the second row pass: each output row
    // of the column filter becomes a lane of `staged`; every eight rows the
    // row filter runs and keeps the 64 decimated columns.
    let mut lane_out = [[0f32; L]; 64];
    let mut block_start = 0usize;
    macro_rules! emit_row {
        ($oi:expr, $count:expr) => {{
            let oi = $oi;
            let c = $count as f32;
            let l = oi - block_start;
            for (t, s) in stage[l * cols..(l + 1) * cols]
                .iter_mut()
                .zip(col_sum.iter())
            {
                *t = *s / c;
            }
            if l + 1 == L || oi + 1 == rows {
                let n = l + 1;
                rows_to_lanes(tp, stage, cols, n, staged);
                box_lanes_kept::<L>(staged, win_h, &keep_cols, &mut lane_out);
                for ll in 0..n {
                    let dst = &mut kept[block_start + ll];
                    for k in 0..64 {
                        dst[k] = lane_out[k][ll];
                    }
                }
                block_start = oi + 1;
            }
        }};
    }
    let [p1, p2, p3, p4] = phases(rows, win_v);
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut count: i32 = 0;
    for _ in 0..p1 {
        need_row!(ri);
        let add = &ring[ring_row(ring, ri)];
        for (s, a) in col_sum.iter_mut().zip(add) {
            *s += *a;
        }
        count += 1;
        ri += 1;
    }
    for _ in 0..p2 {
        need_row!(ri);
        let add = &ring[ring_row(ring, ri)];
        for (s, a) in col_sum.iter_mut().zip(add) {
            *s += *a;
        }
        count += 1;
        emit_row!(oi, count);
        ri += 1;
        oi += 1;
    }
    for _ in 0..p3 {
        need_row!(ri);
        let add = &ring[ring_row(ring, ri)];
        let sub = &ring[ring_row(ring, li)];
        for ((s, a), b) in col_sum.iter_mut().zip(add).zip(sub) {
            *s += *a;
            *s -= *b;
        }
        emit_row!(oi, count);
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..p4 {
        let sub = &ring[ring_row(ring, li)];
        for (s, b) in col_sum.iter_mut().zip(sub) {
            *s -= *b;
        }
        count -= 1;
        emit_row!(oi, count);
        li += 1;
        oi += 1;
    }

    // Last column pass on the 64 kept columns, kept rows only.
    let mut out = [[0f32; 64]; 64];
    box_lanes_kept::<64>(&kept[..rows], win_v, &keep_rows, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::blur_and_decimate_reference;
    use proptest::prelude::*;

    fn check(rows: usize, cols: usize, luma: &[f32]) {
        let want = blur_and_decimate_reference(luma, rows, cols);
        let mut s = StreamScratch::default();
        let src = crate::LumaRows { luma, cols };
        let got = blur_decimate(rows, cols, &mut src.clone(), &mut s);
        let portable = blur_decimate_impl(
            ScalarTranspose,
            rows,
            cols,
            &Geometry::exact(rows, cols),
            &mut src.clone(),
            &mut s,
        );
        assert_eq!(got, portable, "portable and dispatched kernels differ");
        for i in 0..64 {
            for j in 0..64 {
                assert_eq!(
                    got[i][j].to_bits(),
                    want[i][j].to_bits(),
                    "{rows}x{cols} at {i},{j}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn fast_path_is_bit_identical_to_the_reference(
            rows in 5usize..300, cols in 5usize..300, seed in any::<u32>(), smooth in any::<bool>()
        ) {
            let mut s = seed | 1;
            let luma: Vec<f32> = (0..rows * cols).map(|i| {
                s ^= s << 13; s ^= s >> 17; s ^= s << 5;
                let noise = (s % 256) as f32 * 0.587;
                if smooth { (i % cols) as f32 * 0.299 + noise * 0.01 } else { noise }
            }).collect();
            check(rows, cols, &luma);
        }
    }

    #[test]
    fn large_and_odd_sizes_match_the_reference() {
        for &(rows, cols) in &[
            (1004, 1600),
            (5, 1000),
            (1000, 5),
            (64, 64),
            (65, 127),
            (777, 333),
        ] {
            let luma: Vec<f32> = (0..rows * cols)
                .map(|i| ((i * 2654435761usize) % 251) as f32 * 1.013)
                .collect();
            check(rows, cols, &luma);
        }
    }
}
