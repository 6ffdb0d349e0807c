//! Our JPEG decoder against libjpeg-turbo itself (feature `libjpeg-turbo`).
//!
//! The decoder in [`crate::ljt`] claims libjpeg-turbo's samples byte for
//! byte (accurate integer IDCT, fancy upsampling, its colour tables) at
//! full scale; at reduced DCT scale (`--fast`) the sizes are the same and
//! the samples close (libjpeg's upsampling at reduced size differs in
//! places). [`compare_jpeg_decoders`] decodes one file with both and says
//! whether the pixels are identical; the differential tests and the
//! `jpeg_differential` fuzz target are built on it.

use crate::jpeg::{check_complete, dimensions, fast_denom};
use crate::{DecodeOptions, Layout, MediaError};

/// What [`compare_jpeg_decoders`] found for one file at one scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    /// Both decoders gave the same size, layout and samples.
    Identical {
        /// Decoded width.
        width: u32,
        /// Decoded height.
        height: u32,
    },
    /// Nothing to compare: the file is not a complete JPEG within the
    /// limits, our decoder declines it (CMYK, arithmetic coding, 12-bit …),
    /// or either decoder refused it as damaged.
    NotCompared(MediaError),
    /// The decoders disagree: a bug in ours at full scale, or a size bug
    /// at reduced scale when the shapes differ.
    Different {
        /// Size and layout from ours, then from libjpeg-turbo.
        shapes: [(u32, u32, Layout); 2],
        /// First differing sample: row, byte offset in the row, ours,
        /// libjpeg-turbo's (`None` when the shapes differ).
        first: Option<(usize, usize, u8, u8)>,
        /// Largest difference of any sample (0 when the shapes differ).
        max_diff: u8,
    },
}

/// Decodes `bytes` with our decoder and with libjpeg-turbo at full scale
/// (`fast == false`) or at the `--fast` rule's reduced scale (`fast ==
/// true`; colour stays colour: both decoders are asked for all
/// components), and compares the pixels exactly.
pub fn compare_jpeg_decoders(bytes: &[u8], limits_from: &DecodeOptions, fast: bool) -> Agreement {
    let opts = DecodeOptions {
        fast,
        ..*limits_from
    };
    let (w, h) = match dimensions(bytes, &opts).and_then(|wh| check_complete(bytes).map(|()| wh)) {
        Ok(wh) => wh,
        Err(e) => return Agreement::NotCompared(e),
    };
    let denom = if fast { fast_denom(w, h) } else { 1 };
    let (max_side, max_pixels) = (opts.limits.max_side, opts.limits.max_pixels);
    let mut ours = match crate::ljt::decode_planes_with(bytes, max_side, max_pixels, denom, false) {
        Ok(p) => p,
        Err(e) => return Agreement::NotCompared(e),
    };
    let theirs = match crate::turbo::decode(bytes, &opts) {
        Ok(p) => p,
        Err(e) => return Agreement::NotCompared(e),
    };
    let our_layout = if ours.is_grey() {
        Layout::Grey8
    } else {
        Layout::Rgb8
    };
    let shapes = [
        (ours.width(), ours.height(), our_layout),
        (theirs.width, theirs.height, theirs.layout),
    ];
    if shapes[0] != shapes[1] {
        return Agreement::Different {
            shapes,
            first: None,
            max_diff: 0,
        };
    }
    let n = ours.row_len();
    let mut row = vec![0u8; n];
    let (mut first, mut max_diff) = (None, 0u8);
    for (y, want) in theirs.pixels.chunks_exact(n).enumerate() {
        ours.row(y, &mut row);
        for (x, (&a, &b)) in row.iter().zip(want).enumerate() {
            if a != b {
                first = first.or(Some((y, x, a, b)));
                max_diff = max_diff.max(a.abs_diff(b));
            }
        }
    }
    match first {
        None => Agreement::Identical {
            width: shapes[0].0,
            height: shapes[0].1,
        },
        first => Agreement::Different {
            shapes,
            first,
            max_diff,
        },
    }
}
