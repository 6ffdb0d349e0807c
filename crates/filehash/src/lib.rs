//! # nigehbaan-filehash
//!
//! Hashes one file or one in-memory buffer the way every Nigehbaan command
//! does: the bytes are read once, giving MD5, SHA-1 and SHA-256 and, when
//! the content is an image, its PDQ hash and quality. A file that cannot be
//! decoded still gets its cryptographic digests and an error; nothing here
//! panics on bad input.

#![warn(missing_docs)]

#[cfg(target_arch = "x86_64")]
mod fused;
mod memo;
pub mod name;
mod walk;

pub use memo::ImageMemo;
pub use walk::{collect_files, WalkIssue};

use md5::Md5;
use nigehbaan_media::{DecodeOptions, Decoded, Format, Layout, Limits, MediaError};
use nigehbaan_pdq::{Hash256, Hasher, PdqOutput, Pipeline, PixelFormat};
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Compute PDQ for images (on by default).
    pub pdq: bool,
    /// Which PDQ pipeline.
    pub pipeline: Pipeline,
    /// Triage mode: luma-only and reduced-scale JPEG decoding.
    pub fast: bool,
    /// Also compute the 8 dihedral PDQ hashes.
    pub dihedral: bool,
    /// Decoder limits.
    pub limits: Limits,
    /// Images larger than this many bytes are digested but not decoded.
    pub max_image_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            pdq: true,
            pipeline: Pipeline::Full,
            fast: false,
            dihedral: false,
            limits: Limits::default(),
            max_image_bytes: 512 << 20,
        }
    }
}

impl Options {
    /// The name recorded in `pdq_pipeline`: the pipeline, or `fast` for a
    /// reduced-scale or luma-only decode (which is neither reference
    /// pipeline).
    pub fn pipeline_label(&self, reduced: bool) -> &'static str {
        if reduced {
            "fast"
        } else {
            self.pipeline.name()
        }
    }
}

/// The cryptographic digests of a file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digests {
    /// MD5.
    pub md5: [u8; 16],
    /// SHA-1.
    pub sha1: [u8; 20],
    /// SHA-256.
    pub sha256: [u8; 32],
}

impl Digests {
    /// Digests of an in-memory buffer.
    pub fn of(bytes: &[u8]) -> Digests {
        let mut d = DigestState::new();
        d.update(bytes);
        d.finish()
    }
}

/// Incremental computation of all three digests.
pub struct DigestState(State);

enum State {
    /// The three in one pass (x86-64 with SHA-NI; see `fused`).
    #[cfg(target_arch = "x86_64")]
    Fused(Box<fused::Fused>),
    /// The RustCrypto implementations, one after another.
    Separate(Box<(Md5, Sha1, Sha256)>),
}

impl Default for DigestState {
    fn default() -> Self {
        DigestState::new()
    }
}

impl DigestState {
    /// Fresh state.
    pub fn new() -> DigestState {
        #[cfg(target_arch = "x86_64")]
        if let Some(f) = fused::Fused::new() {
            return DigestState(State::Fused(Box::new(f)));
        }
        DigestState::separate()
    }

    /// Fresh state that uses the RustCrypto implementations (CPUs without
    /// SHA-NI, and other architectures).
    fn separate() -> DigestState {
        DigestState(State::Separate(Box::new((
            Md5::new(),
            Sha1::new(),
            Sha256::new(),
        ))))
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            #[cfg(target_arch = "x86_64")]
            State::Fused(f) => f.update(bytes),
            State::Separate(s) => {
                s.0.update(bytes);
                s.1.update(bytes);
                s.2.update(bytes);
            }
        }
    }

    /// The final digests.
    pub fn finish(self) -> Digests {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            State::Fused(f) => f.finish(),
            State::Separate(s) => {
                let (md5, sha1, sha256) = *s;
                Digests {
                    md5: md5.finalize().into(),
                    sha1: sha1.finalize().into(),
                    sha256: sha256.finalize().into(),
                }
            }
        }
    }
}

/// The image part of a file's hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageHashes {
    /// Container format.
    pub format: Format,
    /// Stored width.
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// EXIF orientation (reported, not applied).
    pub orientation: Option<u8>,
    /// PDQ, when computed and the image decoded.
    pub pdq: Option<PdqOutput>,
    /// True when the PDQ came from a reduced-scale or luma-only decode
    /// (`--fast`).
    pub reduced: bool,
}

/// Why a file's hashes are incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// The file could not be read at all (no digests).
    Read(String),
    /// The file was read, but the image in it could not be decoded.
    Decode(MediaError),
    /// The image is larger than `max_image_bytes`: digested, not decoded.
    ImageTooBig(u64),
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Read(why) => write!(f, "cannot read file: {why}"),
            FileError::Decode(e) => e.fmt(f),
            FileError::ImageTooBig(n) => write!(
                f,
                "image file of {n} bytes is over the decode size limit; digests only"
            ),
        }
    }
}

