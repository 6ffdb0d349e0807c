//! Staging directories: where an import builds a list before renaming it
//! into place, and the removal of those a killed process left behind
//! (they hold list records in plain text).
//!
//! An import first creates `.import-NAME-PID-NANOS.lock` beside its
//! staging directory `.import-NAME-PID-NANOS/` and holds an exclusive lock
//! on it for as long as it runs; the operating system drops the lock when
//! the process dies, however it dies. A sweep removes a staging directory
//! whose lock it can take. Directories without a lock file (left by
//! versions before the lock) are removed when the process named in them is
//! gone (where `/proc` tells) or they are older than [`STALE_AFTER`].
//! `.removed-*` directories (a killed `remove`) are removed; `.replaced-*`
//! ones (a killed replacing import) once the list they belong to is in
//! place again.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{io_at, private, unique_suffix, LibraryError};

/// A staging directory without a lock file is stale after this long.
pub const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The lock an import holds on its staging directory; dropping it removes
/// the lock file (and releases the lock).
pub(super) struct StagingLock {
    path: PathBuf,
    _file: File,
}

impl Drop for StagingLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Creates a staging directory for list `name` in `dir` (which must
/// exist), locked for this process.
pub(super) fn begin(dir: &Path, name: &str) -> Result<(PathBuf, StagingLock), LibraryError> {
    let stem = format!(".import-{name}-{}", unique_suffix());
    let lock_path = dir.join(format!("{stem}.lock"));
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, private::FILE_MODE);
    let file = o.open(&lock_path).map_err(io_at(&lock_path))?;
    file.lock().map_err(io_at(&lock_path))?;
    let lock = StagingLock {
        path: lock_path,
        _file: file,
    };
    let staging = dir.join(stem);
    private::create_dir(&staging).map_err(io_at(&staging))?;
    Ok((staging, lock))
}

/// What a sweep of a library's staging directories found and did.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Left by killed processes, and removed now.
    pub removed: Vec<PathBuf>,
    /// Being written by a live import (or too recent to tell): left alone.
    pub in_use: Vec<PathBuf>,
    /// Left alone for the reason given (e.g. the only copy of a list).
    pub kept: Vec<(PathBuf, String)>,
    /// Stale, but removing them failed.
    pub failed: Vec<(PathBuf, io::Error)>,
}

impl Sweep {
    /// True when the sweep found nothing at all.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty()
            && self.in_use.is_empty()
            && self.kept.is_empty()
            && self.failed.is_empty()
    }
}

/// Removes what killed imports and removals left in `dir`.
pub(super) fn sweep(dir: &Path) -> Result<Sweep, LibraryError> {
    let mut out = Sweep::default();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_at(dir)(e)),
    };
    let mut names: Vec<String> = Vec::new();
    for e in entries {
        let e = e.map_err(io_at(dir))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    for n in &names {
        let path = dir.join(n);
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if let Some(rest) = n.strip_prefix(".import-") {
            if is_dir {
                import_dir(dir, &path, rest, &mut out);
            } else if rest.ends_with(".lock") && !names.contains(&n[..n.len() - 5].to_string()) {
                orphan_lock(&path, &mut out);
            }
        } else if n.starts_with(".removed-") && is_dir {
            remove(&path, &mut out);
        } else if let (Some(rest), true) = (n.strip_prefix(".replaced-"), is_dir) {
            let list = list_name(rest);
            if list.is_some_and(|l| dir.join(l).join(super::MANIFEST_FILE).is_file()) {
                remove(&path, &mut out);
            } else {
                out.kept.push((
                    path,
                    "the previous copy of a list whose replacement is not in place; \
                     rename it back to the list's name to restore it"
                        .into(),
                ));
            }
        }
    }
    Ok(out)
}

/// The list name in `NAME-PID-NANOS`.
fn list_name(rest: &str) -> Option<&str> {
    let mut it = rest.rsplitn(3, '-');
    let (_nanos, _pid, name) = (it.next()?, it.next()?, it.next()?);
    Some(name)
}

/// The process id in `NAME-PID-NANOS`.
fn pid_of(rest: &str) -> Option<u32> {
    rest.rsplit('-').nth(1)?.parse().ok()
}

fn import_dir(dir: &Path, path: &Path, rest: &str, out: &mut Sweep) {
    let lock_path = dir.join(format!(".import-{rest}.lock"));
    match File::open(&lock_path) {
        Ok(f) => match f.try_lock() {
            Ok(()) => {
                // Nobody holds it: the import died. Remove the directory
                // while holding the lock, then the lock file.
                remove(path, out);
                let _ = fs::remove_file(&lock_path);
            }
            Err(TryLockError::WouldBlock) => out.in_use.push(path.to_path_buf()),
            Err(TryLockError::Error(e)) => out.failed.push((lock_path, e)),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // No lock file: a version before the lock, or the moment
            // between taking the lock and creating the directory (then the
            // lock file exists and we never get here). Judge by the process
            // and the age.
            let dead = pid_of(rest).is_some_and(|pid| {
                Path::new("/proc/self").exists()
                    && pid != std::process::id()
                    && !Path::new(&format!("/proc/{pid}")).exists()
            });
            if dead || older_than(path, STALE_AFTER) {
                remove(path, out);
            } else {
                out.in_use.push(path.to_path_buf());
            }
        }
        Err(e) => out.failed.push((lock_path, e)),
    }
}

/// A lock file without its directory: harmless (no records), removed once
/// old and unlocked.
fn orphan_lock(path: &Path, out: &mut Sweep) {
    let Ok(f) = File::open(path) else { return };
    if older_than(path, STALE_AFTER) && f.try_lock().is_ok() {
        match fs::remove_file(path) {
            Ok(()) => out.removed.push(path.to_path_buf()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => out.failed.push((path.to_path_buf(), e)),
        }
    }
}

fn older_than(path: &Path, age: Duration) -> bool {
    fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|d| d > age)
}

fn remove(path: &Path, out: &mut Sweep) {
    match fs::remove_dir_all(path) {
        Ok(()) => out.removed.push(path.to_path_buf()),
        // Another sweep (or the import finishing) got there first.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => out.failed.push((path.to_path_buf(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_pids_are_read_from_the_right() {
        assert_eq!(list_name("ncmec-2024-06-1234-99"), Some("ncmec-2024-06"));
        assert_eq!(pid_of("ncmec-2024-06-1234-99"), Some(1234));
        assert_eq!(list_name("x"), None);
    }
}
