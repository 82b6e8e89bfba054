//! The folders a scope opens: one directory handle per folder its allow patterns reach into,
//! beneath which every request is resolved.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cap_std::fs::Dir;

use super::compile::Compiled;
use super::{resolve, BaseDirs};

/// A folder of the scope: where it really is, the paths that name it, and its handle.
#[derive(Debug)]
pub(super) struct Root {
    /// Where it really is: every path resolved beneath it starts with this.
    real: PathBuf,
    /// The paths that name it: as the patterns wrote it, and `real`.
    names: Vec<PathBuf>,
    /// What to open, and the handle once opened.
    open: PathBuf,
    opened: Arc<OnceLock<Opened>>,
    /// Whether this is a [`BaseDirs`] variable's directory: opened once, and shared by every
    /// scope built from those `BaseDirs`, its real location found when it was opened. Any other
    /// root (an absolute pattern's prefix, the real location of a link in it) is this scope's
    /// own, opened and resolved when the scope is built.
    shared: bool,
}

/// A folder opened, and where it really was when it was opened.
#[derive(Debug)]
pub(super) struct Opened {
    pub(super) dir: Dir,
    pub(super) real: PathBuf,
}

impl Root {
    /// The roots of a scope's allow patterns, opened, deepest first; two patterns reaching into
    /// the same folder share its root.
    pub(super) fn all(allow: &[Compiled], dirs: &BaseDirs) -> Vec<Root> {
        let mut roots: Vec<Root> = Vec::new();
        for anchor in allow.iter().flat_map(Compiled::anchors) {
            let shared = anchor
                .variable
                .as_deref()
                .and_then(|name| dirs.shared(name));
            let real = match shared {
                // Where the variable's directory was when it was opened, never looked up again:
                // a process swapping it since changes nothing.
                Some((path, opened)) => open_shared(path, opened)
                    .map_or_else(|_| path.to_owned(), |opened| opened.real.clone()),
                None => resolve::real(&anchor.path).unwrap_or_else(|| anchor.path.clone()),
            };
            if let Some(root) = roots.iter_mut().find(|root| root.real == real) {
                for name in [&anchor.path, &real] {
                    if !root.names.contains(name) {
                        root.names.push(name.clone());
                    }
                }
                if let (Some((path, opened)), false) = (shared, root.shared) {
                    (root.open, root.opened, root.shared) =
                        (path.to_owned(), Arc::clone(opened), true);
                }
                continue;
            }
            let mut names = vec![anchor.path.clone()];
            if real != anchor.path {
                names.push(real.clone());
            }
            let (open, opened) = match shared {
                Some((path, opened)) => (path.to_owned(), Arc::clone(opened)),
                None => (real.clone(), Arc::default()),
            };
            roots.push(Root {
                real,
                names,
                open,
                opened,
                shared: shared.is_some(),
            });
        }
        for root in &roots {
            // A folder that is missing now is retried on use, with a clear error until it
            // exists.
            if let Err(error) = root.handle() {
                tracing::debug!(root = %root.real.display(), %error, "scope folder not opened yet");
            }
        }
        roots.sort_by_key(|root| std::cmp::Reverse(depth(&root.real)));
        roots
    }

    /// Whether this is a [`BaseDirs`] variable's directory (see the field).
    pub(super) fn is_shared(&self) -> bool {
        self.shared
    }

    /// Where the folder really is.
    pub(super) fn real(&self) -> &Path {
        &self.real
    }

    /// The folder's handle, opened now if it was not yet.
    ///
    /// The path is opened as the scope's author wrote it, following symbolic links: it is
    /// trusted like the patterns. Everything beneath is resolved through the handle.
    pub(super) fn handle(&self) -> io::Result<&Dir> {
        open_shared(&self.open, &self.opened).map(|opened| &opened.dir)
    }

    /// How many normal components of `path` this root's name covers, if `path` lies beneath it
    /// (or is it); with `proper`, only if `path` lies strictly beneath it. Both are lexically
    /// normal, so comparing bytes up to a separator is comparing components.
    pub(super) fn covers(&self, path: &Path, proper: bool) -> Option<usize> {
        let bytes = path.as_os_str().as_encoded_bytes();
        self.names
            .iter()
            .filter(|name| {
                let name = name.as_os_str().as_encoded_bytes();
                bytes.starts_with(name)
                    && match bytes.get(name.len()) {
                        None => !proper,
                        Some(&next) => {
                            std::path::is_separator(char::from(next))
                                || name
                                    .last()
                                    .is_some_and(|&last| std::path::is_separator(char::from(last)))
                        }
                    }
            })
            .map(|name| depth(name))
            .max()
    }
}

impl Root {
    /// `path` relative to the name of this root that covers it (`None` if none does).
    #[cfg(target_os = "linux")]
    pub(super) fn rest<'p>(&self, path: &'p Path) -> Option<&'p Path> {
        use std::os::unix::ffi::OsStrExt;

        // Both are lexically normal: the rest is what follows the name and a separator.
        let bytes = path.as_os_str().as_bytes();
        self.names
            .iter()
            .filter_map(|name| {
                let name = name.as_os_str().as_bytes();
                let rest = bytes.strip_prefix(name)?;
                if name.ends_with(b"/") {
                    Some(rest)
                } else {
                    rest.strip_prefix(b"/")
                }
            })
            .min_by_key(|rest| rest.len())
            .map(|rest| Path::new(std::ffi::OsStr::from_bytes(rest)))
    }
}

/// The folder in `slot`, opening `path` into it first if it is empty (and finding where it
/// really is, right after). Two threads may both open it; one is kept.
pub(super) fn open_shared<'s>(path: &Path, slot: &'s OnceLock<Opened>) -> io::Result<&'s Opened> {
    if let Some(opened) = slot.get() {
        return Ok(opened);
    }
    let dir = Dir::open_ambient_dir(path, cap_std::ambient_authority())?;
    let real = resolve::real(path).unwrap_or_else(|| path.to_owned());
    Ok(slot.get_or_init(|| Opened { dir, real }))
}

/// The number of normal components of `path` (its root and prefix not counted).
pub(super) fn depth(path: &Path) -> usize {
    path.components()
        .filter(|component| matches!(component, Component::Normal(_)))
        .count()
}
