use super::*;

#[test]
fn fix_constants() {
    let fix = |x: f64| (x * 65536.0 + 0.5) as i32;
    assert_eq!(FIX_1_40200, fix(1.40200));
    assert_eq!(FIX_1_77200, fix(1.77200));
    assert_eq!(FIX_0_71414, fix(0.71414));
    assert_eq!(FIX_0_34414, fix(0.34414));
}

#[test]
fn arithmetic_matches_tables() {
    let t = YccTables::new();
    for y in [0u8, 1, 77, 128, 200, 255] {
        for cb in 0..=255u8 {
            for cr in 0..=255u8 {
                let (yy, b, r) = (y as i32, cb as usize, cr as usize);
                let want = [
                    (yy + t.cr_r[r]).clamp(0, 255) as u8,
                    (yy + ((t.cb_g[b] + t.cr_g[r]) >> SCALEBITS)).clamp(0, 255) as u8,
                    (yy + t.cb_b[b]).clamp(0, 255) as u8,
                ];
                assert_eq!(ycc_pixel(y, cb, cr), want);
            }
        }
    }
    let ys: Vec<u8> = (0..37).map(|i| (i * 7) as u8).collect();
    let cbs: Vec<u8> = (0..37).map(|i| (i * 13) as u8).collect();
    let crs: Vec<u8> = (0..37).map(|i| (255 - i * 5) as u8).collect();
    let mut out = vec![0u8; 37 * 3];
    convert_row(&ys, &cbs, &crs, &mut out);
    for i in 0..37 {
        assert_eq!(&out[3 * i..3 * i + 3], &ycc_pixel(ys[i], cbs[i], crs[i]));
    }
}

#[test]
fn grey_chroma_is_identity() {
    let t = YccTables::new();
    let y: Vec<u8> = (0..=255).collect();
    let c = vec![128u8; 256];
    let mut out = vec![0u8; 768];
    t.convert_row(&y, &c, &c, &mut out);
    for i in 0..256 {
        assert_eq!(&out[i * 3..i * 3 + 3], &[i as u8; 3]);
    }
}

#[test]
fn h2v1_edges_and_bias() {
    let src = [10u8, 20, 30];
    let mut out = [0u8; 6];
    h2v1(&src, &mut out);
    // out0 = s0; out1 = (30+20+2)>>2 = 13; out2 = (60+10+1)>>2 = 17;
    // out3 = (60+30+2)>>2 = 23; out4 = (90+20+1)>>2 = 27; out5 = s2.
    assert_eq!(out, [10, 13, 17, 23, 27, 30]);
}

#[test]
fn h2v2_edges_and_bias() {
    let near = [0u8, 16, 32];
    let far = [0u8, 0, 0];
    let mut out = [0u8; 6];
    h2v2(&near, &far, &mut [0u16; 3], &mut out);
    // colsums 0, 48, 96
    // out0 = 8>>4 = 0; out1 = (0+48+7)>>4 = 3; out2 = (144+0+8)>>4 = 9;
    // out3 = (144+96+7)>>4 = 15; out4 = (288+48+8)>>4 = 21;
    // out5 = (384+7)>>4 = 24.
    assert_eq!(out, [0, 3, 9, 15, 21, 24]);
}

#[test]
fn narrow_planes_replicate() {
    assert_eq!(Method::choose(2, 2, 2), Method::Replicate { h: 2, v: 2 });
    assert_eq!(Method::choose(2, 1, 1), Method::Replicate { h: 2, v: 1 });
    assert_eq!(Method::choose(1, 2, 1), Method::H1V2Fancy);
    let data = [7u8, 9];
    let p = Plane {
        data: &data,
        stride: 2,
        dw: 2,
        dh: 1,
    };
    let mut out = [0u8; 3];
    let mut tmp = Scratch::default();
    upsample_row(
        &p,
        Method::Replicate { h: 2, v: 2 },
        1,
        &mut out,
        &mut tmp,
        None,
    );
    assert_eq!(out, [7, 7, 9]);
}

#[test]
fn h1v2_uses_clamped_context_rows() {
    let data = [100u8, 0];
    let p = Plane {
        data: &data,
        stride: 1,
        dw: 1,
        dh: 2,
    };
    let mut tmp = Scratch::default();
    let rows: Vec<u8> = (0..4)
        .map(|y| {
            let mut o = [0u8; 1];
            upsample_row(&p, Method::H1V2Fancy, y, &mut o, &mut tmp, None);
            o[0]
        })
        .collect();
    // y0: (300+100+1)>>2 = 100; y1: (300+0+2)>>2 = 75;
    // y2: (0+100+1)>>2 = 25; y3: (0+0+2)>>2 = 0.
    assert_eq!(rows, [100, 75, 25, 0]);
}

#[test]
fn avx2_paths_match_scalar() {
    // Without AVX2 the dispatchers take the portable path, which is
    // still run and compared (so the test exercises what this CPU runs).
    let avx2 = Avx2::detect();
    if avx2.is_none() {
        eprintln!("note: no AVX2 on this CPU; comparing the portable dispatch path only");
    }
    let mut seed = 0x2545_f491u32;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as u8
    };
    for n in 3..100usize {
        let a: Vec<u8> = (0..n).map(|_| rnd()).collect();
        let b: Vec<u8> = (0..n).map(|_| rnd()).collect();
        let c: Vec<u8> = (0..n).map(|_| rnd()).collect();
        let (mut o1, mut o2) = (vec![0u8; 3 * n], vec![1u8; 3 * n]);
        convert_row(&a, &b, &c, &mut o1);
        convert_row_dispatch(&a, &b, &c, &mut o2, avx2);
        assert_eq!(o1, o2, "ycc {n}");
        let (mut o1, mut o2) = (vec![0u8; 2 * n], vec![1u8; 2 * n]);
        h2v1(&a, &mut o1);
        h2v1_dispatch(&a, &mut o2, avx2);
        assert_eq!(o1, o2, "h2v1 {n}");
        let mut cs = vec![0u16; n];
        h2v2(&a, &b, &mut cs, &mut o1);
        h2v2_dispatch(&a, &b, &mut cs, &mut o2, avx2);
        assert_eq!(o1, o2, "h2v2 {n}");
    }
}

#[test]
fn planar_conversion_matches_interleaved() {
    let mut st = 0x9e37_79b9u32;
    let mut next = || {
        st ^= st << 13;
        st ^= st >> 17;
        st ^= st << 5;
        st as u8
    };
    for n in [0usize, 1, 15, 16, 17, 33, 100] {
        let (y, cb, cr): (Vec<u8>, Vec<u8>, Vec<u8>) = (
            (0..n).map(|_| next()).collect(),
            (0..n).map(|_| next()).collect(),
            (0..n).map(|_| next()).collect(),
        );
        let mut inter = vec![0u8; 3 * n];
        convert_row(&y, &cb, &cr, &mut inter);
        for avx2 in [None, Avx2::detect()] {
            let (mut r, mut g, mut b) = (vec![0u8; n], vec![0u8; n], vec![0u8; n]);
            convert_row_planar_dispatch(&y, &cb, &cr, [&mut r, &mut g, &mut b], avx2);
            for i in 0..n {
                assert_eq!(
                    [r[i], g[i], b[i]],
                    inter[3 * i..3 * i + 3],
                    "n {n} i {i} avx2 {avx2:?}"
                );
            }
        }
    }
}
