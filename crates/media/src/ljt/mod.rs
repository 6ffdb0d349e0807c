//! A JPEG decoder whose output matches libjpeg-turbo's default
//! decompression (as Pillow runs it) sample for sample: the accurate
//! integer IDCT, "fancy" triangle-filter chroma upsampling, and the 16-bit
//! fixed-point YCbCr → RGB tables.
//!
//! Supported: baseline/extended sequential (SOF0, SOF1) and progressive
//! (SOF2) Huffman-coded JPEGs of 8-bit precision with one (grey) or three
//! (YCbCr, or RGB per an Adobe marker or component ids) components, any
//! integral sampling factors from 1 to 4, restart intervals. Arithmetic
//! coding, 12-bit, lossless, hierarchical and 4-component (CMYK/YCCK)
//! files are refused as [`MediaError::Unsupported`].
//!
//! The decoder never panics on malformed input, checks the declared size
//! against the caller's limits before allocating, and reports a file that
//! ends before its end-of-image marker as [`MediaError::Truncated`].
//!
//! Not replicated: libjpeg's block smoothing of progressive images whose
//! scans stop before every coefficient is complete (only files with an
//! unfinished progression are affected), and its recovery heuristics for
//! corrupt restart markers.

// Wired up by the JPEG front end; unused until then.
#![allow(dead_code)]

mod color;
mod huff;
mod idct;

use crate::MediaError;
use color::{Method, Plane, Scratch};
use huff::{BitReader, HuffTable};

/// Natural (row-major) position of the k-th coefficient in zig-zag order,
/// with 16 extra entries so that a corrupt run length past the end of a
/// block lands on the last coefficient, as in libjpeg.
const NATURAL: [usize; 80] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63, //
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
];

/// Most scans accepted. Real encoders write about ten; thousands of tiny
/// scans, each walking every block of the image, are a way to make a
/// decoder spin.
const MAX_SCANS: usize = 1000;

/// Decodes a JPEG to 8-bit RGB (three components) or grey (one).
///
/// Returns `(pixels, width, height, grey)`. The declared size is checked
/// against `max_side` and `max_pixels` before anything is allocated.
pub(crate) fn decode(
    bytes: &[u8],
    max_side: u32,
    max_pixels: u64,
) -> Result<(Vec<u8>, u32, u32, bool), MediaError> {
    let mut planes = decode_planes(bytes, max_side, max_pixels)?;
    let n = planes.row_len();
    let mut out = vec![0u8; n * planes.height];
    planes_rows(&mut planes, &mut out);
    Ok((out, planes.width(), planes.height(), planes.is_grey()))
}

/// Decodes a JPEG into its component planes; output rows (as [`decode`]
/// gives them) are then produced one at a time by [`Planes::row`].
///
/// The declared size is checked against `max_side` and `max_pixels` before
/// anything is allocated.
pub(crate) fn decode_planes(
    bytes: &[u8],
    max_side: u32,
    max_pixels: u64,
) -> Result<Planes, MediaError> {
    Decoder::new(bytes, max_side, max_pixels).run()
}

/// [`decode_planes`] at reduced scale, as libjpeg's `scale_denom`: each
/// 8×8 block is inverse-transformed straight to (8/`denom`)² samples
/// (libjpeg's reduced transforms), so the planes, and the rows
/// [`Planes::row`] gives, are `ceil(width / denom)` × `ceil(height / denom)`.
/// `denom` is 1, 2, 4 or 8 (1 is [`decode_planes`]); others are refused as
/// [`MediaError::Unsupported`]. Not sample-exact with libjpeg at reduced
/// scale (its upsampling at reduced size differs in places).
pub(crate) fn decode_planes_scaled(
    bytes: &[u8],
    max_side: u32,
    max_pixels: u64,
    denom: u32,
) -> Result<Planes, MediaError> {
    decode_planes_with(bytes, max_side, max_pixels, denom, false)
}

