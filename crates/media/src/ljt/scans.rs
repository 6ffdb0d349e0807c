//! Entropy-coded scans: sequential, progressive DC and AC, block by block,
//! and the inverse transform of whole planes.

use super::*;

with_avx2!(transform_plane, fn(c: &mut Component, plane: &mut [u8]) {
    let q = c.q.unwrap_or([0; 64]);
    let n = c.bs;
    let stride = c.bw * n;
    for (b, blk) in c.coefs.chunks_exact(64).enumerate() {
        let (row, col) = (b / c.bw, b % c.bw);
        let mut a = [0i16; 64];
        a.copy_from_slice(blk);
        let at = row * n * stride + col * n;
        if n == 8 {
            idct::idct_block(&a, &q, plane, at, stride);
        } else if a[1..].iter().all(|&c| c == 0) {
            idct::idct_dc_n(a[0], q[0], plane, at, stride, n);
        } else {
            idct::idct_scaled(&a, &q, plane, at, stride, n);
        }
    }
});

with_avx2!(walk_sequential, fn(frame: &mut Frame, scan: &Scan, r: &mut BitReader, ri: usize, st: &mut Sequential) {
    walk_scan(frame, scan, r, ri, st)
});

with_avx2!(walk_dc, fn(frame: &mut Frame, scan: &Scan, r: &mut BitReader, ri: usize, st: &mut DcScan) {
    walk_scan(frame, scan, r, ri, st)
});

with_avx2!(walk_ac, fn(frame: &mut Frame, scan: &Scan, r: &mut BitReader, ri: usize, st: &mut AcScan) {
    walk_scan(frame, scan, r, ri, st)
});

/// What a scan does with each block.
pub(super) trait ScanKind {
    /// Decodes block (`row`, `col`) of the scan's `k`-th component.
    fn block(&mut self, r: &mut BitReader, comp: &mut Component, k: usize, row: usize, col: usize);
    /// Block (`row`, `col`) of the scan's `k`-th component is skipped
    /// because the data ran out.
    #[inline(always)]
    fn skip(&mut self, _comp: &mut Component, _k: usize, _row: usize, _col: usize) {}
    /// Resets predictions at a restart marker.
    fn reset(&mut self);
}

/// Walks the MCUs of a scan, handling restart markers, and stops decoding
/// (leaving the remaining blocks untouched) once the data runs out, as
/// libjpeg does.
#[inline(always)]
pub(super) fn walk_scan<K: ScanKind>(
    frame: &mut Frame,
    scan: &Scan,
    r: &mut BitReader,
    restart_interval: usize,
    kind: &mut K,
) {
    let mut insufficient = false;
    let mut mcu = 0usize;
    let mut before_mcu = |r: &mut BitReader, kind: &mut K, insufficient: &mut bool| {
        if restart_interval > 0 && mcu > 0 && mcu.is_multiple_of(restart_interval) {
            r.restart();
            kind.reset();
            if !r.marker_hit {
                *insufficient = false;
            }
        }
        mcu += 1;
        if r.consumed_padding() {
            *insufficient = true;
        }
    };
    if scan.comps.len() == 1 {
        let ci = scan.comps[0].ci;
        let (bx, by) = {
            let c = &frame.comps[ci];
            (c.dw.div_ceil(8), c.dh.div_ceil(8))
        };
        for row in 0..by {
            for col in 0..bx {
                before_mcu(r, kind, &mut insufficient);
                if insufficient {
                    kind.skip(&mut frame.comps[ci], 0, row, col);
                    continue;
                }
                kind.block(r, &mut frame.comps[ci], 0, row, col);
            }
        }
    } else {
        for my in 0..frame.mcuy {
            for mx in 0..frame.mcux {
                before_mcu(r, kind, &mut insufficient);
                if insufficient {
                    for (k, sc) in scan.comps.iter().enumerate() {
                        let c = &mut frame.comps[sc.ci];
                        let (h, v) = (c.h, c.v);
                        for y in 0..v {
                            for x in 0..h {
                                kind.skip(c, k, my * v + y, mx * h + x);
                            }
                        }
                    }
                    continue;
                }
                for (k, sc) in scan.comps.iter().enumerate() {
                    let c = &mut frame.comps[sc.ci];
                    let (h, v) = (c.h, c.v);
                    for y in 0..v {
                        for x in 0..h {
                            kind.block(r, c, k, my * v + y, mx * h + x);
                        }
                    }
                }
            }
        }
    }
}

