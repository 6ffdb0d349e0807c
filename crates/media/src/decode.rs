//! Format dispatch, limits, panic containment.

use crate::{exif_orientation, jpeg, sniff, DecodeOptions, Format, Layout, MediaError};
use image::{DynamicImage, ImageDecoder, ImageFormat};
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What the headers say about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// Container format.
    pub format: Format,
    /// Width in pixels, as stored.
    pub width: u32,
    /// Height in pixels, as stored.
    pub height: u32,
    /// EXIF orientation (1..=8) when the file carries one. Reported only:
    /// PDQ hashes the stored pixels.
    pub orientation: Option<u8>,
}

/// A decoded image ready for hashing.
///
/// Pixels are read row by row ([`Decoded::read_row`]), so a decoder can
/// keep its own compact form (a JPEG's component planes) and convert rows
/// on demand instead of materialising the whole RGB image.
pub struct Decoded {
    /// What the headers said.
    pub info: ImageInfo,
    /// Width of the decoded pixels (smaller than `info.width` after a `fast`
    /// decode).
    pub width: u32,
    /// Height of the decoded pixels.
    pub height: u32,
    /// Layout of each row.
    pub layout: Layout,
    /// True when the pixels come from a `fast` decode: reduced scale, or
    /// a colour JPEG's luma alone (then `layout` is grey).
    pub reduced: bool,
    pixels: Pixels,
}

enum Pixels {
    /// Row-major, no padding.
    Buffer(Vec<u8>),
    /// A JPEG's component planes; rows are upsampled and colour-converted
    /// on demand, exactly as a whole-image decode would.
    Jpeg(crate::ljt::Planes),
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("info", &self.info)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("layout", &self.layout)
            .field("reduced", &self.reduced)
            .finish_non_exhaustive()
    }
}

impl Decoded {
    fn from_buffer(
        info: ImageInfo,
        pixels: Vec<u8>,
        width: u32,
        height: u32,
        layout: Layout,
        reduced: bool,
    ) -> Self {
        Decoded {
            info,
            width,
            height,
            layout,
            reduced,
            pixels: Pixels::Buffer(pixels),
        }
    }

    /// Bytes per row.
    pub fn row_len(&self) -> usize {
        self.width as usize * if self.layout == Layout::Grey8 { 1 } else { 3 }
    }

    /// Writes row `y` (`row_len()` bytes) into `out`.
    pub fn read_row(&mut self, y: usize, out: &mut [u8]) {
        let n = self.row_len();
        match &mut self.pixels {
            Pixels::Buffer(b) => out.copy_from_slice(&b[y * n..(y + 1) * n]),
            Pixels::Jpeg(p) => p.row(y, &mut out[..n]),
        }
    }

    /// Writes row `y` as planar R, G and B rows (each `width` bytes) and
    /// returns true, when the decoder can do so without interleaving (our
    /// JPEG decoder); otherwise returns false and writes nothing.
    pub fn read_planar_row(&mut self, y: usize, rgb: [&mut [u8]; 3]) -> bool {
        match &mut self.pixels {
            Pixels::Jpeg(p) => p.planar_row(y, rgb),
            Pixels::Buffer(_) => false,
        }
    }

    /// All pixels, row-major.
    pub fn into_pixels(mut self) -> Vec<u8> {
        match self.pixels {
            Pixels::Buffer(b) => b,
            Pixels::Jpeg(_) => {
                let n = self.row_len();
                let mut out = vec![0u8; n * self.height as usize];
                for y in 0..self.height as usize {
                    let mut row = vec![0u8; n];
                    self.read_row(y, &mut row);
                    out[y * n..(y + 1) * n].copy_from_slice(&row);
                }
                out
            }
        }
    }
}

