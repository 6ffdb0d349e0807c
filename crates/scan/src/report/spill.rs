//! Records kept on disk, in order, so that a scan's memory does not grow
//! with its item count: an external merge sort.
//!
//! Records are pushed with a sort key; when the buffered records pass a
//! byte budget they are sorted and written as a run (JSON lines, a file
//! of mode 0600 in the report directory). [`Spill::iter`] merges the runs
//! in key order, as often as needed. The run files are removed when the
//! spill is dropped.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Why a spill could not be written or read back.
#[derive(Debug)]
pub struct SpillError {
    /// The run file.
    pub path: PathBuf,
    /// What failed.
    pub source: std::io::Error,
}

impl std::fmt::Display for SpillError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: temporary report file: {}",
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for SpillError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Records of type `T` sorted by keys of type `K`, mostly on disk. When a
/// run cannot be written (a full disk), the records stay in memory from
/// then on: nothing pushed is ever lost.
pub(crate) struct Spill<K, T> {
    dir: PathBuf,
    name: &'static str,
    budget: usize,
    buf: Vec<(K, T)>,
    buf_bytes: usize,
    runs: Vec<PathBuf>,
    len: u64,
    /// The first write failure, after which records are kept in memory.
    pub write_error: Option<SpillError>,
}

impl<K, T> Spill<K, T>
where
    K: Ord + Serialize + DeserializeOwned + Clone,
    T: Serialize + DeserializeOwned + Clone,
{
    /// An empty spill writing its runs into `dir` (files named after
    /// `name`), holding at most about `budget` bytes of records in memory.
    pub fn new(dir: &Path, name: &'static str, budget: usize) -> Self {
        Spill {
            dir: dir.to_path_buf(),
            name,
            budget: budget.max(1),
            buf: Vec::new(),
            buf_bytes: 0,
            runs: Vec::new(),
            len: 0,
            write_error: None,
        }
    }

    /// Records pushed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Adds a record; `bytes` is about what it holds in memory. Writes a
    /// run when the budget is passed.
    pub fn push(&mut self, key: K, record: T, bytes: usize) {
        self.buf.push((key, record));
        self.buf_bytes += bytes + std::mem::size_of::<(K, T)>();
        self.len += 1;
        if self.buf_bytes > self.budget && self.write_error.is_none() {
            self.write_run();
        }
    }

    fn write_run(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        self.buf.sort_by(|a, b| a.0.cmp(&b.0));
        let path = self.dir.join(format!(
            ".nigehbaan-spill-{}-{}-{}.jsonl",
            self.name,
            std::process::id(),
            self.runs.len()
        ));
        match write_lines(&path, &self.buf) {
            Ok(()) => {
                self.runs.push(path);
                self.buf.clear();
                self.buf_bytes = 0;
            }
            Err(source) => {
                let _ = std::fs::remove_file(&path);
                self.write_error = Some(SpillError { path, source });
            }
        }
    }

    /// Sorts what is still buffered (it stays in memory, within the
    /// budget); call before [`Spill::iter`].
    pub fn finish(&mut self) {
        self.buf.sort_by(|a, b| a.0.cmp(&b.0));
    }

    /// Every record, in key order.
    pub fn iter(&self) -> Result<Merge<'_, K, T>, SpillError> {
        let mut sources = Vec::with_capacity(self.runs.len() + 1);
        for path in &self.runs {
            let f = File::open(path).map_err(|source| SpillError {
                path: path.clone(),
                source,
            })?;
            sources.push(Source::File(
                path.clone(),
                BufReader::with_capacity(1 << 16, f),
            ));
        }
        sources.push(Source::Mem(self.buf.iter()));
        let mut m = Merge {
            heads: (0..sources.len()).map(|_| None).collect(),
            sources,
            heap: BinaryHeap::new(),
            line: String::new(),
            failed: None,
        };
        for i in 0..m.sources.len() {
            m.refill(i);
        }
        Ok(m)
    }
}