/// Everything computed for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHashes {
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Digests, when the file could be read.
    pub digests: Option<Digests>,
    /// Image details, when the content is a supported image.
    pub image: Option<ImageHashes>,
    /// What went wrong, if anything.
    pub error: Option<FileError>,
}

/// Hashes an in-memory buffer (an upload, an archive member, a read file).
pub fn hash_bytes(bytes: &[u8], opts: &Options, hasher: &mut Hasher) -> FileHashes {
    hash_bytes_with(bytes, opts, hasher, None)
}

/// [`hash_bytes`], taking a picture's image part from `memo` when the same
/// bytes were decoded before in this run (and remembering it otherwise).
pub fn hash_bytes_with(
    bytes: &[u8],
    opts: &Options,
    hasher: &mut Hasher,
    memo: Option<&ImageMemo>,
) -> FileHashes {
    let digests = Digests::of(bytes);
    let (image, error) = match memo {
        Some(m) if nigehbaan_media::sniff_prefix(bytes) => {
            m.get_or(&digests.sha256, || image_part(bytes, opts, hasher))
        }
        _ => image_part(bytes, opts, hasher),
    };
    FileHashes {
        size: Some(bytes.len() as u64),
        digests: Some(digests),
        image,
        error,
    }
}

fn image_part(
    bytes: &[u8],
    opts: &Options,
    hasher: &mut Hasher,
) -> (Option<ImageHashes>, Option<FileError>) {
    let Some(format) = nigehbaan_media::sniff(bytes) else {
        return (None, None);
    };
    let dopts = DecodeOptions {
        limits: opts.limits,
        fast: opts.fast,
    };
    if !opts.pdq {
        return match nigehbaan_media::probe(bytes, &dopts) {
            Ok(info) => (
                Some(ImageHashes {
                    format,
                    width: info.width,
                    height: info.height,
                    orientation: info.orientation,
                    pdq: None,
                    reduced: false,
                }),
                None,
            ),
            Err(e) => (None, Some(FileError::Decode(e))),
        };
    }
    match nigehbaan_media::decode(bytes, &dopts) {
        Ok(mut decoded) => {
            let mut pdq = pdq_of(&mut decoded, opts, hasher);
            if decoded.reduced && pdq.quality < nigehbaan_pdq::RECOMMENDED_MIN_QUALITY {
                // A low-quality hash (a flat or nearly flat picture) is
                // mostly noise, so the small differences of a `fast` decode
                // flip many of its bits: hash such images exactly instead.
                let exact = DecodeOptions {
                    fast: false,
                    ..dopts
                };
                if let Ok(mut again) = nigehbaan_media::decode(bytes, &exact) {
                    pdq = pdq_of(&mut again, opts, hasher);
                    decoded = again;
                }
            }
            (
                Some(ImageHashes {
                    format,
                    width: decoded.info.width,
                    height: decoded.info.height,
                    orientation: decoded.info.orientation,
                    pdq: Some(pdq),
                    reduced: decoded.reduced,
                }),
                None,
            )
        }
        Err(e) => (None, Some(FileError::Decode(e))),
    }
}

/// Decoded rows as the PDQ hasher pulls them.
struct DecodedRows<'a>(&'a mut Decoded);

impl nigehbaan_pdq::PixelRows for DecodedRows<'_> {
    fn width(&self) -> usize {
        self.0.width as usize
    }
    fn height(&self) -> usize {
        self.0.height as usize
    }
    fn format(&self) -> PixelFormat {
        match self.0.layout {
            Layout::Rgb8 => PixelFormat::Rgb8,
            Layout::Grey8 => PixelFormat::Grey8,
        }
    }
    fn read_row(&mut self, y: usize, out: &mut [u8]) {
        self.0.read_row(y, out);
    }
    fn read_planar_row(&mut self, y: usize, rgb: [&mut [u8]; 3]) -> bool {
        self.0.read_planar_row(y, rgb)
    }
}

/// PDQ of decoded pixels with the options' pipeline.
pub fn pdq_of(decoded: &mut Decoded, opts: &Options, hasher: &mut Hasher) -> PdqOutput {
    if decoded.reduced && opts.pipeline == Pipeline::Full {
        let (fw, fh) = (decoded.info.width as usize, decoded.info.height as usize);
        return hasher.hash_reduced_rows(&mut DecodedRows(decoded), fw, fh, opts.dihedral);
    }
    hasher.hash_pixel_rows(&mut DecodedRows(decoded), opts.pipeline, opts.dihedral)
}

const CHUNK: usize = 1 << 20;

