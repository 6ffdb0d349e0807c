//! Decoded component planes and the rows made from them on demand.

use super::*;

/// How output rows are made from the planes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OutKind {
    Grey,
    Ycc,
    Rgb,
}

/// One component plane of a decoded image.
pub(super) struct OutPlane {
    pub(super) data: Vec<u8>,
    pub(super) stride: usize,
    pub(super) dw: usize,
    pub(super) dh: usize,
    pub(super) method: Method,
}

/// A decoded JPEG held as component planes; rows are converted on demand.
///
/// The plane buffers come from a per-thread pool and go back to it on drop,
/// so decoding image after image on one thread reuses the same memory.
pub(crate) struct Planes {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) kind: OutKind,
    pub(super) comps: Vec<OutPlane>,
    /// Upsampled chroma rows, `width` samples each.
    pub(super) rows: [Vec<u8>; 3],
    pub(super) scratch: Scratch,
    /// Present when the CPU runs the AVX2 kernels.
    pub(super) avx2: Option<Avx2>,
    /// Only the luma of a colour image was decoded (see
    /// [`decode_planes_with`]).
    pub(super) luma_only: bool,
}

impl Planes {
    /// True when only the luma of a colour image was decoded, so that the
    /// grey rows stand for the picture's luma rather than its pixels.
    pub(crate) fn luma_only(&self) -> bool {
        self.luma_only
    }

    pub(crate) fn width(&self) -> u32 {
        self.width as u32
    }

    pub(crate) fn height(&self) -> u32 {
        self.height as u32
    }

    pub(crate) fn is_grey(&self) -> bool {
        self.kind == OutKind::Grey
    }

    /// Bytes in one output row: `3 * width`, or `width` when grey.
    pub(crate) fn row_len(&self) -> usize {
        if self.is_grey() {
            self.width
        } else {
            3 * self.width
        }
    }

    /// Writes output row `y` (interleaved RGB, `3 * width` bytes; or
    /// `width` bytes when grey) to the start of `out`, byte-identical to row
    /// `y` of [`decode`]'s output. Rows may be requested in any order.
    ///
    /// Panics if `y >= height` or `out` is shorter than [`Self::row_len`].
    pub(crate) fn row(&mut self, y: usize, out: &mut [u8]) {
        assert!(y < self.height, "row {y} of {}", self.height);
        let n = self.row_len();
        planes_row(self, y, &mut out[..n]);
    }

    /// Writes output row `y` as planar R, G and B rows (the same bytes as
    /// [`Self::row`], not interleaved), each at least `width` long. Returns
    /// false, writing nothing, for a greyscale image.
    pub(crate) fn planar_row(&mut self, y: usize, rgb: [&mut [u8]; 3]) -> bool {
        if self.kind == OutKind::Grey {
            return false;
        }
        assert!(y < self.height, "row {y} of {}", self.height);
        let w = self.width;
        let [r, g, b] = rgb;
        planes_planar_row(self, y, [&mut r[..w], &mut g[..w], &mut b[..w]]);
        true
    }

    #[inline(always)]
    fn row_inner(&mut self, y: usize, out: &mut [u8]) {
        let w = self.width;
        if self.kind == OutKind::Grey {
            let p = &self.comps[0];
            out.copy_from_slice(&p.data[y * p.stride..y * p.stride + w]);
            return;
        }
        self.with_sources(y, |[c0, c1, c2], kind, avx2| {
            if kind == OutKind::Rgb {
                color::interleave_row(c0, c1, c2, out);
            } else {
                color::convert_row_dispatch(c0, c1, c2, out, avx2);
            }
        });
    }

    #[inline(always)]
    fn planar_inner(&mut self, y: usize, rgb: [&mut [u8]; 3]) {
        self.with_sources(y, |[c0, c1, c2], kind, avx2| {
            let [r, g, b] = rgb;
            if kind == OutKind::Rgb {
                r.copy_from_slice(c0);
                g.copy_from_slice(c1);
                b.copy_from_slice(c2);
            } else {
                color::convert_row_planar_dispatch(c0, c1, c2, [r, g, b], avx2);
            }
        });
    }

    /// Upsamples the colour components of row `y` as needed and hands the
    /// three full-width component rows to `f`.
    #[inline(always)]
    fn with_sources<T>(
        &mut self,
        y: usize,
        f: impl FnOnce([&[u8]; 3], OutKind, Option<Avx2>) -> T,
    ) -> T {
        let w = self.width;
        let Planes {
            comps,
            rows,
            scratch,
            avx2,
            kind,
            ..
        } = self;
        for (row, p) in rows.iter_mut().zip(comps.iter()) {
            if p.method != Method::Full {
                let view = Plane {
                    data: &p.data,
                    stride: p.stride,
                    dw: p.dw,
                    dh: p.dh,
                };
                color::upsample_row(&view, p.method, y, &mut row[..w], scratch, *avx2);
            }
        }
        let src = |i: usize| -> &[u8] {
            let p = &comps[i];
            if p.method == Method::Full {
                let y = y.min(p.dh - 1);
                &p.data[y * p.stride..y * p.stride + w]
            } else {
                &rows[i][..w]
            }
        };
        f([src(0), src(1), src(2)], *kind, *avx2)
    }
}

impl Drop for Planes {
    fn drop(&mut self) {
        for p in &mut self.comps {
            pool::give_u8(std::mem::take(&mut p.data));
        }
    }
}

/// How a frame's components become output rows, as libjpeg guesses the
/// colour space: one component is grey; three are YCbCr unless an Adobe
/// marker says RGB (transform 0) or, with neither JFIF nor Adobe marker,
/// the component ids spell `R`, `G`, `B`.
pub(super) fn out_kind(frame: &Frame, jfif: bool, adobe: Option<u8>) -> OutKind {
    if frame.comps.len() == 1 {
        OutKind::Grey
    } else if jfif {
        OutKind::Ycc
    } else if let Some(t) = adobe {
        if t == 0 {
            OutKind::Rgb
        } else {
            OutKind::Ycc
        }
    } else if frame.comps.iter().map(|c| c.id).eq([82, 71, 66]) {
        OutKind::Rgb
    } else {
        OutKind::Ycc
    }
}

with_avx2!(planes_row, fn(p: &mut Planes, y: usize, out: &mut [u8]) {
    p.row_inner(y, out)
});

with_avx2!(planes_planar_row, fn(p: &mut Planes, y: usize, rgb: [&mut [u8]; 3]) {
    p.planar_inner(y, rgb)
});
with_avx2!(planes_rows, fn(p: &mut Planes, out: &mut [u8]) {
    let n = p.row_len();
    for (y, o) in out.chunks_exact_mut(n).enumerate() {
        p.row_inner(y, o);
    }
});
