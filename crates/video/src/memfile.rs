//! Bytes held in an anonymous in-memory file (Linux `memfd_create`) for an
//! `ffmpeg` child to read: never on any file system, visible by no name in
//! any directory, and gone once the last descriptor closes (when the
//! [`MemFile`] is dropped and the child has exited), whatever path the
//! caller leaves by. The child opens it by its `/proc/<pid>/fd/<n>` link,
//! so it can seek (an MP4 whose index sits at its end needs to; a pipe
//! cannot). The descriptor is close-on-exec: no child inherits it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// An anonymous in-memory file holding a copy of some bytes.
#[derive(Debug)]
pub struct MemFile {
    fd: OwnedFd,
    path: PathBuf,
}

impl MemFile {
    /// A new in-memory file holding `bytes`.
    pub fn new(bytes: &[u8]) -> std::io::Result<MemFile> {
        use std::io::Write;
        let mem = MemFile::empty()?;
        std::fs::File::from(mem.fd.try_clone()?).write_all(bytes)?;
        Ok(mem)
    }

    /// A copy of `file` from its start, read through `file` itself, so
    /// that its open flags (`O_NOATIME` included) apply to the reading.
    pub fn copy_of(file: &std::fs::File) -> std::io::Result<MemFile> {
        use std::io::{Seek, SeekFrom};
        let mem = MemFile::empty()?;
        let mut from = file.try_clone()?;
        from.seek(SeekFrom::Start(0))?;
        std::io::copy(&mut from, &mut std::fs::File::from(mem.fd.try_clone()?))?;
        Ok(mem)
    }

    /// An empty in-memory file.
    pub fn empty() -> std::io::Result<MemFile> {
        // SAFETY: a constant, NUL-terminated C string; the returned
        // descriptor is owned below and closed on drop.
        let raw = unsafe { libc::memfd_create(c"nigehbaan-video".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let path = PathBuf::from(format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            fd.as_raw_fd()
        ));
        Ok(MemFile { fd, path })
    }

    /// The `/proc` link a child process opens it by (valid while `self`
    /// lives).
    pub fn proc_path(&self) -> &Path {
        &self.path
    }

    /// Its size in bytes.
    pub fn len(&self) -> std::io::Result<u64> {
        Ok(std::fs::File::from(self.fd.try_clone()?).metadata()?.len())
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> std::io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_bytes_readable_by_its_proc_link_and_goes_on_drop() {
        let m = MemFile::new(b"not a video").unwrap();
        assert_eq!(m.len().unwrap(), 11);
        let p = m.proc_path().to_path_buf();
        assert_eq!(std::fs::read(&p).unwrap(), b"not a video");
        let target = std::fs::read_link(&p).unwrap();
        assert!(
            target.to_string_lossy().starts_with("/memfd:"),
            "{}",
            target.display()
        );
        drop(m);
        assert!(std::fs::read(&p).is_err());
    }

    #[test]
    fn copies_a_file_from_its_start() {
        use std::io::{Read, Write};
        let path = std::env::temp_dir().join(format!("nigehbaan-memfile-{}", std::process::id()));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"benign bytes")
            .unwrap();
        let mut f = std::fs::File::open(&path).unwrap();
        let mut first = [0u8; 3];
        f.read_exact(&mut first).unwrap();
        let m = MemFile::copy_of(&f).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(std::fs::read(m.proc_path()).unwrap(), b"benign bytes");
    }
}