/// Sequential (baseline) scans: decode, then transform straight into the
/// component plane.
pub(super) struct Sequential<'t> {
    pub(super) dc: Vec<&'t HuffTable>,
    pub(super) ac: Vec<&'t HuffTable>,
    /// Present when the CPU has AVX2 (use the intrinsics IDCT).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) avx2: Option<Avx2>,
    pub(super) pred: Vec<i32>,
    /// Per scan component: no earlier scan wrote its plane, so skipped
    /// blocks must be set to mid-grey here.
    pub(super) fill: Vec<bool>,
}

impl ScanKind for Sequential<'_> {
    #[inline(always)]
    fn block(&mut self, r: &mut BitReader, comp: &mut Component, k: usize, row: usize, col: usize) {
        if comp.skip {
            r.skip_block(self.dc[k], self.ac[k]);
            return;
        }
        let mut blk = [0i16; 64];
        let (diff, any_ac) = r.decode_block(self.dc[k], self.ac[k], &NATURAL, &mut blk);
        let pred = &mut self.pred[k];
        *pred = pred.wrapping_add(diff);
        blk[0] = *pred as i16;
        let q = comp.q.as_ref().unwrap_or(&[0; 64]);
        let n = comp.bs;
        if n != 8 {
            let stride = comp.bw * n;
            let at = row * n * stride + col * n;
            #[cfg(target_arch = "x86_64")]
            if let (true, 4, Some(_avx2)) = (any_ac, n, self.avx2) {
                // SAFETY: an `Avx2` token exists only when the CPU has AVX2,
                // the one requirement of `idct_4x4_avx2`.
                unsafe { idct::idct_4x4_avx2(&blk, q, &mut comp.plane, at, stride) };
                return;
            }
            #[cfg(target_arch = "x86_64")]
            if let (true, 2, Some(_avx2)) = (any_ac, n, self.avx2) {
                // SAFETY: an `Avx2` token exists only when the CPU has AVX2,
                // the one requirement of `idct_2x2_avx2`.
                unsafe { idct::idct_2x2_avx2(&blk, q, &mut comp.plane, at, stride) };
                return;
            }
            if any_ac && n > 1 {
                idct::idct_scaled(&blk, q, &mut comp.plane, at, stride, n);
            } else {
                idct::idct_dc_n(blk[0], q[0], &mut comp.plane, at, stride, n);
            }
            return;
        }
        let stride = comp.bw * 8;
        let at = row * 8 * stride + col * 8;
        if any_ac {
            #[cfg(target_arch = "x86_64")]
            if let Some(_avx2) = self.avx2 {
                // SAFETY: an `Avx2` token exists only when the CPU has AVX2,
                // the one requirement of `idct_ac_avx2`.
                unsafe { idct::idct_ac_avx2(&blk, q, &mut comp.plane, at, stride) };
                return;
            }
            idct::idct_ac(&blk, q, &mut comp.plane, at, stride);
        } else {
            idct::idct_dc(blk[0], q[0], &mut comp.plane, at, stride);
        }
    }

    #[inline(never)]
    fn skip(&mut self, comp: &mut Component, k: usize, row: usize, col: usize) {
        if self.fill[k] && !comp.skip {
            let n = comp.bs;
            let stride = comp.bw * n;
            idct::idct_dc_n(0, 0, &mut comp.plane, row * n * stride + col * n, stride, n);
        }
    }

    fn reset(&mut self) {
        self.pred.iter_mut().for_each(|p| *p = 0);
    }
}

#[inline]
pub(super) fn coef_block(comp: &mut Component, row: usize, col: usize) -> Option<&mut [i16]> {
    let b = row * comp.bw + col;
    comp.coefs.get_mut(b * 64..b * 64 + 64)
}

/// Progressive DC scans (first pass or refinement).
pub(super) struct DcScan<'t> {
    pub(super) dc: Vec<&'t HuffTable>,
    pub(super) pred: Vec<i32>,
    pub(super) ah: u32,
    pub(super) al: u32,
}

