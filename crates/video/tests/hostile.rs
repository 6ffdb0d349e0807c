//! Hostile inputs the decoding tests do not cover (garbage after a valid
//! header, sizes declared far beyond the file, an endless stream) and hashing from an open file descriptor
//! without changing the file's access time. Benign videos generated at
//! test time from procedural sources.
//!
//! Run when ffmpeg is present; fail under CI=true when it is missing;
//! otherwise skip with a one-line note.

use nigehbaan_pdq::Hasher;
use nigehbaan_video::{hash_video, DecodeOptions, Ffmpeg, Limits, VideoError, VideoInput};
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod common;

const SUITE: &str = "video-hostile-tests";

fn ffmpeg() -> Option<Ffmpeg> {
    common::ffmpeg("the hostile video tests")
}

fn make(ff: &Ffmpeg, name: &str, args: &[&str]) -> PathBuf {
    common::make(ff, SUITE, name, args)
}

fn opts(secs: u64) -> DecodeOptions {
    DecodeOptions {
        limits: Limits {
            wall_time: Duration::from_secs(secs),
            ..Limits::default()
        },
        ..DecodeOptions::default()
    }
}

fn small_mp4(ff: &Ffmpeg, name: &str) -> PathBuf {
    make(
        ff,
        name,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25",
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-g",
            "25",
            "-movflags",
            "+faststart",
        ],
    )
}

/// A valid MP4 header (ftyp + moov) followed by garbage instead of its
/// media data: that file's error, or a result whose decoder messages say
/// frames may be missing; never a hang.
#[test]
fn garbage_after_a_valid_header() {
    let Some(ff) = ffmpeg() else { return };
    let good = small_mp4(&ff, "header.mp4");
    let mut bytes = std::fs::read(&good).unwrap();
    // With faststart, moov precedes mdat: keep everything up to the mdat
    // payload and scramble the rest.
    let mdat = bytes
        .windows(4)
        .position(|w| w == b"mdat")
        .expect("an mdat box");
    for (i, b) in bytes[mdat + 4..].iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2654435761).to_be_bytes()[1];
    }
    let bad = common::dir(SUITE).join("garbage-after-header.mp4");
    std::fs::write(&bad, &bytes).unwrap();
    let t = Instant::now();
    match hash_video(&ff, &VideoInput::Path(&bad), &opts(60), &mut Hasher::new()) {
        Ok(v) => assert!(!v.decoder_messages.is_empty(), "garbage decoded silently"),
        Err(e) => {
            assert!(
                matches!(
                    e,
                    VideoError::DecodeFailed { .. }
                        | VideoError::NoFrames { .. }
                        | VideoError::Unreadable { .. }
                ),
                "{e}"
            );
            assert!(e.to_string().contains("garbage-after-header.mp4"), "{e}");
        }
    }
    assert!(t.elapsed() < Duration::from_secs(50));
}

/// Sizes an MP4 declares far beyond what the file holds — its media-data
/// box claiming almost 4 GiB, every sample claiming 2 GiB — give that
/// file's error (or frames with decoder messages) within the time limit;
/// nothing is allocated to the declared size and nothing hangs.
#[test]
fn huge_declared_sizes() {
    let Some(ff) = ffmpeg() else { return };
    let good = small_mp4(&ff, "sizes.mp4");
    let bytes = std::fs::read(&good).unwrap();
    let at = |name: &[u8]| {
        bytes
            .windows(4)
            .position(|w| w == name)
            .unwrap_or_else(|| panic!("a {} box", String::from_utf8_lossy(name)))
    };
    let mut mdat = bytes.clone();
    let m = at(b"mdat");
    mdat[m - 4..m].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    let mut stsz = bytes.clone();
    // stsz: size, type, version and flags, then the one size of every
    // sample (0 when each has its own) and the sample count.
    let z = at(b"stsz");
    stsz[z + 8..z + 12].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
    for (name, data) in [("huge-mdat.mp4", mdat), ("huge-samples.mp4", stsz)] {
        let bad = common::dir(SUITE).join(name);
        std::fs::write(&bad, &data).unwrap();
        let t = Instant::now();
        match hash_video(&ff, &VideoInput::Path(&bad), &opts(60), &mut Hasher::new()) {
            Ok(v) => assert!(
                v.vpdq.frames.len() <= 3 || !v.decoder_messages.is_empty(),
                "{name}: {} frames, no decoder message",
                v.vpdq.frames.len()
            ),
            Err(e) => assert!(e.to_string().contains(name), "{e}"),
        }
        assert!(t.elapsed() < Duration::from_secs(50), "{name}");
    }
}

