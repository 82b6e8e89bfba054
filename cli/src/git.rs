//! Two revisions of a folder of a Git repository, written out for `gatehouse diff --git`, with
//! the `git` program (`ls-tree` and `show`, both read-only).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder at revisions A and B, in a temporary folder removed on drop.
pub(crate) struct Revisions {
    /// The folder at A.
    pub(crate) old: PathBuf,
    /// The folder at B.
    pub(crate) new: PathBuf,
    temp: PathBuf,
}

impl Drop for Revisions {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.temp);
    }
}

impl Revisions {
    /// Writes out `dir` (and the plugin folders, relative to it) at both revisions of
    /// `range` (`A..B`).
    pub(crate) fn export(
        range: &str,
        dir: &Path,
        plugins: &[(String, PathBuf)],
    ) -> Result<Self, String> {
        let (a, b) = range
            .split_once("..")
            .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.starts_with('.'))
            .ok_or_else(|| format!("--git {range}: expected A..B"))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let top = PathBuf::from(git(&dir, &["rev-parse", "--show-toplevel"])?.trim());
        let top = top.canonicalize().unwrap_or(top);
        let inside = |path: &Path| -> Result<PathBuf, String> {
            let path = normalize(path);
            path.strip_prefix(&top).map(Path::to_owned).map_err(|_| {
                format!(
                    "{}: not inside the repository {}",
                    path.display(),
                    top.display()
                )
            })
        };
        let folder = inside(&dir)?;
        let mut folders = vec![folder.clone()];
        for (_, plugin) in plugins {
            folders.push(inside(&dir.join(plugin))?);
        }
        let temp = std::env::temp_dir().join(format!(
            "gatehouse-diff-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let revisions = Self {
            old: temp.join("a").join(&folder),
            new: temp.join("b").join(&folder),
            temp,
        };
        for (rev, side) in [(a, "a"), (b, "b")] {
            let dest = revisions.temp.join(side);
            std::fs::create_dir_all(revisions.temp.join(side).join(&folder))
                .map_err(|e| format!("{}: {e}", dest.display()))?;
            for f in &folders {
                write_tree(&top, rev, f, &dest)?;
            }
        }
        Ok(revisions)
    }
}

/// `path` with `.` and `..` removed (it may not exist at the working tree's revision).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Writes the files under `folder` (relative to the repository's top) at `rev` into `dest`.
fn write_tree(top: &Path, rev: &str, folder: &Path, dest: &Path) -> Result<(), String> {
    let spec = if folder.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        folder.to_string_lossy().replace('\\', "/")
    };
    let listing = git(
        top,
        &["ls-tree", "-r", "-z", "--name-only", rev, "--", &spec],
    )?;
    for file in listing.split('\0').filter(|f| !f.is_empty()) {
        let bytes = git_bytes(top, &["show", &format!("{rev}:{file}")])?;
        let path = dest.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    git_bytes(dir, args).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn git_bytes(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `git`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output.stdout)
}
