//! Finding the files under the paths a user gives, in a deterministic order.

use std::path::{Path, PathBuf};

/// Something met while walking that is not a file to hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkIssue {
    /// Where.
    pub path: PathBuf,
    /// Why it was not hashed.
    pub reason: String,
    /// True when this is a real error (unreadable, missing); false when the
    /// entry was skipped by policy (symbolic link, device, socket, FIFO).
    pub is_error: bool,
}

/// Expands files and directories (recursively) into a sorted list of regular
/// files. Symbolic links inside directories are not followed; a path given
/// directly is followed. Special files are skipped.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<WalkIssue>) {
    let mut files = Vec::new();
    let mut issues = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk_dir(p, &mut files, &mut issues),
            Ok(m) if m.is_file() => files.push(p.clone()),
            Ok(_) => issues.push(WalkIssue {
                path: p.clone(),
                reason: "not a regular file or directory; skipped".into(),
                is_error: false,
            }),
            Err(e) => issues.push(WalkIssue {
                path: p.clone(),
                reason: format!("cannot read: {e}"),
                is_error: true,
            }),
        }
    }
    files.sort();
    files.dedup();
    issues.sort_by(|a, b| a.path.cmp(&b.path));
    (files, issues)
}

fn walk_dir(dir: &Path, files: &mut Vec<PathBuf>, issues: &mut Vec<WalkIssue>) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                issues.push(WalkIssue {
                    path: d.clone(),
                    reason: format!("cannot read directory: {e}"),
                    is_error: true,
                });
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    issues.push(WalkIssue {
                        path: d.clone(),
                        reason: format!("cannot read directory entry: {e}"),
                        is_error: true,
                    });
                    continue;
                }
            };
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => files.push(path),
                Ok(t) if t.is_symlink() => issues.push(WalkIssue {
                    path,
                    reason: "symbolic link; not followed".into(),
                    is_error: false,
                }),
                Ok(_) => issues.push(WalkIssue {
                    path,
                    reason: "special file (device, socket or FIFO); skipped".into(),
                    is_error: false,
                }),
                Err(e) => issues.push(WalkIssue {
                    path,
                    reason: format!("cannot stat: {e}"),
                    is_error: true,
                }),
            }
        }
    }
}
