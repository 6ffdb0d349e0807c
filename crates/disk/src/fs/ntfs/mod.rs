//! NTFS: the boot sector, `$MFT` through its own run list, records with
//! their fixups, `$DATA` resident and non-resident (sparse runs, named
//! streams), `$ATTRIBUTE_LIST`, and `$Bitmap`. The directory tree comes
//! from `$FILE_NAME` parent references, so deleted records find their
//! place too.

mod record;
mod walk;

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use super::error::read_exact;
use super::runs::{offset_in_runs, push_run, Run, RunReader};
use super::{
    free_ranges_from_bitmap, merge_ranges, Entry, FileSystem, FsError, FsKind, Recovery, Structure,
};
use crate::ReadAt;
use record::{Attr, Body, NotARecord, Record};

/// The largest `$Bitmap` loaded (a 16 TiB volume of 4 KiB clusters).
const BITMAP_MAX: u64 = 512 << 20;
/// The largest non-resident `$ATTRIBUTE_LIST` read.
const ATTRIBUTE_LIST_MAX: u64 = 1 << 20;
/// The most extension records followed for one file.
const MAX_EXTENSIONS: usize = 256;

/// An opened NTFS volume.
pub(crate) struct Ntfs {
    volume: Arc<dyn ReadAt>,
    cluster_size: u64,
    record_size: u64,
    total_clusters: u64,
    /// `$MFT`'s own data.
    mft: RunReader,
    /// `$MFT`'s runs, to turn record numbers into volume offsets.
    mft_runs: Arc<[Run]>,
    records: u64,
    bitmap: OnceLock<Result<Vec<u8>, FsError>>,
}

impl Ntfs {
    pub fn open(volume: Arc<dyn ReadAt>) -> Result<Ntfs, FsError> {
        use super::le::{u16, u64};
        let mut b = [0u8; 512];
        read_exact(&*volume, 0, &mut b)?;
        let bad = |reason| FsError::corrupt(Structure::BootSector, 0, reason);
        if &b[3..11] != b"NTFS    " {
            return Err(bad("no NTFS signature"));
        }
        let bps = u16(&b, 0x0B) as u64;
        if !bps.is_power_of_two() || !(256..=4096).contains(&bps) {
            return Err(bad("bytes per sector out of range"));
        }
        let spc = match b[0x0D] {
            0 => return Err(bad("zero sectors per cluster")),
            x if x <= 0x80 => x as u64,
            x => 1u64 << (256 - x as u32).min(20),
        };
        let cluster_size = bps * spc;
        if !cluster_size.is_power_of_two() || cluster_size > 2 << 20 {
            return Err(bad("cluster size out of range"));
        }
        let total_clusters = u64(&b, 0x28) / spc;
        let mft_lcn = u64(&b, 0x30);
        let record_size = match b[0x40] as i8 {
            x if x > 0 => x as u64 * cluster_size,
            x if x < 0 && x > -31 => 1u64 << (-(x as i32)),
            _ => return Err(bad("MFT record size out of range")),
        };
        if !record_size.is_power_of_two() || !(512..=65536).contains(&record_size) {
            return Err(bad("MFT record size out of range"));
        }
        if mft_lcn >= total_clusters {
            return Err(bad("$MFT starts outside the volume"));
        }
        // Bootstrap: record 0 gives $MFT's run list.
        let mft0 = mft_lcn * cluster_size;
        let mut buf = vec![0u8; record_size as usize];
        read_exact(&*volume, mft0, &mut buf)?;
        let rec = record::parse(&mut buf, mft0).map_err(|e| match e {
            NotARecord::Empty => {
                FsError::corrupt(Structure::MftRecord, mft0, "$MFT record 0 is missing")
            }
            NotARecord::Damaged(e) => e,
        })?;
        let mut ntfs = Ntfs {
            volume,
            cluster_size,
            record_size,
            total_clusters,
            mft: RunReader::new(Arc::new(Vec::<u8>::new()), Arc::from(Vec::new()), 0, 0),
            mft_runs: Arc::from(Vec::new()),
            records: 0,
            bitmap: OnceLock::new(),
        };
        ntfs.set_mft(&rec.attrs, mft0)?;
        // A fragmented $MFT may keep later pieces in extension records
        // (listed in its $ATTRIBUTE_LIST): read them through the first piece.
        if rec.attrs.iter().any(|a| a.kind == record::ATTRIBUTE_LIST) {
            let attrs = ntfs.all_attrs(0, &rec)?;
            ntfs.set_mft(&attrs, mft0)?;
        }
        Ok(ntfs)
    }