fn image_format(f: Format) -> ImageFormat {
    match f {
        Format::Jpeg => ImageFormat::Jpeg,
        Format::Png => ImageFormat::Png,
        Format::Gif => ImageFormat::Gif,
        Format::WebP => ImageFormat::WebP,
        Format::Bmp => ImageFormat::Bmp,
        Format::Tiff => ImageFormat::Tiff,
    }
}

fn image_error(e: image::ImageError) -> MediaError {
    use image::ImageError as E;
    match e {
        E::Limits(l) => MediaError::Unsupported(format!("over the decoder memory limit ({l})")),
        E::Unsupported(u) => MediaError::Unsupported(u.to_string()),
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Truncated("file ends before the image data".into())
        }
        other => {
            let text = other.to_string();
            let lower = text.to_ascii_lowercase();
            if lower.contains("eof") || lower.contains("end of") || lower.contains("truncat") {
                MediaError::Truncated(text)
            } else {
                MediaError::Corrupt(text)
            }
        }
    }
}

/// Runs `f`, turning a panic inside a decoder into [`MediaError::DecoderCrashed`].
fn contained<T>(f: impl FnOnce() -> Result<T, MediaError>) -> Result<T, MediaError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "internal error".into());
            Err(MediaError::DecoderCrashed(why))
        }
    }
}

/// A decoder for a non-JPEG image whose declared size has been checked
/// against our limits (with our own error message) before the decoder's own
/// allocation limits are applied.
fn image_decoder<'a>(
    bytes: &'a [u8],
    format: Format,
    opts: &DecodeOptions,
) -> Result<Box<dyn ImageDecoder + 'a>, MediaError> {
    if let Some((w, h)) = declared_size(bytes, format) {
        opts.limits.check(w, h)?;
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format(format));
    reader.no_limits();
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let (width, height) = decoder.dimensions();
    opts.limits.check(width, height)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(opts.limits.max_side);
    limits.max_image_height = Some(opts.limits.max_side);
    limits.max_alloc = Some(opts.limits.max_alloc);
    decoder.set_limits(limits).map_err(image_error)?;
    Ok(Box::new(decoder))
}

/// The size a file's fixed header declares, read without any decoder, so
/// that absurd sizes are refused before a decoder reads further.
fn declared_size(b: &[u8], format: Format) -> Option<(u32, u32)> {
    let be32 = |o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let le32 = |o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let le16 = |o: usize| {
        b.get(o..o + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]) as u32)
    };
    let le24 = |o: usize| {
        b.get(o..o + 3)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], 0]))
    };
    match format {
        Format::Png if b.get(12..16) == Some(b"IHDR") => Some((be32(16)?, be32(20)?)),
        Format::Gif => Some((le16(6)?, le16(8)?)),
        Format::Bmp => match le32(14)? {
            12 => Some((le16(18)?, le16(20)?)),
            _ => {
                Some((le32(18)? as i32).unsigned_abs()).zip(Some((le32(22)? as i32).unsigned_abs()))
            }
        },
        Format::WebP if b.get(12..16) == Some(b"VP8X") => Some((le24(24)? + 1, le24(27)? + 1)),
        _ => None,
    }
}

/// Reads an image's format, size and orientation from its headers without
/// decoding pixels. Errors when the content is not a supported image or its
/// declared size is over the limits.
pub fn probe(bytes: &[u8], opts: &DecodeOptions) -> Result<ImageInfo, MediaError> {
    contained(|| {
        let format = sniff(bytes).ok_or(MediaError::NotAnImage)?;
        if format == Format::Jpeg {
            let (width, height) = jpeg::dimensions(bytes, opts)?;
            return Ok(ImageInfo {
                format,
                width,
                height,
                orientation: jpeg::orientation(bytes),
            });
        }
        let mut dec = image_decoder(bytes, format, opts)?;
        Ok(header_info(dec.as_mut(), format))
    })
}