/// [`decode_planes_scaled`], optionally luma only: with `luma_only`, a
/// YCbCr image whose luma is not subsampled keeps only its Y plane and is
/// returned as a greyscale image of the same size ([`Planes::luma_only`]
/// says so). The chroma blocks are still entropy-decoded (they are
/// interleaved with the luma in the data) but never transformed, upsampled
/// or colour-converted. Y is the luma that PDQ computes from RGB (the same
/// 0.299/0.587/0.114 weights) up to the rounding and clamping of the RGB
/// samples, so this serves triage (`--fast`), not exact hashes.
pub(crate) fn decode_planes_with(
    bytes: &[u8],
    max_side: u32,
    max_pixels: u64,
    denom: u32,
    luma_only: bool,
) -> Result<Planes, MediaError> {
    if !matches!(denom, 1 | 2 | 4 | 8) {
        return Err(unsupported("JPEG scale other than 1/1, 1/2, 1/4, 1/8"));
    }
    let mut d = Decoder::new(bytes, max_side, max_pixels);
    d.block = 8 / denom as usize;
    d.luma_only = luma_only;
    d.run()
}

/// How output rows are made from the planes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OutKind {
    Grey,
    Ycc,
    Rgb,
}

/// One component plane of a decoded image.
struct OutPlane {
    data: Vec<u8>,
    stride: usize,
    dw: usize,
    dh: usize,
    method: Method,
}

/// A decoded JPEG held as component planes; rows are converted on demand.
///
/// The plane buffers come from a per-thread pool and go back to it on drop,
/// so decoding image after image on one thread reuses the same memory.
pub(crate) struct Planes {
    width: usize,
    height: usize,
    kind: OutKind,
    comps: Vec<OutPlane>,
    /// Upsampled chroma rows, `width` samples each.
    rows: [Vec<u8>; 3],
    scratch: Scratch,
    avx2: bool,
    /// Only the luma of a colour image was decoded (see
    /// [`decode_planes_with`]).
    luma_only: bool,
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
    fn with_sources<T>(&mut self, y: usize, f: impl FnOnce([&[u8]; 3], OutKind, bool) -> T) -> T {
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

/// Per-thread pool of plane and coefficient buffers, so that decoding one
/// image after another reuses memory instead of asking the kernel for fresh
/// zeroed pages each time. Buffers handed out hold stale samples from an
/// earlier image: the decoder writes every element it later reads.
mod pool {
    use std::cell::RefCell;

    /// Buffers kept per kind.
    const KEEP: usize = 4;
    /// Larger buffers are not kept.
    const MAX_KEEP_BYTES: usize = 128 << 20;

    #[derive(Default)]
    struct Pool {
        u8s: Vec<Vec<u8>>,
        i16s: Vec<Vec<i16>>,
    }

    thread_local! {
        static POOL: RefCell<Pool> = RefCell::new(Pool::default());
    }

    /// Picks the smallest kept buffer that holds `len`, else the largest.
    fn pick<T>(list: &mut Vec<Vec<T>>, len: usize) -> Option<Vec<T>> {
        let i = list
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .or_else(|| list.iter().enumerate().max_by_key(|(_, v)| v.capacity()))?
            .0;
        Some(list.swap_remove(i))
    }

    fn take<T: Copy + Default>(
        get: impl FnOnce(&mut Pool) -> Option<Vec<T>>,
        len: usize,
    ) -> Vec<T> {
        let v = POOL
            .try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| get(&mut p)))
            .ok()
            .flatten();
        match v {
            Some(mut v) if v.capacity() >= len => {
                if v.len() >= len {
                    v.truncate(len);
                } else {
                    v.resize(len, T::default());
                }
                v
            }
            _ => vec![T::default(); len],
        }
    }