    /// Takes `$MFT`'s data from its attributes; the record count is bounded
    /// by the runs and the volume, whatever the size field says.
    fn set_mft(&mut self, attrs: &[Attr], at: u64) -> Result<(), FsError> {
        let (runs, size, _) = self.stream_runs(attrs, &[], at)?;
        let covered: u64 = runs.iter().map(|r| r.len).sum();
        let size = size.min(covered).min(self.volume.len());
        let runs: Arc<[Run]> = runs.into();
        self.mft = RunReader::new(self.volume.clone(), runs.clone(), size, size);
        self.mft_runs = runs;
        self.records = size / self.record_size;
        if self.records == 0 {
            return Err(FsError::corrupt(
                Structure::MftRecord,
                at,
                "$MFT has no data",
            ));
        }
        Ok(())
    }

    /// Volume byte offset of record `n` (for error reports).
    fn record_offset(&self, n: u64) -> u64 {
        offset_in_runs(&self.mft_runs, n.saturating_mul(self.record_size)).unwrap_or(0)
    }

    /// Reads and parses record `n`; `Ok(None)` for an empty record.
    fn record(&self, n: u64) -> Result<Option<Record>, FsError> {
        let mut buf = vec![0u8; self.record_size as usize];
        self.mft
            .read_exact_at(n * self.record_size, &mut buf)
            .map_err(|e| FsError::io(self.record_offset(n), e))?;
        self.parse_record(n, &mut buf)
    }

    fn parse_record(&self, n: u64, buf: &mut [u8]) -> Result<Option<Record>, FsError> {
        match record::parse(buf, self.record_offset(n)) {
            Ok(r) => Ok(Some(r)),
            Err(NotARecord::Empty) => Ok(None),
            Err(NotARecord::Damaged(e)) => Err(e),
        }
    }

    /// The attributes of base record `n`, with those its `$ATTRIBUTE_LIST`
    /// places in extension records.
    fn all_attrs(&self, n: u64, base: &Record) -> Result<Vec<Attr>, FsError> {
        let Some(list) = base.attrs.iter().find(|a| a.kind == record::ATTRIBUTE_LIST) else {
            return Ok(base.attrs.clone());
        };
        let value = match &list.body {
            Body::Resident(v) => v.clone(),
            Body::NonResident { .. } => {
                let (runs, size, init) =
                    self.stream_runs(std::slice::from_ref(list), &[], self.record_offset(n))?;
                if size > ATTRIBUTE_LIST_MAX {
                    return Err(FsError::corrupt(
                        Structure::MftRecord,
                        self.record_offset(n),
                        "attribute list larger than any real one",
                    ));
                }
                let r = RunReader::new(self.volume.clone(), runs.into(), size, init);
                let mut v = vec![0u8; size as usize];
                r.read_exact_at(0, &mut v)
                    .map_err(|e| FsError::io(self.record_offset(n), e))?;
                v
            }
        };
        let mut attrs: Vec<Attr> = base.attrs.clone();
        let mut seen = HashSet::new();
        seen.insert(n);
        for entry in record::parse_attribute_list(&value) {
            if entry.record == n || !seen.insert(entry.record) {
                continue;
            }
            if seen.len() > MAX_EXTENSIONS || entry.record >= self.records {
                return Err(FsError::corrupt(
                    Structure::MftRecord,
                    self.record_offset(n),
                    "attribute list names records outside the MFT",
                ));
            }
            let _ = entry.kind;
            if let Some(ext) = self.record(entry.record)? {
                // a reused extension record belongs to another file now
                if ext.base == n {
                    attrs.extend(
                        ext.attrs
                            .into_iter()
                            .filter(|a| a.kind != record::ATTRIBUTE_LIST),
                    );
                }
            }
        }
        Ok(attrs)
    }

    /// The runs, size and initialised size of the non-resident attribute
    /// of type `$DATA` (or the single attribute given) named `name`,
    /// its pieces joined in VCN order.
    fn stream_runs(
        &self,
        attrs: &[Attr],
        name: &[u16],
        offset: u64,
    ) -> Result<(Vec<Run>, u64, u64), FsError> {
        let single = attrs.len() == 1 && attrs[0].kind != record::DATA;
        let mut pieces: Vec<&Attr> = attrs
            .iter()
            .filter(|a| single || (a.kind == record::DATA && a.name == name))
            .filter(|a| matches!(a.body, Body::NonResident { .. }))
            .collect();
        pieces.sort_by_key(|a| match a.body {
            Body::NonResident { start_vcn, .. } => start_vcn,
            _ => 0,
        });
        let mut runs = Vec::new();
        let (mut size, mut init) = (0, 0);
        let mut vcn = 0u64;
        for a in pieces {
            let Body::NonResident {
                start_vcn,
                runs: raw,
                compression_unit,
                size: s,
                initialized,
            } = &a.body
            else {
                continue;
            };
            if a.flags & 0x4000 != 0 {
                return Err(FsError::Unsupported {
                    structure: Structure::MftRecord,
                    offset,
                    feature: "NTFS encryption (EFS)",
                });
            }
            if a.flags & 0x0001 != 0 || *compression_unit != 0 {
                return Err(FsError::Unsupported {
                    structure: Structure::MftRecord,
                    offset,
                    feature: "NTFS compression",
                });
            }
            if *start_vcn == 0 {
                size = *s;
                init = *initialized;
            }
            if *start_vcn != vcn {
                return Err(FsError::corrupt(
                    Structure::RunList,
                    offset,
                    "stream pieces do not follow each other",
                ));
            }
            for (lcn, count) in record::decode_runs(raw, self.total_clusters, offset)? {
                push_run(
                    &mut runs,
                    Run {
                        disk: lcn.map(|l| l * self.cluster_size),
                        len: count * self.cluster_size,
                    },
                );
                vcn += count;
            }
        }
        Ok((runs, size, init))
    }

