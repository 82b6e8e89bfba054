//! Listing a folder through the scope.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The entries of a folder, from [`PathScope::read_dir`](super::PathScope::read_dir): read
/// through the handle of the folder that was checked, in the order the file system gives.
pub struct ScopedReadDir {
    inner: cap_std::fs::ReadDir,
    folder: PathBuf,
}

impl ScopedReadDir {
    pub(super) fn new(inner: cap_std::fs::ReadDir, folder: PathBuf) -> Self {
        Self { inner, folder }
    }

    /// The real path of the folder being listed.
    pub fn path(&self) -> &Path {
        &self.folder
    }
}

impl Iterator for ScopedReadDir {
    type Item = io::Result<ScopedDirEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = match self.inner.next()? {
            Ok(entry) => entry,
            Err(error) => return Some(Err(error)),
        };
        let name = entry.file_name();
        Some(entry.file_type().map(|kind| ScopedDirEntry {
            path: self.folder.join(&name),
            name,
            kind,
        }))
    }
}

impl fmt::Debug for ScopedReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedReadDir")
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

/// One entry of a [`ScopedReadDir`]: a name and what kind of entry it is. It opens nothing:
/// pass [`path`](Self::path) to the scope again to use the entry, so the scope checks it.
#[derive(Debug, Clone)]
pub struct ScopedDirEntry {
    name: OsString,
    path: PathBuf,
    kind: cap_std::fs::FileType,
}

impl ScopedDirEntry {
    /// The entry's name in its folder.
    pub fn file_name(&self) -> &OsStr {
        &self.name
    }

    /// The folder's real path joined with the name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the entry is a folder (a symbolic link to one is not).
    pub fn is_dir(&self) -> bool {
        self.kind.is_dir()
    }

    /// Whether the entry is a regular file (a symbolic link to one is not).
    pub fn is_file(&self) -> bool {
        self.kind.is_file()
    }

    /// Whether the entry is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.kind.is_symlink()
    }
}
