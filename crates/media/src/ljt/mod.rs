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
use nigehbaan_pdq::cpu::Avx2;

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

/// Runs `$body` compiled for AVX2 and BMI2 when the CPU has them (the hot
/// loops are plain integer code that LLVM vectorises; AVX2 gives it 8 lanes
/// of 32-bit multiplies, BMI2 one-cycle variable shifts for the bit
/// reader), else for the baseline target.
macro_rules! with_avx2 {
    ($name:ident, fn($($arg:ident: $ty:ty),*) $body:block) => {
        pub(super) fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn inner($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                /// `inner` compiled for AVX2, BMI1 and BMI2.
                ///
                /// # Safety
                /// The CPU must support AVX2, BMI1 and BMI2.
                #[target_feature(enable = "avx2,bmi1,bmi2")]
                unsafe fn avx2($($arg: $ty),*) {
                    inner($($arg),*)
                }
                if let Some(_avx2) = Avx2::detect() {
                    // SAFETY: an `Avx2` token exists only when the CPU has
                    // AVX2, BMI1 and BMI2, the requirements of `avx2`.
                    return unsafe { avx2($($arg),*) };
                }
            }
            inner($($arg),*)
        }
    };
}

mod decoder;
mod planes;
mod pool;
mod scans;

use decoder::Decoder;
pub(crate) use planes::Planes;
use planes::{out_kind, planes_rows, OutKind, OutPlane};
use scans::{transform_plane, walk_ac, walk_dc, walk_sequential, AcScan, DcScan, Sequential};

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

#[cfg(test)]
mod tests;
