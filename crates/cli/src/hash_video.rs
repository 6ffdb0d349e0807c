//! `nigehbaan hash` on videos: the row's video fields, from
//! `nigehbaan-video` (the `ffmpeg` program as a child process).

use nigehbaan_filehash::name::readable_path;
use nigehbaan_filehash::{Record, VideoFields};
use nigehbaan_pdq::Hasher;
use nigehbaan_scan::report::display::visible;
use nigehbaan_video::{
    detect, format, hash_video, DecodeOptions, Ffmpeg, VideoInput, VideoPipeline, DETECT_HEAD_LEN,
};
use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

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
/// (it keeps its digests). Returns the video's hash in the reference
/// tool's file format when it was hashed.
pub fn add_video(
    record: &mut Record,
    path: &Path,
    opts: &VideoOptions,
    hasher: &mut Hasher,
) -> Option<String> {
    let decode = opts.as_ref()?;
    if record.sha256.is_none() || record.pdq.is_some() {
        return None;
    }
    let kind = head(path).as_deref().and_then(detect)?;
    record.format = Some(kind.name());
    let ffmpeg = match Ffmpeg::shared() {
        Ok(f) => f,
        Err(e) => {
            record.error = Some(e.to_string());
            record.video = Some(VideoFields::unhashed());
            return None;
        }
    };
    let mut reference = None;
    let fields = match hash_video(ffmpeg, &VideoInput::Path(path), decode, hasher) {
        Ok(v) => {
            record.width = Some(v.info.width);
            record.height = Some(v.info.height);
            reference = Some(format::write_reference(&v.vpdq.frames));
            if !v.decoder_messages.is_empty() {
                record.error = Some(format!(
                    "video decoded with errors, frames may be missing: {}",
                    v.decoder_messages
                ));
            }
            VideoFields::of(&v)
        }
        Err(e) => {
            record.error = Some(e.to_string());
            VideoFields::unhashed()
        }
    };
    record.video = Some(fields);
    reference
}

/// `hash --format vpdq`: the reference tool's file for each video, written
/// into one directory as `<file name>.vpdq.txt` (0600, never inside an
/// input path); the paths written are listed on the sink, problems on
/// stderr.
pub struct VpdqDir {
    dir: PathBuf,
    used: HashSet<OsString>,
    sink: Box<dyn Write>,
    not_videos: usize,
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

impl VpdqDir {
    /// Checks that `dir` is not inside one of `inputs` (evidence is never
    /// written to), then creates it.
    pub fn create(dir: &Path, inputs: &[PathBuf], sink: Box<dyn Write>) -> Result<Self, String> {
        // The nearest existing ancestor, resolved, plus the rest.
        let mut existing = dir.to_path_buf();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name(), existing.parent()) {
                (Some(n), Some(p)) => {
                    rest.push(n.to_os_string());
                    existing = if p.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        p.to_path_buf()
                    };
                }
                _ => break,
            }
        }
        let mut target = absolute(&existing);
        target.extend(rest.iter().rev());
        for input in inputs {
            let input = absolute(input);
            if target.starts_with(&input) {
                return Err(format!(
                    "--out {} is inside the input {}: evidence is never written to",
                    dir.display(),
                    input.display()
                ));
            }
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create --out directory {}: {e}", dir.display()))?;
        Ok(VpdqDir {
            dir: dir.to_path_buf(),
            used: HashSet::new(),
            sink,
            not_videos: 0,
        })
    }

    /// Reports a file that could not be read.
    pub fn report_error(&mut self, r: &Record) {
        if let Some(e) = &r.error {
            eprintln!("nigehbaan: {}", visible(&format!("{}: {e}", r.path)));
        }
    }

    /// Writes the video at `path`'s file when it was hashed (`reference`);
    /// `Ok(false)` when it is a video without a file, or the file's row has
    /// an error (reported on stderr).
    pub fn write(
        &mut self,
        path: &Path,
        r: &Record,
        reference: Option<&str>,
    ) -> Result<bool, String> {
        let Some(text) = reference else {
            if r.video.is_none() && r.error.is_none() {
                self.not_videos += 1;
                return Ok(true);
            }
            self.report_error(r);
            return Ok(false);
        };
        let mut name = path.file_name().unwrap_or(path.as_os_str()).to_os_string();
        name.push(".vpdq.txt");
        if !self.used.insert(name.clone()) {
            eprintln!(
                "nigehbaan: {}",
                visible(&format!(
                    "{}: not written: another video of this run already wrote {}",
                    readable_path(path),
                    Path::new(&name).display()
                ))
            );
            return Ok(false);
        }
        let file = self.dir.join(&name);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&file)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        writeln!(self.sink, "{}", visible(&readable_path(&file)))
            .map_err(|e| format!("cannot write output: {e}"))?;
        self.report_error(r);
        Ok(r.error.is_none())
    }

    /// Says how many files were not videos and flushes the list.
    pub fn finish(mut self) -> Result<(), String> {
        if self.not_videos > 0 {
            eprintln!(
                "nigehbaan: {} file(s) are not videos: no vPDQ file written for them",
                self.not_videos
            );
        }
        self.sink
            .flush()
            .map_err(|e| format!("cannot write output: {e}"))
    }
}
