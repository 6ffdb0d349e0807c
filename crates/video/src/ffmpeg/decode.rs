//! Decoding the sampled frames with the `ffmpeg` program: RGB24 frames
//! stream off its stdout pipe through a reader thread, so decoding (in the
//! child) overlaps hashing (in the caller). Time, byte, frame and pixel
//! limits; the child is killed when one is hit or when the source is
//! dropped.

use super::probe::{short_message, StreamInfo};
use super::run::{feed_stdin, read_capped, wait_until, Feed};
use super::Ffmpeg;
use crate::core::{FrameSource, RgbFrame, VideoPipeline};
use crate::error::VideoError;
use crate::VideoInput;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Limits on one video's decoding. A video that hits one is that file's
/// error; the child is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall time for probing and decoding together.
    pub wall_time: Duration,
    /// RGB bytes read off the pipe.
    pub max_bytes: u64,
    /// Frames read off the pipe (sampled frames, or key frames with
    /// `fast`).
    pub max_frames: u64,
    /// Pixels per frame the stream may declare (refused before decoding).
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall_time: Duration::from_secs(30 * 60),
            max_bytes: 256 << 30,
            max_frames: 1_000_000,
            // 8K UHD is 33 MP; 64 MP leaves room for odd sizes.
            max_pixels: 64 << 20,
        }
    }
}

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeOptions {
    /// vPDQ's `seconds_per_hash` (1 for HMA; 0 = every frame). Ignored by
    /// the `fast` pipeline.
    pub seconds_per_hash: f64,
    /// Exact sampling or key frames only.
    pub pipeline: VideoPipeline,
    /// Limits.
    pub limits: Limits,
    /// Decoder threads of the child (`-threads N`). `None` shares the
    /// cores among the videos being hashed when this one starts: the
    /// cores divided by the videos being hashed then, at least one. Several
    /// videos decoded side by side then get one thread each (FFmpeg's frame
    /// threads cost about a tenth more CPU for the same frames), and a
    /// video decoded alone gets every core.
    pub threads: Option<u32>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            seconds_per_hash: 1.0,
            pipeline: VideoPipeline::Exact,
            limits: Limits::default(),
            threads: None,
        }
    }
}

enum Msg {
    Frame(Vec<u8>),
    /// End of the pipe; `true` when it ended inside a frame.
    End(bool),
    Failed(io::Error),
}

/// What the stderr thread gathers.
#[derive(Default)]
struct StderrReport {
    /// Decoder messages (errors), shortened.
    messages: Vec<u8>,
    /// The banner described an input (`Input #0`).
    saw_input: bool,
    /// Frames showinfo described after the banner.
    frames_shown: u64,
}

/// One frame as showinfo logs it before the frame is written to the pipe.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shown {
    pts: Option<f64>,
    size: Option<(u32, u32)>,
}

/// Decoded frames of one video from an `ffmpeg` child.
pub struct PipeSource {
    ffmpeg: Ffmpeg,
    input_arg: std::ffi::OsString,
    feed: Feed,
    path: PathBuf,
    info: StreamInfo,
    /// The stream is described by the decoding child's own banner (the
    /// fast pipeline: no separate probe), read when it starts.
    from_banner: bool,
    opts: DecodeOptions,
    deadline: Instant,
    modulus: u64,
    child: Option<Child>,
    rx: Option<Receiver<Msg>>,
    pool: Option<SyncSender<Vec<u8>>>,
    stderr: Option<JoinHandle<StderrReport>>,
    pts: Option<Receiver<Shown>>,
    first_pts: Option<f64>,
    current: Vec<u8>,
    frames_read: u64,
    bytes_read: u64,
    last_index: Option<u64>,
    finished: bool,
    messages: String,
}

/// Videos this process is hashing now (probing or decoding).
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// One video counted in [`RUNNING`] until dropped.
pub(crate) struct Running;

impl Running {
    /// Counts a video being hashed.
    pub(crate) fn start() -> Running {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Running
    }