    /// `$Bitmap`'s data, read once.
    fn bitmap(&self) -> Result<&[u8], &FsError> {
        self.bitmap
            .get_or_init(|| {
                let at = self.record_offset(6);
                let rec = self.record(6)?.ok_or_else(|| {
                    FsError::corrupt(Structure::Bitmap, at, "$Bitmap record is empty")
                })?;
                let attrs = self.all_attrs(6, &rec)?;
                let (runs, size, init) = self.stream_runs(&attrs, &[], at)?;
                if size > BITMAP_MAX.min(self.volume.len())
                    || size < self.total_clusters.div_ceil(8)
                {
                    return Err(FsError::corrupt(
                        Structure::Bitmap,
                        at,
                        "$Bitmap size does not fit the volume",
                    ));
                }
                let r = RunReader::new(self.volume.clone(), runs.into(), size, init);
                let mut v = vec![0u8; size as usize];
                r.read_exact_at(0, &mut v).map_err(|e| FsError::io(at, e))?;
                Ok(v)
            })
            .as_ref()
            .map(|v| v.as_slice())
    }

    /// Whether any cluster of `runs` is allocated now.
    fn any_allocated(&self, runs: &[Run]) -> Result<bool, FsError> {
        let bitmap = self.bitmap().map_err(|e| {
            FsError::corrupt(
                Structure::Bitmap,
                e.offset().unwrap_or(0),
                "$Bitmap unreadable",
            )
        })?;
        for r in runs {
            let Some(d) = r.disk else { continue };
            let first = d / self.cluster_size;
            for c in first..first + r.len / self.cluster_size {
                if bitmap
                    .get((c / 8) as usize)
                    .is_none_or(|b| b >> (c % 8) & 1 == 1)
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The recovery note of a deleted stream.
    fn recovery(&self, runs: &[Run]) -> Recovery {
        match self.any_allocated(runs) {
            Ok(false) => Recovery::Intact,
            _ => Recovery::PossiblyOverwritten,
        }
    }

    /// A reader over stream `name` of record `n`.
    fn open_stream(&self, n: u64, name: &[u16]) -> Result<Box<dyn ReadAt>, FsError> {
        let at = self.record_offset(n);
        let rec = self
            .record(n)?
            .ok_or_else(|| FsError::corrupt(Structure::MftRecord, at, "the record is empty now"))?;
        let attrs = self.all_attrs(n, &rec)?;
        if let Some(Body::Resident(v)) = attrs
            .iter()
            .find(|a| a.kind == record::DATA && a.name == name)
            .map(|a| &a.body)
        {
            return Ok(Box::new(v.clone()));
        }
        let (runs, size, init) = self.stream_runs(&attrs, name, at)?;
        Ok(Box::new(RunReader::new(
            self.volume.clone(),
            runs.into(),
            size,
            init,
        )))
    }
}

impl FileSystem for Ntfs {
    fn kind(&self) -> FsKind {
        FsKind::Ntfs
    }

    fn walk(&self, visit: &mut dyn FnMut(Result<Entry, FsError>)) {
        walk::walk(self, visit)
    }

    fn open_file(&self, entry: &Entry) -> Result<Box<dyn ReadAt>, FsError> {
        let mut name = Vec::new();
        if let Some(s) = &entry.stream {
            name = s.encode_utf16().collect();
        }
        self.open_stream(entry.id, &name)
    }

    fn unallocated(&self) -> Result<Vec<(u64, u64)>, FsError> {
        let bitmap = self.bitmap().map_err(|e| {
            FsError::corrupt(
                Structure::Bitmap,
                e.offset().unwrap_or(0),
                "$Bitmap unreadable",
            )
        })?;
        Ok(merge_ranges(free_ranges_from_bitmap(
            bitmap,
            self.total_clusters,
            0,
            self.cluster_size,
        )))
    }
}
