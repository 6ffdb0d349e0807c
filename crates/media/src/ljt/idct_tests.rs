use super::*;

/// Straight transcription of the reference algorithm's structure (with
/// its zero-column and zero-row shortcuts), used to check the lane form.
fn reference(coef: &[i16; 64], q: &[i32; 64]) -> [u8; 64] {
    let mut ws = [0i64; 64];
    for c in 0..8 {
        let d = |k: usize| (coef[k * 8 + c] as i64) * (q[k * 8 + c] as i64);
        if (1..8).all(|k| coef[k * 8 + c] == 0) {
            for k in 0..8 {
                ws[k * 8 + c] = d(0) << 2;
            }
            continue;
        }
        let r = one_d([d(0), d(1), d(2), d(3), d(4), d(5), d(6), d(7)], 11);
        for k in 0..8 {
            ws[k * 8 + c] = r[k];
        }
    }
    let mut out = [0u8; 64];
    for r in 0..8 {
        let w = &ws[r * 8..r * 8 + 8];
        let vals = if w[1..].iter().all(|&x| x == 0) {
            [(w[0] + 16) >> 5; 8]
        } else {
            one_d([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]], 18)
        };
        for c in 0..8 {
            out[r * 8 + c] = (vals[c] + 128).clamp(0, 255) as u8;
        }
    }
    out
}

fn one_d(x: [i64; 8], shift: i64) -> [i64; 8] {
    let (c541, c1847, c765) = (4433i64, 15137i64, 6270i64);
    let z1 = (x[2] + x[6]) * c541;
    let tmp2 = z1 - x[6] * c1847;
    let tmp3 = z1 + x[2] * c765;
    let tmp0 = (x[0] + x[4]) << 13;
    let tmp1 = (x[0] - x[4]) << 13;
    let (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);
    let (a0, a1, a2, a3) = (x[7], x[5], x[3], x[1]);
    let z1 = a0 + a3;
    let z2 = a1 + a2;
    let z3 = a0 + a2;
    let z4 = a1 + a3;
    let z5 = (z3 + z4) * 9633;
    let a0 = a0 * 2446;
    let a1 = a1 * 16819;
    let a2 = a2 * 25172;
    let a3 = a3 * 12299;
    let z1 = z1 * -7373;
    let z2 = z2 * -20995;
    let z3 = z3 * -16069 + z5;
    let z4 = z4 * -3196 + z5;
    let a0 = a0 + z1 + z3;
    let a1 = a1 + z2 + z4;
    let a2 = a2 + z2 + z3;
    let a3 = a3 + z1 + z4;
    let d = |v: i64| (v + (1 << (shift - 1))) >> shift;
    [
        d(tmp10 + a3),
        d(tmp11 + a2),
        d(tmp12 + a1),
        d(tmp13 + a0),
        d(tmp13 - a0),
        d(tmp12 - a1),
        d(tmp11 - a2),
        d(tmp10 - a3),
    ]
}

fn run(coef: &[i16; 64], q: &[i32; 64]) -> [u8; 64] {
    let mut out = [0u8; 64];
    idct_block(coef, q, &mut out, 0, 8);
    out
}

/// Checks an AVX2 transform against its scalar twin on 50,000 random
/// blocks (one in five with huge values, to exercise wrapping) written
/// `n` × `n` at strides of 1–3 blocks.
#[cfg(target_arch = "x86_64")]
fn avx2_against_scalar(
    n: usize,
    scalar: fn(&[i16; 64], &[i32; 64], &mut [u8], usize, usize),
    avx2: unsafe fn(&[i16; 64], &[i32; 64], &mut [u8], usize, usize),
) {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return;
    }
    let mut seed = 0x9abc_def1u32;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for it in 0..50000 {
        let mut c = [0i16; 64];
        let mut q = [0i32; 64];
        let big = it % 5 == 0;
        for i in 0..64 {
            q[i] = if big {
                (rnd() % 65536) as i32
            } else {
                (rnd() % 40 + 1) as i32
            };
            if rnd() % 3 == 0 {
                c[i] = if big {
                    rnd() as i16
                } else {
                    ((rnd() % 401) as i16) - 200
                };
            }
        }
        c[0] = ((rnd() % 2000) as i16) - 1000;
        let stride = n + (it % 3) * n;
        let mut a = vec![0u8; stride * n];
        let mut b = vec![0u8; stride * n];
        scalar(&c, &q, &mut a, 0, stride);
        // SAFETY: AVX2 support was checked above.
        unsafe { avx2(&c, &q, &mut b, 0, stride) };
        assert_eq!(a, b, "{c:?} {q:?}");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_matches_scalar() {
    avx2_against_scalar(8, idct_ac, idct_ac_avx2);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_2x2_matches_scalar() {
    avx2_against_scalar(2, idct_2x2, idct_2x2_avx2);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_4x4_matches_scalar() {
    avx2_against_scalar(4, idct_4x4, idct_4x4_avx2);
}

#[test]
fn dc_only_block() {
    let q = [1i32; 64];
    let mut c = [0i16; 64];
    for dc in [-1100i16, -1024, -77, -1, 0, 1, 5, 300, 1016, 1100] {
        c[0] = dc;
        let out = run(&c, &q);
        // (dc * 4 + 16) >> 5 = round(dc / 8), plus 128, clamped.
        let want = ((((dc as i32) * 4 + 16) >> 5) + 128).clamp(0, 255) as u8;
        assert!(out.iter().all(|&v| v == want), "dc {dc}");
        assert_eq!(out, reference(&c, &q));
    }
}

#[test]
fn matches_reference_structure() {
    // Pseudo-random sparse blocks with realistic magnitudes.
    let mut seed = 0x1234_5678u32;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for _ in 0..20000 {
        let mut c = [0i16; 64];
        let mut q = [0i32; 64];
        for i in 0..64 {
            q[i] = (rnd() % 40 + 1) as i32;
            if rnd() % 4 == 0 {
                c[i] = ((rnd() % 61) as i16) - 30;
            }
        }
        c[0] = ((rnd() % 200) as i16) - 100;
        assert_eq!(run(&c, &q), reference(&c, &q), "{c:?}");
    }
}