/// An endless stream (a named pipe fed forever with raw video frames)
/// stops at the wall-time limit as that file's error.
#[cfg(unix)]
#[test]
fn an_endless_stream_times_out() {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let Some(ff) = ffmpeg() else { return };
    let fifo = common::dir(SUITE).join("endless.y4m");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("note: mkfifo failed; skipping the endless-stream test");
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (fifo, stop) = (fifo.clone(), stop.clone());
        // Each reader (the probe, then the decoder) gets its own endless
        // stream; writes fail once the reader is gone.
        std::thread::spawn(move || {
            let frame = vec![128u8; 64 * 48 * 3 / 2];
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&fifo) else {
                    return;
                };
                if f.write_all(b"YUV4MPEG2 W64 H48 F25:1 Ip A1:1 C420jpeg\n")
                    .is_err()
                {
                    continue;
                }
                while !stop.load(Ordering::Relaxed)
                    && f.write_all(b"FRAME\n").is_ok()
                    && f.write_all(&frame).is_ok()
                {}
            }
        })
    };
    let t = Instant::now();
    let err = hash_video(&ff, &VideoInput::Path(&fifo), &opts(4), &mut Hasher::new()).unwrap_err();
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    // Unblock a writer waiting in open(2) for a reader.
    let _ = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(0o4000) // O_NONBLOCK
        .open(&fifo);
    assert!(matches!(err, VideoError::TimedOut { .. }), "{err}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let _ = writer.join();
    let _ = std::fs::remove_file(&fifo);
}

/// Hashing through an already-open descriptor gives the same hash as the
/// path, and, opened with O_NOATIME, leaves the access time alone.
#[cfg(target_os = "linux")]
#[test]
fn an_open_file_descriptor_keeps_the_access_time() {
    use std::fs::{File, FileTimes, OpenOptions};
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::SystemTime;
    let Some(ff) = ffmpeg() else { return };
    let v = small_mp4(&ff, "fd.mp4");
    let by_path = hash_video(&ff, &VideoInput::Path(&v), &opts(60), &mut Hasher::new()).unwrap();

    // An access time older than the modification time: any ordinary read
    // (relatime included) would update it.
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let set_old = || {
        File::options()
            .write(true)
            .open(&v)
            .unwrap()
            .set_times(FileTimes::new().set_accessed(old))
            .unwrap();
    };
    let atime = || std::fs::metadata(&v).unwrap().accessed().unwrap();
    set_old();
    assert_eq!(atime(), old);

    const O_NOATIME: i32 = 0o1000000;
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(O_NOATIME)
        .open(&v)
        .unwrap();
    let input = VideoInput::Fd {
        fd: f.as_fd(),
        name: &v,
    };
    let by_fd = hash_video(&ff, &input, &opts(60), &mut Hasher::new()).unwrap();
    assert_eq!(by_fd.vpdq, by_path.vpdq);
    assert_eq!(by_fd.info, by_path.info);
    assert_eq!(atime(), old, "hashing through the descriptor changed atime");
    // Twice through the same descriptor (it is rewound for each child).
    let again = hash_video(&ff, &input, &opts(60), &mut Hasher::new()).unwrap();
    assert_eq!(again.vpdq, by_path.vpdq);
    assert_eq!(atime(), old);

    // The control: hashing by path does change it here, unless the file
    // system never records access times.
    hash_video(&ff, &VideoInput::Path(&v), &opts(60), &mut Hasher::new()).unwrap();
    if atime() == old {
        eprintln!(
            "note: this file system does not update access times; the atime check is vacuous here"
        );
    }
}
