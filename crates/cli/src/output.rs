//! JSON Lines and CSV writers for per-file records.

use clap::ValueEnum;
use nigehbaan_filehash::Record;
use nigehbaan_scan::report::csv_cell;
use std::io::{self, BufWriter, Write};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row (RFC 4180 quoting).
    Csv,
}

const COLUMNS: [&str; 16] = [
    "path",
    "size",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "pdq_quality",
    "pdq_pipeline",
    "pdq_hashable",
    "width",
    "height",
    "format",
    "orientation",
    "error",
    "path_bytes",
    "pdq_dihedral",
];

/// Writes records in the chosen format.
pub struct RecordWriter<W: Write> {
    out: BufWriter<W>,
    format: OutputFormat,
    dihedral: bool,
    header_done: bool,
}

impl<W: Write> RecordWriter<W> {
    pub fn new(out: W, format: OutputFormat, dihedral: bool) -> Self {
        RecordWriter {
            out: BufWriter::new(out),
            format,
            dihedral,
            header_done: false,
        }
    }

    pub fn write(&mut self, r: &Record) -> io::Result<()> {
        match self.format {
            OutputFormat::Jsonl => {
                serde_json::to_writer(&mut self.out, r)?;
                self.out.write_all(b"\n")
            }
            OutputFormat::Csv => {
                let ncols = if self.dihedral {
                    COLUMNS.len()
                } else {
                    COLUMNS.len() - 1
                };
                if !self.header_done {
                    self.out.write_all(COLUMNS[..ncols].join(",").as_bytes())?;
                    self.out.write_all(b"\n")?;
                    self.header_done = true;
                }
                let opt = |v: Option<String>| v.unwrap_or_default();
                let mut cells = vec![
                    r.path.clone(),
                    opt(r.size.map(|v| v.to_string())),
                    opt(r.md5.clone()),
                    opt(r.sha1.clone()),
                    opt(r.sha256.clone()),
                    opt(r.pdq.clone()),
                    opt(r.pdq_quality.map(|v| v.to_string())),
                    opt(r.pdq_pipeline.map(str::to_string)),
                    opt(r.pdq_hashable.map(|v| v.to_string())),
                    opt(r.width.map(|v| v.to_string())),
                    opt(r.height.map(|v| v.to_string())),
                    opt(r.format.map(str::to_string)),
                    opt(r.orientation.map(|v| v.to_string())),
                    opt(r.error.clone()),
                    opt(r.path_bytes.clone()),
                ];
                if self.dihedral {
                    cells.push(opt(r.pdq_dihedral.as_ref().map(|d| d.join(";"))));
                }
                let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                self.out.write_all(line.join(",").as_bytes())?;
                self.out.write_all(b"\n")
            }
        }
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}
