//! One test per attack path scopes have really suffered, on real directories and symlinks:
//! `check.rs` for the decision, `open.rs` for the operations, `dotfile.rs` for leading dots.

mod check;
mod dotfile;
mod open;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A fresh directory under the system's temporary directory, removed on drop. Its path is real
/// (canonical), so tests can compare it with what `check` returns.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "gatehouse-path-scope-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create the temporary directory");
        Self(fs::canonicalize(&path).expect("resolve the temporary directory"))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }

    pub(super) fn join(&self, relative: &str) -> PathBuf {
        self.0.join(relative)
    }

    pub(super) fn dirs(&self) -> BaseDirs {
        BaseDirs::new().with("D", self.path())
    }

    pub(super) fn touch(&self, relative: &str) -> &Self {
        let path = self.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create a directory");
        }
        fs::write(path, b"x").expect("create a file");
        self
    }

    #[cfg(unix)]
    pub(super) fn symlink(&self, link: &str, target: &str) -> &Self {
        std::os::unix::fs::symlink(self.join(target), self.join(link)).expect("create a symlink");
        self
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `D/allowed/{a.txt, sub/b.txt, private/secret.txt}`, `D/outside/secret.txt`, `D/secret`, and
/// on Unix symlinks in `D/allowed`: `escape -> D/outside`, `to-private -> D/allowed/private`,
/// `to-secret-file -> D/outside/secret.txt`, `dangling -> D/outside/missing`.
pub(super) fn fixture() -> TempDir {
    let dir = TempDir::new();
    dir.touch("allowed/a.txt")
        .touch("allowed/sub/b.txt")
        .touch("allowed/private/secret.txt")
        .touch("outside/secret.txt")
        .touch("secret");
    #[cfg(unix)]
    dir.symlink("allowed/escape", "outside")
        .symlink("allowed/to-private", "allowed/private")
        .symlink("allowed/to-secret-file", "outside/secret.txt")
        .symlink("allowed/dangling", "outside/missing");
    dir
}

/// `$D/allowed/**`, except `$D/allowed/private/**`.
pub(super) fn scope(dir: &TempDir) -> PathScope {
    PathScope::new(["$D/allowed/**"], ["$D/allowed/private/**"], &dir.dirs()).expect("valid scope")
}

/// `$D` followed by `rest` as text, so separators and dots reach `check` as written.
pub(super) fn text(dir: &TempDir, rest: &str) -> PathBuf {
    let mut text = dir.path().as_os_str().to_owned();
    text.push(rest);
    PathBuf::from(text)
}

pub(super) fn assert_not_allowed<T: std::fmt::Debug>(result: Result<T, PathScopeError>) {
    assert!(
        matches!(result, Err(PathScopeError::NotAllowed { .. })),
        "expected NotAllowed, got {result:?}"
    );
}

pub(super) fn assert_denied<T: std::fmt::Debug>(result: Result<T, PathScopeError>) {
    assert!(
        matches!(result, Err(PathScopeError::Denied { .. })),
        "expected Denied, got {result:?}"
    );
}
