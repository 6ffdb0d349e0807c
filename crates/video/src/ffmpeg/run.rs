//! Running a short-lived child (`-version`, the probe) with a time limit and
//! a cap on what it may write.

use std::io::{self, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// What a child wrote and how it ended.
pub(crate) struct Captured {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

/// Reads at most `cap` bytes, then drains the rest (so the child never
/// blocks on a full pipe).
pub(crate) fn read_capped<R: Read>(mut r: R, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let room = cap.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    out
}

/// What a child reads on its standard input.
#[derive(Debug)]
pub(crate) enum Feed {
    /// Nothing (the input is a file the child opens).
    Null,
    /// Bytes written to a pipe by a thread.
    Bytes(Arc<[u8]>),
    /// An open file of the caller's, shared with the child (same open file
    /// description: its flags, such as `O_NOATIME`, apply to the child's
    /// reads); rewound to its start before each child.
    #[cfg(unix)]
    Fd(std::os::fd::OwnedFd),
}

impl Feed {
    /// Sets `cmd`'s stdin; returns the bytes a thread must write to it.
    pub(crate) fn attach(&self, cmd: &mut Command) -> io::Result<Option<Arc<[u8]>>> {
        match self {
            Feed::Null => {
                cmd.stdin(Stdio::null());
                Ok(None)
            }
            Feed::Bytes(b) => {
                cmd.stdin(Stdio::piped());
                Ok(Some(b.clone()))
            }
            #[cfg(unix)]
            Feed::Fd(fd) => {
                use std::io::Seek;
                let mut f = std::fs::File::from(fd.try_clone()?);
                f.seek(io::SeekFrom::Start(0))?;
                cmd.stdin(Stdio::from(f));
                Ok(None)
            }
        }
    }

    /// The protocols the child may use (`-protocol_whitelist`).
    pub(crate) fn protocols(&self) -> &'static str {
        match self {
            Feed::Null => "file",
            _ => "pipe",
        }
    }
}

/// Feeds `bytes` to the child's stdin from a thread; a child that stops
/// reading (closes its end) is not an error.
pub(crate) fn feed_stdin(
    child: &mut Child,
    bytes: Option<Arc<[u8]>>,
) -> Option<thread::JoinHandle<()>> {
    let bytes = bytes?;
    let mut stdin = child.stdin.take()?;
    Some(thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    }))
}

/// Waits for the child until `deadline`, then kills it.
/// Returns `None` when it had to be killed.
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `cmd` (stdout and stderr piped, stdin from `feed`) within
/// `timeout`, keeping at most `cap` bytes of each output.
pub(crate) fn output_with_limit(
    mut cmd: Command,
    feed: &Feed,
    timeout: Duration,
    cap: usize,
) -> io::Result<Captured> {
    let stdin = feed.attach(&mut cmd)?;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let deadline = Instant::now() + timeout;
    let mut child = cmd.spawn()?;
    let feeder = feed_stdin(&mut child, stdin);
    let out = child
        .stdout
        .take()
        .map(|o| thread::spawn(move || read_capped(o, cap)));
    let err = child
        .stderr
        .take()
        .map(|e| thread::spawn(move || read_capped(e, cap)));
    let status = wait_until(&mut child, deadline)?;
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    match status {
        Some(status) => Ok(Captured {
            status,
            stdout,
            stderr,
        }),
        None => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "child timed out and was killed",
        )),
    }
}
