//! stub
use super::{Entry, FileSystem, FsError, FsKind};
use crate::ReadAt;
use std::sync::Arc;
pub(crate) struct ExFat;
impl ExFat {
    pub fn open(_v: Arc<dyn ReadAt>) -> Result<ExFat, FsError> {
        Err(FsError::Unrecognised)
    }
}
impl FileSystem for ExFat {
    fn kind(&self) -> FsKind {
        FsKind::Ntfs
    }
    fn walk(&self, _visit: &mut dyn FnMut(Result<Entry, FsError>)) {}
    fn open_file(&self, _e: &Entry) -> Result<Box<dyn ReadAt>, FsError> {
        Err(FsError::Unrecognised)
    }
    fn unallocated(&self) -> Result<Vec<(u64, u64)>, FsError> {
        Ok(vec![])
    }
}