/// Hashes a file on disk, reading it once. Images up to
/// `opts.max_image_bytes` are read whole and decoded from memory; anything
/// else is streamed through the digests in 1 MiB chunks.
pub fn hash_file(path: &Path, opts: &Options, hasher: &mut Hasher) -> FileHashes {
    match File::open(path) {
        Ok(f) => hash_open_file(f, opts, hasher),
        Err(e) => read_error(e, None),
    }
}

fn read_error(e: std::io::Error, size: Option<u64>) -> FileHashes {
    FileHashes {
        size,
        digests: None,
        image: None,
        error: Some(FileError::Read(e.to_string())),
    }
}

/// Runs `f` with an empty buffer for a whole file's bytes: one kept per
/// thread (up to 64 MiB), so that reading image after image reuses memory
/// the kernel has already mapped instead of faulting in fresh zeroed pages
/// for every file.
fn with_read_buffer<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    const KEEP: usize = 64 << 20;
    thread_local! {
        static BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let mut buf = BUF.try_with(|b| b.take()).unwrap_or_default();
    buf.clear();
    let out = f(&mut buf);
    if buf.capacity() <= KEEP {
        buf.clear();
        let _ = BUF.try_with(|b| b.set(buf));
    }
    out
}

/// Hashes a file the caller has already opened (for example read-only
/// without updating its access time) and positioned at its start, exactly as
/// [`hash_file`] does.
pub fn hash_open_file(file: File, opts: &Options, hasher: &mut Hasher) -> FileHashes {
    hash_open_file_with(file, opts, hasher, None)
}

/// [`hash_open_file`] with a memo of pictures (see [`hash_bytes_with`]).
pub fn hash_open_file_with(
    mut file: File,
    opts: &Options,
    hasher: &mut Hasher,
    memo: Option<&ImageMemo>,
) -> FileHashes {
    let read_err = read_error;
    let size = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => return read_err(e, None),
    };
    let mut head = [0u8; 32];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return read_err(e, Some(size)),
        }
    }
    let head = &head[..got];
    let is_image = nigehbaan_media::sniff_prefix(head);
    if is_image && size <= opts.max_image_bytes {
        return with_read_buffer(|bytes| {
            bytes.reserve(size as usize + 1);
            bytes.extend_from_slice(head);
            if let Err(e) = file.read_to_end(bytes) {
                return read_err(e, Some(size));
            }
            hash_bytes_with(bytes, opts, hasher, memo)
        });
    }
    let mut state = DigestState::new();
    state.update(head);
    let mut buf = vec![0u8; CHUNK];
    let mut total = head.len() as u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                state.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return read_err(e, Some(size)),
        }
    }
    let error = is_image.then_some(FileError::ImageTooBig(total));
    FileHashes {
        size: Some(total),
        digests: Some(state.finish()),
        image: None,
        error,
    }
}

/// One output row of `nigehbaan hash`: absent values are `null`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Record {
    /// The path as given or found: its readable form (see [`name`]).
    pub path: String,
    /// The path's exact bytes in base64, only when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// MD5, lower-case hex.
    pub md5: Option<String>,
    /// SHA-1, lower-case hex.
    pub sha1: Option<String>,
    /// SHA-256, lower-case hex.
    pub sha256: Option<String>,
    /// PDQ, 64 hex digits (all zero for unhashable images).
    pub pdq: Option<String>,
    /// PDQ quality 0..=100.
    pub pdq_quality: Option<u8>,
    /// `full`, `reference-cli` or `fast`.
    pub pdq_pipeline: Option<&'static str>,
    /// False for images with a side under 5 px (zero hash, never to be matched).
    pub pdq_hashable: Option<bool>,
    /// Stored width.
    pub width: Option<u32>,
    /// Stored height.
    pub height: Option<u32>,
    /// Container format.
    pub format: Option<&'static str>,
    /// EXIF orientation 1..=8 (reported, not applied before hashing).
    pub orientation: Option<u8>,
    /// The 8 dihedral hashes, with `--dihedral` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_dihedral: Option<Vec<String>>,
    /// Why something is missing.
    pub error: Option<String>,
    /// Video fields (`media: "video"`, `vpdq`…); absent from other rows.
    #[serde(flatten)]
    pub video: Option<VideoFields>,
}

/// The fields a video's row adds (see `nigehbaan-video`); filled by the
/// caller that hashed the video.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VideoFields {
    /// Always `"video"`.
    pub media: &'static str,
    /// Duration in seconds, when declared.
    pub duration: Option<f64>,
    /// Frame rate used for sampling (average frame rate).
    pub fps: Option<f64>,
    /// Codec of the first video stream (`h264`, `hevc`…).
    pub codec: Option<String>,
    /// Display rotation in degrees (reported, never applied).
    pub rotation: Option<u32>,
    /// `exact` (vPDQ sampling) or `fast` (key frames only).
    pub vpdq_pipeline: Option<&'static str>,
    /// Number of hashed frames.
    pub vpdq_frames: Option<usize>,
    /// The hashed frames.
    pub vpdq: Option<Vec<VpdqFrame>>,
}

