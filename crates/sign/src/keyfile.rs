//! Writing a key pair to files: the secret key readable by its owner only.

use crate::error::Error;
use crate::minisign::{Protection, SecretKey};
use std::io::Write;
use std::path::Path;

/// Writes `key`'s secret key file (mode 0600, encrypted as `protection`
/// says) and public key file (mode 0644). Existing files are refused
/// ([`Error::Exists`]) unless `overwrite`.
pub fn write_key_pair(
    secret_path: &Path,
    public_path: &Path,
    key: &SecretKey,
    protection: Protection<'_>,
    overwrite: bool,
) -> Result<(), Error> {
    if !overwrite {
        for p in [secret_path, public_path] {
            if std::fs::symlink_metadata(p).is_ok() {
                return Err(Error::Exists { path: p.into() });
            }
        }
    }
    let secret = key.to_file_string(protection)?;
    write_private(secret_path, secret.as_bytes(), overwrite)?;
    std::fs::write(public_path, key.public_key().to_file_string())
        .map_err(|e| Error::io(public_path, e))
}

/// Writes `bytes` to a new file only its owner can read (0600 from the
/// start: the secret is never readable by others, even briefly).
fn write_private(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), Error> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if overwrite {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        open.mode(0o600);
        let mut f = open.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Exists { path: path.into() },
            _ => Error::io(path, e),
        })?;
        // An existing file keeps its old mode when truncated: set it.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .and_then(|_| f.write_all(bytes))
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(path, e))
    }
    #[cfg(not(unix))]
    {
        let mut f = open.open(path).map_err(|e| Error::io(path, e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minisign::{KdfParams, KeyId, PublicKey};

    #[test]
    fn secret_key_is_owner_only_and_not_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let (s, p) = (d.path().join("k.key"), d.path().join("k.pub"));
        let key = SecretKey::from_seed(KeyId([1; 8]), &[5; 32]);
        let prot = Protection::Password {
            password: b"pw",
            kdf: KdfParams::INTERACTIVE,
        };
        write_key_pair(&s, &p, &key, prot, false).unwrap();
        let mode = std::fs::metadata(&s).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(PublicKey::load(&p).unwrap(), key.public_key());
        let back = SecretKey::load(&s, Some(b"pw")).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let e = write_key_pair(&s, &p, &key, prot, false).unwrap_err();
        assert!(matches!(e, Error::Exists { .. }), "{e}");
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_key_pair(&s, &p, &key, Protection::Unencrypted, true).unwrap();
        let mode = std::fs::metadata(&s).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
