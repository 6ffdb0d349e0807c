//! The checkpoint: every finished item, one JSON line each, appended as it
//! is done, so that an interrupted scan continues with `--resume` without
//! hashing anything twice.

use crate::model::Item;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The checkpoint's file name in the report directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.jsonl";

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    nigehbaan_checkpoint: u32,
    settings: String,
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
    pub fn create(dir: &Path, settings: &str) -> Result<Checkpoint, String> {
        let path = dir.join(CHECKPOINT_FILE);
        let file = File::create(&path)
            .map_err(|e| format!("{}: cannot create checkpoint: {e}", path.display()))?;
        let mut out = BufWriter::new(file);
        let header = Header {
            nigehbaan_checkpoint: 1,
            settings: settings.to_string(),
        };
        serde_json::to_writer(&mut out, &header)
            .map_err(|e| e.to_string())
            .and_then(|_| out.write_all(b"\n").map_err(|e| e.to_string()))
            .and_then(|_| out.flush().map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: cannot write checkpoint: {e}", path.display()))?;
        Ok(Checkpoint {
            path,
            out: Some(out),
            last_flush: Instant::now(),
            error: None,
        })
    }

    /// Reads a checkpoint left by an interrupted scan: its items (a last
    /// line cut short by the interruption is dropped), and reopens it for
    /// appending. Fails when the settings differ.
    pub fn resume(dir: &Path, settings: &str) -> Result<(Checkpoint, Vec<Item>), String> {
        let path = dir.join(CHECKPOINT_FILE);
        let file = File::open(&path).map_err(|e| {
            format!(
                "{}: cannot resume: {e} (was this report directory made by an interrupted scan?)",
                path.display()
            )
        })?;
        let mut lines = BufReader::new(file).lines();
        let header: Header = lines
            .next()
            .and_then(|l| l.ok())
            .and_then(|l| serde_json::from_str(&l).ok())
            .ok_or_else(|| format!("{}: not a Nigehbaan checkpoint", path.display()))?;
        if header.settings != settings {
            return Err(format!(
                "{}: the interrupted scan used other settings or other lists; run it again \
                 with the same options, or start a new scan with another --out",
                path.display()
            ));
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
            .map_err(|e| format!("{}: cannot reopen checkpoint: {e}", path.display()))?;
        file.set_len(header_len + good_bytes)
            .map_err(|e| format!("{}: cannot repair checkpoint: {e}", path.display()))?;
        drop(file);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| format!("{}: cannot reopen checkpoint: {e}", path.display()))?;
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
