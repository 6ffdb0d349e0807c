//! The checkpoint: every finished item, one JSON line each, appended as it
//! is done, so that an interrupted scan continues with `--resume` without
//! hashing anything twice.

use crate::error::ScanError;
use crate::fsutil::create_private_file;
use crate::model::Item;
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The checkpoint's file name in the report directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.jsonl";

/// The checkpoint format this version writes and resumes.
const VERSION: u32 = 2;

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    nigehbaan_checkpoint: u32,
    /// What must be equal to resume: a JSON object of named parts (case,
    /// exhibits, lists, settings), so that a refusal can say which differs.
    resume_key: Map<String, Value>,
}

/// What a part of the resume key is called in messages.
fn label(key: &str) -> String {
    key.replace('_', " ")
}

/// A value short enough for a message.
fn brief(v: Option<&Value>) -> String {
    let s = v.map_or_else(|| "absent".to_string(), |v| v.to_string());
    if s.chars().count() > 200 {
        let cut: String = s.chars().take(200).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// The first part of the key that differs: its name, then and now.
fn differs(was: &Map<String, Value>, now: &Map<String, Value>) -> Option<(String, String, String)> {
    now.keys()
        .chain(was.keys())
        .find(|k| was.get(*k) != now.get(*k))
        .map(|k| (label(k), brief(was.get(k)), brief(now.get(k))))
}

/// An open checkpoint being appended to.
pub(crate) struct Checkpoint {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    last_flush: Instant,
    /// The first write error, if any (the scan goes on; resuming will redo
    /// what was not recorded).
    pub error: Option<String>,
}

impl Checkpoint {
    /// Starts a new checkpoint for a scan with these settings.
    pub fn create(dir: &Path, key: &Map<String, Value>) -> Result<Checkpoint, ScanError> {
        let path = dir.join(CHECKPOINT_FILE);
        let io = |action, source| ScanError::Io {
            path: path.clone(),
            action,
            source,
        };
        let file = create_private_file(&path).map_err(|e| io("create the checkpoint", e))?;
        let mut out = BufWriter::new(file);
        let header = Header {
            nigehbaan_checkpoint: VERSION,
            resume_key: key.clone(),
        };
        serde_json::to_writer(&mut out, &header)
            .map_err(std::io::Error::other)
            .and_then(|_| out.write_all(b"\n"))
            .and_then(|_| out.flush())
            .map_err(|e| io("write the checkpoint", e))?;
        Ok(Checkpoint {
            path,
            out: Some(out),
            last_flush: Instant::now(),
            error: None,
        })
    }

    /// Reads a checkpoint left by an interrupted scan: its items (a last
    /// line cut short by the interruption is dropped), and reopens it for
    /// appending. Fails, naming the part, when any part of the key differs.
    pub fn resume(
        dir: &Path,
        key: &Map<String, Value>,
    ) -> Result<(Checkpoint, Vec<Item>), ScanError> {
        let path = dir.join(CHECKPOINT_FILE);
        let io = |action, source| ScanError::Io {
            path: path.clone(),
            action,
            source,
        };
        let file = File::open(&path).map_err(|e| io("open the checkpoint to resume", e))?;
        let mut lines = BufReader::new(file).lines();
        let header: Header = lines
            .next()
            .and_then(|l| l.ok())
            .and_then(|l| serde_json::from_str(&l).ok())
            .filter(|h: &Header| h.nigehbaan_checkpoint == VERSION)
            .ok_or_else(|| ScanError::NotACheckpoint { path: path.clone() })?;
        if let Some((setting, was, now)) = differs(&header.resume_key, key) {
            return Err(ScanError::ResumeMismatch {
                path,
                setting,
                was,
                now,
            });
        }
        let mut items = Vec::new();
        let mut good_bytes = 0u64;
        for line in lines {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Item>(&line) {
                Ok(item) => {
                    items.push(item);
                    good_bytes += line.len() as u64 + 1;
                }
                Err(_) => break,
            }
        }
        // Cut a partial last line, then append after the good ones.
        let header_len = serde_json::to_string(&header).map_or(0, |s| s.len() as u64 + 1);
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| io("reopen the checkpoint", e))?;
        file.set_len(header_len + good_bytes)
            .map_err(|e| io("repair the checkpoint", e))?;
        drop(file);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io("reopen the checkpoint", e))?;
        Ok((
            Checkpoint {
                path,
                out: Some(BufWriter::new(file)),
                last_flush: Instant::now(),
                error: None,
            },
            items,
        ))
    }

    /// Records a finished item (flushed at least every second).
    pub fn append(&mut self, item: &Item) {
        let Some(out) = self.out.as_mut() else { return };
        let r = serde_json::to_writer(&mut *out, item)
            .map_err(std::io::Error::other)
            .and_then(|_| out.write_all(b"\n"));
        let r = r.and_then(|_| {
            if self.last_flush.elapsed() > Duration::from_secs(1) {
                self.last_flush = Instant::now();
                out.flush()
            } else {
                Ok(())
            }
        });
        if let Err(e) = r {
            self.error = Some(format!("{}: {e}", self.path.display()));
            self.out = None;
        }
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) {
        if let Some(out) = self.out.as_mut() {
            if let Err(e) = out.flush() {
                self.error = Some(format!("{}: {e}", self.path.display()));
            }
        }
    }

    /// Deletes the checkpoint once the report is complete.
    pub fn remove(mut self) {
        self.out = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_refusal_names_what_differs() {
        let was = json!({"case_number": "A", "exhibits": [1]});
        let now = json!({"case_number": "B", "exhibits": [1]});
        let (Value::Object(was), Value::Object(now)) = (was, now) else {
            unreachable!()
        };
        let (what, a, b) = differs(&was, &now).unwrap();
        assert_eq!(
            (what.as_str(), a.as_str(), b.as_str()),
            ("case number", "\"A\"", "\"B\"")
        );
        assert!(differs(&was, &was).is_none());
    }
}
