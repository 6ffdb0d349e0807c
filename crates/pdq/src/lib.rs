//! # nigehbaan-pdq
//!
//! A pure-Rust implementation of Meta's PDQ perceptual image hash that is
//! bit-identical to the reference C++ (facebook/ThreatExchange `pdq/cpp`) on
//! identical pixels: the hash, the integer quality score and the eight
//! dihedral (rotation/flip) hashes.
//!
//! This crate does no I/O and decodes nothing: it takes pixels.
//!
//! Two pipelines exist in the wild and differ by up to ~10 bits on large
//! images, so every result says which one made it:
//!
//! * [`Pipeline::Full`] hashes the full-resolution pixels. This is what
//!   Hasher-Matcher-Actioner, python-threatexchange, the `pdqhash` Python
//!   package and most shared hash lists use. It is the default.
//! * [`Pipeline::ReferenceCli`] first squashes any image with a side over 512
//!   pixels to exactly 512×512 by nearest neighbour (aspect ratio ignored), as
//!   the reference C++ command-line tool does.
//!
//! ```
//! use nigehbaan_pdq::{Hasher, ImageView, Pipeline};
//! let (w, h) = (64, 48);
//! let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
//! let mut hasher = Hasher::new();
//! let out = hasher.hash(&ImageView::rgb(&rgb, w, h).unwrap(), Pipeline::Full);
//! assert!(out.hashable);
//! println!("{} quality {}", out.hash, out.quality);
//! ```

#![warn(missing_docs)]
// Index loops mirror the reference arithmetic one to one.
#![allow(clippy::needless_range_loop)]

mod approx;
pub mod core;
pub mod cpu;
mod hash;
pub mod hex;
mod stream;

pub use hash::{Hash256, ParseHashError};

use std::fmt;
use std::str::FromStr;

/// The quality under which the reference recommends neither indexing nor
/// querying a hash.
pub const RECOMMENDED_MIN_QUALITY: u8 = 50;

/// The Hamming distance at or under which two PDQ hashes are conventionally
/// called a match.
pub const DEFAULT_MATCH_THRESHOLD: u32 = 31;

/// The names of the 8 dihedral variants (rotations and flips), in the order
/// [`Hasher`] computes the dihedral hashes.
pub const DIHEDRAL_NAMES: [&str; 8] = [
    "orig",
    "rot90",
    "rot180",
    "rot270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
];

/// Which of the two reference pipelines to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Pipeline {
    /// Full-resolution pixels (HMA, python-threatexchange, `pdqhash`).
    #[default]
    Full,
    /// The C++ command-line tool: nearest-neighbour squash to 512×512 first
    /// when a side exceeds 512 px.
    ReferenceCli,
}

impl Pipeline {
    /// The name used on the command line and in every output record.
    pub fn name(self) -> &'static str {
        match self {
            Pipeline::Full => "full",
            Pipeline::ReferenceCli => "reference-cli",
        }
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Pipeline {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(Pipeline::Full),
            "reference-cli" | "cli" | "cli512" => Ok(Pipeline::ReferenceCli),
            other => Err(format!(
                "unknown PDQ pipeline '{other}': use 'full' or 'reference-cli'"
            )),
        }
    }
}

/// How the bytes of an [`ImageView`] are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Interleaved 8-bit R, G, B.
    Rgb8,
    /// One 8-bit grey channel. Hashed as if replicated to R=G=B, which is
    /// what the full (HMA) pipeline does with greyscale images.
    Grey8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Rgb8 => 3,
            PixelFormat::Grey8 => 1,
        }
    }
}

/// Borrowed pixels, row-major, no padding between rows.
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a> {
    pixels: &'a [u8],
    width: usize,
    height: usize,
    format: PixelFormat,
}

/// The pixel buffer's length does not match its stated size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferSizeError {
    /// Bytes the width, height and format call for.
    pub expected: usize,
    /// Bytes given.
    pub actual: usize,
}

impl fmt::Display for BufferSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pixel buffer has {} bytes, the image size needs {}",
            self.actual, self.expected
        )
    }
}

impl std::error::Error for BufferSizeError {}