/// One hashed frame of a video's row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VpdqFrame {
    /// Frame number (decoder order, from 0).
    pub frame: u64,
    /// PDQ quality.
    pub quality: u8,
    /// PDQ hash, 64 hex digits.
    pub pdq: String,
    /// Seconds from the start.
    pub timestamp: f64,
}

// Durations, rates and timestamps are finite numbers (never NaN), so
// equality is an equivalence.
impl Eq for VideoFields {}

impl VideoFields {
    /// A video's fields when it was not (or not yet) perceptually hashed:
    /// `media: "video"`, the rest absent.
    pub fn unhashed() -> VideoFields {
        VideoFields {
            media: "video",
            duration: None,
            fps: None,
            codec: None,
            rotation: None,
            vpdq_pipeline: None,
            vpdq_frames: None,
            vpdq: None,
        }
    }

    /// A hashed video's fields: its stream and every hashed frame
    /// (timestamps to three decimals, as the reference tool writes them).
    pub fn of(v: &nigehbaan_video::VideoHashes) -> VideoFields {
        VideoFields {
            media: "video",
            duration: v.info.duration,
            fps: Some(v.info.fps),
            codec: Some(v.info.codec.clone()),
            rotation: Some(v.info.rotation),
            vpdq_pipeline: Some(v.vpdq.pipeline.name()),
            vpdq_frames: Some(v.vpdq.frames.len()),
            vpdq: Some(
                v.vpdq
                    .frames
                    .iter()
                    .map(|f| VpdqFrame {
                        frame: f.frame,
                        quality: f.quality,
                        pdq: f.pdq.to_hex(),
                        timestamp: (f.timestamp * 1000.0).round() / 1000.0,
                    })
                    .collect(),
            ),
        }
    }
}
impl Eq for VpdqFrame {}

impl FileHashes {
    /// The output row for this file, at the path `path` (lossless: see
    /// [`name`]).
    pub fn to_record_at(&self, path: &Path, opts: &Options) -> Record {
        let (readable, bytes) = name::split_path(path);
        let mut r = self.to_record(readable, opts);
        r.path_bytes = bytes;
        r
    }

    /// The output row for this file, under the (UTF-8) name `path`.
    pub fn to_record(&self, path: String, opts: &Options) -> Record {
        let img = self.image.as_ref();
        let pdq = img.and_then(|i| i.pdq.as_ref());
        Record {
            path,
            path_bytes: None,
            size: self.size,
            md5: self.digests.map(|d| nigehbaan_pdq::hex::encode(&d.md5)),
            sha1: self.digests.map(|d| nigehbaan_pdq::hex::encode(&d.sha1)),
            sha256: self.digests.map(|d| nigehbaan_pdq::hex::encode(&d.sha256)),
            pdq: pdq.map(|p| p.hash.to_hex()),
            pdq_quality: pdq.map(|p| p.quality),
            pdq_pipeline: pdq.map(|_| opts.pipeline_label(img.is_some_and(|i| i.reduced))),
            pdq_hashable: pdq.map(|p| p.hashable),
            width: img.map(|i| i.width),
            height: img.map(|i| i.height),
            format: img.map(|i| i.format.name()),
            orientation: img.and_then(|i| i.orientation),
            pdq_dihedral: pdq
                .and_then(|p| p.dihedral)
                .map(|d| d.iter().map(Hash256::to_hex).collect()),
            error: self.error.as_ref().map(|e| e.to_string()),
            video: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_of_empty_input_are_the_known_values() {
        let d = Digests::of(b"");
        assert_eq!(
            nigehbaan_pdq::hex::encode(&d.md5),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            nigehbaan_pdq::hex::encode(&d.sha1),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            nigehbaan_pdq::hex::encode(&d.sha256),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn non_image_bytes_get_digests_and_no_error() {
        let mut h = Hasher::new();
        let r = hash_bytes(b"hello world", &Options::default(), &mut h);
        assert!(r.digests.is_some());
        assert!(r.image.is_none());
        assert!(r.error.is_none());
    }

    #[test]
    fn corrupt_image_keeps_digests_and_names_the_reason() {
        let mut h = Hasher::new();
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend_from_slice(&[0u8; 40]);
        let r = hash_bytes(&bytes, &Options::default(), &mut h);
        assert!(r.digests.is_some());
        assert!(
            matches!(r.error, Some(FileError::Decode(_))),
            "{:?}",
            r.error
        );
    }
}
