//! The vPDQ core: which frames are hashed, their timestamps, and the PDQ
//! hash of each, independent of any decoder (frames come from a
//! [`FrameSource`]).

use crate::error::VideoError;
use nigehbaan_pdq::{Hash256, Hasher, ImageView, Pipeline};

/// One hashed frame, as the reference vPDQ tool records it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameHash {
    /// Frame number: the frame's index in decoder output order, from 0.
    pub frame: u64,
    /// PDQ quality of the frame, 0..=100.
    pub quality: u8,
    /// PDQ hash of the frame (full pipeline, native size, unrotated).
    pub pdq: Hash256,
    /// Seconds from the start: `frame / fps`, computed in single precision
    /// as the reference does.
    pub timestamp: f64,
}

/// How a video's frames were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum VideoPipeline {
    /// vPDQ's sampling: every `max(1, int(seconds_per_hash × fps))`-th
    /// decoded frame. Compatible with the reference tool and HMA.
    #[default]
    Exact,
    /// Triage: key frames only (the decoder skips the others). Not
    /// comparable frame-for-frame with the reference.
    Fast,
}

impl VideoPipeline {
    /// The name used in every output record (`exact` or `fast`).
    pub fn name(self) -> &'static str {
        match self {
            VideoPipeline::Exact => "exact",
            VideoPipeline::Fast => "fast",
        }
    }
}

/// A video's vPDQ hash: its hashed frames in frame order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VpdqHash {
    /// The hashed frames, in increasing frame number.
    pub frames: Vec<FrameHash>,
    /// How the frames were chosen.
    pub pipeline: VideoPipeline,
}

/// The reference's sampling modulus: `max(1, (int)(seconds_per_hash × fps))`
/// (a truncation, not a rounding). `seconds_per_hash = 0` hashes every
/// frame. Non-finite or negative products give 1.
pub fn frame_modulus(seconds_per_hash: f64, fps: f64) -> u64 {
    let product = seconds_per_hash * fps;
    if !product.is_finite() || product < 1.0 {
        return 1;
    }
    // `as` saturates at u64::MAX for huge values, which samples frame 0 only.
    (product as u64).max(1)
}

/// True when frame `index` is hashed under modulus `modulus`.
pub fn is_sampled(index: u64, modulus: u64) -> bool {
    index.is_multiple_of(modulus.max(1))
}

/// The reference's timestamp of frame `index`: `(float)index / (float)fps`
/// in single precision, widened to f64 (so that writing it with 3 decimals
/// gives the reference's text).
pub fn timestamp(index: u64, fps: f64) -> f64 {
    let t = (index as f32) / (fps as f32);
    if t.is_finite() {
        f64::from(t)
    } else {
        0.0
    }
}

/// One decoded frame: interleaved RGB24 pixels, rows without padding.
#[derive(Debug, Clone, Copy)]
pub struct RgbFrame<'a> {
    /// `width × height × 3` bytes.
    pub pixels: &'a [u8],
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

/// Something that yields a video's decoded frames in decoder order.
pub trait FrameSource {
    /// The stream's frame rate (average frame rate, else its base rate).
    fn frame_rate(&self) -> f64;

    /// Told before the first frame that only frames whose index is a
    /// multiple of `modulus` will be hashed: a source may then skip the
    /// others (it still numbers the frames it yields by their decoder
    /// index). The default ignores it.
    fn set_sampling(&mut self, modulus: u64) {
        let _ = modulus;
    }