    /// This video's share of the cores, counting itself.
    pub(crate) fn share(&self) -> u32 {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let running = RUNNING.load(Ordering::SeqCst).max(1);
        u32::try_from((cores / running).max(1)).unwrap_or(1)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Refuses a declared frame size over the pixel limit, and a stream with
/// no frame rate.
fn check_stream(
    info: &StreamInfo,
    opts: &DecodeOptions,
    path: &std::path::Path,
) -> Result<(), VideoError> {
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels == 0 || pixels > opts.limits.max_pixels {
        return Err(VideoError::BadFrameSize {
            path: path.to_path_buf(),
            width: info.width.into(),
            height: info.height.into(),
            max_pixels: opts.limits.max_pixels,
        });
    }
    if !(info.fps.is_finite() && info.fps > 0.0) {
        return Err(VideoError::NoFrameRate {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn frame_bytes(info: &StreamInfo) -> usize {
    info.width as usize * info.height as usize * 3
}

impl PipeSource {
    /// Prepares to decode `input`, whose first video stream is `info` (from
    /// [`Ffmpeg::probe`]); the child starts at the first frame requested.
    /// Refuses a declared frame size over the pixel limit. `started` is when
    /// the wall-time limit began (before probing).
    pub fn new(
        ffmpeg: &Ffmpeg,
        input: &VideoInput<'_>,
        info: StreamInfo,
        opts: DecodeOptions,
        started: Instant,
    ) -> Result<PipeSource, VideoError> {
        check_stream(&info, &opts, input.display_path())?;
        PipeSource::prepared(ffmpeg, input, info, false, opts, started)
    }

    /// Starts decoding `input` with no probe before it: the stream is read
    /// from the decoding child's own description of its input (its
    /// banner), and checked as [`PipeSource::new`] checks a probed one.
    /// One process per video instead of two. Only for the fast pipeline,
    /// whose filter does not depend on the frame rate; exact sampling
    /// needs the rate before its filter is built.
    pub fn start_unprobed(
        ffmpeg: &Ffmpeg,
        input: &VideoInput<'_>,
        opts: DecodeOptions,
        started: Instant,
    ) -> Result<PipeSource, VideoError> {
        let info = StreamInfo {
            codec: String::new(),
            width: 0,
            height: 0,
            fps: 0.0,
            rotation: 0,
            duration: None,
        };
        let mut source = PipeSource::prepared(ffmpeg, input, info, true, opts, started)?;
        source.start()?;
        Ok(source)
    }

    fn prepared(
        ffmpeg: &Ffmpeg,
        input: &VideoInput<'_>,
        info: StreamInfo,
        from_banner: bool,
        opts: DecodeOptions,
        started: Instant,
    ) -> Result<PipeSource, VideoError> {
        let path = input.display_path().to_path_buf();
        let (input_arg, feed) = input.ffmpeg_input().map_err(|e| VideoError::Io {
            path: path.clone(),
            action: "sharing the open file with ffmpeg",
            source: e,
        })?;
        Ok(PipeSource {
            ffmpeg: ffmpeg.clone(),
            input_arg,
            feed,
            path,
            info,
            from_banner,
            opts,
            deadline: started + opts.limits.wall_time,
            modulus: 1,
            child: None,
            rx: None,
            pool: None,
            stderr: None,
            pts: None,
            first_pts: None,
            current: Vec::new(),
            frames_read: 0,
            bytes_read: 0,
            last_index: None,
            finished: false,
            messages: String::new(),
        })
    }

    /// The stream being decoded.
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Error messages the decoder printed although it finished (a
    /// truncated or damaged stream), shortened; empty when none.
    pub fn decoder_messages(&self) -> &str {
        &self.messages
    }

    fn command(&self, threads: u32) -> Command {
        let mut cmd = Command::new(self.ffmpeg.program());
        let fast = self.opts.pipeline == VideoPipeline::Fast;
        // `-v error` for exact sampling; the fast pipeline needs showinfo's
        // info-level lines, each prefixed with its level.
        cmd.args(["-v", if fast { "level+info" } else { "error" }]);
        cmd.args(["-nostdin", "-hide_banner", "-nostats", "-noautorotate"]);
        cmd.args(["-protocol_whitelist", self.feed.protocols()]);
        cmd.arg("-threads").arg(threads.to_string());
        if fast {
            cmd.args(["-skip_frame", "nokey"]);
        }
        cmd.arg("-i").arg(&self.input_arg);
        cmd.args(["-map", "0:v:0", "-vf"]);
        if fast {
            // Some decoders (VP9) ignore -skip_frame: keep key frames only
            // in the graph as well.
            cmd.arg("select=eq(key\\,1),showinfo");
        } else {
            cmd.arg(format!("select=not(mod(n\\,{}))", self.modulus));
        }
        if self.ffmpeg.has_fps_mode() {
            cmd.args(["-fps_mode", "passthrough"]);
        } else {
            cmd.args(["-vsync", "passthrough"]);
        }
        cmd.args([
            "-sws_flags",
            "area",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ]);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    }

    fn start(&mut self) -> Result<(), VideoError> {
        let io_err = |e| VideoError::Io {
            path: self.path.clone(),
            action: "starting ffmpeg",
            source: e,
        };
        let threads = self.opts.threads.unwrap_or(1);
        let mut cmd = self.command(threads);
        let bytes = self.feed.attach(&mut cmd).map_err(io_err)?;
        let mut child = cmd.spawn().map_err(io_err)?;
        // The feeder thread ends when the child closes its stdin.
        drop(feed_stdin(&mut child, bytes));
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (pts_tx, pts_rx) = mpsc::channel::<Shown>();
        let (info_tx, info_rx) = mpsc::sync_channel::<StreamInfo>(1);
        let banner = self.from_banner.then_some(info_tx);
        if let Some(err) = stderr {
            self.stderr = Some(thread::spawn(move || read_stderr(err, pts_tx, banner)));
        }
        self.pts = Some(pts_rx);
        self.child = Some(child);
        if self.from_banner {
            self.read_banner(info_rx)?;
        }
        let size = frame_bytes(&self.info);
        // Two frames in flight while the caller hashes a third.
        let (tx, rx) = mpsc::sync_channel::<Msg>(2);
        let (pool_tx, pool_rx) = mpsc::sync_channel::<Vec<u8>>(4);
        if let Some(mut out) = stdout {
            thread::spawn(move || loop {
                let mut buf = pool_rx.try_recv().unwrap_or_else(|_| vec![0u8; size]);
                buf.resize(size, 0);
                let mut filled = 0;
                while filled < size {
                    match out.read(&mut buf[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let _ = tx.send(Msg::Failed(e));
                            return;
                        }
                    }
                }
                if filled < size {
                    let _ = tx.send(Msg::End(filled > 0));
                    return;
                }
                if tx.send(Msg::Frame(buf)).is_err() {
                    return;
                }
            });
        }
        self.rx = Some(rx);
        self.pool = Some(pool_tx);
        Ok(())
    }

    /// Waits for the stream the child's banner describes and checks it;
    /// on failure the child is stopped and the error says why.
    fn read_banner(&mut self, info: Receiver<StreamInfo>) -> Result<(), VideoError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let described = match info.recv_timeout(left) {
            Ok(i) => i,
            Err(RecvTimeoutError::Timeout) => return Err(self.timed_out()),
            Err(RecvTimeoutError::Disconnected) => {
                // The banner ended without a video stream: the child has
                // stopped (or is stopping) with its reason on stderr.
                let status = self
                    .child
                    .take()
                    .map(|mut c| wait_until(&mut c, self.deadline));
                let report = self
                    .stderr
                    .take()
                    .and_then(|h| h.join().ok())
                    .unwrap_or_default();
                self.finished = true;
                if matches!(status, Some(Ok(None))) {
                    return Err(VideoError::TimedOut {
                        path: self.path.clone(),
                        limit: self.opts.limits.wall_time,
                        frames_hashed: 0,
                    });
                }
                return Err(if report.saw_input {
                    VideoError::NoVideoStream {
                        path: self.path.clone(),
                    }
                } else {
                    VideoError::Unreadable {
                        path: self.path.clone(),
                        detail: short_message(&report.messages),
                    }
                });
            }
        };
        if let Err(e) = check_stream(&described, &self.opts, &self.path) {
            self.kill();
            return Err(e);
        }
        self.info = described;
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.finished = true;
    }

    fn timed_out(&mut self) -> VideoError {
        self.kill();
        VideoError::TimedOut {
            path: self.path.clone(),
            limit: self.opts.limits.wall_time,
            frames_hashed: self.frames_read,
        }
    }

    /// After the pipe ended: the child's verdict.
    fn finish(&mut self, partial: bool) -> Result<(), VideoError> {
        self.finished = true;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = wait_until(&mut child, self.deadline).map_err(|e| VideoError::Io {
            path: self.path.clone(),
            action: "waiting for ffmpeg",
            source: e,
        })?;
        let report = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        self.messages = short_message(&report.messages);
        let Some(status) = status else {
            return Err(VideoError::TimedOut {
                path: self.path.clone(),
                limit: self.opts.limits.wall_time,
                frames_hashed: self.frames_read,
            });
        };
        if !status.success() || partial {
            return Err(VideoError::DecodeFailed {
                path: self.path.clone(),
                frames_hashed: self.frames_read,
                status: if partial && status.success() {
                    "the last frame was cut short".into()
                } else {
                    status.to_string()
                },
                detail: self.messages.clone(),
            });
        }
        if self.from_banner && report.frames_shown != self.frames_read {
            return Err(self.undescribed(format!(
                "ffmpeg described {} frames and wrote {}",
                report.frames_shown, self.frames_read
            )));
        }
        Ok(())
    }

    /// The frame number of the next frame read. With a stream described by
    /// the child's banner, every frame must also be described by showinfo
    /// at the size the banner declared (the banner carries the file's own
    /// metadata text, so it alone is not trusted with the frame size).
    fn next_index(&mut self) -> Result<u64, VideoError> {
        let fps = self.info.fps;
        let index = match self.opts.pipeline {
            VideoPipeline::Exact => self.frames_read.saturating_mul(self.modulus),
            VideoPipeline::Fast => {
                // showinfo logs a frame before it is written to the pipe.
                let left = self.deadline.saturating_duration_since(Instant::now());
                let wait = if self.from_banner {
                    left
                } else {
                    left.min(Duration::from_secs(5))
                };
                let shown = self.pts.as_ref().and_then(|r| r.recv_timeout(wait).ok());
                if self.from_banner {
                    let size = (self.info.width, self.info.height);
                    if shown.and_then(|s| s.size) != Some(size) {
                        self.kill();
                        return Err(self.undescribed(match shown.and_then(|s| s.size) {
                            Some((w, h)) => format!(
                                "ffmpeg described a {w}×{h} frame where the stream declared {}×{}",
                                size.0, size.1
                            ),
                            None => "a frame arrived that ffmpeg did not describe".into(),
                        }));
                    }
                }
                match shown.and_then(|s| s.pts) {
                    Some(p) => {
                        let first = *self.first_pts.get_or_insert(p);
                        ((p - first).max(0.0) * fps).round() as u64
                    }
                    None => self.last_index.map_or(0, |l| l + 1),
                }
            }
        };
        let index = match self.last_index {
            Some(l) if index <= l => l + 1,
            _ => index,
        };
        self.last_index = Some(index);
        Ok(index)
    }

    /// The error for frames that do not agree with the stream's
    /// description.
    fn undescribed(&self, detail: String) -> VideoError {
        VideoError::DecodeFailed {
            path: self.path.clone(),
            frames_hashed: self.frames_read,
            status: "its frames do not match the stream's description".into(),
            detail,
        }
    }
}

/// The most banner text read while looking for the input's description.
const BANNER_MAX: usize = 64 << 10;

/// Reads the child's stderr: showinfo's frame lines (time and size) go to
/// `shown`,
/// error-level lines (all lines under `-v error`) are kept, shortened.
/// With `banner`, the info-level description of the input (up to the
/// output's) is parsed and its video stream sent there; the sender is
/// dropped without sending when there is none.
fn read_stderr<R: Read>(
    err: R,
    shown: mpsc::Sender<Shown>,
    mut banner: Option<SyncSender<StreamInfo>>,
) -> StderrReport {
    let mut report = StderrReport::default();
    let mut reader = io::BufReader::new(err);
    let mut line = Vec::new();
    let mut described = String::new();
    // Whether the message being read is below error level (under `-v
    // error` no line carries a level, and all are kept).
    let mut mild = false;
    loop {
        line.clear();
        match io::BufRead::read_until(&mut reader, b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if banner.is_some() {
            if let Some((_, rest)) = text.split_once("[info] ") {
                let rest = rest.trim_end();
                if rest.starts_with("Output #") || rest.starts_with("Stream mapping:") {
                    report.saw_input = described.contains("Input #");
                    if let (Some(tx), Some(info)) =
                        (banner.take(), super::parse_ffmpeg_banner(&described))
                    {
                        let _ = tx.send(info);
                    }
                } else if described.len() < BANNER_MAX {
                    described.push_str(rest);
                    described.push('\n');
                }
            }
        }
        if text.contains("Parsed_showinfo") {
            // A frame's line, once the banner is over (the banner holds
            // the file's own metadata text, which proves nothing).
            let frame = text
                .strip_prefix("[Parsed_showinfo")
                .and_then(|r| r.split_once("[info] "))
                .map(|(_, r)| r.trim_start())
                .filter(|r| r.starts_with("n:") && banner.is_none());
            if let Some(r) = frame {
                let field = |key: &str| {
                    r.split_once(key)
                        .and_then(|(_, v)| v.split_whitespace().next())
                };
                let size = field(" s:")
                    .and_then(|v| v.split_once('x'))
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)));
                let pts = field("pts_time:").and_then(|v| v.parse::<f64>().ok());
                report.frames_shown += 1;
                let _ = shown.send(Shown { pts, size });
            }
            continue;
        }
        // Under `-v level+…` every message carries its level in brackets
        // (after the context, if any): keep errors only. A line with no
        // level continues the message before it (a metadata value or key
        // with a newline in the banner), and takes its level.
        const SEVERE: [&str; 3] = ["[error]", "[fatal]", "[panic]"];
        const MILD: [&str; 5] = ["[info]", "[warning]", "[verbose]", "[debug]", "[trace]"];
        let has = |tags: &[&str]| tags.iter().any(|t| text.contains(t));
        if has(&SEVERE) {
            mild = false;
        } else if has(&MILD) {
            mild = true;
        }
        if !mild && report.messages.len() < 4096 {
            report.messages.extend_from_slice(&line);
        }
    }
    if banner.is_some() {
        report.saw_input = described.contains("Input #");
    }
    // Anything after the cap is drained and dropped.
    let _ = read_capped(reader, 0);
    report
}

impl FrameSource for PipeSource {
    fn frame_rate(&self) -> f64 {
        self.info.fps
    }

    fn set_sampling(&mut self, modulus: u64) {
        if self.child.is_none() && !self.finished {
            self.modulus = modulus.max(1);
        }
    }

    fn next_frame(&mut self) -> Result<Option<(u64, RgbFrame<'_>)>, VideoError> {
        if self.finished {
            return Ok(None);
        }
        if self.child.is_none() {
            self.start()?;
        }
        // Hand the previous frame's buffer back to the reader.
        if !self.current.is_empty() {
            if let Some(pool) = &self.pool {
                let _ = pool.try_send(std::mem::take(&mut self.current));
            }
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        let msg = match self.rx.as_ref().map(|rx| rx.recv_timeout(left)) {
            Some(Ok(m)) => m,
            Some(Err(RecvTimeoutError::Timeout)) => return Err(self.timed_out()),
            Some(Err(RecvTimeoutError::Disconnected)) | None => Msg::End(false),
        };
        match msg {
            Msg::Frame(buf) => {
                let limits = self.opts.limits;
                self.bytes_read += buf.len() as u64;
                if self.frames_read >= limits.max_frames || self.bytes_read > limits.max_bytes {
                    self.kill();
                    let (budget, limit) = if self.frames_read >= limits.max_frames {
                        ("frames", limits.max_frames)
                    } else {
                        ("bytes", limits.max_bytes)
                    };
                    return Err(VideoError::BudgetExceeded {
                        path: self.path.clone(),
                        budget,
                        limit,
                    });
                }
                let index = self.next_index()?;
                self.frames_read += 1;
                self.current = buf;
                Ok(Some((
                    index,
                    RgbFrame {
                        pixels: &self.current,
                        width: self.info.width as usize,
                        height: self.info.height as usize,
                    },
                )))
            }
            Msg::End(partial) => {
                self.finish(partial)?;
                Ok(None)
            }
            Msg::Failed(e) => {
                self.kill();
                Err(VideoError::Io {
                    path: self.path.clone(),
                    action: "reading frames from ffmpeg",
                    source: e,
                })
            }
        }
    }
}

impl Drop for PipeSource {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_describes_the_stream_before_the_output() {
        let text = "[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:a.mp4':\n\
            [info]   Duration: 00:00:13.00, start: 0.000000, bitrate: 4071 kb/s\n\
            [info]   Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), \
            yuv420p(progressive), 1080x1920 [SAR 1:1 DAR 9:16], 4000 kb/s, 29.97 fps, \
            29.97 tbr, 30k tbn (default)\n\
            [info]     displaymatrix: rotation of -90.00 degrees\n\
            [info]   Stream #0:1[0x2](und): Audio: aac (LC), 44100 Hz, stereo, fltp\n\
            [info] Stream mapping:\n\
            [info]   Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))\n\
            [info] Output #0, rawvideo, to 'pipe:':\n\
            [info]   Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24, 640x480\n";
        let (tx, rx) = mpsc::channel();
        let (info_tx, info_rx) = mpsc::sync_channel(1);
        let report = read_stderr(text.as_bytes(), tx, Some(info_tx));
        assert!(rx.try_recv().is_err(), "no frame lines in this text");
        let info = info_rx.try_recv().expect("the stream");
        assert_eq!(
            (info.codec.as_str(), info.width, info.height),
            ("h264", 1080, 1920)
        );
        assert_eq!(info.fps, 30000.0 / 1001.0);
        assert_eq!(info.rotation, 270);
        assert_eq!(info.duration, Some(13.0));
        assert!(report.saw_input);

        // An input with no video stream: nothing is sent.
        let text = "[info] Input #0, mov,mp4, from 'file:a.m4a':\n\
            [info]   Stream #0:0[0x1](und): Audio: aac (LC), 44100 Hz, mono, fltp\n\
            [fatal] Stream map '0:v:0' matches no streams.\n";
        let (tx, _rx) = mpsc::channel();
        let (info_tx, info_rx) = mpsc::sync_channel(1);
        let report = read_stderr(text.as_bytes(), tx, Some(info_tx));
        assert!(info_rx.try_recv().is_err());
        assert!(report.saw_input);
        assert!(String::from_utf8_lossy(&report.messages).contains("matches no streams"));
    }

    /// The file's own metadata is printed in the banner: lines it forges
    /// there (a frame line, an end of the banner) are not taken for
    /// ffmpeg's; frame lines count only after the banner, with their size.
    #[test]
    fn forged_lines_in_the_banner_are_not_frames() {
        let text = "[info] Input #0, matroska,webm, from 'file:a.mkv':\n\
            [info]   Metadata:\n\
            [info]     title           : x\n\
            [Parsed_showinfo_1 @ 0x1] [info] n:   0 pts:0 pts_time:0 s:16x16\n\
            [info]   Stream #0:0: Video: h264 (High), yuv420p(progressive), 320x240, 25 fps, 25 tbr\n\
            [info] Stream mapping:\n\
            [Parsed_showinfo_1 @ 0x55] [info] n:   0 pts:      0 pts_time:0.5 pos: 190 \
            fmt:yuv420p sar:1/1 s:320x240 i:P iskey:1 type:I\n\
            [Parsed_showinfo_1 @ 0x55] [info] config in time_base: 1/1000, frame_rate: 25/1\n";
        let (tx, rx) = mpsc::channel();
        let (info_tx, info_rx) = mpsc::sync_channel(1);
        let report = read_stderr(text.as_bytes(), tx, Some(info_tx));
        let info = info_rx.try_recv().expect("the stream");
        assert_eq!((info.width, info.height), (320, 240));
        assert_eq!(
            rx.try_iter().collect::<Vec<_>>(),
            vec![Shown {
                pts: Some(0.5),
                size: Some((320, 240))
            }]
        );
        assert_eq!(report.frames_shown, 1);
    }

    proptest::proptest! {
        /// Any stderr text, with real and forged banner and frame lines
        /// mixed in: no panic, at most one stream description, and every
        /// frame line counted is one sent.
        #[test]
        fn stderr_reader_takes_any_text(lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                proptest::prelude::Just("[info] Stream mapping:".to_string()),
                proptest::prelude::Just("[info] Input #0, mov, from 'x':".to_string()),
                "\\[info\\]   Stream #0:0: Video: [a-z0-9 ,x.()\\[\\]:]{0,60}",
                "\\[info\\]     [a-z ]{0,10}rotation of -?[0-9.]{1,6} degrees",
                "\\[Parsed_showinfo_1 @ 0x1\\] \\[info\\] n:[ 0-9]{1,4} pts_time:[0-9.e-]{0,8} s:[0-9x]{0,12}",
            ],
            0..40,
        )) {
            let text = lines.join("\n");
            let (tx, rx) = mpsc::channel();
            let (info_tx, info_rx) = mpsc::sync_channel(1);
            let report = read_stderr(text.as_bytes(), tx, Some(info_tx));
            proptest::prop_assert!(info_rx.try_iter().count() <= 1);
            proptest::prop_assert_eq!(rx.try_iter().count() as u64, report.frames_shown);
        }
    }

    #[test]
    fn stderr_keeps_errors_and_pts_only() {
        let text = "[info] Input #0, mov,mp4, from 'file:a.mp4':\n\
            [info]   Duration: 00:00:08.00, start: 0.000000\n\
            [Parsed_showinfo_1 @ 0x55] [info] n:   0 pts:      0 pts_time:1.5 duration:512\n\
            [h264 @ 0x56] [error] corrupt macroblock\n\
            [mp4 @ 0x57] [warning] something mild\n\
            [info]     comment         : a value\n\
            that went on after a newline\n\
            [h264 @ 0x56] [error] another\n\
            plain line after an error\n";
        let (tx, rx) = mpsc::channel();
        let report = read_stderr(text.as_bytes(), tx, None);
        assert_eq!(
            rx.try_iter().collect::<Vec<_>>(),
            vec![Shown {
                pts: Some(1.5),
                size: None
            }]
        );
        assert_eq!(
            String::from_utf8_lossy(&report.messages),
            "[h264 @ 0x56] [error] corrupt macroblock\n\
             [h264 @ 0x56] [error] another\nplain line after an error\n"
        );
    }
}
