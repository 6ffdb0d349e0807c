//! Finding the files of an exhibit, read-only.
//!
//! Evidence is opened for reading only, without updating access times where
//! the system allows (`O_NOATIME` on Linux — files and directories alike:
//! directories are listed from a descriptor opened that way, since
//! `read_dir` would update their access times), symbolic links are not
//! followed unless asked, and special files (devices, sockets, FIFOs) are
//! skipped and recorded.

use crate::model::Exclusion;
use crate::model::ExclusionKind;
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

/// An exhibit: an id the examiner gives, and the paths that make it up.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exhibit {
    /// The exhibit id (e.g. `EX-01`).
    pub id: String,
    /// Files and directories.
    pub paths: Vec<PathBuf>,
}

/// A file found in the evidence, with what the file system says of it.
#[derive(Clone, Debug)]
pub(crate) struct FoundFile {
    pub exhibit: u32,
    pub path: PathBuf,
    pub size: u64,
    pub times: Times,
    /// Given on the command line (a link there is followed); files found
    /// inside directories are opened without following links.
    pub direct: bool,
}

/// File times as RFC 3339 strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Times {
    pub modified: Option<String>,
    pub accessed: Option<String>,
    pub created: Option<String>,
}

impl Times {
    pub fn of(m: &Metadata) -> Times {
        Times {
            modified: m.modified().ok().and_then(nigehbaan_time::utc_of),
            accessed: m.accessed().ok().and_then(nigehbaan_time::utc_of),
            created: m.created().ok().and_then(nigehbaan_time::utc_of),
        }
    }
}

/// Opens a file of the evidence for reading only, without updating its
/// access time where the system allows. `nofollow` refuses a symbolic link
/// (used for files found inside directories, so a link swapped in after the
/// walk is not followed either).
pub fn open_read_only(path: &Path, nofollow: bool) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let base = if nofollow { libc::O_NOFOLLOW } else { 0 };
        let open = |flags: i32| {
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(flags)
                .open(path)
        };
        // O_NOATIME is allowed only to the file's owner (or root); others
        // fall back to a plain read-only open.
        match open(base | libc::O_NOATIME) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(base),
            other => other,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nofollow;
        File::open(path)
    }
}

/// The flags a directory of the evidence is opened with: read-only, a
/// directory, close-on-exec, no access-time update (when `noatime`), and
/// not through a symbolic link (when `nofollow`).
#[cfg(target_os = "linux")]
pub(crate) fn dir_open_flags(nofollow: bool, noatime: bool) -> libc::c_int {
    let mut f = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    if nofollow {
        f |= libc::O_NOFOLLOW;
    }
    if noatime {
        f |= libc::O_NOATIME;
    }
    f
}

/// Lists the names in a directory of the evidence (without `.` and `..`)
/// without updating its access time where the system allows: it is opened
/// with `O_NOATIME` (falling back to a plain open when that is not
/// permitted, i.e. for files of another user) and read from that
/// descriptor. `nofollow` refuses a symbolic link.
pub fn list_dir(path: &Path, nofollow: bool) -> io::Result<Vec<OsString>> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::IntoRawFd;
        let open = |noatime: bool| {
            // O_RDONLY is what `read(true)` asks; the rest are custom flags.
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(dir_open_flags(nofollow, noatime) & !libc::O_RDONLY)
                .open(path)
        };
        let dir = match open(true) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(false),
            other => other,
        }?;
        let fd = dir.into_raw_fd();
        // SAFETY: `fd` is an open directory descriptor we own; fdopendir
        // takes it over (closedir below closes it), or fails and leaves it
        // to us.
        let stream = unsafe { libc::fdopendir(fd) };
        if stream.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: fdopendir failed, so `fd` is still ours to close.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        let mut names = Vec::new();
        let result = loop {
            // SAFETY: errno is thread-local; clearing it tells the end of
            // the listing (NULL, errno 0) from an error (NULL, errno set).
            unsafe { *libc::__errno_location() = 0 };
            // SAFETY: `stream` is a valid, open DIR* used by this thread only.
            let ent = unsafe { libc::readdir(stream) };
            if ent.is_null() {
                let e = io::Error::last_os_error();
                break if e.raw_os_error() == Some(0) {
                    Ok(())
                } else {
                    Err(e)
                };
            }
            // SAFETY: readdir returned a valid entry whose `d_name` is a
            // NUL-terminated string, valid until the next readdir call; it
            // is copied out before that.
            let name = unsafe { std::ffi::CStr::from_ptr((*ent).d_name.as_ptr()) };
            let b = name.to_bytes();
            if b != b"." && b != b".." {
                names.push(std::ffi::OsStr::from_bytes(b).to_os_string());
            }
        };
        // SAFETY: `stream` is valid and closed exactly once (with its fd).
        unsafe { libc::closedir(stream) };
        result.map(|()| names)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nofollow;
        std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name()))
            .collect()
    }
}

