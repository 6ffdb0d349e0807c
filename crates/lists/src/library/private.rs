//! Files and directories that only their owner can read or write: hash
//! lists are confidential, so every file a library writes is created
//! `0600` and every directory `0700`, whatever the umask; and a check for
//! libraries written before that rule (or changed since).

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// Mode of the files a library writes.
pub const FILE_MODE: u32 = 0o600;
/// Mode of the directories a library creates.
pub const DIR_MODE: u32 = 0o700;

/// Creates (or truncates) `path` for writing, readable by its owner alone
/// (mode [`FILE_MODE`], whatever the umask).
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    let f = nigehbaan_index::store::create_private(path)?;
    debug_assert_eq!(FILE_MODE, 0o600);
    Ok(f)
}

/// Creates the directory `path` (its parent must exist), for its owner
/// alone.
pub(crate) fn create_dir(path: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, DIR_MODE);
    b.create(path)?;
    set_dir_mode(path)
}

/// Creates `path` and any missing parents, each new one for its owner
/// alone. An existing directory is left as it is (see [`loose`]).
pub(crate) fn create_dir_all(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, DIR_MODE);
    b.create(path)?;
    set_dir_mode(path)
}

fn set_dir_mode(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(DIR_MODE))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A file or directory of the library that others than its owner may
/// read, write or enter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoosePermission {
    /// The file or directory.
    pub path: PathBuf,
    /// Its permission bits (e.g. `0o644`).
    pub mode: u32,
    /// True for a directory.
    pub is_dir: bool,
}

impl std::fmt::Display for LoosePermission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} has mode {:04o}: others can {}; hash lists are confidential \
             (chmod {:o})",
            if self.is_dir { "directory" } else { "file" },
            self.path.display(),
            self.mode,
            if self.is_dir {
                "list or enter it"
            } else {
                "read it"
            },
            if self.is_dir { DIR_MODE } else { FILE_MODE },
        )
    }
}

/// The library directory, and everything in it down to the files of each
/// list, whose permissions let others than the owner in. Symbolic links
/// are not followed. Always empty where the system has no Unix modes.
pub(crate) fn loose(dir: &Path) -> io::Result<Vec<LoosePermission>> {
    let mut out = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut check = |path: &Path, md: &fs::Metadata| {
            let mode = md.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 && !md.file_type().is_symlink() {
                out.push(LoosePermission {
                    path: path.to_path_buf(),
                    mode,
                    is_dir: md.is_dir(),
                });
            }
        };
        let md = match fs::symlink_metadata(dir) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        check(dir, &md);
        let mut stack = vec![(dir.to_path_buf(), 0)];
        while let Some((d, depth)) = stack.pop() {
            let mut entries: Vec<_> = fs::read_dir(&d)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let p = e.path();
                let md = fs::symlink_metadata(&p)?;
                check(&p, &md);
                if md.is_dir() && depth < 2 {
                    stack.push((p, depth + 1));
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(out)
}
