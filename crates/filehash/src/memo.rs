//! Pictures already decoded in this run, by SHA-256: a picture met twice —
//! a deleted file carved again from the free space it left, copies in
//! several folders or archives — is decoded and PDQ-hashed once. The
//! result is a function of the bytes and the options alone, so a memo
//! lives for one run with one set of [`crate::Options`]. Bounded: once it
//! holds its capacity it stops remembering (lookups go on).

use crate::{FileError, ImageHashes};
use std::collections::HashMap;
use std::sync::Mutex;

/// What decoding a picture gave: its image part and the error, if any.
type Outcome = (Option<ImageHashes>, Option<FileError>);

/// A bounded memo of pictures' image parts, shared by the threads of a run.
pub struct ImageMemo {
    map: Mutex<HashMap<[u8; 32], Outcome>>,
    cap: usize,
}

impl ImageMemo {
    /// A memo that remembers at most `cap` pictures (about 400 bytes each
    /// with the 8 dihedral hashes).
    pub fn new(cap: usize) -> ImageMemo {
        ImageMemo {
            map: Mutex::new(HashMap::new()),
            cap,
        }
    }

    /// How many pictures it remembers.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when it remembers none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Outcome>> {
        // A panic elsewhere while holding the lock leaves a whole map.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The outcome remembered for the picture with this SHA-256, or the
    /// one `compute` gives (remembered while there is room).
    pub(crate) fn get_or(&self, sha256: &[u8; 32], compute: impl FnOnce() -> Outcome) -> Outcome {
        if let Some(o) = self.lock().get(sha256) {
            return o.clone();
        }
        // Decoded outside the lock: two threads meeting the same new
        // picture at once both decode it, with the same result.
        let o = compute();
        let mut map = self.lock();
        if map.len() < self.cap {
            map.insert(*sha256, o.clone());
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{hash_bytes, hash_bytes_with, Options};
    use nigehbaan_pdq::Hasher;

    fn png(seed: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(48, 40, |x, y| {
            image::Rgb([(x * 5) as u8 ^ seed, (y * 3) as u8, seed])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_remembered_picture_hashes_as_a_fresh_one() {
        let opts = Options::default();
        let mut h = Hasher::new();
        let memo = ImageMemo::new(8);
        let (a, b) = (png(1), png(2));
        let broken = {
            let mut p = png(3);
            p.truncate(60);
            p
        };
        for bytes in [&a, &b, &a, &broken, &broken, &b, &a] {
            let fresh = hash_bytes(bytes, &opts, &mut h);
            let memoised = hash_bytes_with(bytes, &opts, &mut h, Some(&memo));
            assert_eq!(fresh, memoised);
        }
        assert_eq!(memo.len(), 3);
        // Not a picture: nothing to remember.
        let _ = hash_bytes_with(b"plain text", &opts, &mut h, Some(&memo));
        assert_eq!(memo.len(), 3);
    }

    #[test]
    fn a_full_memo_stops_remembering_but_still_answers() {
        let opts = Options::default();
        let mut h = Hasher::new();
        let memo = ImageMemo::new(1);
        let (a, b) = (png(4), png(5));
        let first = hash_bytes_with(&a, &opts, &mut h, Some(&memo));
        let second = hash_bytes_with(&b, &opts, &mut h, Some(&memo));
        assert_eq!(memo.len(), 1);
        assert_eq!(second, hash_bytes(&b, &opts, &mut h));
        assert_eq!(first, hash_bytes_with(&a, &opts, &mut h, Some(&memo)));
    }
}