/// The form of a path on disk the scan carries: a lossless name
/// ([`crate::model::raw_name`]), written out readably with exact bytes.
pub(crate) fn display(p: &Path) -> String {
    crate::model::raw_path(p)
}

/// Walks every exhibit: files in a deterministic order (exhibit, then path),
/// plus what was skipped and why.
pub(crate) fn walk(
    exhibits: &[Exhibit],
    follow_symlinks: bool,
) -> (Vec<FoundFile>, Vec<Exclusion>) {
    let mut files = Vec::new();
    let mut excl = Vec::new();
    for (i, ex) in exhibits.iter().enumerate() {
        let start = files.len();
        let mut w = Walker {
            exhibit: i as u32,
            id: &ex.id,
            follow: follow_symlinks,
            files: &mut files,
            excl: &mut excl,
            seen_dirs: HashSet::new(),
        };
        for p in &ex.paths {
            w.root(p);
        }
        files[start..].sort_by(|a, b| a.path.cmp(&b.path));
    }
    // The same file given twice (or reached twice through links) once.
    files.dedup_by(|b, a| a.exhibit == b.exhibit && a.path == b.path);
    (files, excl)
}

struct Walker<'a> {
    exhibit: u32,
    id: &'a str,
    follow: bool,
    files: &'a mut Vec<FoundFile>,
    excl: &'a mut Vec<Exclusion>,
    seen_dirs: HashSet<(u64, u64)>,
}