    fn give<T>(v: Vec<T>, put: impl FnOnce(&mut Pool, Vec<T>)) {
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes == 0 || bytes > MAX_KEEP_BYTES {
            return;
        }
        let _ = POOL.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                put(&mut p, v);
            }
        });
    }

    /// A buffer of `len` samples with unspecified contents.
    pub(super) fn take_u8(len: usize) -> Vec<u8> {
        take(|p| pick(&mut p.u8s, len), len)
    }

    /// A buffer of `len` coefficients with unspecified contents.
    pub(super) fn take_i16(len: usize) -> Vec<i16> {
        take(|p| pick(&mut p.i16s, len), len)
    }

    pub(super) fn give_u8(v: Vec<u8>) {
        give(v, |p, v| {
            p.u8s.push(v);
            if p.u8s.len() > KEEP {
                let i = (0..p.u8s.len())
                    .min_by_key(|&i| p.u8s[i].capacity())
                    .unwrap_or(0);
                p.u8s.swap_remove(i);
            }
        })
    }

    pub(super) fn give_i16(v: Vec<i16>) {
        give(v, |p, v| {
            p.i16s.push(v);
            if p.i16s.len() > KEEP {
                let i = (0..p.i16s.len())
                    .min_by_key(|&i| p.i16s[i].capacity())
                    .unwrap_or(0);
                p.i16s.swap_remove(i);
            }
        })
    }
}

fn corrupt(why: &str) -> MediaError {
    MediaError::Corrupt(why.to_string())
}

fn truncated(why: &str) -> MediaError {
    MediaError::Truncated(why.to_string())
}

fn unsupported(why: &str) -> MediaError {
    MediaError::Unsupported(why.to_string())
}

struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// Blocks across and down the allocated plane (whole MCUs).
    bw: usize,
    bh: usize,
    /// Samples across and down that carry image data.
    dw: usize,
    dh: usize,
    /// Dequantisation table latched at the component's first scan, natural
    /// order, as libjpeg's 16-bit multipliers.
    q: Option<[i32; 64]>,
    /// Samples across and down one block's output (8, or fewer when
    /// decoding at reduced scale).
    bs: usize,
    /// Samples, `bw * bs` a row (sequential: filled scan by scan).
    plane: Vec<u8>,
    /// Coefficients, natural order, block after block (progressive only).
    coefs: Vec<i16>,
    /// A sequential scan has written every block of `plane` that output
    /// reads (decoded, or mid-grey where the data ran out).
    covered: bool,
    /// Not output (chroma of a luma-only decode): blocks are
    /// entropy-decoded to stay in step with the data, nothing more.
    skip: bool,
}

impl Drop for Component {
    fn drop(&mut self) {
        pool::give_u8(std::mem::take(&mut self.plane));
        pool::give_i16(std::mem::take(&mut self.coefs));
    }
}

struct Frame {
    width: usize,
    height: usize,
    progressive: bool,
    comps: Vec<Component>,
    hmax: usize,
    vmax: usize,
    mcux: usize,
    mcuy: usize,
}

struct ScanComp {
    /// Index into `Frame::comps`.
    ci: usize,
    dc: usize,
    ac: usize,
}

struct Scan {
    comps: Vec<ScanComp>,
    ss: usize,
    se: usize,
    ah: u32,
    al: u32,
}

struct Decoder<'a> {
    bytes: &'a [u8],
    max_side: u32,
    max_pixels: u64,
    qt: [Option<[u16; 64]>; 4],
    dc_tables: [Option<HuffTable>; 4],
    ac_tables: [Option<HuffTable>; 4],
    restart_interval: usize,
    jfif: bool,
    adobe: Option<u8>,
    frame: Option<Frame>,
    scans: usize,
    /// Output samples per block side: 8, or 4, 2, 1 at reduced scale.
    block: usize,
    /// Luma only was asked for (see [`decode_planes_with`]).
    luma_only: bool,
    /// Luma only is being done: decided at the first scan, once the
    /// colour-space hints that come before it are known.
    dropped_chroma: bool,
}

