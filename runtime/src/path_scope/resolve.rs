//! Paths as text: the lexical path of a request, and the real location of a path found through
//! the file system by path (for the scope's own folders, named by its author, and to find which
//! folder a path outside them leads into — never to open anything).

use std::ffi::OsStr;
use std::io;
use std::path::{Component, Path, PathBuf};

/// `path` with `.` removed and `..` applied to the components before it (never above the
/// root); repeated and trailing separators are gone too, as [`Path::components`] drops them.
pub(super) fn lexical(path: &Path) -> PathBuf {
    #[cfg(unix)]
    if is_lexical(path) {
        return path.to_owned();
    }
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

/// Whether the absolute Unix `path` is lexically normal already: no empty, `.` or `..`
/// component and no trailing separator, so [`lexical`] would return it as it is (the common
/// case, decided without parsing components).
#[cfg(unix)]
fn is_lexical(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;

    let bytes = path.as_os_str().as_bytes();
    bytes.first() == Some(&b'/')
        && (bytes.len() == 1
            || bytes[1..]
                .split(|&byte| byte == b'/')
                .all(|name| !matches!(name, b"" | b"." | b"..")))
}

/// The real location of the lexically normal `path`: the longest existing prefix canonicalised,
/// then the missing components appended as they are. `None` if a dangling symbolic link is on
/// the way or the file system says anything but "not found".
pub(super) fn real(path: &Path) -> Option<PathBuf> {
    let mut existing = path;
    let mut missing: Vec<&OsStr> = Vec::new();
    loop {
        match std::fs::canonicalize(existing) {
            Ok(mut real) => {
                real.extend(missing.iter().rev());
                return Some(real);
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                // The entry itself exists but what it leads to does not: a dangling symlink.
                if std::fs::symlink_metadata(existing).is_ok() {
                    return None;
                }
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        missing.push(name);
                        existing = parent;
                    }
                    _ => return None,
                }
            }
            Err(_) => return None,
        }
    }
}