impl<'a> ImageView<'a> {
    /// A view of pixels in the given format; fails if the length is wrong.
    pub fn new(
        pixels: &'a [u8],
        width: usize,
        height: usize,
        format: PixelFormat,
    ) -> Result<Self, BufferSizeError> {
        let expected = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(format.channels()))
            .unwrap_or(usize::MAX);
        if expected != pixels.len() {
            return Err(BufferSizeError {
                expected,
                actual: pixels.len(),
            });
        }
        Ok(ImageView {
            pixels,
            width,
            height,
            format,
        })
    }

    /// A view of interleaved RGB8 pixels.
    pub fn rgb(pixels: &'a [u8], width: usize, height: usize) -> Result<Self, BufferSizeError> {
        Self::new(pixels, width, height, PixelFormat::Rgb8)
    }

    /// A view of 8-bit grey pixels.
    pub fn grey(pixels: &'a [u8], width: usize, height: usize) -> Result<Self, BufferSizeError> {
        Self::new(pixels, width, height, PixelFormat::Grey8)
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixel format.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The raw bytes.
    pub fn pixels(&self) -> &'a [u8] {
        self.pixels
    }
}

/// A PDQ hash with its quality and the pipeline that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqOutput {
    /// The hash (all zero when not hashable).
    pub hash: Hash256,
    /// The reference's integer quality, 0..=100.
    pub quality: u8,
    /// Which pipeline computed it.
    pub pipeline: Pipeline,
    /// False when a side is under 5 px: the reference gives the zero hash
    /// and quality 0, which must never be matched.
    pub hashable: bool,
    /// The 8 dihedral hashes (orig, rot90, rot180, rot270, flipx, flipy,
    /// flipplus1, flipminus1) when asked for.
    pub dihedral: Option<[Hash256; 8]>,
}

/// A reusable PDQ hasher. Holds scratch buffers so that hashing many images
/// does not reallocate; make one per thread.
#[derive(Default)]
pub struct Hasher {
    stream: stream::StreamScratch,
    approx: approx::ApproxScratch,
    /// Set only inside `hash_reduced_rows`.
    /// `(full_height, full_width)` of the original while hashing a
    /// reduced-scale or approximate decode of it.
    reduced_from: Option<(usize, usize)>,
}

impl Hasher {
    /// A new hasher.
    pub fn new() -> Hasher {
        Hasher::default()
    }

    /// Hashes an image with the given pipeline.
    pub fn hash(&mut self, image: &ImageView<'_>, pipeline: Pipeline) -> PdqOutput {
        self.hash_impl(image, pipeline, false)
    }

    /// Hashes an image and also computes the 8 dihedral hashes.
    pub fn hash_with_dihedral(&mut self, image: &ImageView<'_>, pipeline: Pipeline) -> PdqOutput {
        self.hash_impl(image, pipeline, true)
    }

    fn hash_impl(
        &mut self,
        image: &ImageView<'_>,
        pipeline: Pipeline,
        dihedral: bool,
    ) -> PdqOutput {
        let mut rows = *image;
        self.hash_pixel_rows(&mut rows, pipeline, dihedral)
    }

    /// Approximates the full-pipeline hash of a `full_width × full_height`
    /// image from a reduced-scale decode of it (a JPEG decoded at 1/2, 1/4
    /// or 1/8 DCT scale, each sample standing for a block of the original),
    /// or from an approximation of its pixels at full size (a JPEG's luma
    /// alone): the original's blur-and-decimation weights, summed over each
    /// block, are applied to the decoded samples as direct weighted sums.
    /// Exact, up to f32 rounding, when the original is flat inside each
    /// block; otherwise within a few bits. Not bit-exact; for triage
    /// (`--fast`).
    pub fn hash_reduced_rows<P: PixelRows>(
        &mut self,
        src: &mut P,
        full_width: usize,
        full_height: usize,
        dihedral: bool,
    ) -> PdqOutput {
        let (w, h) = (src.width(), src.height());
        if full_width < core::MIN_HASHABLE_DIM
            || full_height < core::MIN_HASHABLE_DIM
            || w == 0
            || h == 0
        {
            return self.hash_pixel_rows(src, Pipeline::Full, dihedral);
        }
        self.reduced_from = Some((full_height, full_width));
        let out = self.hash_pixel_rows(src, Pipeline::Full, dihedral);
        self.reduced_from = None;
        out
    }

