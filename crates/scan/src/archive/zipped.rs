//! Zip archives: through their central directory, read by the `zip`
//! crate; when it is missing or damaged, by walking the local headers (see
//! [`super::zipwalk`]).

use super::*;
use crate::model::ExclusionKind;

impl<E: FnMut(Entry), S: Fn(&str) -> bool> Expander<'_, E, S> {
    /// An in-memory zip whose central directory could not be read (cut
    /// short, or damaged): its entries are recovered by walking the local
    /// headers, and the zip is recorded as damaged, saying how many entries
    /// were recovered and where the walk stopped.
    pub(super) fn zip_recover(
        &mut self,
        bytes: &Arc<[u8]>,
        error: ::zip::result::ZipError,
        parent: &str,
        depth: u32,
    ) -> Result<(), Stop> {
        use super::zipwalk::{walk, WalkEnd};
        let budget = self
            .meter
            .cap
            .get()
            .saturating_sub(self.meter.produced.get());
        let (found, end) = walk(bytes, budget);
        let mut recovered = 0usize;
        for e in &found {
            if e.name.ends_with('/') {
                continue;
            }
            let path = format!("{parent}!{}", e.name);
            if e.encrypted {
                self.exclude(
                    &path,
                    ExclusionKind::Encrypted,
                    "encrypted zip entry: not examined (no password)".into(),
                    true,
                    false,
                );
                continue;
            }
            let raw = &bytes[e.data.clone()];
            let modified = dos_time(e.dos_time.0, e.dos_time.1);
            let r = match e.method {
                0 => self.entry(parent, depth + 1, &e.name, modified, &mut &raw[..]),
                8 => {
                    let mut inflate = flate2::read::DeflateDecoder::new(raw);
                    self.entry(parent, depth + 1, &e.name, modified, &mut inflate)
                }
                m => {
                    self.exclude(
                        &path,
                        ExclusionKind::ArchiveError,
                        format!("zip compression method {m} is not supported: not examined"),
                        true,
                        false,
                    );
                    continue;
                }
            };
            match r {
                Ok(()) => recovered += 1,
                Err(EntryError::Stop(s)) => return Err(s),
                Err(EntryError::Failed(why)) => self.exclude(
                    &path,
                    ExclusionKind::ArchiveError,
                    format!("cannot decompress: {why}"),
                    true,
                    false,
                ),
            }
        }
        let stop = match end {
            WalkEnd::CentralDirectory => "the walk reached the (damaged) central directory".into(),
            WalkEnd::End => "the walk reached the end of the file".into(),
            WalkEnd::Damaged { offset, why } => format!("damage at byte {offset}: {why}"),
        };
        self.exclude(
            parent,
            ExclusionKind::ArchiveError,
            format!(
                "cannot read zip: {error}; {recovered} entries recovered by walking the local \
                 headers; {stop}; entries after this point were not examined"
            ),
            true,
            true,
        );
        Ok(())
    }

    pub(super) fn zip<R: Read + Seek>(
        &mut self,
        opened: zip::result::ZipResult<zip::ZipArchive<R>>,
        shared: Option<&SharedZip>,
        parent: &str,
        depth: u32,
    ) -> Result<(), Stop> {
        let mut z = match opened {
            Ok(z) => z,
            Err(e) => {
                self.broken(parent, "cannot read zip", e);
                return Ok(());
            }
        };
        if self.entries + z.len() as u64 > self.limits.max_entries {
            self.exclude(
                parent,
                ExclusionKind::EntryLimit,
                format!(
                    "a zip of {} entries, over the limit of {} per file: hashed, not opened",
                    z.len(),
                    self.limits.max_entries
                ),
                true,
                true,
            );
            return Ok(());
        }
        for i in 0..z.len() {
            let name = z
                .name_for_index(i)
                .map(str::to_string)
                .unwrap_or_else(|| format!("#{i}"));
            if let Some(shared) = shared {
                if let Some((size, modified)) = self.zip_leaf(&mut z, i) {
                    self.lazy_zip_entry(shared, i, parent, depth + 1, &name, modified, size)?;
                    continue;
                }
            }
            let mut f = match z.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    let text = e.to_string();
                    let kind = if text.to_ascii_lowercase().contains("password") {
                        ExclusionKind::Encrypted
                    } else {
                        ExclusionKind::ArchiveError
                    };
                    self.exclude(
                        &format!("{parent}!{name}"),
                        kind,
                        format!("cannot read zip entry: {text}"),
                        true,
                        false,
                    );
                    continue;
                }
            };
            if f.is_dir() {
                continue;
            }
            if f.is_symlink() {
                self.exclude(
                    &format!("{parent}!{name}"),
                    ExclusionKind::LinkEntry,
                    "symbolic link stored in the zip; not followed".into(),
                    false,
                    false,
                );
                continue;
            }
            let modified = zip_time(&f);
            match self.entry(parent, depth + 1, &name, modified, &mut f) {
                Ok(()) => {}
                Err(EntryError::Stop(s)) => return Err(s),
                Err(EntryError::Failed(why)) => {
                    let path = format!("{parent}!{name}");
                    self.exclude(
                        &path,
                        ExclusionKind::ArchiveError,
                        format!("cannot decompress: {why}"),
                        true,
                        false,
                    );
                }
            }
        }
        Ok(())
    }

    /// For an in-memory zip: whether entry `i` is a plain file (not a
    /// container, not a link, readable, small enough) that a worker can
    /// inflate on its own; its declared size and time if so.
    fn zip_leaf<R: Read + Seek>(
        &self,
        z: &mut zip::ZipArchive<R>,
        i: usize,
    ) -> Option<(u64, Option<String>)> {
        let mut f = z.by_index(i).ok()?;
        if f.is_dir() || f.is_symlink() || f.size() > self.limits.max_in_memory {
            return None;
        }
        let mut head = Vec::with_capacity(DETECT_BYTES);
        (&mut f)
            .take(DETECT_BYTES as u64)
            .read_to_end(&mut head)
            .ok()?;
        // Containers are opened, opaque inputs recorded: both on this
        // thread, through `entry`.
        if detect(&head).is_some() || crate::opaque::detect(&head).is_some() {
            return None;
        }
        Some((f.size(), zip_time(&f)))
    }

    /// Hands a zip entry to the workers, counting its declared size
    /// against the expansion limits first.
    #[allow(clippy::too_many_arguments)]
    fn lazy_zip_entry(
        &mut self,
        shared: &SharedZip,
        i: usize,
        parent: &str,
        depth: u32,
        name: &str,
        modified: Option<String>,
        size: u64,
    ) -> Result<(), Stop> {
        let path = format!("{parent}!{name}");
        match self.begin_entry(&path, name) {
            Ok(()) => {}
            Err(EntryError::Stop(s)) => return Err(s),
            Err(EntryError::Failed(_)) => return Ok(()),
        }
        let total = self.meter.produced.get() + size;
        self.meter.produced.set(total);
        if total > self.meter.cap.get() {
            return Err(self.limit_hit(&path));
        }
        if (self.skip)(&path) {
            return Ok(());
        }
        let mut z = shared.clone();
        let read: LazyRead = Box::new(move || {
            let mut f = z.by_index(i).map_err(LazyReadError::Open)?;
            let mut buf = Vec::with_capacity(size as usize);
            (&mut f)
                .take(size + 1)
                .read_to_end(&mut buf)
                .map_err(LazyReadError::Decompress)?;
            if buf.len() as u64 > size {
                return Err(LazyReadError::Overlong { declared: size });
            }
            Ok(buf)
        });
        (self.emit)(Entry {
            path,
            depth,
            modified,
            data: Data::Lazy { size, read },
        });
        Ok(())
    }
}

/// An MS-DOS date and time as [`zip_time`] writes it (`None` when invalid).
fn dos_time(date: u16, time: u16) -> Option<String> {
    let (y, mo, d) = (1980 + (date >> 9), (date >> 5) & 15, date & 31);
    let (h, mi, s) = (time >> 11, (time >> 5) & 63, (time & 31) * 2);
    if !(1..=12).contains(&mo) || d == 0 || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02} (zip local time, zone not recorded)"
    ))
}

/// A zip entry's time, which zip records as local time without a zone.
fn zip_time<R: Read>(f: &zip::read::ZipFile<'_, R>) -> Option<String> {
    f.last_modified().map(|d| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02} (zip local time, zone not recorded)",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )
    })
}
