//! Decoder-level tests: round trips through an encoder, truncation, limits
//! and robustness against corrupt input.

use super::{decode, decode_planes, decode_planes_scaled, decode_planes_with};
use crate::MediaError;
use proptest::prelude::*;

/// Encodes a test pattern with the small writer below (4:4:4 colour or
/// grey, a float forward DCT, one flat quantisation step from `quality`).
fn encode(w: u32, h: u32, grey: bool, quality: u8) -> Vec<u8> {
    let px = |x: usize, y: usize| -> [f64; 3] {
        let (x, y) = (x.min(w as usize - 1) as u32, y.min(h as usize - 1) as u32);
        if grey {
            [((x * 7 + y * 3) % 256) as f64, 128.0, 128.0]
        } else {
            let (r, g, b) = (
                (x * 255 / w.max(1)) as f64,
                (y * 255 / h.max(1)) as f64,
                ((x + y) % 256) as f64,
            );
            [
                0.299 * r + 0.587 * g + 0.114 * b,
                128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b,
            ]
        }
    };
    let step = (101 - quality.min(100) as i32).max(1) / 3 + 1;
    let samp: &[(u8, u8)] = if grey {
        &[(1, 1)]
    } else {
        &[(1, 1), (1, 1), (1, 1)]
    };
    write_jpeg(
        w as u16,
        h as u16,
        samp,
        &[step as u8; 64],
        |ci, row, col| {
            let mut zz = [0i32; 64];
            for v in 0..8 {
                for u in 0..8 {
                    let mut sum = 0.0;
                    for y in 0..8 {
                        for x in 0..8 {
                            let s = px(col * 8 + x, row * 8 + y)[ci] - 128.0;
                            let cx =
                                ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos();
                            let cy =
                                ((2 * y + 1) as f64 * v as f64 * std::f64::consts::PI / 16.0).cos();
                            sum += s * cx * cy;
                        }
                    }
                    let cu = if u == 0 {
                        std::f64::consts::FRAC_1_SQRT_2
                    } else {
                        1.0
                    };
                    let cv = if v == 0 {
                        std::f64::consts::FRAC_1_SQRT_2
                    } else {
                        1.0
                    };
                    let c = 0.25 * cu * cv * sum / step as f64;
                    let k = super::NATURAL.iter().position(|&n| n == v * 8 + u).unwrap();
                    zz[k] = c.round() as i32;
                }
            }
            zz
        },
    )
}

#[test]
fn round_trip_colour_and_grey() {
    for (w, h) in [(1, 1), (7, 3), (16, 16), (33, 17), (100, 61)] {
        let jpg = encode(w, h, false, 95);
        let (px, dw, dh, grey) = decode(&jpg, 65535, 1 << 30).expect("decode colour");
        assert_eq!((dw, dh, grey), (w, h, false));
        assert_eq!(px.len(), (w * h * 3) as usize);
        let jpg = encode(w, h, true, 95);
        let (px, dw, dh, grey) = decode(&jpg, 65535, 1 << 30).expect("decode grey");
        assert_eq!((dw, dh, grey), (w, h, true));
        assert_eq!(px.len(), (w * h) as usize);
        // The grey ramp survives quality-95 coding closely.
        for y in 0..h {
            for x in 0..w {
                let want = ((x * 7 + y * 3) % 256) as i32;
                let got = px[(y * w + x) as usize] as i32;
                // Wrap-around edges of the ramp ring; only check smooth parts.
                if want > 24 && want < 230 && w >= 16 {
                    assert!((want - got).abs() < 40, "{x},{y}: {want} vs {got}");
                }
            }
        }
    }
}

#[test]
fn truncation_is_reported() {
    let jpg = encode(40, 24, false, 90);
    // Drop the end-of-image marker only.
    let cut = &jpg[..jpg.len() - 2];
    assert!(matches!(
        decode(cut, 65535, 1 << 30),
        Err(MediaError::Truncated(_))
    ));
    // Cut inside the entropy-coded data.
    let cut = &jpg[..jpg.len() - 40];
    assert!(matches!(
        decode(cut, 65535, 1 << 30),
        Err(MediaError::Truncated(_))
    ));
    // Every prefix fails cleanly.
    for n in 0..jpg.len() - 1 {
        assert!(decode(&jpg[..n], 65535, 1 << 30).is_err(), "prefix {n}");
    }
}