    /// Hashes pixels pulled row by row from `src` (so a decoder need not
    /// materialise the whole image), with the 8 dihedral hashes when
    /// `dihedral` is set. Rows are requested in increasing order.
    pub fn hash_pixel_rows<P: PixelRows>(
        &mut self,
        src: &mut P,
        pipeline: Pipeline,
        dihedral: bool,
    ) -> PdqOutput {
        let (w, h) = (src.width(), src.height());
        let squash = pipeline == Pipeline::ReferenceCli
            && (w > core::CLI_SQUASH_SIDE || h > core::CLI_SQUASH_SIDE);
        let (rows, cols) = if squash {
            (core::CLI_SQUASH_SIDE, core::CLI_SQUASH_SIDE)
        } else {
            (h, w)
        };
        let xs: Vec<usize> = if squash {
            (0..cols).map(|x| (x * w) / cols).collect()
        } else {
            Vec::new()
        };
        let format = src.format();
        let mut luma = PixelLuma {
            src,
            xs,
            rows,
            format,
            buf: vec![0u8; w * format.channels()],
            last: None,
            planes: std::array::from_fn(|_| vec![0u8; w]),
            approx: self.reduced_from.is_some(),
        };
        let mut out = self.hash_rows(rows, cols, &mut luma, dihedral);
        out.pipeline = pipeline;
        out
    }

    /// Hashes a float luma buffer (height × width, row-major) with the
    /// reference core, as `pdqHash256FromFloatLuma` (and, with `dihedral`,
    /// `pdqDihedralHash256esFromFloatLuma`) does.
    pub fn hash_luma(
        &mut self,
        luma: &[f32],
        width: usize,
        height: usize,
        dihedral: bool,
    ) -> PdqOutput {
        assert_eq!(luma.len(), width * height, "luma buffer size");
        self.hash_rows(height, width, &mut LumaRows { luma, cols: width }, dihedral)
    }

    fn hash_rows<R: stream::Rows>(
        &mut self,
        rows: usize,
        cols: usize,
        src: &mut R,
        dihedral: bool,
    ) -> PdqOutput {
        if rows < core::MIN_HASHABLE_DIM || cols < core::MIN_HASHABLE_DIM {
            return PdqOutput {
                hash: Hash256::ZERO,
                quality: 0,
                pipeline: Pipeline::Full,
                hashable: false,
                dihedral: dihedral.then_some([Hash256::ZERO; 8]),
            };
        }
        // The reference's single-hash entry point skips the blur for input
        // that is already 64×64; its dihedral entry point does not.
        let (hash, quality, dih) = if rows == 64 && cols == 64 && self.reduced_from.is_none() {
            let mut raw = [[0f32; 64]; 64];
            for (r, row) in raw.iter_mut().enumerate() {
                src.fill(r, row);
            }
            let q = core::quality(&raw);
            let h = core::bits(&core::dct64_to_16(&raw));
            let dih = dihedral.then(|| {
                let flat: Vec<f32> = raw.iter().flatten().copied().collect();
                let blurred = stream::blur_decimate(
                    64,
                    64,
                    &mut LumaRows {
                        luma: &flat,
                        cols: 64,
                    },
                    &mut self.stream,
                );
                dihedral_hashes(&core::dct64_to_16(&blurred))
            });
            (h, q, dih)
        } else {
            // An approximate decode takes the cheaper approximate blur, with
            // the original's weights mapped onto the decoded samples; exact
            // pipelines, the exact one.
            let blurred = match self.reduced_from {
                Some(full) => {
                    approx::blur_decimate_approx((rows, cols), full, src, &mut self.approx)
                }
                None => stream::blur_decimate_geom(
                    rows,
                    cols,
                    &stream::Geometry::exact(rows, cols),
                    src,
                    &mut self.stream,
                ),
            };
            let q = core::quality(&blurred);
            let dct = core::dct64_to_16(&blurred);
            (core::bits(&dct), q, dihedral.then(|| dihedral_hashes(&dct)))
        };
        PdqOutput {
            hash,
            quality,
            pipeline: Pipeline::Full,
            hashable: true,
            dihedral: dih,
        }
    }
}

fn dihedral_hashes(dct: &[[f32; 16]; 16]) -> [Hash256; 8] {
    let blocks = core::dihedral_blocks(dct);
    let mut out = [Hash256::ZERO; 8];
    for (o, b) in out.iter_mut().zip(blocks.iter()) {
        *o = core::bits(b);
    }
    out
}

