//! Synthetic vPDQ hashes for tests and benchmarks (never real media): a
//! video is a random walk of frame hashes, each frame 8–24 bits from the
//! previous (as neighbouring sampled frames of real videos are), and a
//! re-encoded copy has every frame 0–12 bits off.

use crate::core::FrameHash;
use nigehbaan_pdq::Hash256;

/// A small deterministic generator (xorshift) of synthetic videos.
#[derive(Debug, Clone)]
pub struct SyntheticVideos(u64);

impl SyntheticVideos {
    /// A generator from a seed (any value; 0 is replaced).
    pub fn new(seed: u64) -> SyntheticVideos {
        SyntheticVideos(seed | 1)
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Flips `n` pseudo-random bits of `h` (a bit may flip twice).
    pub fn flip(&mut self, h: &mut Hash256, n: u64) {
        for _ in 0..n {
            let b = (self.next_u64() % 256) as usize;
            h.0[b / 64] ^= 1 << (b % 64);
        }
    }

    /// A video of `frames` sampled frames, one a second at 30 fps, of
    /// quality `min_quality..=100`.
    pub fn video(&mut self, frames: usize, min_quality: u8) -> Vec<FrameHash> {
        let span = 101 - u64::from(min_quality.min(100));
        let mut h = Hash256([
            self.next_u64(),
            self.next_u64(),
            self.next_u64(),
            self.next_u64(),
        ]);
        (0..frames)
            .map(|i| {
                let step = 8 + self.next_u64() % 17;
                self.flip(&mut h, step);
                FrameHash {
                    frame: i as u64 * 30,
                    quality: min_quality.min(100) + (self.next_u64() % span) as u8,
                    pdq: h,
                    timestamp: i as f64,
                }
            })
            .collect()
    }

    /// A re-encoded copy of `v`: every frame 0–12 bits off.
    pub fn copy(&mut self, v: &[FrameHash]) -> Vec<FrameHash> {
        v.iter()
            .map(|f| {
                let mut g = *f;
                let k = self.next_u64() % 13;
                self.flip(&mut g.pdq, k);
                g
            })
            .collect()
    }
}