#[test]
fn limits_are_checked_before_allocation() {
    // A tiny header claiming 60000 × 60000 pixels.
    let mut jpg = encode(8, 8, true, 90);
    let sof = jpg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0");
    jpg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    match decode(&jpg, 65535, 1 << 20) {
        Err(MediaError::TooLarge { width, height, .. }) => {
            assert_eq!((width, height), (60000, 60000))
        }
        other => panic!("{:?}", other.map(|r| (r.1, r.2))),
    }
    match decode(&jpg, 1000, u64::MAX) {
        Err(MediaError::TooLarge { .. }) => {}
        other => panic!("{:?}", other.map(|r| (r.1, r.2))),
    }
}

#[test]
fn not_a_jpeg() {
    assert_eq!(decode(b"", 10, 10).err(), Some(MediaError::NotAnImage));
    assert_eq!(
        decode(b"\x89PNG", 10, 10).err(),
        Some(MediaError::NotAnImage)
    );
    assert!(decode(&[0xFF, 0xD8, 0xFF, 0xD9], 10, 10).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Corrupting, truncating or extending a valid file never panics.
    #[test]
    fn corrupt_input_never_panics(
        grey in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut jpg = encode(29, 19, grey, 80);
        for (i, b) in edits {
            let i = i.index(jpg.len());
            jpg[i] = b;
        }
        if do_cut {
            jpg.truncate(cut.index(jpg.len()));
        }
        let _ = decode(&jpg, 4096, 1 << 22);
    }

    /// Arbitrary bytes after a JPEG signature never panic.
    #[test]
    fn garbage_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut jpg = vec![0xFF, 0xD8];
        jpg.extend_from_slice(&tail);
        let _ = decode(&jpg, 4096, 1 << 22);
    }
}

/// A test JPEG of random quantised coefficients, any sampling factors.
fn synth(w: u16, h: u16, samp: &[(u8, u8)], seed: u32) -> Vec<u8> {
    let mut seed = seed | 1;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let mut dc = 0i32;
    let q: Vec<u8> = (0..64).map(|k| 1 + (k % 7) as u8).collect();
    write_jpeg(w, h, samp, &q, |_, _, _| {
        let mut zz = [0i32; 64];
        dc = (dc + (rnd() % 61) as i32 - 30).clamp(-400, 400);
        zz[0] = dc;
        for c in &mut zz[1..] {
            if rnd() % 5 == 0 {
                *c = (rnd() % 81) as i32 - 40;
            }
        }
        zz
    })
}