    /// The next frame and its index in decoder order (from 0, increasing),
    /// or `None` at the end.
    fn next_frame(&mut self) -> Result<Option<(u64, RgbFrame<'_>)>, VideoError>;
}

/// Hashes one RGB frame with the full PDQ pipeline at its native size.
pub fn hash_frame(
    index: u64,
    frame: &RgbFrame<'_>,
    fps: f64,
    hasher: &mut Hasher,
) -> Result<FrameHash, VideoError> {
    let too_small = VideoError::FrameTooSmall {
        frame: index,
        width: frame.width,
        height: frame.height,
    };
    let view = ImageView::rgb(frame.pixels, frame.width, frame.height).map_err(|_| {
        VideoError::FrameTooSmall {
            frame: index,
            width: frame.width,
            height: frame.height,
        }
    })?;
    let out = hasher.hash(&view, Pipeline::Full);
    if !out.hashable {
        return Err(too_small);
    }
    Ok(FrameHash {
        frame: index,
        quality: out.quality,
        pdq: out.hash,
        timestamp: timestamp(index, fps),
    })
}

/// Hashes the sampled frames of `source` (vPDQ's exact sampling with
/// `seconds_per_hash`; `0` = every frame). Frames the source yields that are
/// not sampled are skipped.
pub fn hash_source<S: FrameSource + ?Sized>(
    source: &mut S,
    seconds_per_hash: f64,
    hasher: &mut Hasher,
) -> Result<Vec<FrameHash>, VideoError> {
    let fps = source.frame_rate();
    let modulus = frame_modulus(seconds_per_hash, fps);
    source.set_sampling(modulus);
    let mut out = Vec::new();
    while let Some((index, frame)) = source.next_frame()? {
        if is_sampled(index, modulus) {
            out.push(hash_frame(index, &frame, fps, hasher)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_truncates_like_the_reference() {
        // 29.97 fps is 30000/1001 = 29.97002997…; int(1 × 29.97…) = 29.
        assert_eq!(frame_modulus(1.0, 30000.0 / 1001.0), 29);
        // 23.976 fps is 24000/1001 = 23.976023…; int(…) = 23.
        assert_eq!(frame_modulus(1.0, 24000.0 / 1001.0), 23);
        // Two seconds at 29.97: 59.94… → 59; at 23.976: 47.95… → 47.
        assert_eq!(frame_modulus(2.0, 30000.0 / 1001.0), 59);
        assert_eq!(frame_modulus(2.0, 24000.0 / 1001.0), 47);
        // Half a second at 25 fps: 12.5 → 12.
        assert_eq!(frame_modulus(0.5, 25.0), 12);
        assert_eq!(frame_modulus(1.0, 30.0), 30);
        // Every frame, and rates under 1 fps, give 1.
        assert_eq!(frame_modulus(0.0, 30.0), 1);
        assert_eq!(frame_modulus(1.0, 0.5), 1);
        assert_eq!(frame_modulus(1.0, f64::NAN), 1);
        assert_eq!(frame_modulus(-1.0, 30.0), 1);
    }

    #[test]
    fn timestamps_are_single_precision_quotients() {
        // Frame 29 at 30000/1001 fps: 29 × 1001 / 30000 = 0.967633… s.
        let t = timestamp(29, 30000.0 / 1001.0);
        assert_eq!(format!("{t:.3}"), "0.968");
        // Frame 23 at 24000/1001: 23 × 1001 / 24000 = 0.959291… s.
        assert_eq!(format!("{:.3}", timestamp(23, 24000.0 / 1001.0)), "0.959");
        // Frame 2900 at 29.97: 96.763433… s.
        assert_eq!(
            format!("{:.3}", timestamp(2900, 30000.0 / 1001.0)),
            "96.763"
        );
        assert_eq!(timestamp(0, 30.0), 0.0);
        assert_eq!(timestamp(30, 30.0), 1.0);
        // Exactly the f32 quotient.
        assert_eq!(timestamp(7, 3.0), f64::from(7f32 / 3f32));
    }

    /// Frames of a solid-with-a-gradient picture, one per index.
    struct Synthetic {
        fps: f64,
        count: u64,
        next: u64,
        w: usize,
        h: usize,
        buf: Vec<u8>,
        sampling: Option<u64>,
    }

    impl Synthetic {
        fn new(fps: f64, count: u64, w: usize, h: usize) -> Self {
            Synthetic {
                fps,
                count,
                next: 0,
                w,
                h,
                buf: Vec::new(),
                sampling: None,
            }
        }
    }

    impl FrameSource for Synthetic {
        fn frame_rate(&self) -> f64 {
            self.fps
        }
        fn set_sampling(&mut self, modulus: u64) {
            self.sampling = Some(modulus);
        }
        fn next_frame(&mut self) -> Result<Option<(u64, RgbFrame<'_>)>, VideoError> {
            if self.next >= self.count {
                return Ok(None);
            }
            let i = self.next;
            self.next += 1;
            self.buf = (0..self.w * self.h * 3)
                .map(|k| ((k as u64 * (i + 3) * 7 + (k / (self.w * 3)) as u64 * 13) % 251) as u8)
                .collect();
            Ok(Some((
                i,
                RgbFrame {
                    pixels: &self.buf,
                    width: self.w,
                    height: self.h,
                },
            )))
        }
    }

    #[test]
    fn sampling_at_29_97_picks_every_29th_frame() {
        let mut src = Synthetic::new(30000.0 / 1001.0, 100, 16, 12);
        let mut h = Hasher::new();
        let frames = hash_source(&mut src, 1.0, &mut h).unwrap();
        assert_eq!(src.sampling, Some(29));
        let numbers: Vec<u64> = frames.iter().map(|f| f.frame).collect();
        // 0, 29, 58, 87 (116 ≥ 100).
        assert_eq!(numbers, vec![0, 29, 58, 87]);
        let stamps: Vec<String> = frames
            .iter()
            .map(|f| format!("{:.3}", f.timestamp))
            .collect();
        // 58 × 1001 / 30000 = 1.935266…; 87 × 1001 / 30000 = 2.9029.
        assert_eq!(stamps, vec!["0.000", "0.968", "1.935", "2.903"]);
    }

    #[test]
    fn sampling_at_23_976_and_every_frame() {
        let mut src = Synthetic::new(24000.0 / 1001.0, 50, 8, 8);
        let mut h = Hasher::new();
        let frames = hash_source(&mut src, 1.0, &mut h).unwrap();
        let numbers: Vec<u64> = frames.iter().map(|f| f.frame).collect();
        assert_eq!(numbers, vec![0, 23, 46]);
        let mut src = Synthetic::new(24000.0 / 1001.0, 5, 8, 8);
        let frames = hash_source(&mut src, 0.0, &mut h).unwrap();
        assert_eq!(frames.len(), 5);
    }

    #[test]
    fn frame_hash_equals_the_image_hash() {
        let mut src = Synthetic::new(25.0, 1, 40, 30);
        let mut h = Hasher::new();
        let frames = hash_source(&mut src, 1.0, &mut h).unwrap();
        let pixels = src.buf.clone();
        let image = h.hash(&ImageView::rgb(&pixels, 40, 30).unwrap(), Pipeline::Full);
        assert_eq!(frames[0].pdq, image.hash);
        assert_eq!(frames[0].quality, image.quality);
    }

    #[test]
    fn tiny_frames_are_an_error() {
        let mut src = Synthetic::new(25.0, 1, 4, 30);
        let mut h = Hasher::new();
        let err = hash_source(&mut src, 1.0, &mut h).unwrap_err();
        assert!(matches!(
            err,
            VideoError::FrameTooSmall {
                frame: 0,
                width: 4,
                height: 30
            }
        ));
    }
}