impl Walker<'_> {
    fn exclude(&mut self, path: &Path, kind: ExclusionKind, reason: String, incomplete: bool) {
        self.excl.push(Exclusion {
            exhibit: self.id.to_string(),
            path: display(path),
            kind,
            reason,
            incomplete,
            hashed: false,
        });
    }

    fn root(&mut self, p: &Path) {
        // A path given on the command line is followed.
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => self.dir(p, &m),
            Ok(m) if m.is_file() => self.file(p, &m, true),
            Ok(_) => self.exclude(
                p,
                ExclusionKind::SpecialFile,
                "not a regular file or directory (device, socket or FIFO); skipped".into(),
                false,
            ),
            Err(e) => self.exclude(
                p,
                ExclusionKind::Unreadable,
                format!("cannot read: {e}"),
                true,
            ),
        }
    }

    fn file(&mut self, p: &Path, m: &Metadata, direct: bool) {
        self.files.push(FoundFile {
            exhibit: self.exhibit,
            path: p.to_path_buf(),
            size: m.len(),
            times: Times::of(m),
            direct,
        });
    }

    fn dir(&mut self, root: &Path, m: &Metadata) {
        if !self.enter(m) {
            return;
        }
        // (directory, refuse a symbolic link): a directory given on the
        // command line or reached through a followed link is opened
        // following links; one found inside a directory is not (a link
        // swapped in after the walk saw it is not followed either).
        let mut stack = vec![(root.to_path_buf(), false)];
        while let Some((d, nofollow)) = stack.pop() {
            let mut names: Vec<PathBuf> = match list_dir(&d, nofollow) {
                Ok(names) => names.into_iter().map(|n| d.join(n)).collect(),
                Err(e) => {
                    self.exclude(
                        &d,
                        ExclusionKind::Unreadable,
                        format!("cannot read directory: {e}"),
                        true,
                    );
                    continue;
                }
            };
            names.sort();
            for path in names.into_iter().rev() {
                let meta = match std::fs::symlink_metadata(&path) {
                    Ok(m) => m,
                    Err(e) => {
                        self.exclude(
                            &path,
                            ExclusionKind::Unreadable,
                            format!("cannot stat: {e}"),
                            true,
                        );
                        continue;
                    }
                };
                let t = meta.file_type();
                if t.is_symlink() {
                    if !self.follow {
                        self.exclude(
                            &path,
                            ExclusionKind::Symlink,
                            "symbolic link; not followed (use --follow-symlinks)".into(),
                            false,
                        );
                        continue;
                    }
                    match std::fs::metadata(&path) {
                        Ok(m) if m.is_dir() => {
                            if self.enter(&m) {
                                stack.push((path, false));
                            }
                        }
                        Ok(m) if m.is_file() => self.file(&path, &m, true),
                        Ok(_) => self.exclude(
                            &path,
                            ExclusionKind::SpecialFile,
                            "link to a special file; skipped".into(),
                            false,
                        ),
                        Err(e) => self.exclude(
                            &path,
                            ExclusionKind::Unreadable,
                            format!("broken symbolic link: {e}"),
                            false,
                        ),
                    }
                } else if t.is_dir() {
                    if self.enter(&meta) {
                        stack.push((path, true));
                    }
                } else if t.is_file() {
                    self.file(&path, &meta, false);
                } else {
                    self.exclude(
                        &path,
                        ExclusionKind::SpecialFile,
                        "special file (device, socket or FIFO); skipped".into(),
                        false,
                    );
                }
            }
        }
    }

    /// True the first time a directory is met (guards against link loops).
    fn enter(&mut self, m: &Metadata) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            self.seen_dirs.insert((m.dev(), m.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            true
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn directories_are_opened_without_atime_or_links() {
        let f = dir_open_flags(true, true);
        for flag in [libc::O_DIRECTORY, libc::O_NOFOLLOW, libc::O_NOATIME] {
            assert_eq!(f & flag, flag);
        }
        assert_eq!(f & libc::O_ACCMODE, libc::O_RDONLY);
        assert_eq!(dir_open_flags(false, false) & libc::O_NOFOLLOW, 0);
        assert_eq!(dir_open_flags(false, false) & libc::O_NOATIME, 0);
    }

    fn set_atime(p: &Path, secs: i64) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        let times = [
            libc::timespec {
                tv_sec: secs as libc::time_t,
                tv_nsec: 0,
            },
            libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_OMIT,
            },
        ];
        // SAFETY: a valid C path and two timespecs, as utimensat expects.
        let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
    }

    fn atime(p: &Path) -> i64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).unwrap().atime()
    }

    #[test]
    fn walking_keeps_directory_access_times() {
        const Y2020: i64 = 1_577_836_800;
        let base = std::env::temp_dir().join(format!("nigehbaan-atime-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let ev = base.join("ev");
        std::fs::create_dir_all(ev.join("sub")).unwrap();
        std::fs::write(ev.join("sub/a.txt"), b"a").unwrap();
        let control = base.join("control");
        std::fs::create_dir_all(&control).unwrap();
        std::fs::write(control.join("b.txt"), b"b").unwrap();
        for d in [&ev, &ev.join("sub"), &control] {
            set_atime(d, Y2020);
        }
        // Does listing a directory update its access time here at all?
        let _ = std::fs::read_dir(&control).unwrap().count();
        let visible = atime(&control) != Y2020;
        let names = list_dir(&ev, false).unwrap();
        assert_eq!(names, vec![OsString::from("sub")]);
        let (files, excl) = walk(
            &[Exhibit {
                id: "E".into(),
                paths: vec![ev.clone()],
            }],
            false,
        );
        assert_eq!(files.len(), 1);
        assert!(excl.is_empty(), "{excl:?}");
        if visible {
            assert_eq!(atime(&ev), Y2020, "the walk changed a directory's atime");
            assert_eq!(atime(&ev.join("sub")), Y2020);
        } else {
            eprintln!("note: directory access times are not updated on this mount; the check proves nothing here");
        }
        // A link to a directory is refused when links are not followed.
        std::os::unix::fs::symlink(&ev, base.join("link")).unwrap();
        assert!(list_dir(&base.join("link"), true).is_err());
        assert!(list_dir(&base.join("link"), false).is_ok());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
