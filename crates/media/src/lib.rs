//! # nigehbaan-media
//!
//! Turns image file bytes into pixels for hashing, safely:
//!
//! * the format is detected from the content ([`sniff`]), never the name;
//! * the declared size is checked against [`Limits`] *before* any pixel
//!   buffer is allocated, so a 200-byte file claiming 100000×100000 pixels is
//!   refused at once;
//! * a decoder panic is caught and becomes that file's [`MediaError`];
//! * truncated and corrupt files get an error that names the reason.
//!
//! Supported: JPEG (baseline, progressive, grey, CMYK/YCCK), PNG (8/16-bit,
//! palette, grey, alpha), GIF (first frame), WebP (lossy, lossless), BMP and
//! TIFF. Alpha is dropped, as the PDQ reference pipelines do; palette, 1-bit
//! and CMYK images are converted to their true RGB picture. EXIF orientation
//! is reported, never applied (no PDQ reference applies it).

#![warn(missing_docs)]

mod decode;
#[cfg(feature = "libjpeg-turbo")]
mod differential;
mod exif;
mod jpeg;
mod ljt;
#[cfg(feature = "libjpeg-turbo")]
mod turbo;

pub use decode::{decode, probe, Decoded, ImageInfo};
#[cfg(feature = "libjpeg-turbo")]
pub use differential::{compare_jpeg_decoders, Agreement};
pub use exif::exif_orientation;

use std::fmt;

/// An image container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JPEG / JFIF / EXIF.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (first frame is hashed).
    Gif,
    /// WebP, lossy or lossless.
    WebP,
    /// Windows bitmap.
    Bmp,
    /// TIFF.
    Tiff,
}

impl Format {
    /// Lower-case short name, as written in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::WebP => "webp",
            Format::Bmp => "bmp",
            Format::Tiff => "tiff",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Detects an image format from the first bytes of a file.
///
/// Returns `None` for anything that is not one of the supported formats.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Format::WebP)
    } else if is_bmp(bytes) {
        Some(Format::Bmp)
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some(Format::Tiff)
    } else {
        None
    }
}

/// True when the first 32 bytes of a file (or fewer, for a short file) look
/// like a supported image. Used to decide whether to read a file whole.
pub fn sniff_prefix(head: &[u8]) -> bool {
    sniff(head).is_some()
}

fn is_bmp(b: &[u8]) -> bool {
    // "BM", reserved words zero, and a known DIB header size.
    if b.len() < 18 || !b.starts_with(b"BM") || b[6..10] != [0, 0, 0, 0] {
        return false;
    }
    let dib = u32::from_le_bytes([b[14], b[15], b[16], b[17]]);
    matches!(dib, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124)
}

/// Size limits checked against an image's declared dimensions before any
/// pixel buffer is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest allowed width or height.
    pub max_side: u32,
    /// Largest allowed width × height.
    pub max_pixels: u64,
    /// Largest allowed decoder allocation in bytes.
    pub max_alloc: u64,
}

impl Default for Limits {
    /// 65 535 px a side, 256 megapixels, 2 GiB of decoder memory: above
    /// every camera and phone sensor sold today.
    fn default() -> Self {
        Limits {
            max_side: 65_535,
            max_pixels: 256_000_000,
            max_alloc: 2 << 30,
        }
    }
}

impl Limits {
    /// Checks declared dimensions against the limits.
    pub fn check(&self, width: u32, height: u32) -> Result<(), MediaError> {
        let pixels = width as u64 * height as u64;
        if width == 0 || height == 0 {
            return Err(MediaError::Corrupt(format!(
                "image declares a size of {width}×{height}"
            )));
        }
        if width > self.max_side || height > self.max_side || pixels > self.max_pixels {
            return Err(MediaError::TooLarge {
                width,
                height,
                max_pixels: self.max_pixels,
                max_side: self.max_side,
            });
        }
        Ok(())
    }
}

/// Options for [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Size limits.
    pub limits: Limits,
    /// Triage mode: decode colour JPEGs for their luma alone (as grey) and
    /// large ones at a reduced DCT scale (1/2, 1/4 or 1/8), keeping the
    /// short side at least 512 px where the image allows. Such decodes are
    /// marked [`Decoded::reduced`](crate::Decoded::reduced).
    pub fast: bool,
}

/// Pixel layout of decoded output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Interleaved 8-bit RGB.
    Rgb8,
    /// 8-bit grey.
    Grey8,
}

/// Why an image could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaError {
    /// The content is not a supported image format.
    NotAnImage,
    /// A supported container using a feature we do not decode.
    Unsupported(String),
    /// The declared size exceeds the limits.
    TooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The pixel limit in force.
        max_pixels: u64,
        /// The side limit in force.
        max_side: u32,
    },
    /// The file ends before the image data does.
    Truncated(String),
    /// The data is malformed.
    Corrupt(String),
    /// The decoder failed internally (a caught panic); the file is treated
    /// as corrupt.
    DecoderCrashed(String),
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaError::NotAnImage => f.write_str("not a supported image format"),
            MediaError::Unsupported(why) => write!(f, "unsupported image: {why}"),
            MediaError::TooLarge {
                width,
                height,
                max_pixels,
                max_side,
            } => write!(
                f,
                "image declares {width}×{height} pixels, over the limit of {max_pixels} pixels \
                 or {max_side} px a side"
            ),
            MediaError::Truncated(why) => write!(f, "truncated image: {why}"),
            MediaError::Corrupt(why) => write!(f, "corrupt image: {why}"),
            MediaError::DecoderCrashed(why) => {
                write!(f, "corrupt image: the decoder failed ({why})")
            }
        }
    }
}

impl std::error::Error for MediaError {}
