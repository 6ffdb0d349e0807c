//! Finding the files of an exhibit, read-only.
//!
//! Evidence is opened for reading only, without updating access times where
//! the system allows (`O_NOATIME` on Linux), symbolic links are not followed
//! unless asked, and special files (devices, sockets, FIFOs) are skipped and
//! recorded.

use crate::host::system_time;
use crate::model::Exclusion;
use std::collections::HashSet;
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
            modified: m.modified().ok().and_then(system_time),
            accessed: m.accessed().ok().and_then(system_time),
            created: m.created().ok().and_then(system_time),
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
    fn exclude(&mut self, path: &Path, kind: &str, reason: String, incomplete: bool) {
        self.excl.push(Exclusion {
            exhibit: self.id.to_string(),
            path: display(path),
            kind: kind.into(),
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
                "special-file",
                "not a regular file or directory (device, socket or FIFO); skipped".into(),
                false,
            ),
            Err(e) => self.exclude(p, "unreadable", format!("cannot read: {e}"), true),
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
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) => {
                    self.exclude(
                        &d,
                        "unreadable",
                        format!("cannot read directory: {e}"),
                        true,
                    );
                    continue;
                }
            };
            let mut names: Vec<PathBuf> = Vec::new();
            for entry in entries {
                match entry {
                    Ok(e) => names.push(e.path()),
                    Err(e) => {
                        self.exclude(&d, "unreadable", format!("cannot read entry: {e}"), true)
                    }
                }
            }
            names.sort();
            for path in names.into_iter().rev() {
                let meta = match std::fs::symlink_metadata(&path) {
                    Ok(m) => m,
                    Err(e) => {
                        self.exclude(&path, "unreadable", format!("cannot stat: {e}"), true);
                        continue;
                    }
                };
                let t = meta.file_type();
                if t.is_symlink() {
                    if !self.follow {
                        self.exclude(
                            &path,
                            "symlink",
                            "symbolic link; not followed (use --follow-symlinks)".into(),
                            false,
                        );
                        continue;
                    }
                    match std::fs::metadata(&path) {
                        Ok(m) if m.is_dir() => {
                            if self.enter(&m) {
                                stack.push(path);
                            }
                        }
                        Ok(m) if m.is_file() => self.file(&path, &m, true),
                        Ok(_) => self.exclude(
                            &path,
                            "special-file",
                            "link to a special file; skipped".into(),
                            false,
                        ),
                        Err(e) => self.exclude(
                            &path,
                            "unreadable",
                            format!("broken symbolic link: {e}"),
                            false,
                        ),
                    }
                } else if t.is_dir() {
                    if self.enter(&meta) {
                        stack.push(path);
                    }
                } else if t.is_file() {
                    self.file(&path, &meta, false);
                } else {
                    self.exclude(
                        &path,
                        "special-file",
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
