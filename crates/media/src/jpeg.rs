//! JPEG: our libjpeg-turbo-exact decoder ([`crate::ljt`]) for full decodes
//! and reduced DCT-scale decodes (`--fast`), jpeg-decoder for the files ours
//! declines (CMYK/YCCK, arithmetic coding, 12-bit).

use crate::{exif_orientation, DecodeOptions, Layout, MediaError};

/// Pixels of a decoded JPEG.
pub(crate) struct JpegPixels {
    pub pixels: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
}

/// Walks the marker segments before the image data, calling `visit` with
/// each segment's marker, offset and payload, until `visit` returns a value
/// or the first start-of-scan (whose offset is passed with an empty payload).
/// Bounds-checked: malformed headers end the walk.
fn walk_segments<T>(
    bytes: &[u8],
    mut visit: impl FnMut(u8, usize, &[u8]) -> Option<T>,
) -> Option<T> {
    let mut i = 2usize;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        match marker {
            0xFF => i += 1,
            0xDA => return visit(marker, i, &[]),
            0xD9 => return None,
            0xD0..=0xD7 | 0x01 => i += 2,
            _ => {
                let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
                if len < 2 {
                    return None;
                }
                let end = (i + 2 + len).min(bytes.len());
                if let Some(found) = visit(marker, i, &bytes[i + 4..end]) {
                    return Some(found);
                }
                i += 2 + len;
            }
        }
    }
    None
}

/// The EXIF orientation of a JPEG, read from its first `Exif` APP1 segment.
pub(crate) fn orientation(bytes: &[u8]) -> Option<u8> {
    walk_segments(bytes, |marker, _, payload| {
        (marker == 0xE1 && payload.starts_with(b"Exif\0\0")).then(|| exif_orientation(payload))
    })
    .flatten()
}

fn corrupt(e: impl std::fmt::Display) -> MediaError {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("eof")
        || lower.contains("end of")
        || lower.contains("exhausted")
        || lower.contains("no more bytes")
        || lower.contains("truncat")
    {
        MediaError::Truncated(text)
    } else {
        MediaError::Corrupt(text)
    }
}

/// Header dimensions, without decoding pixels.
pub(crate) fn dimensions(bytes: &[u8], opts: &DecodeOptions) -> Result<(u32, u32), MediaError> {
    let mut dec = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    dec.read_info().map_err(corrupt)?;
    let info = dec
        .info()
        .ok_or_else(|| MediaError::Corrupt("no frame header".into()))?;
    let (w, h) = (info.width as u32, info.height as u32);
    opts.limits.check(w, h)?;
    Ok((w, h))
}

/// Offset of the first start-of-scan marker, found by walking the marker
/// segments (so an EXIF thumbnail's markers are skipped).
fn first_sos(bytes: &[u8]) -> Option<usize> {
    walk_segments(bytes, |marker, at, _| (marker == 0xDA).then_some(at))
}

/// A complete JPEG has an end-of-image marker after its image data (inside
/// entropy-coded data 0xFF is always stuffed, so 0xFFD9 there is the real
/// end). Decoders pad a truncated file with grey; we refuse it instead, as
/// PIL does.
pub(crate) fn check_complete(bytes: &[u8]) -> Result<(), MediaError> {
    let sos = first_sos(bytes).ok_or_else(|| {
        MediaError::Corrupt("no image data (start-of-scan marker missing)".into())
    })?;
    // Searched from the end: the marker is normally the last two bytes.
    if bytes[sos..].windows(2).rev().any(|w| w == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(MediaError::Truncated(
            "the file ends before the JPEG end-of-image marker".into(),
        ))
    }
}

/// A decoded JPEG: our decoder's planes (rows converted on demand), or a
/// whole pixel buffer from the other decoders.
pub(crate) enum JpegOutput {
    Planes(crate::ljt::Planes),
    Pixels(JpegPixels),
}

