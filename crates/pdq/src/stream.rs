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
    /// Output of the first (row, column)… first row pass, rows × cols.
    pass1: Vec<f32>,
    row: Vec<f32>,
    t_in: Vec<[f32; L]>,
    t_out: Vec<[f32; L]>,
    col_sum: Vec<f32>,
    /// Second row pass at the 64 kept columns, rows × 64.
    kept: Vec<[f32; 64]>,
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

/// Full box filter over `N`-lane samples (every output written).
#[inline(always)]
fn box_lanes<const N: usize>(input: &[[f32; N]], output: &mut [[f32; N]], window: usize) {
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
        let c = count as f32;
        let o = &mut output[oi];
        for l in 0..N {
            o[l] = sum[l] / c;
        }
        ri += 1;
        oi += 1;
    }
    let c = count as f32;
    for _ in 0..p3 {
        let (x, y) = (&input[ri], &input[li]);
        let o = &mut output[oi];
        for l in 0..N {
            sum[l] += x[l];
            sum[l] -= y[l];
            o[l] = sum[l] / c;
        }
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
        let c = count as f32;
        let o = &mut output[oi];
        for l in 0..N {
            o[l] = sum[l] / c;
        }
        li += 1;
        oi += 1;
    }
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
    let [p1, p2, p3, p4] = phases(input.len(), window);
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut sum = [0f32; N];
    let mut count: i32 = 0;
    let mut k = 0usize;
    macro_rules! emit {
        () => {
            while k < 64 && keep[k] == oi {
                let c = count as f32;
                for l in 0..N {
                    out[k][l] = sum[l] / c;
                }
                k += 1;
            }
        };
    }
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
        emit!();
        ri += 1;
        oi += 1;
    }
    for _ in 0..p3 {
        let (x, y) = (&input[ri], &input[li]);
        for l in 0..N {
            sum[l] += x[l];
            sum[l] -= y[l];
        }
        emit!();
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
        emit!();
        li += 1;
        oi += 1;
    }
}

/// A source of luma rows. Implementations should be `#[inline(always)]` so
/// that the conversion is compiled inside the AVX2 kernel.
pub(crate) trait Rows {
    /// Writes luma row `r` into `out`.
    fn fill(&self, r: usize, out: &mut [f32]);
}

