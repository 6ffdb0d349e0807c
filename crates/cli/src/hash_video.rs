//! `nigehbaan hash` on videos: the row's video fields, from
//! `nigehbaan-video` (the `ffmpeg` program as a child process).

use nigehbaan_filehash::{Record, VideoFields, VpdqFrame};
use nigehbaan_pdq::Hasher;
use nigehbaan_video::{
    detect, hash_video, DecodeOptions, Ffmpeg, VideoInput, VideoPipeline, DETECT_HEAD_LEN,
};
use std::io::Read;
use std::path::Path;

/// How videos are hashed; `None` skips them (digests only).
pub type VideoOptions = Option<DecodeOptions>;

/// The options for `--seconds-per-hash`, `--fast` and `--no-pdq`.
pub fn options(seconds_per_hash: f64, fast: bool, no_pdq: bool) -> VideoOptions {
    (!no_pdq).then(|| DecodeOptions {
        seconds_per_hash,
        pipeline: if fast {
            VideoPipeline::Fast
        } else {
            VideoPipeline::Exact
        },
        ..DecodeOptions::default()
    })
}

/// The first bytes of a file, for detection by content.
pub fn head(path: &Path) -> Option<Vec<u8>> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; DETECT_HEAD_LEN];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    buf.truncate(n);
    Some(buf)
}

/// Adds the video fields to `record` when `path` holds a video (by
/// content); a video that cannot be perceptually hashed gets its `error`
/// (it keeps its digests).
pub fn add_video(record: &mut Record, path: &Path, opts: &VideoOptions, hasher: &mut Hasher) {
    let Some(decode) = opts else { return };
    if record.sha256.is_none() || record.pdq.is_some() {
        return;
    }
    let Some(kind) = head(path).as_deref().and_then(detect) else {
        return;
    };
    record.format = Some(kind.name());
    let mut fields = VideoFields {
        media: "video",
        duration: None,
        fps: None,
        codec: None,
        rotation: None,
        vpdq_pipeline: None,
        vpdq_frames: None,
        vpdq: None,
    };
    let ffmpeg = match Ffmpeg::shared() {
        Ok(f) => f,
        Err(e) => {
            record.error = Some(e.to_string());
            record.video = Some(fields);
            return;
        }
    };
    match hash_video(ffmpeg, &VideoInput::Path(path), decode, hasher) {
        Ok(v) => {
            record.width = Some(v.info.width);
            record.height = Some(v.info.height);
            fields.duration = v.info.duration;
            fields.fps = Some(v.info.fps);
            fields.codec = Some(v.info.codec);
            fields.rotation = Some(v.info.rotation);
            fields.vpdq_pipeline = Some(v.vpdq.pipeline.name());
            fields.vpdq_frames = Some(v.vpdq.frames.len());
            fields.vpdq = Some(
                v.vpdq
                    .frames
                    .iter()
                    .map(|f| VpdqFrame {
                        frame: f.frame,
                        quality: f.quality,
                        pdq: f.pdq.to_hex(),
                        // Three decimals, as the reference tool writes them.
                        timestamp: (f.timestamp * 1000.0).round() / 1000.0,
                    })
                    .collect(),
            );
            if !v.decoder_messages.is_empty() {
                record.error = Some(format!(
                    "video decoded with errors, frames may be missing: {}",
                    v.decoder_messages
                ));
            }
        }
        Err(e) => record.error = Some(e.to_string()),
    }
    record.video = Some(fields);
}