/// A minimal baseline JPEG writer for tests: `block(component, row, col)`
/// gives each block's quantised coefficients in zig-zag order; `q` is the
/// quantisation table in zig-zag order; one interleaved scan, simple
/// made-up Huffman tables. `samp` holds (h, v) per component.
fn write_jpeg(
    w: u16,
    h: u16,
    samp: &[(u8, u8)],
    q: &[u8],
    mut block: impl FnMut(usize, usize, usize) -> [i32; 64],
) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u8,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, code: u32, len: u32) {
            for i in (0..len).rev() {
                self.acc = (self.acc << 1) | ((code >> i) & 1) as u8;
                self.n += 1;
                if self.n == 8 {
                    self.out.push(self.acc);
                    if self.acc == 0xFF {
                        self.out.push(0);
                    }
                    self.acc = 0;
                    self.n = 0;
                }
            }
        }
        fn value(&mut self, v: i32) {
            let size = 32 - v.unsigned_abs().leading_zeros();
            let bits = if v < 0 { v - 1 } else { v } as u32 & ((1u64 << size) - 1) as u32;
            self.put(bits, size);
        }
    }
    // Category of `v` and its extra bits.
    let cat = |v: i32| 32 - v.unsigned_abs().leading_zeros();
    // DC codes: symbols 0..=11, 4 bits each. AC codes: symbol s, 8 bits
    // for s < 254, else 9 bits.
    let ac_code = |s: u32| if s < 254 { (s, 8) } else { (508 + s - 254, 9) };
    let hmax = samp.iter().map(|s| s.0 as usize).max().unwrap();
    let vmax = samp.iter().map(|s| s.1 as usize).max().unwrap();
    let mcux = (w as usize).div_ceil(8 * hmax);
    let mcuy = (h as usize).div_ceil(8 * vmax);
    let mut bits = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    let mut pred = vec![0i32; samp.len()];
    for my in 0..mcuy {
        for mx in 0..mcux {
            for (ci, &(sh, sv)) in samp.iter().enumerate() {
                let (sh, sv) = (sh as usize, sv as usize);
                for by in 0..sv {
                    for bx in 0..sh {
                        let zz = block(ci, my * sv + by, mx * sh + bx);
                        let diff = zz[0] - pred[ci];
                        pred[ci] = zz[0];
                        bits.put(cat(diff), 4);
                        bits.value(diff);
                        let mut run = 0;
                        for &v in &zz[1..] {
                            if v == 0 {
                                run += 1;
                                continue;
                            }
                            while run >= 16 {
                                let (c, l) = ac_code(0xF0);
                                bits.put(c, l);
                                run -= 16;
                            }
                            let (c, l) = ac_code((run << 4) | cat(v));
                            bits.put(c, l);
                            bits.value(v);
                            run = 0;
                        }
                        if run > 0 {
                            let (c, l) = ac_code(0);
                            bits.put(c, l);
                        }
                    }
                }
            }
        }
    }
    if bits.n > 0 {
        let n = bits.n;
        bits.put((1 << (8 - n)) - 1, 8 - n);
    }
    let mut f = vec![0xFF, 0xD8];
    let seg = |f: &mut Vec<u8>, m: u8, body: &[u8]| {
        f.extend_from_slice(&[0xFF, m]);
        f.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        f.extend_from_slice(body);
    };
    let dqt: Vec<u8> = std::iter::once(0).chain(q.iter().copied()).collect();
    seg(&mut f, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&h.to_be_bytes());
    sof.extend_from_slice(&w.to_be_bytes());
    sof.push(samp.len() as u8);
    for (i, &(sh, sv)) in samp.iter().enumerate() {
        sof.extend_from_slice(&[i as u8 + 1, (sh << 4) | sv, 0]);
    }
    seg(&mut f, 0xC0, &sof);
    let mut dht = vec![0x00];
    dht.extend_from_slice(&[0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    dht.extend(0..12u8);
    dht.push(0x10);
    dht.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 254, 2, 0, 0, 0, 0, 0, 0, 0]);
    dht.extend(0..=255u8);
    seg(&mut f, 0xC4, &dht);
    let mut sos = vec![samp.len() as u8];
    for i in 0..samp.len() {
        sos.extend_from_slice(&[i as u8 + 1, 0x00]);
    }
    sos.extend_from_slice(&[0, 63, 0]);
    seg(&mut f, 0xDA, &sos);
    f.extend_from_slice(&bits.out);
    f.extend_from_slice(&[0xFF, 0xD9]);
    f
}

/// Every row from `Planes::row`, in order and in a scrambled order, equals
/// the whole-image decode.
fn check_rows(jpg: &[u8]) {
    let (px, w, h, grey) = decode(jpg, 65535, 1 << 30).expect("decode");
    let mut p = decode_planes(jpg, 65535, 1 << 30).expect("decode_planes");
    assert_eq!((p.width(), p.height(), p.is_grey()), (w, h, grey));
    let n = if grey { w as usize } else { 3 * w as usize };
    let mut row = vec![0u8; n];
    for y in 0..h as usize {
        p.row(y, &mut row);
        assert_eq!(row, px[y * n..(y + 1) * n], "row {y} of {w}x{h}");
    }
    for k in 0..h as usize {
        let y = (k * 7919 + 3) % h as usize;
        p.row(y, &mut row);
        assert_eq!(row, px[y * n..(y + 1) * n], "row {y} (scrambled)");
    }
    // Planar rows: the same bytes, de-interleaved; refused for grey.
    let wu = w as usize;
    let (mut r, mut g, mut b) = (vec![0u8; wu], vec![0u8; wu], vec![0u8; wu]);
    for y in 0..h as usize {
        let ok = p.planar_row(y, [&mut r, &mut g, &mut b]);
        assert_eq!(ok, !grey);
        if ok {
            for x in 0..wu {
                assert_eq!(
                    [r[x], g[x], b[x]],
                    px[y * n + 3 * x..y * n + 3 * x + 3],
                    "planar row {y} x {x}"
                );
            }
        }
    }
}

