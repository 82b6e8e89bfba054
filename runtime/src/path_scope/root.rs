//! The folders a scope opens: one directory handle per folder its allow patterns reach into,
//! beneath which every request is resolved.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use cap_std::fs::Dir;

use super::compile::Compiled;
use super::resolve;

/// A folder of the scope: where it really is, the paths that name it, and its handle.
#[derive(Debug)]
pub(super) struct Root {
    /// Where it really is (resolved once, when the scope was built): every path resolved
    /// beneath it starts with this.
    real: PathBuf,
    /// The paths that name it: as the patterns wrote it, and `real`.
    names: Vec<PathBuf>,
    /// Opened when the scope is built, or on first use if it could not be then.
    handle: OnceLock<Dir>,
}

impl Root {
    /// The roots of a scope's allow patterns, opened, deepest first; two patterns reaching into
    /// the same folder share its root.
    pub(super) fn all(allow: &[Compiled]) -> Vec<Root> {
        let mut roots: Vec<Root> = Vec::new();
        for anchor in allow.iter().flat_map(Compiled::anchors) {
            let real = resolve::real(anchor).unwrap_or_else(|| anchor.clone());
            match roots.iter_mut().find(|root| root.real == real) {
                Some(root) => {
                    if !root.names.contains(anchor) {
                        root.names.push(anchor.clone());
                    }
                }
                None => {
                    let mut names = vec![anchor.clone()];
                    if real != *anchor {
                        names.push(real.clone());
                    }
                    let root = Root {
                        real,
                        names,
                        handle: OnceLock::new(),
                    };
                    // A folder that is missing now is retried on use, with a clear error until
                    // it exists.
                    if let Err(error) = root.handle() {
                        tracing::debug!(root = %root.real.display(), %error, "scope folder not opened yet");
                    }
                    roots.push(root);
                }
            }
        }
        roots.sort_by_key(|root| std::cmp::Reverse(depth(&root.real)));
        roots
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
        if let Some(dir) = self.handle.get() {
            return Ok(dir);
        }
        let dir = Dir::open_ambient_dir(&self.real, cap_std::ambient_authority())?;
        Ok(self.handle.get_or_init(|| dir))
    }

    /// How many normal components of `path` this root's name covers, if `path` lies beneath it
    /// (or is it); with `proper`, only if `path` lies strictly beneath it.
    pub(super) fn covers(&self, path: &Path, proper: bool) -> Option<usize> {
        self.names
            .iter()
            .filter(|name| path.starts_with(name))
            .map(|name| depth(name))
            .filter(|&covered| !proper || covered < depth(path))
            .max()
    }
}

/// The number of normal components of `path` (its root and prefix not counted).
pub(super) fn depth(path: &Path) -> usize {
    path.components()
        .filter(|component| matches!(component, Component::Normal(_)))
        .count()
}
