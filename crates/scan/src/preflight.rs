//! Checks made before a scan touches anything: every evidence path is
//! counted once (no path is the same as, or inside, another — compared by
//! real path, after resolving symbolic links), exhibit ids are distinct,
//! paths given are files or directories, there is something to match
//! against, and the report directory is outside the evidence (compared
//! both lexically and by real path).

use crate::error::ScanError;
use crate::ScanConfig;
use nigehbaan_lists::library::OpenList;
use std::path::{Component, Path, PathBuf};

/// Everything checked before the scan starts.
pub(crate) fn check(cfg: &ScanConfig, lists: &[OpenList]) -> Result<(), ScanError> {
    check_lists(lists)?;
    check_exhibits(cfg)?;
    check_out_dir(cfg)
}

/// A scan with no list record cannot find anything: it is refused rather
/// than reported as "nothing found".
pub(crate) fn check_lists(lists: &[OpenList]) -> Result<(), ScanError> {
    if lists.iter().all(|l| l.manifest.record_count == 0) {
        return Err(ScanError::NoListRecords {
            lists: lists.iter().map(|l| l.manifest.name.clone()).collect(),
        });
    }
    Ok(())
}

/// Distinct exhibit ids, no overlapping evidence, no devices given as
/// evidence paths.
pub(crate) fn check_exhibits(cfg: &ScanConfig) -> Result<(), ScanError> {
    for (i, a) in cfg.exhibits.iter().enumerate() {
        if cfg.exhibits[..i].iter().any(|b| b.id == a.id) {
            return Err(ScanError::DuplicateExhibit { id: a.id.clone() });
        }
    }
    // Every (given, real) path; a path that does not exist is not compared
    // (the scan records it as unreadable).
    let mut real: Vec<(&Path, PathBuf)> = Vec::new();
    for ex in &cfg.exhibits {
        for p in &ex.paths {
            if let Ok(m) = std::fs::metadata(p) {
                if !m.is_file() && !m.is_dir() {
                    return Err(ScanError::NotFileOrDirectory {
                        path: p.clone(),
                        what: special_kind(&m),
                    });
                }
            }
            if let Ok(r) = p.canonicalize() {
                real.push((p, r));
            }
        }
    }
    for (i, (pa, ra)) in real.iter().enumerate() {
        for (pb, rb) in &real[..i] {
            let (outer, inner) = if ra.starts_with(rb) {
                (pb, pa)
            } else if rb.starts_with(ra) {
                (pa, pb)
            } else {
                continue;
            };
            return Err(ScanError::OverlappingEvidence {
                outer: outer.to_path_buf(),
                inner: inner.to_path_buf(),
            });
        }
    }
    Ok(())
}

fn special_kind(m: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    let _ = m;
    "not a regular file or directory"
}

/// Refuses a report directory inside (or equal to) any evidence path.
pub(crate) fn check_out_dir(cfg: &ScanConfig) -> Result<(), ScanError> {
    let out_lexical = lexical(&cfg.out_dir);
    let out_real = real(&cfg.out_dir);
    for ex in &cfg.exhibits {
        for p in &ex.paths {
            let mut evidence = vec![lexical(p)];
            if let Ok(c) = p.canonicalize() {
                evidence.push(c);
            }
            let inside = evidence
                .iter()
                .any(|ev| out_lexical.starts_with(ev) || out_real.starts_with(ev));
            if inside {
                return Err(ScanError::OutInsideEvidence {
                    out: cfg.out_dir.clone(),
                    evidence: p.clone(),
                });
            }
        }
    }
    Ok(())
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
}

/// The absolute form of `p` with `.` and `..` removed by text alone.
pub(crate) fn lexical(p: &Path) -> PathBuf {
    let mut out = if p.is_absolute() {
        PathBuf::new()
    } else {
        current_dir()
    };
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Where `p` really leads, as the system would resolve it when creating
/// it: each existing prefix is resolved (symbolic links followed, `..`
/// taken physically); past the first missing component, `..` removes the
/// previous component (as creating the missing directories would).
pub(crate) fn real(p: &Path) -> PathBuf {
    let mut out = if p.is_absolute() {
        PathBuf::new()
    } else {
        current_dir()
    };
    let mut exists = true;
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => {
                out.push(other.as_os_str());
                if exists {
                    match out.canonicalize() {
                        Ok(r) => out = r,
                        Err(_) => exists = false,
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_and_real_resolution() {
        let base = std::env::temp_dir().join(format!("nigehbaan-preflight-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("ev")).unwrap();
        let base = base.canonicalize().unwrap();
        let p = base.join("nothere/../ev/rep");
        assert_eq!(lexical(&p), base.join("ev/rep"));
        assert_eq!(real(&p), base.join("ev/rep"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("ev"), base.join("link")).unwrap();
            let via = base.join("link/new/../rep");
            assert_eq!(real(&via), base.join("ev/rep"));
            assert_eq!(lexical(&via), base.join("link/rep"));
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