/// Finds the next marker at or after `pos`, skipping junk and fill bytes.
/// Returns the marker code and the offset just past it.
fn next_marker(bytes: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    while pos + 1 < bytes.len() {
        if bytes[pos] == 0xFF {
            let m = bytes[pos + 1];
            if m != 0 && m != 0xFF {
                return Some((m, pos + 2));
            }
        }
        pos += 1;
    }
    None
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]) as usize)
}

impl<'a> Decoder<'a> {
    fn new(bytes: &'a [u8], max_side: u32, max_pixels: u64) -> Self {
        Decoder {
            bytes,
            max_side,
            max_pixels,
            qt: [None; 4],
            dc_tables: [None, None, None, None],
            ac_tables: [None, None, None, None],
            restart_interval: 0,
            jfif: false,
            adobe: None,
            frame: None,
            scans: 0,
            block: 8,
            luma_only: false,
            dropped_chroma: false,
        }
    }

    fn run(mut self) -> Result<Planes, MediaError> {
        let bytes = self.bytes;
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return Err(MediaError::NotAnImage);
        }
        let mut pos = 2;
        loop {
            let (m, after) = next_marker(bytes, pos)
                .ok_or_else(|| truncated("the file ends before the JPEG end-of-image marker"))?;
            pos = after;
            match m {
                0xD9 => break,
                0xD8 => return Err(corrupt("second start-of-image marker")),
                0xD0..=0xD7 | 0x01 => continue,
                _ => {}
            }
            let len = be16(bytes, pos).ok_or_else(|| truncated("the file ends inside a marker"))?;
            if len < 2 {
                return Err(corrupt("bad marker length"));
            }
            let seg = bytes
                .get(pos + 2..pos + len)
                .ok_or_else(|| truncated("the file ends inside a marker segment"))?;
            pos += len;
            match m {
                0xC0..=0xC2 => self.frame_header(seg, m == 0xC2)?,
                0xC3 | 0xC5..=0xC7 | 0xCB | 0xCD..=0xCF => {
                    return Err(unsupported("lossless or hierarchical JPEG"))
                }
                0xC9 | 0xCA => return Err(unsupported("arithmetic-coded JPEG")),
                0xC4 => self.huffman_tables(seg)?,
                0xCC => return Err(unsupported("arithmetic-coded JPEG")),
                0xDB => self.quant_tables(seg)?,
                0xDD => {
                    self.restart_interval =
                        be16(seg, 0).ok_or_else(|| corrupt("bad restart interval"))?;
                }
                0xDA => {
                    if self.scans >= MAX_SCANS {
                        return Err(unsupported("JPEG with more than 1000 scans"));
                    }
                    if self.scans == 0 && self.luma_only {
                        self.drop_chroma();
                    }
                    let scan = self.scan_header(seg)?;
                    pos = self.decode_scan(&scan, pos)?;
                    self.scans += 1;
                }
                // Colour-space hints count only before the first scan, where
                // libjpeg reads them.
                0xE0 if self.scans == 0 && seg.len() >= 14 && seg.starts_with(b"JFIF\0") => {
                    self.jfif = true;
                }
                0xEE if self.scans == 0 && seg.len() >= 12 && seg.starts_with(b"Adobe") => {
                    self.adobe = Some(seg[11]);
                }
                _ => {}
            }
        }
        if self.scans == 0 {
            return Err(corrupt("no image data"));
        }
        self.output()
    }

    fn frame_header(&mut self, seg: &[u8], progressive: bool) -> Result<(), MediaError> {
        if self.frame.is_some() {
            return Err(corrupt("more than one frame header"));
        }
        if seg.len() < 6 {
            return Err(corrupt("short frame header"));
        }
        if seg[0] != 8 {
            return Err(unsupported("JPEG sample precision other than 8 bits"));
        }
        let height = u16::from_be_bytes([seg[1], seg[2]]) as usize;
        let width = u16::from_be_bytes([seg[3], seg[4]]) as usize;
        let n = seg[5] as usize;
        if height == 0 {
            return Err(unsupported("JPEG height defined by a DNL marker"));
        }
        if width == 0 {
            return Err(corrupt("image width is zero"));
        }
        match n {
            1 | 3 => {}
            4 => return Err(unsupported("4-component (CMYK/YCCK) JPEG")),
            _ => return Err(unsupported("JPEG with an unusual number of components")),
        }
        if seg.len() < 6 + 3 * n {
            return Err(corrupt("short frame header"));
        }
        let (w32, h32) = (width as u32, height as u32);
        if w32 > self.max_side || h32 > self.max_side || w32 as u64 * h32 as u64 > self.max_pixels {
            return Err(MediaError::TooLarge {
                width: w32,
                height: h32,
                max_pixels: self.max_pixels,
                max_side: self.max_side,
            });
        }
        let mut comps = Vec::with_capacity(n);
        for i in 0..n {
            let c = &seg[6 + 3 * i..9 + 3 * i];
            let (h, v, tq) = ((c[1] >> 4) as usize, (c[1] & 15) as usize, c[2] as usize);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                return Err(corrupt("bad sampling factors"));
            }
            if tq > 3 {
                return Err(corrupt("bad quantisation table number"));
            }
            if comps.iter().any(|x: &Component| x.id == c[0]) {
                return Err(corrupt("duplicate component id"));
            }
            comps.push(Component {
                id: c[0],
                h,
                v,
                tq,
                bw: 0,
                bh: 0,
                dw: 0,
                dh: 0,
                bs: self.block,
                q: None,
                plane: Vec::new(),
                coefs: Vec::new(),
                covered: false,
                skip: false,
            });
        }
        let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
        let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
        if comps.iter().any(|c| hmax % c.h != 0 || vmax % c.v != 0) {
            return Err(unsupported("fractional chroma sampling"));
        }
        let mcux = width.div_ceil(8 * hmax);
        let mcuy = height.div_ceil(8 * vmax);
        for c in &mut comps {
            c.dw = (width * c.h).div_ceil(hmax);
            c.dh = (height * c.v).div_ceil(vmax);
            c.bw = mcux * c.h;
            c.bh = mcuy * c.v;
            if progressive {
                c.coefs = pool::take_i16(c.bw * c.bh * 64);
                c.coefs.fill(0);
            } else {
                // Written block by block by the scans; any part that output
                // reads and no scan wrote is set to mid-grey (the decode of
                // libjpeg's zeroed coefficients) then.
                c.plane = pool::take_u8(c.bw * c.bh * c.bs * c.bs);
            }
        }
        self.frame = Some(Frame {
            width,
            height,
            progressive,
            comps,
            hmax,
            vmax,
            mcux,
            mcuy,
        });
        Ok(())
    }

    fn huffman_tables(&mut self, mut seg: &[u8]) -> Result<(), MediaError> {
        while !seg.is_empty() {
            if seg.len() < 17 {
                return Err(corrupt("short Huffman table"));
            }
            let (tc, th) = (seg[0] >> 4, (seg[0] & 15) as usize);
            if tc > 1 || th > 3 {
                return Err(corrupt("bad Huffman table number"));
            }
            let mut counts = [0u8; 16];
            counts.copy_from_slice(&seg[1..17]);
            let total: usize = counts.iter().map(|&c| c as usize).sum();
            let values = seg
                .get(17..17 + total)
                .ok_or_else(|| corrupt("short Huffman table"))?;
            let t = HuffTable::new(&counts, values)?;
            if tc == 0 {
                self.dc_tables[th] = Some(t);
            } else {
                self.ac_tables[th] = Some(t);
            }
            seg = &seg[17 + total..];
        }
        Ok(())
    }

    fn quant_tables(&mut self, mut seg: &[u8]) -> Result<(), MediaError> {
        while !seg.is_empty() {
            let (pq, tq) = (seg[0] >> 4, (seg[0] & 15) as usize);
            if pq > 1 || tq > 3 {
                return Err(corrupt("bad quantisation table"));
            }
            let size = if pq == 0 { 64 } else { 128 };
            let data = seg
                .get(1..1 + size)
                .ok_or_else(|| corrupt("short quantisation table"))?;
            let mut t = [0u16; 64];
            for k in 0..64 {
                t[NATURAL[k]] = if pq == 0 {
                    data[k] as u16
                } else {
                    u16::from_be_bytes([data[2 * k], data[2 * k + 1]])
                };
            }
            self.qt[tq] = Some(t);
            seg = &seg[1 + size..];
        }
        Ok(())
    }

    fn scan_header(&mut self, seg: &[u8]) -> Result<Scan, MediaError> {
        let frame = self
            .frame
            .as_mut()
            .ok_or_else(|| corrupt("scan before frame header"))?;
        let n = *seg.first().ok_or_else(|| corrupt("short scan header"))? as usize;
        if n == 0 || n > 4 || seg.len() < 4 + 2 * n {
            return Err(corrupt("bad scan header"));
        }
        let mut comps: Vec<ScanComp> = Vec::with_capacity(n);
        for i in 0..n {
            let (id, tables) = (seg[1 + 2 * i], seg[2 + 2 * i]);
            let ci = frame
                .comps
                .iter()
                .position(|c| c.id == id)
                .ok_or_else(|| corrupt("scan names an unknown component"))?;
            if comps.iter().any(|c| c.ci == ci) {
                return Err(corrupt("scan names a component twice"));
            }
            let (dc, ac) = ((tables >> 4) as usize, (tables & 15) as usize);
            if dc > 3 || ac > 3 {
                return Err(corrupt("bad Huffman table number"));
            }
            comps.push(ScanComp { ci, dc, ac });
        }
        let p = 1 + 2 * n;
        let (ss, se, ah, al) = (
            seg[p] as usize,
            seg[p + 1] as usize,
            (seg[p + 2] >> 4) as u32,
            (seg[p + 2] & 15) as u32,
        );
        let scan = Scan {
            comps,
            ss,
            se,
            ah,
            al,
        };
        let blocks_in_mcu: usize = scan
            .comps
            .iter()
            .map(|c| frame.comps[c.ci].h * frame.comps[c.ci].v)
            .sum();
        if scan.comps.len() > 1 && blocks_in_mcu > 10 {
            return Err(corrupt("too many blocks in an MCU"));
        }
        let (need_dc, need_ac) = if frame.progressive {
            if ss == 0 {
                if se != 0 {
                    return Err(corrupt("bad progression"));
                }
            } else if se < ss || se > 63 || scan.comps.len() != 1 {
                return Err(corrupt("bad progression"));
            }
            if ah > 13 || al > 13 || (ah != 0 && al + 1 != ah) {
                return Err(corrupt("bad progression"));
            }
            (ss == 0 && ah == 0, ss != 0)
        } else {
            (true, true)
        };
        for c in &scan.comps {
            if need_dc {
                match &self.dc_tables[c.dc] {
                    None => return Err(corrupt("missing Huffman table")),
                    Some(t) if t.max_symbol > 15 => return Err(corrupt("bad Huffman table")),
                    Some(_) => {}
                }
            }
            if need_ac && self.ac_tables[c.ac].is_none() {
                return Err(corrupt("missing Huffman table"));
            }
            // Latch the quantisation table at the component's first scan.
            let comp = &mut frame.comps[c.ci];
            if comp.q.is_none() {
                let t = self.qt[comp.tq].ok_or_else(|| corrupt("missing quantisation table"))?;
                let mut q = [0i32; 64];
                for (d, &s) in q.iter_mut().zip(&t) {
                    // libjpeg-turbo keeps the multipliers as 16-bit shorts.
                    *d = s as i16 as i32;
                }
                comp.q = Some(q);
            }
        }
        Ok(scan)
    }

    /// Decodes one scan starting at `pos`; returns where marker parsing
    /// resumes.
    fn decode_scan(&mut self, scan: &Scan, pos: usize) -> Result<usize, MediaError> {
        let frame = self
            .frame
            .as_mut()
            .ok_or_else(|| corrupt("scan before frame header"))?;
        let mut reader = BitReader::new(self.bytes, pos);
        let ri = self.restart_interval;
        let empty = HuffTable::empty();
        let dc: Vec<&HuffTable> = scan
            .comps
            .iter()
            .map(|c| self.dc_tables[c.dc].as_ref().unwrap_or(&empty))
            .collect();
        let ac: Vec<&HuffTable> = scan
            .comps
            .iter()
            .map(|c| self.ac_tables[c.ac].as_ref().unwrap_or(&empty))
            .collect();
        if !frame.progressive {
            let mut st = Sequential {
                dc,
                ac,
                avx2: color::have_avx2(),
                pred: vec![0; scan.comps.len()],
                fill: scan
                    .comps
                    .iter()
                    .map(|c| !frame.comps[c.ci].covered)
                    .collect(),
            };
            walk_sequential(frame, scan, &mut reader, ri, &mut st);
            for c in &scan.comps {
                frame.comps[c.ci].covered = true;
            }
        } else if scan.ss == 0 {
            let mut st = DcScan {
                dc,
                pred: vec![0; scan.comps.len()],
                ah: scan.ah,
                al: scan.al,
            };
            walk_dc(frame, scan, &mut reader, ri, &mut st);
        } else {
            let mut st = AcScan {
                ac: ac[0],
                ss: scan.ss,
                se: scan.se,
                ah: scan.ah,
                al: scan.al,
                eobrun: 0,
            };
            walk_ac(frame, scan, &mut reader, ri, &mut st);
        }
        if reader.eof {
            return Err(truncated("the file ends inside the image data"));
        }
        Ok(reader.discard())
    }

    fn output(mut self) -> Result<Planes, MediaError> {
        let frame = self
            .frame
            .as_mut()
            .ok_or_else(|| corrupt("no frame header"))?;
        for c in &mut frame.comps {
            if c.skip {
                continue;
            }
            if frame.progressive {
                let mut plane = pool::take_u8(c.bw * c.bh * c.bs * c.bs);
                transform_plane(c, &mut plane);
                pool::give_u8(std::mem::replace(&mut c.plane, plane));
                pool::give_i16(std::mem::take(&mut c.coefs));
            } else if !c.covered {
                c.plane.fill(128);
            }
        }
        let bs = self.block;
        // Sizes at the output scale, as libjpeg rounds them.
        let (w, h) = (
            (frame.width * bs).div_ceil(8),
            (frame.height * bs).div_ceil(8),
        );
        let kind = if self.dropped_chroma {
            frame.comps.truncate(1);
            OutKind::Grey
        } else {
            out_kind(frame, self.jfif, self.adobe)
        };
        let (hmax, vmax) = (frame.hmax, frame.vmax);
        let comps = frame
            .comps
            .iter_mut()
            .map(|c| {
                let dw = (frame.width * c.h * bs).div_ceil(hmax * 8);
                let dh = (frame.height * c.v * bs).div_ceil(vmax * 8);
                OutPlane {
                    data: std::mem::take(&mut c.plane),
                    stride: c.bw * bs,
                    dw,
                    dh,
                    method: if kind == OutKind::Grey {
                        Method::Full
                    } else {
                        Method::choose(hmax / c.h, vmax / c.v, dw)
                    },
                }
            })
            .collect();
        let row = |on: bool| if on { vec![0u8; w] } else { Vec::new() };
        let three = kind != OutKind::Grey;
        Ok(Planes {
            width: w,
            height: h,
            kind,
            comps,
            rows: [row(three), row(three), row(three)],
            scratch: Scratch::default(),
            avx2: color::have_avx2(),
            luma_only: self.dropped_chroma,
        })
    }

    /// Starts a luma-only decode when it was asked for and the image is
    /// YCbCr with full-resolution luma: the chroma components are marked
    /// to be skipped and their planes returned to the pool.
    fn drop_chroma(&mut self) {
        let Some(frame) = self.frame.as_mut() else {
            return;
        };
        let ycc = frame.comps.len() == 3 && out_kind(frame, self.jfif, self.adobe) == OutKind::Ycc;
        let (hmax, vmax) = (frame.hmax, frame.vmax);
        if !ycc || frame.comps[0].h != hmax || frame.comps[0].v != vmax {
            return;
        }
        for c in &mut frame.comps[1..] {
            c.skip = true;
            pool::give_u8(std::mem::take(&mut c.plane));
        }
        self.dropped_chroma = true;
    }
}