/// Decodes a JPEG; returns the stored size and the pixels.
pub(crate) fn decode(
    bytes: &[u8],
    opts: &DecodeOptions,
) -> Result<(u32, u32, JpegOutput), MediaError> {
    let (w, h) = dimensions(bytes, opts)?;
    check_complete(bytes)?;
    // `if true`, not a bare block: keeps the code below free of
    // unreachable-code and unused-variable warnings when the feature is on.
    #[cfg(feature = "libjpeg-turbo")]
    if true {
        return Ok((w, h, JpegOutput::Pixels(crate::turbo::decode(bytes, opts)?)));
    }
    // Our own decoder reproduces libjpeg-turbo's pixels exactly (and so
    // the hashes of Pillow-based tools), at full scale or, for `--fast`, at
    // a reduced DCT scale; it declines CMYK/YCCK, arithmetic coding and
    // 12-bit files, which jpeg-decoder takes.
    let denom = if opts.fast { fast_denom(w, h) } else { 1 };
    let (max_side, max_pixels) = (opts.limits.max_side, opts.limits.max_pixels);
    match crate::ljt::decode_planes_with(bytes, max_side, max_pixels, denom, opts.fast) {
        Ok(planes) => return Ok((w, h, JpegOutput::Planes(planes))),
        Err(MediaError::Unsupported(_)) => {}
        Err(e) => return Err(e),
    }
    Ok((
        w,
        h,
        JpegOutput::Pixels(decode_jpeg_decoder(bytes, opts, w, h)?),
    ))
}

/// The `--fast` DCT scale denominator (1, 2, 4 or 8) for a `w` × `h` image:
/// the largest whose reduced short side, `ceil(short / d)` as a JPEG decoder
/// rounds it, is still at least [`FAST_MIN_SHORT_SIDE`] (or the whole image,
/// when it is shorter than that).
///
/// The one rule for every decoder (ours, jpeg-decoder, libjpeg-turbo), so a
/// build feature never changes a `--fast` hash.
pub(crate) fn fast_denom(w: u32, h: u32) -> u32 {
    let short = w.min(h).max(1) as u64;
    let want = FAST_MIN_SHORT_SIDE.min(short);
    [8u32, 4, 2]
        .into_iter()
        .find(|&d| short.div_ceil(d as u64) >= want)
        .unwrap_or(1)
}

/// jpeg-decoder path: the files ours declines (CMYK/YCCK and the like),
/// with its reduced-scale IDCT for `--fast`.
fn decode_jpeg_decoder(
    bytes: &[u8],
    opts: &DecodeOptions,
    w: u32,
    h: u32,
) -> Result<JpegPixels, MediaError> {
    let mut dec = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_max_decoding_buffer_size(opts.limits.max_alloc.min(usize::MAX as u64) as usize);
    dec.read_info().map_err(corrupt)?;
    if opts.fast {
        // jpeg-decoder picks the smallest DCT scale whose output is at least
        // the size asked for: ask for exactly the 1/d picture of the rule.
        let d = fast_denom(w, h);
        let rw = w.div_ceil(d).min(u16::MAX as u32) as u16;
        let rh = h.div_ceil(d).min(u16::MAX as u32) as u16;
        dec.scale(rw, rh).map_err(corrupt)?;
    }
    let data = dec.decode().map_err(corrupt)?;
    let info = dec
        .info()
        .ok_or_else(|| MediaError::Corrupt("no frame header".into()))?;
    let (ow, oh) = (info.width as u32, info.height as u32);
    let n = ow as usize * oh as usize;
    let (pixels, layout) = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => (data, Layout::Grey8),
        jpeg_decoder::PixelFormat::L16 => {
            (data.chunks_exact(2).map(|c| c[0]).collect(), Layout::Grey8)
        }
        jpeg_decoder::PixelFormat::RGB24 => (data, Layout::Rgb8),
        jpeg_decoder::PixelFormat::CMYK32 => (cmyk_to_rgb(&data), Layout::Rgb8),
    };
    let expected = n * if layout == Layout::Grey8 { 1 } else { 3 };
    if pixels.len() != expected {
        return Err(MediaError::Corrupt(format!(
            "decoder returned {} bytes for {ow}×{oh}",
            pixels.len()
        )));
    }
    Ok(JpegPixels {
        pixels,
        width: ow,
        height: oh,
        layout,
    })
}