/// Rows of a float luma buffer.
#[derive(Clone)]
pub(crate) struct LumaRows<'a> {
    pub(crate) luma: &'a [f32],
    pub(crate) cols: usize,
}

impl stream::Rows for LumaRows<'_> {
    #[inline(always)]
    fn fill(&mut self, r: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.luma[r * self.cols..(r + 1) * self.cols]);
    }
}

/// A source of pixel rows for [`Hasher::hash_pixel_rows`]: lets a decoder
/// hand rows over one at a time instead of materialising the whole image.
pub trait PixelRows {
    /// Width in pixels.
    fn width(&self) -> usize;
    /// Height in pixels.
    fn height(&self) -> usize;
    /// Layout of each row.
    fn format(&self) -> PixelFormat;
    /// Writes row `y` (`width × channels` bytes) into `out`. Rows are asked
    /// for in increasing order, possibly more than once.
    fn read_row(&mut self, y: usize, out: &mut [u8]);

    /// Optional fast path for RGB sources: writes row `y` as three planar
    /// rows (R, G, B, each `width` bytes) — the same pixels as
    /// [`PixelRows::read_row`], not interleaved — and returns true. The
    /// default returns false and the hasher falls back to `read_row`.
    fn read_planar_row(&mut self, y: usize, rgb: [&mut [u8]; 3]) -> bool {
        let _ = (y, rgb);
        false
    }
}

impl PixelRows for ImageView<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    fn format(&self) -> PixelFormat {
        self.format
    }
    #[inline]
    fn read_row(&mut self, y: usize, out: &mut [u8]) {
        let n = self.width * self.format.channels();
        out.copy_from_slice(&self.pixels[y * n..(y + 1) * n]);
    }
}

/// Luma rows from pixel rows: the rows themselves or, with `xs` non-empty,
/// the nearest-neighbour squash (source index `floor(x * W / 512)`).
struct PixelLuma<'a, P: PixelRows> {
    src: &'a mut P,
    xs: Vec<usize>,
    rows: usize,
    format: PixelFormat,
    buf: Vec<u8>,
    last: Option<usize>,
    planes: [Vec<u8>; 3],
    /// An approximate hash (see [`Hasher::hash_reduced_rows`]): grey
    /// samples convert straight to f32 instead of through the reference's
    /// grey → RGB → luma arithmetic (which may differ in the last bit).
    approx: bool,
}

impl<P: PixelRows> stream::Rows for PixelLuma<'_, P> {
    #[inline(always)]
    fn fill(&mut self, r: usize, out: &mut [f32]) {
        let sy = if self.xs.is_empty() {
            r
        } else {
            (r * self.src.height()) / self.rows
        };
        if self.xs.is_empty() && self.format == PixelFormat::Rgb8 {
            let [pr, pg, pb] = &mut self.planes;
            if self.src.read_planar_row(sy, [pr, pg, pb]) {
                core::luma_from_planar(pr, pg, pb, out);
                return;
            }
        }
        if self.last != Some(sy) {
            self.src.read_row(sy, &mut self.buf);
            self.last = Some(sy);
        }
        let px = &self.buf;
        let t = core::grey_luma_table();
        match (self.format, self.xs.is_empty()) {
            (PixelFormat::Rgb8, true) => core::luma_from_rgb(px, out),
            (PixelFormat::Grey8, true) if self.approx => {
                for (o, g) in out.iter_mut().zip(px) {
                    *o = *g as f32;
                }
            }
            (PixelFormat::Grey8, true) => {
                for (o, g) in out.iter_mut().zip(px) {
                    *o = t[*g as usize];
                }
            }
            (PixelFormat::Rgb8, false) => {
                for (o, &sx) in out.iter_mut().zip(&self.xs) {
                    let mut v = [0f32; 1];
                    core::luma_from_rgb(&px[sx * 3..sx * 3 + 3], &mut v);
                    *o = v[0];
                }
            }
            (PixelFormat::Grey8, false) => {
                for (o, &sx) in out.iter_mut().zip(&self.xs) {
                    *o = t[px[sx] as usize];
                }
            }
        }
    }
}
