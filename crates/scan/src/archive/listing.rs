//! Listing a container's entries without the hashing workers (for tests
//! and fuzzing).

use super::*;

/// One entry found by [`entries_of`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Container chain and entry name (the outer name is `parent`).
    pub path: String,
    /// Nesting depth.
    pub depth: u32,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
}

/// Opens an in-memory container named `parent` (recursively, within
/// `limits`) and lists every entry with its SHA-256, plus the exclusions.
/// A buffer that is no container gives no entries. Never panics on any
/// input; this is the path the scanner takes, without the hashing workers.
pub fn entries_of(
    bytes: &[u8],
    parent: &str,
    limits: ArchiveLimits,
) -> (Vec<Listed>, Vec<Exclusion>) {
    let Some(kind) = detect(bytes) else {
        return (Vec::new(), Vec::new());
    };
    let cancel = AtomicBool::new(false);
    let mut found = Vec::new();
    let emit = |e: Entry| {
        let (size, sha256) = match e.data {
            Data::Bytes(b) => (b.len() as u64, Digests::of(&b).sha256),
            Data::Digested { digests, size, .. } => (size, digests.sha256),
            Data::Lazy { read, .. } => match read() {
                Ok(b) => (b.len() as u64, Digests::of(&b).sha256),
                // A zip entry that cannot be inflated is not listed.
                Err(_) => return,
            },
        };
        found.push(Listed {
            path: e.path,
            depth: e.depth,
            size,
            sha256: nigehbaan_pdq::hex::encode(&sha256),
        });
    };
    let mut ex = Expander::new(limits, "", &cancel, |_: &str| false, emit);
    let _ = ex.expand_file(
        kind,
        Source::Mem(Arc::from(bytes)),
        parent,
        bytes.len() as u64,
    );
    let exclusions = std::mem::take(&mut ex.exclusions);
    drop(ex);
    (found, exclusions)
}