fn write_lines<K: Serialize, T: Serialize>(path: &Path, recs: &[(K, T)]) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 18, create_private(path)?);
    for rec in recs {
        serde_json::to_writer(&mut w, rec)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

impl<K, T> Drop for Spill<K, T> {
    fn drop(&mut self) {
        for p in &self.runs {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Creates a new file only its owner can read (mode 0600).
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

enum Source<'a, K, T> {
    File(PathBuf, BufReader<File>),
    Mem(std::slice::Iter<'a, (K, T)>),
}

/// A k-way merge of a spill's runs.
pub(crate) struct Merge<'a, K, T> {
    sources: Vec<Source<'a, K, T>>,
    heads: Vec<Option<T>>,
    heap: BinaryHeap<Reverse<(K, usize)>>,
    line: String,
    /// The first read error: the records after it are missing.
    pub failed: Option<SpillError>,
}

impl<K: Ord + DeserializeOwned + Clone, T: DeserializeOwned + Clone> Merge<'_, K, T> {
    fn refill(&mut self, i: usize) {
        let next = match &mut self.sources[i] {
            Source::Mem(it) => it.next().cloned().map(Ok),
            Source::File(path, r) => {
                self.line.clear();
                match r.read_line(&mut self.line) {
                    Ok(0) => None,
                    Ok(_) => Some(
                        serde_json::from_str::<(K, T)>(&self.line)
                            .map_err(|e| (path.clone(), std::io::Error::from(e))),
                    ),
                    Err(e) => Some(Err((path.clone(), e))),
                }
            }
        };
        match next {
            None => {}
            Some(Ok((k, t))) => {
                self.heads[i] = Some(t);
                self.heap.push(Reverse((k, i)));
            }
            Some(Err((path, source))) if self.failed.is_none() => {
                self.failed = Some(SpillError { path, source });
            }
            Some(Err(_)) => {}
        }
    }

    /// The key of the record [`Iterator::next`] gives next.
    pub fn peek_key(&self) -> Option<&K> {
        self.heap.peek().map(|Reverse((k, _))| k)
    }

    /// Fails when a run could not be read to its end.
    pub fn check(&mut self) -> Result<(), SpillError> {
        match self.failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl<K: Ord + DeserializeOwned + Clone, T: DeserializeOwned + Clone> Iterator for Merge<'_, K, T> {
    type Item = (K, T);

    fn next(&mut self) -> Option<(K, T)> {
        let Reverse((k, i)) = self.heap.pop()?;
        let t = self.heads[i].take()?;
        self.refill(i);
        Some((k, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "nigehbaan-spill-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn runs_are_private_and_removed() {
        let d = dir("private");
        {
            let mut s: Spill<u32, String> = Spill::new(&d, "t", 10);
            for i in 0..5u32 {
                s.push(5 - i, format!("r{i}"), 8);
            }
            s.finish();
            let files: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap()).collect();
            assert_eq!(files.len(), 5);
            #[cfg(unix)]
            for f in &files {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600);
            }
            let keys: Vec<u32> = s.iter().unwrap().map(|(k, _)| k).collect();
            assert_eq!(keys, [1, 2, 3, 4, 5]);
        }
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The oracle: the standard library's sort of the same records.
        #[test]
        fn merged_order_is_sorted_order(
            recs in proptest::collection::vec((0u16..50, "[a-z\u{10ff00}-\u{10ff10}]{0,6}"), 0..200),
            budget in 1usize..4000,
        ) {
            let d = dir("prop");
            let mut s: Spill<(u16, String), u32> = Spill::new(&d, "p", budget);
            for (n, (k, name)) in recs.iter().enumerate() {
                s.push((*k, name.clone()), n as u32, 40);
            }
            s.finish();
            let mut want: Vec<(u16, String)> = recs.clone();
            want.sort();
            for _ in 0..2 {
                let got: Vec<(u16, String)> = s.iter().unwrap().map(|(k, _)| k).collect();
                prop_assert_eq!(&got, &want);
            }
            prop_assert_eq!(s.len(), recs.len() as u64);
        }
    }
}
