//! stub
use super::{Entry, FileSystem, FsError, FsKind};
use crate::ReadAt;
use std::sync::Arc;
pub(crate) struct Ext;
pub(crate) struct Superblock;
impl Superblock {
    pub fn read(_r: &dyn ReadAt) -> Result<Superblock, FsError> {
        Err(FsError::Unrecognised)
    }
}
impl Ext {
    pub fn open(_v: Arc<dyn ReadAt>) -> Result<Ext, FsError> {
        Err(FsError::Unrecognised)
    }
}
impl FileSystem for Ext {
    fn kind(&self) -> FsKind {
        FsKind::Ext
    }
    fn walk(&self, _visit: &mut dyn FnMut(Result<Entry, FsError>)) {}
    fn open_file(&self, _e: &Entry) -> Result<Box<dyn ReadAt>, FsError> {
        Err(FsError::Unrecognised)
    }
    fn unallocated(&self) -> Result<Vec<(u64, u64)>, FsError> {
        Ok(vec![])
    }
}
