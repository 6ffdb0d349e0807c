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
    /// Decoder threads of the child (`-threads N`); `None` lets FFmpeg
    /// choose.
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
}

/// Decoded frames of one video from an `ffmpeg` child.
pub struct PipeSource {
    ffmpeg: Ffmpeg,
    input_arg: std::ffi::OsString,
    feed: Feed,
    path: PathBuf,
    info: StreamInfo,
    opts: DecodeOptions,
    deadline: Instant,
    modulus: u64,
    child: Option<Child>,
    rx: Option<Receiver<Msg>>,
    pool: Option<SyncSender<Vec<u8>>>,
    stderr: Option<JoinHandle<StderrReport>>,
    pts: Option<Receiver<f64>>,
    first_pts: Option<f64>,
    current: Vec<u8>,
    frames_read: u64,
    bytes_read: u64,
    last_index: Option<u64>,
    finished: bool,
    messages: String,
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
        let path = input.display_path().to_path_buf();
        let pixels = u64::from(info.width) * u64::from(info.height);
        if pixels == 0 || pixels > opts.limits.max_pixels {
            return Err(VideoError::BadFrameSize {
                path,
                width: info.width.into(),
                height: info.height.into(),
                max_pixels: opts.limits.max_pixels,
            });
        }
        if !(info.fps.is_finite() && info.fps > 0.0) {
            return Err(VideoError::NoFrameRate { path });
        }
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

    fn command(&self) -> Command {
        let mut cmd = Command::new(self.ffmpeg.program());
        let fast = self.opts.pipeline == VideoPipeline::Fast;
        // `-v error` for exact sampling; the fast pipeline needs showinfo's
        // info-level lines, each prefixed with its level.
        cmd.args(["-v", if fast { "level+info" } else { "error" }]);
        cmd.args(["-nostdin", "-hide_banner", "-nostats", "-noautorotate"]);
        cmd.args(["-protocol_whitelist", self.feed.protocols()]);
        if let Some(t) = self.opts.threads {
            cmd.arg("-threads").arg(t.to_string());
        }
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
        let mut cmd = self.command();
        let bytes = self.feed.attach(&mut cmd).map_err(io_err)?;
        let mut child = cmd.spawn().map_err(io_err)?;
        // The feeder thread ends when the child closes its stdin.
        drop(feed_stdin(&mut child, bytes));
        let size = frame_bytes(&self.info);
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
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
        let (pts_tx, pts_rx) = mpsc::channel::<f64>();
        if let Some(err) = stderr {
            self.stderr = Some(thread::spawn(move || read_stderr(err, pts_tx)));
        }
        self.pts = Some(pts_rx);
        self.rx = Some(rx);
        self.pool = Some(pool_tx);
        self.child = Some(child);
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
        Ok(())
    }

    /// The frame number and timestamp of the next frame read.
    fn next_index(&mut self) -> u64 {
        let fps = self.info.fps;
        let index = match self.opts.pipeline {
            VideoPipeline::Exact => self.frames_read.saturating_mul(self.modulus),
            VideoPipeline::Fast => {
                // showinfo logs a frame before it is written to the pipe.
                let left = self.deadline.saturating_duration_since(Instant::now());
                let pts = self
                    .pts
                    .as_ref()
                    .and_then(|r| r.recv_timeout(left.min(Duration::from_secs(5))).ok());
                match pts {
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
        index
    }
}

/// Reads the child's stderr: showinfo's `pts_time:` values go to `pts`,
/// error-level lines (all lines under `-v error`) are kept, shortened.
fn read_stderr<R: Read>(err: R, pts: mpsc::Sender<f64>) -> StderrReport {
    let mut report = StderrReport::default();
    let mut reader = io::BufReader::new(err);
    let mut line = Vec::new();
    loop {
        line.clear();
        match io::BufRead::read_until(&mut reader, b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if text.contains("Parsed_showinfo") {
            if let Some(v) = text
                .split_once("pts_time:")
                .and_then(|(_, r)| r.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
            {
                let _ = pts.send(v);
            }
            continue;
        }
        // Under `-v level+…` every line carries its level in brackets
        // (after the context, if any): keep errors only.
        const SEVERE: [&str; 3] = ["[error]", "[fatal]", "[panic]"];
        const MILD: [&str; 5] = ["[info]", "[warning]", "[verbose]", "[debug]", "[trace]"];
        let has = |tags: &[&str]| tags.iter().any(|t| text.contains(t));
        let keep = has(&SEVERE) || !has(&MILD);
        if keep && report.messages.len() < 4096 {
            report.messages.extend_from_slice(&line);
        }
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
                let index = self.next_index();
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
    fn stderr_keeps_errors_and_pts_only() {
        let text = "[info] Input #0, mov,mp4, from 'file:a.mp4':\n\
            [info]   Duration: 00:00:08.00, start: 0.000000\n\
            [Parsed_showinfo_1 @ 0x55] [info] n:   0 pts:      0 pts_time:1.5 duration:512\n\
            [h264 @ 0x56] [error] corrupt macroblock\n\
            [mp4 @ 0x57] [warning] something mild\n\
            plain line under -v error\n";
        let (tx, rx) = mpsc::channel();
        let report = read_stderr(text.as_bytes(), tx);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1.5]);
        assert_eq!(
            String::from_utf8_lossy(&report.messages),
            "[h264 @ 0x56] [error] corrupt macroblock\nplain line under -v error\n"
        );
    }
}