/// Size and EXIF orientation from a (non-JPEG) decoder's headers.
fn header_info(dec: &mut dyn ImageDecoder, format: Format) -> ImageInfo {
    let (width, height) = dec.dimensions();
    let orientation = dec
        .exif_metadata()
        .ok()
        .flatten()
        .and_then(|b| exif_orientation(&b));
    ImageInfo {
        format,
        width,
        height,
        orientation,
    }
}

/// Decodes an image to 8-bit RGB or grey pixels.
///
/// The declared size is checked against `opts.limits` before decoding.
/// Alpha is dropped; palette, 1-bit, 16-bit and CMYK images become their
/// true 8-bit picture. Never panics: a decoder panic becomes an error.
pub fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<Decoded, MediaError> {
    contained(|| {
        let format = sniff(bytes).ok_or(MediaError::NotAnImage)?;
        if format == Format::Jpeg {
            let orientation = jpeg::orientation(bytes);
            let (source_width, source_height, px) = jpeg::decode(bytes, opts)?;
            let info = ImageInfo {
                format,
                width: source_width,
                height: source_height,
                orientation,
            };
            return Ok(match px {
                jpeg::JpegOutput::Planes(planes) => {
                    let layout = if planes.is_grey() {
                        Layout::Grey8
                    } else {
                        Layout::Rgb8
                    };
                    Decoded {
                        info,
                        width: planes.width(),
                        height: planes.height(),
                        layout,
                        reduced: planes.width() != source_width
                            || planes.height() != source_height
                            || planes.luma_only(),
                        pixels: Pixels::Jpeg(planes),
                    }
                }
                jpeg::JpegOutput::Pixels(px) => {
                    let reduced = px.width != source_width || px.height != source_height;
                    Decoded::from_buffer(info, px.pixels, px.width, px.height, px.layout, reduced)
                }
            });
        }
        let mut dec = image_decoder(bytes, format, opts)?;
        let info = header_info(dec.as_mut(), format);
        let (width, height) = (info.width, info.height);
        let img = DynamicImage::from_decoder(dec).map_err(image_error)?;
        let (pixels, layout) = to_8bit(img);
        Ok(Decoded::from_buffer(
            info, pixels, width, height, layout, false,
        ))
    })
}

/// 8-bit grey or RGB, alpha dropped; 16-bit samples keep their high byte (as
/// PIL does for RGB).
fn to_8bit(img: DynamicImage) -> (Vec<u8>, Layout) {
    match img {
        DynamicImage::ImageLuma8(b) => (b.into_raw(), Layout::Grey8),
        DynamicImage::ImageLumaA8(b) => (
            b.into_raw().chunks_exact(2).map(|c| c[0]).collect(),
            Layout::Grey8,
        ),
        DynamicImage::ImageRgb8(b) => (b.into_raw(), Layout::Rgb8),
        DynamicImage::ImageRgba8(b) => (
            b.into_raw()
                .chunks_exact(4)
                .flat_map(|c| [c[0], c[1], c[2]])
                .collect(),
            Layout::Rgb8,
        ),
        DynamicImage::ImageLuma16(b) => (
            b.into_raw().iter().map(|v| (v >> 8) as u8).collect(),
            Layout::Grey8,
        ),
        DynamicImage::ImageLumaA16(b) => (
            b.into_raw()
                .chunks_exact(2)
                .map(|c| (c[0] >> 8) as u8)
                .collect(),
            Layout::Grey8,
        ),
        DynamicImage::ImageRgb16(b) => (
            b.into_raw().iter().map(|v| (v >> 8) as u8).collect(),
            Layout::Rgb8,
        ),
        DynamicImage::ImageRgba16(b) => (
            b.into_raw()
                .chunks_exact(4)
                .flat_map(|c| [(c[0] >> 8) as u8, (c[1] >> 8) as u8, (c[2] >> 8) as u8])
                .collect(),
            Layout::Rgb8,
        ),
        other => (other.to_rgb8().into_raw(), Layout::Rgb8),
    }
}