const LAYOUTS: [&[(u8, u8)]; 8] = [
    &[(2, 2), (1, 1), (1, 1)], // 4:2:0
    &[(2, 1), (1, 1), (1, 1)], // 4:2:2
    &[(1, 2), (1, 1), (1, 1)], // 4:4:0
    &[(1, 1), (1, 1), (1, 1)], // 4:4:4
    &[(1, 1)],                 // grey
    &[(2, 2), (1, 1), (2, 1)], // mixed chroma
    &[(4, 2), (1, 1), (1, 1)], // replicated
    &[(1, 1), (2, 2), (1, 1)], // luma below the maximum
];

#[test]
fn planes_rows_match_decode() {
    let sizes = [
        (1, 1),
        (2, 9),
        (3, 3),
        (7, 5),
        (17, 9),
        (33, 31),
        (64, 48),
        (101, 67),
    ];
    for (li, samp) in LAYOUTS.iter().enumerate() {
        for (si, &(w, h)) in sizes.iter().enumerate() {
            check_rows(&synth(w, h, samp, (li * 31 + si) as u32 + 7));
        }
    }
    // Also through a real encoder.
    check_rows(&encode(45, 27, false, 85));
    check_rows(&encode(45, 27, true, 85));
}

/// Blocks that a scan never reaches (the data ends early) decode to mid-grey
/// whatever an earlier image left in the reused buffers.
#[test]
fn reused_buffers_do_not_leak() {
    for samp in LAYOUTS {
        let full = synth(67, 45, samp, 99);
        // Cut the scan data in half and end the file there.
        let sos = full
            .windows(2)
            .rposition(|w| w == [0xFF, 0xDA])
            .expect("SOS");
        let cut_at = sos + (full.len() - sos) / 2;
        let mut cut = full[..cut_at].to_vec();
        if cut.last() == Some(&0xFF) {
            cut.pop();
        }
        cut.extend_from_slice(&[0xFF, 0xD9]);
        let mut results = Vec::new();
        for seed in [1, 2, 3] {
            // Dirty the pool with another image of the same size first.
            let other = synth(67, 45, samp, seed);
            let _ = decode(&other, 65535, 1 << 30).expect("other");
            let p = decode_planes(&other, 65535, 1 << 30).expect("other planes");
            drop(p);
            results.push(decode(&cut, 65535, 1 << 30).expect("cut").0);
        }
        assert!(results.windows(2).all(|r| r[0] == r[1]));
        check_rows(&cut);
        // The last row is past the data: all mid-grey (128 everywhere).
        let last = results[0].len() - 10;
        assert!(results[0][last..].iter().all(|&v| v == 128));
    }
}