/// CMYK (as jpeg-decoder returns it, Adobe inversion already undone) to the
/// RGB picture: `R = (255 - C)(255 - K) / 255`, rounded.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let k = 255 - px[3] as u32;
        for &c in &px[..3] {
            let v = (255 - c as u32) * k;
            out.push(((v + 127) / 255) as u8);
        }
    }
    out
}

/// `--fast` decodes at the smallest DCT scale (1/2, 1/4, 1/8) that keeps the
/// short side at least this long. (Sessions before the PDQ crate folded the
/// full image's blur weights onto the reduced samples kept 1024: blurring
/// the small image with scaled-down windows drifted up to 26 bits at 1/4
/// scale. With the folded weights the benchmark corpus drifts at most 4.)
pub(crate) const FAST_MIN_SHORT_SIDE: u64 = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_scale_rule_at_its_boundaries() {
        assert_eq!(fast_denom(4032, 3024), 4); // 756 short side; 1/8 would give 378
        assert_eq!(fast_denom(8192, 8192), 8); // 1024, the largest scale
        assert_eq!(fast_denom(1920, 1080), 2); // 540
        assert_eq!(fast_denom(1600, 1004), 1); // 1/2 would give 502
        assert_eq!(fast_denom(2200, 2060), 4); // 515
        assert_eq!(fast_denom(300, 200), 1);
        // The short side decides, whichever side it is and whatever the
        // long side (the case two copies of this rule once disagreed on).
        assert_eq!(fast_denom(2045, 2048), 4); // ceil(2045 / 4) = 512
        assert_eq!(fast_denom(2048, 2045), 4);
        assert_eq!(fast_denom(2041, 9000), 2); // ceil(2041 / 4) = 511 < 512
        for (short, d) in [
            (1022, 1),
            (1023, 2), // ceil(1023 / 2) = 512
            (2044, 2),
            (2045, 4),
            (4088, 4),
            (4089, 8),
        ] {
            assert_eq!(fast_denom(short, short + 17), d, "short side {short}");
            assert_eq!(fast_denom(short + 17, short), d, "short side {short}");
        }
    }

    /// A `w` × `h` colour JPEG of a fixed pattern.
    fn test_jpeg(w: u32, h: u32) -> Vec<u8> {
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 70)
            .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        jpeg
    }

    #[test]
    fn jpeg_decoder_path_decodes_at_the_rules_scale() {
        for (w, h) in [(2045u32, 2048u32), (1100, 1030), (600, 2100)] {
            let jpeg = test_jpeg(w, h);
            let opts = DecodeOptions {
                fast: true,
                ..DecodeOptions::default()
            };
            let px = decode_jpeg_decoder(&jpeg, &opts, w, h).unwrap();
            let d = fast_denom(w, h);
            assert_eq!(
                (px.width, px.height),
                (w.div_ceil(d), h.div_ceil(d)),
                "{w}x{h}"
            );
        }
    }

    /// The front end (libjpeg-turbo with `--features libjpeg-turbo`, our
    /// decoder without) decodes `--fast` at the one rule's scale, at and
    /// around its boundaries: the same sizes either way, so a build feature
    /// never changes a `--fast` hash. CI runs this test in both builds.
    #[test]
    fn front_end_decodes_at_the_rules_scale_in_every_build() {
        for (w, h) in [
            (2045u32, 2048u32),
            (2048, 2045),
            (2041, 2100),
            (2049, 2049),
            (1023, 1030),
            (1024, 1025),
            (600, 2100),
        ] {
            let jpeg = test_jpeg(w, h);
            let opts = DecodeOptions {
                fast: true,
                ..DecodeOptions::default()
            };
            let d = fast_denom(w, h);
            let (_, _, out) = decode(&jpeg, &opts).unwrap();
            let size = match &out {
                JpegOutput::Planes(p) => (p.width(), p.height()),
                JpegOutput::Pixels(px) => (px.width, px.height),
            };
            assert_eq!(size, (w.div_ceil(d), h.div_ceil(d)), "{w}x{h}, 1/{d}");
            // Our decoder at the same scale, also under the feature.
            let planes =
                crate::ljt::decode_planes_with(&jpeg, u32::MAX, u64::MAX, d, false).unwrap();
            assert_eq!((planes.width(), planes.height()), size, "ours, {w}x{h}");
        }
    }
}