impl ScanKind for DcScan<'_> {
    #[inline(always)]
    fn block(&mut self, r: &mut BitReader, comp: &mut Component, k: usize, row: usize, col: usize) {
        if self.ah == 0 {
            let s = r.decode(self.dc[k]) as u32;
            let diff = r.receive_extend(s);
            let pred = &mut self.pred[k];
            *pred = pred.wrapping_add(diff);
            let v = pred.wrapping_shl(self.al) as i16;
            if let Some(b) = coef_block(comp, row, col) {
                b[0] = v;
            }
        } else if r.bit() {
            if let Some(b) = coef_block(comp, row, col) {
                b[0] |= 1i16.wrapping_shl(self.al);
            }
        }
    }

    fn reset(&mut self) {
        self.pred.iter_mut().for_each(|p| *p = 0);
    }
}

/// Progressive AC scans (one component; first pass or refinement).
pub(super) struct AcScan<'t> {
    pub(super) ac: &'t HuffTable,
    pub(super) ss: usize,
    pub(super) se: usize,
    pub(super) ah: u32,
    pub(super) al: u32,
    pub(super) eobrun: u32,
}

impl ScanKind for AcScan<'_> {
    #[inline(always)]
    fn block(
        &mut self,
        r: &mut BitReader,
        comp: &mut Component,
        _k: usize,
        row: usize,
        col: usize,
    ) {
        let mut dummy = [0i16; 64];
        let b: &mut [i16] = match coef_block(comp, row, col) {
            Some(b) => b,
            None => &mut dummy,
        };
        if self.ah == 0 {
            self.first(r, b);
        } else {
            self.refine(r, b);
        }
    }

    fn reset(&mut self) {
        self.eobrun = 0;
    }
}

impl AcScan<'_> {
    fn first(&mut self, r: &mut BitReader, b: &mut [i16]) {
        if self.eobrun > 0 {
            self.eobrun -= 1;
            return;
        }
        let mut k = self.ss;
        while k <= self.se {
            let rs = r.decode(self.ac);
            let (run, size) = ((rs >> 4) as u32, (rs & 15) as u32);
            if size != 0 {
                k += run as usize;
                let v = r.receive_extend(size).wrapping_shl(self.al);
                b[NATURAL[k]] = v as i16;
            } else if run == 15 {
                k += 15;
            } else {
                self.eobrun = (1u32 << run) - 1;
                if run > 0 {
                    self.eobrun += r.bits(run);
                }
                break;
            }
            k += 1;
        }
    }

    fn refine(&mut self, r: &mut BitReader, b: &mut [i16]) {
        let p1: i16 = 1i16.wrapping_shl(self.al);
        let m1: i16 = (-1i16).wrapping_shl(self.al);
        let mut k = self.ss;
        let refine_one = |r: &mut BitReader, c: &mut i16| {
            if r.bit() && (*c & p1) == 0 {
                *c = if *c >= 0 {
                    c.wrapping_add(p1)
                } else {
                    c.wrapping_add(m1)
                };
            }
        };
        if self.eobrun == 0 {
            while k <= self.se {
                let rs = r.decode(self.ac);
                let (mut run, size) = ((rs >> 4) as i32, (rs & 15) as u32);
                let mut s = 0i16;
                if size != 0 {
                    s = if r.bit() { p1 } else { m1 };
                } else if run != 15 {
                    self.eobrun = 1u32 << run;
                    if run > 0 {
                        self.eobrun += r.bits(run as u32);
                    }
                    break;
                }
                // Skip `run` zero coefficients, refining nonzero ones.
                while k <= self.se {
                    let c = &mut b[NATURAL[k]];
                    if *c != 0 {
                        refine_one(r, c);
                    } else {
                        if run == 0 {
                            break;
                        }
                        run -= 1;
                    }
                    k += 1;
                }
                if s != 0 {
                    b[NATURAL[k]] = s;
                }
                k += 1;
            }
        }
        if self.eobrun > 0 {
            while k <= self.se {
                let c = &mut b[NATURAL[k]];
                if *c != 0 {
                    refine_one(r, c);
                }
                k += 1;
            }
            self.eobrun -= 1;
        }
    }
}