/// Reduced-scale decodes are `ceil(size / denom)` and close to a box
/// average of the full decode; scale 1 is the full decode.
#[test]
fn scaled_decodes() {
    let close = |jpg: &[u8], denom: u32, tol: f64| {
        let (px, w, h, grey) = decode(jpg, 65535, 1 << 30).expect("decode");
        let mut p = decode_planes_scaled(jpg, 65535, 1 << 30, denom).expect("scaled");
        let (sw, sh) = (w.div_ceil(denom), h.div_ceil(denom));
        assert_eq!((p.width(), p.height(), p.is_grey()), (sw, sh, grey));
        let ch = if grey { 1 } else { 3 };
        let mut row = vec![0u8; sw as usize * ch];
        let (mut err, mut n) = (0.0, 0.0);
        for y in 0..sh as usize {
            p.row(y, &mut row);
            for x in 0..sw as usize {
                for c in 0..ch {
                    let (mut sum, mut k) = (0.0, 0.0);
                    for yy in y * denom as usize..((y + 1) * denom as usize).min(h as usize) {
                        for xx in x * denom as usize..((x + 1) * denom as usize).min(w as usize) {
                            sum += px[(yy * w as usize + xx) * ch + c] as f64;
                            k += 1.0;
                        }
                    }
                    err += (sum / k - row[x * ch + c] as f64).abs();
                    n += 1.0;
                }
            }
        }
        assert!(
            err / n <= tol,
            "denom {denom} {w}x{h}: mean error {}",
            err / n
        );
    };
    for grey in [false, true] {
        for (w, h) in [(1, 1), (9, 7), (45, 27), (64, 48), (101, 67)] {
            let jpg = encode(w, h, grey, 90);
            close(&jpg, 1, 0.0);
            for denom in [2, 4, 8] {
                // Edge blocks of tiny images mostly hold padding.
                close(&jpg, denom, if w >= 45 { 4.0 } else { 16.0 });
            }
        }
    }
    for (li, samp) in LAYOUTS.iter().enumerate() {
        for &(w, h) in &[(1, 1), (7, 5), (33, 31), (101, 67)] {
            let jpg = synth(w, h, samp, li as u32 + 3);
            for denom in [1, 2, 4, 8] {
                let mut p = decode_planes_scaled(&jpg, 65535, 1 << 30, denom).expect("synth");
                let (sw, sh) = (u32::from(w).div_ceil(denom), u32::from(h).div_ceil(denom));
                assert_eq!((p.width(), p.height()), (sw, sh));
                let mut row = vec![0u8; p.row_len()];
                for y in 0..sh as usize {
                    p.row(y, &mut row);
                }
            }
        }
    }
    assert!(matches!(
        decode_planes_scaled(&encode(8, 8, true, 90), 65535, 1 << 30, 3),
        Err(MediaError::Unsupported(_))
    ));
}

/// Luma-only decodes (`--fast`) give exactly the Y plane of the normal
/// decode, as grey rows of the output size, for YCbCr images whose luma is
/// not subsampled; anything else decodes as usual.
#[test]
fn luma_only_decodes() {
    let mut cases: Vec<(Vec<u8>, bool)> = Vec::new();
    for (li, samp) in LAYOUTS.iter().enumerate() {
        let luma_max =
            samp.len() == 3 && samp.iter().all(|&(h, v)| h <= samp[0].0 && v <= samp[0].1);
        for &(w, h) in &[(1, 1), (7, 5), (33, 31), (101, 67)] {
            cases.push((synth(w, h, samp, li as u32 + 11), luma_max));
        }
    }
    cases.push((encode(45, 27, false, 90), true));
    cases.push((encode(45, 27, true, 90), false));
    for (jpg, expect_luma) in &cases {
        for denom in [1, 2, 4, 8] {
            let mut normal = decode_planes_scaled(jpg, 65535, 1 << 30, denom).expect("normal");
            let mut luma = decode_planes_with(jpg, 65535, 1 << 30, denom, true).expect("luma");
            assert_eq!(
                (luma.width(), luma.height()),
                (normal.width(), normal.height())
            );
            assert_eq!(luma.luma_only(), *expect_luma);
            let (w, h) = (normal.width() as usize, normal.height() as usize);
            if *expect_luma {
                assert!(luma.is_grey());
                let mut row = vec![0u8; w];
                for y in 0..h {
                    luma.row(y, &mut row);
                    let p = &normal.comps[0];
                    assert_eq!(row[..], p.data[y * p.stride..y * p.stride + w], "row {y}");
                }
            } else {
                assert_eq!(luma.is_grey(), normal.is_grey());
                let mut a = vec![0u8; normal.row_len()];
                let mut b = vec![0u8; normal.row_len()];
                for y in 0..h {
                    normal.row(y, &mut a);
                    luma.row(y, &mut b);
                    assert_eq!(a, b, "row {y}");
                }
            }
        }
    }
}