/// Blur (two Jarosz passes) and decimate to 64×64, pulling luma rows from
/// `src`.
pub(crate) fn blur_decimate<R: Rows>(
    rows: usize,
    cols: usize,
    src: &R,
    s: &mut StreamScratch,
) -> [[f32; 64]; 64] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { blur_decimate_avx2(rows, cols, src, s) };
        }
    }
    blur_decimate_impl(rows, cols, src, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn blur_decimate_avx2<R: Rows>(
    rows: usize,
    cols: usize,
    src: &R,
    s: &mut StreamScratch,
) -> [[f32; 64]; 64] {
    blur_decimate_impl(rows, cols, src, s)
}

#[inline(always)]
fn blur_decimate_impl<R: Rows>(
    rows: usize,
    cols: usize,
    src: &R,
    s: &mut StreamScratch,
) -> [[f32; 64]; 64] {
    let win_h = jarosz_window(cols); // box along rows
    let win_v = jarosz_window(rows); // box along columns
    let mut keep_cols = [0usize; 64];
    let mut keep_rows = [0usize; 64];
    for k in 0..64 {
        keep_cols[k] = decimation_index(k, cols);
        keep_rows[k] = decimation_index(k, rows);
    }
    let StreamScratch { pass1, row, t_in, t_out, col_sum, kept } = s;
    pass1.clear();
    pass1.resize(rows * cols, 0.0);
    row.clear();
    row.resize(cols, 0.0);
    t_in.clear();
    t_in.resize(cols, [0.0; L]);
    t_out.clear();
    t_out.resize(cols, [0.0; L]);

    // Pass 1 (rows): luma rows, eight at a time as lanes, box-filtered
    // along the row, stored row-major.
    let mut r0 = 0;
    while r0 < rows {
        let nr = L.min(rows - r0);
        for l in 0..L {
            if l < nr {
                src.fill(r0 + l, row);
                for (t, v) in t_in.iter_mut().zip(row.iter()) {
                    t[l] = *v;
                }
            } else {
                for t in t_in.iter_mut() {
                    t[l] = 0.0;
                }
            }
        }
        box_lanes::<L>(t_in, t_out, win_h);
        for l in 0..nr {
            let dst = &mut pass1[(r0 + l) * cols..(r0 + l + 1) * cols];
            for (d, t) in dst.iter_mut().zip(t_out.iter()) {
                *d = t[l];
            }
        }
        r0 += nr;
    }

    // Pass 2 (columns) feeding pass 3 (rows, kept columns only): each
    // output row of the column filter goes into a lane of `t_in`; every
    // eight rows, the row filter runs and keeps 64 columns.
    kept.clear();
    kept.resize(rows, [0.0; 64]);
    col_sum.clear();
    col_sum.resize(cols, 0.0);
    let mut lane_out = [[0f32; L]; 64];
    let mut block_start = 0usize;
    let mut flush = |t_in: &mut Vec<[f32; L]>, n_in_block: usize, block_start: usize, kept: &mut Vec<[f32; 64]>| {
        for t in t_in.iter_mut() {
            for v in t[n_in_block..].iter_mut() {
                *v = 0.0;
            }
        }
        box_lanes_kept::<L>(t_in, win_h, &keep_cols, &mut lane_out);
        for l in 0..n_in_block {
            let dst = &mut kept[block_start + l];
            for k in 0..64 {
                dst[k] = lane_out[k][l];
            }
        }
    };
    {
        let [p1, p2, p3, p4] = phases(rows, win_v);
        let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
        let mut count: i32 = 0;
        let mut emit_row = |oi: usize, sum: &[f32], count: i32, t_in: &mut Vec<[f32; L]>, kept: &mut Vec<[f32; 64]>| {
            let c = count as f32;
            let l = oi - block_start;
            for (t, s) in t_in.iter_mut().zip(sum.iter()) {
                t[l] = *s / c;
            }
            if l + 1 == L || oi + 1 == rows {
                flush(t_in, l + 1, block_start, kept);
                block_start = oi + 1;
            }
        };
        for _ in 0..p1 {
            let add = &pass1[ri * cols..(ri + 1) * cols];
            for (s, a) in col_sum.iter_mut().zip(add) {
                *s += *a;
            }
            count += 1;
            ri += 1;
        }
        for _ in 0..p2 {
            let add = &pass1[ri * cols..(ri + 1) * cols];
            for (s, a) in col_sum.iter_mut().zip(add) {
                *s += *a;
            }
            count += 1;
            emit_row(oi, col_sum, count, t_in, kept);
            ri += 1;
            oi += 1;
        }
        for _ in 0..p3 {
            let add = &pass1[ri * cols..(ri + 1) * cols];
            let sub = &pass1[li * cols..(li + 1) * cols];
            for ((s, a), b) in col_sum.iter_mut().zip(add).zip(sub) {
                *s += *a;
                *s -= *b;
            }
            emit_row(oi, col_sum, count, t_in, kept);
            li += 1;
            ri += 1;
            oi += 1;
        }
        for _ in 0..p4 {
            let sub = &pass1[li * cols..(li + 1) * cols];
            for (s, b) in col_sum.iter_mut().zip(sub) {
                *s -= *b;
            }
            count -= 1;
            emit_row(oi, col_sum, count, t_in, kept);
            li += 1;
            oi += 1;
        }
    }

    // Pass 4 (columns) on the 64 kept columns, kept rows only.
    let mut out = [[0f32; 64]; 64];
    box_lanes_kept::<64>(kept, win_v, &keep_rows, &mut out);
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
        let got = blur_decimate(rows, cols, &src, &mut s);
        for i in 0..64 {
            for j in 0..64 {
                assert_eq!(got[i][j].to_bits(), want[i][j].to_bits(), "{rows}x{cols} at {i},{j}");
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
        for &(rows, cols) in &[(1004, 1600), (5, 1000), (1000, 5), (64, 64), (65, 127), (777, 333)] {
            let luma: Vec<f32> = (0..rows * cols).map(|i| ((i * 2654435761usize) % 251) as f32 * 1.013).collect();
            check(rows, cols, &luma);
        }
    }
}
