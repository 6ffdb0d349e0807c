//! Private files for the report directory: reports name suspects, so the
//! directory is made `0700` and every file in it `0600`, whatever the
//! process's umask.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Permission bits of the report directory.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Permission bits of every file in the report directory.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) and makes `dir` itself readable by
/// its owner only. An existing directory is restricted the same way.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR_MODE)
            .create(dir)?;
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    restrict(dir, PRIVATE_DIR_MODE)
}

/// Creates (or truncates) a file readable and writable by its owner only.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(PRIVATE_FILE_MODE);
    }
    let f = o.open(path)?;
    // An existing file keeps its old mode through `open`: set it.
    restrict(path, PRIVATE_FILE_MODE)?;
    Ok(f)
}

/// Sets `mode` on `path` (a no-op where permissions are not Unix modes).
pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Makes every regular file directly in `dir` `0600` (used after the
/// report writers, which create files with the default mode, have run —
/// inside a `0700` directory, so no one else could open them meanwhile).
pub fn restrict_files_in(dir: &Path) -> io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_file() {
            restrict(&e.path(), PRIVATE_FILE_MODE)?;
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_whatever_the_umask() {
        let base = std::env::temp_dir().join(format!("nigehbaan-fsutil-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let f = dir.join("x");
        std::fs::write(&f, b"1").unwrap();
        restrict(&f, 0o644).unwrap();
        drop(create_private_file(&f).unwrap());
        assert_eq!(mode(&f), 0o600);
        let g = dir.join("y");
        std::fs::write(&g, b"1").unwrap();
        restrict(&g, 0o666).unwrap();
        restrict_files_in(&dir).unwrap();
        assert_eq!(mode(&g), 0o600);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
