//! Turning a requested path into the lexical path and the real path that a scope checks.

use std::ffi::OsStr;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a path has no real path.
#[derive(Debug)]
pub(super) enum Error {
    /// This symbolic link on the way points nowhere: creating through it would create its target.
    Dangling(PathBuf),
    /// Anything else the file system said, other than "not found".
    Io(io::Error),
}

/// `path` with `.` removed and `..` applied to the components before it (never above the
/// root); repeated and trailing separators are gone too, as [`Path::components`] drops them.
pub(super) fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir | Component::Normal(_) => {
                out.push(component.as_os_str());
            }
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
        }
    }
    out
}

/// The real location of the lexically normal `path`: the longest existing prefix canonicalised,
/// then the missing components appended as they are.
pub(super) fn real(path: &Path) -> Result<PathBuf, Error> {
    let mut existing = path;
    let mut missing: Vec<&OsStr> = Vec::new();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(mut real) => {
                real.extend(missing.iter().rev());
                return Ok(real);
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // The entry itself exists but what it leads to does not: a dangling symlink.
                if std::fs::symlink_metadata(existing).is_ok() {
                    return Err(Error::Dangling(existing.to_owned()));
                }
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        missing.push(name);
                        existing = parent;
                    }
                    _ => return Err(Error::Io(error)),
                }
            }
            Err(error) => return Err(Error::Io(error)),
        }
    }
}