/// How a frame's components become output rows, as libjpeg guesses the
/// colour space: one component is grey; three are YCbCr unless an Adobe
/// marker says RGB (transform 0) or, with neither JFIF nor Adobe marker,
/// the component ids spell `R`, `G`, `B`.
fn out_kind(frame: &Frame, jfif: bool, adobe: Option<u8>) -> OutKind {
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

/// Runs `$body` compiled for AVX2 and BMI2 when the CPU has them (the hot
/// loops are plain integer code that LLVM vectorises; AVX2 gives it 8 lanes
/// of 32-bit multiplies, BMI2 one-cycle variable shifts for the bit
/// reader), else for the baseline target.
macro_rules! with_avx2 {
    ($name:ident, fn($($arg:ident: $ty:ty),*) $body:block) => {
        fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn inner($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,bmi1,bmi2")]
                unsafe fn avx2($($arg: $ty),*) {
                    inner($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("bmi1")
                    && std::arch::is_x86_feature_detected!("bmi2")
                {
                    // SAFETY: the CPU supports AVX2, BMI1 and BMI2, checked
                    // just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            inner($($arg),*)
        }
    };
}

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
trait ScanKind {
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
fn walk_scan<K: ScanKind>(
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
struct Sequential<'t> {
    dc: Vec<&'t HuffTable>,
    ac: Vec<&'t HuffTable>,
    /// The CPU has AVX2 (use the intrinsics IDCT).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
    pred: Vec<i32>,
    /// Per scan component: no earlier scan wrote its plane, so skipped
    /// blocks must be set to mid-grey here.
    fill: Vec<bool>,
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
            if any_ac && n == 4 && self.avx2 {
                // SAFETY: `avx2` is set only when the CPU supports AVX2.
                unsafe { idct::idct_4x4_avx2(&blk, q, &mut comp.plane, at, stride) };
                return;
            }
            #[cfg(target_arch = "x86_64")]
            if any_ac && n == 2 && self.avx2 {
                // SAFETY: as above.
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
            if self.avx2 {
                // SAFETY: `avx2` is set only when the CPU supports AVX2.
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
fn coef_block(comp: &mut Component, row: usize, col: usize) -> Option<&mut [i16]> {
    let b = row * comp.bw + col;
    comp.coefs.get_mut(b * 64..b * 64 + 64)
}

/// Progressive DC scans (first pass or refinement).
struct DcScan<'t> {
    dc: Vec<&'t HuffTable>,
    pred: Vec<i32>,
    ah: u32,
    al: u32,
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
struct AcScan<'t> {
    ac: &'t HuffTable,
    ss: usize,
    se: usize,
    ah: u32,
    al: u32,
    eobrun: u32,
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

#[cfg(test)]
mod tests;
