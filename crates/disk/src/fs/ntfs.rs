//! stub
use super::{Entry, FileSystem, FsError, FsKind};
use crate::ReadAt;
use std::sync::Arc;
pub(crate) struct Ntfs;
impl Ntfs {
    pub fn open(_v: Arc<dyn ReadAt>) -> Result<Ntfs, FsError> {
        Err(FsError::Unrecognised)
    }
}
impl FileSystem for Ntfs {
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
