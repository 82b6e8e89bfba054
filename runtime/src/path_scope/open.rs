//! The scope's file operations: each resolves its path beneath a root's handle (`walk.rs`) and
//! acts through the handle of the folder holding the target, never by path.

use std::ffi::OsStr;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, Metadata, OpenOptions};

use super::walk::{Mode, Target, Walk};
use super::{PathScope, PathScopeError, ScopedReadDir};

/// How many random temporary names [`PathScope::write_atomic`] tries before giving up.
const TEMPORARY_TRIES: u32 = 16;

impl PathScope {
    /// Opens the file at `requested` for reading.
    ///
    /// # Errors
    ///
    /// A refusal (see the type's documentation), or what the file system said: not found,
    /// permission denied, a root folder of the scope (`IsADirectory`)…
    pub fn open(&self, requested: impl AsRef<Path>) -> Result<File, PathScopeError> {
        let requested = requested.as_ref();
        let mut walk = Walk::new(self, requested, Mode::Follow)?;
        #[cfg(target_os = "linux")]
        if let Some(file) = walk.open_without_links() {
            return Ok(file);
        }
        let mut options = OpenOptions::new();
        options.read(true).follow(FollowSymlinks::No);
        self.run_walk(&mut walk, Mode::Follow, |target| {
            let file = target.dir.open_with(name(target)?, &options)?;
            Ok(file.into_std())
        })
    }

    /// Reads the whole file at `requested`, as [`std::fs::read`] does (and as fast: one
    /// `openat2` on Linux when no symbolic link is on the way).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), or the read failing.
    pub fn read(&self, requested: impl AsRef<Path>) -> Result<Vec<u8>, PathScopeError> {
        let requested = requested.as_ref();
        let file = self.open(requested)?;
        read_all(&file, Vec::new()).map_err(|source| PathScopeError::Io {
            requested: requested.to_owned(),
            source,
        })
    }

    /// Reads the whole file at `requested` as UTF-8 text.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read); text that is not UTF-8 is an `InvalidData` I/O error.
    pub fn read_to_string(&self, requested: impl AsRef<Path>) -> Result<String, PathScopeError> {
        let requested = requested.as_ref();
        let bytes = self.read(requested)?;
        String::from_utf8(bytes).map_err(|error| PathScopeError::Io {
            requested: requested.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidData, error.utf8_error()),
        })
    }

    /// Creates the file at `requested`, which must not exist (not even as a symbolic link),
    /// and opens it for writing.
    ///
    /// # Errors
    ///
    /// A refusal, or what the file system said: already exists, its folder does not exist…
    pub fn create(&self, requested: impl AsRef<Path>) -> Result<File, PathScopeError> {
        let mut options = OpenOptions::new();
        options
            .write(true)
            .create_new(true)
            .follow(FollowSymlinks::No);
        self.run(requested.as_ref(), Mode::Entry, |target| {
            let file = target.dir.open_with(name(target)?, &options)?;
            Ok(file.into_std())
        })
    }

    /// Replaces the file at `requested` (or creates it) with `contents`, so that a reader sees
    /// the old file or the new one, never a mix: the contents go into a temporary file with a
    /// random name, created exclusively in the same folder (a name planted in advance, even as
    /// a symbolic link, is skipped, never followed), which is then renamed over the target. A
    /// file that is replaced keeps its permissions. The temporary name is the scope's own and
    /// is not checked against the patterns; it starts with `.`.
    ///
    /// A final symbolic link is followed like any other (it must stay in the scope); the file
    /// is replaced where the link leads. The data is not synced to disk.
    ///
    /// # Errors
    ///
    /// A refusal, or what the file system said: its folder does not exist, it is a folder…
    pub fn write_atomic(
        &self,
        requested: impl AsRef<Path>,
        contents: impl AsRef<[u8]>,
    ) -> Result<(), PathScopeError> {
        let contents = contents.as_ref();
        self.run(requested.as_ref(), Mode::Follow, |target| {
            let name = name(target)?;
            let permissions = match target.dir.symlink_metadata(name) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(is_a_symlink()),
                Ok(meta) if meta.is_dir() => return Err(io::ErrorKind::IsADirectory.into()),
                Ok(meta) => Some(meta.permissions()),
                Err(error) if error.kind() == io::ErrorKind::NotFound && !target.must_exist => None,
                Err(error) => return Err(error),
            };
            let (temporary, mut file) = create_temporary(&target.dir)?;
            let mut result = file.write_all(contents);
            if let (Ok(()), Some(permissions)) = (&result, permissions) {
                result = file.set_permissions(permissions);
            }
            drop(file);
            let result = result.and_then(|()| target.dir.rename(&temporary, &target.dir, name));
            if result.is_err() {
                let _ = target.dir.remove_file(&temporary);
            }
            result
        })
    }

    /// Lists the folder at `requested`.
    ///
    /// # Errors
    ///
    /// A refusal, or what the file system said: not found, not a directory…
    pub fn read_dir(&self, requested: impl AsRef<Path>) -> Result<ScopedReadDir, PathScopeError> {
        self.run(requested.as_ref(), Mode::Follow, |target| {
            let folder = match &target.name {
                None => target.dir.try_clone()?,
                Some(name) => target.dir.open_dir_nofollow(name)?,
            };
            Ok(ScopedReadDir::new(folder.entries()?, target.path.clone()))
        })
    }

    /// The metadata of what `requested` leads to (a final symbolic link followed).
    ///
    /// # Errors
    ///
    /// A refusal, or what the file system said: not found, permission denied…
    pub fn metadata(&self, requested: impl AsRef<Path>) -> Result<Metadata, PathScopeError> {
        self.run(requested.as_ref(), Mode::Follow, |target| {
            match &target.name {
                None => target.dir.dir_metadata(),
                Some(name) => {
                    let meta = target.dir.symlink_metadata(name)?;
                    if meta.file_type().is_symlink() {
                        Err(is_a_symlink())
                    } else {
                        Ok(meta)
                    }
                }
            }
        })
    }

    /// Creates the folder at `requested`; its parent must exist.
    ///
    /// # Errors
    ///
    /// A refusal, or what the file system said: already exists, the parent does not exist…
    pub fn create_dir(&self, requested: impl AsRef<Path>) -> Result<(), PathScopeError> {
        self.run(requested.as_ref(), Mode::Entry, |target| {
            target.dir.create_dir(name(target)?)
        })
    }

    /// Removes the file, symbolic link (not its target) or empty folder at `requested`.
    ///
    /// # Errors
    ///
    /// A refusal (a root folder of the scope included), or what the file system said: not
    /// found, the folder is not empty…
    pub fn remove(&self, requested: impl AsRef<Path>) -> Result<(), PathScopeError> {
        self.run(requested.as_ref(), Mode::Entry, |target| {
            let name = name(target)?;
            if target.dir.symlink_metadata(name)?.is_dir() {
                target.dir.remove_dir(name)
            } else {
                target.dir.remove_file_or_symlink(name)
            }
        })
    }

    /// Renames the entry `from` (a symbolic link is renamed, not followed) to `to`, replacing
    /// a file there. Both must be in the scope.
    ///
    /// # Errors
    ///
    /// A refusal of either path, or what the file system said (attributed to `from`).
    pub fn rename(
        &self,
        from: impl AsRef<Path>,
        to: impl AsRef<Path>,
    ) -> Result<(), PathScopeError> {
        let mut walk = Walk::new(self, from.as_ref(), Mode::Entry)?;
        let source = walk.target()?;
        let destination = Walk::new(self, to.as_ref(), Mode::Entry)?.target()?;
        let renamed = name(&source).and_then(|from_name| {
            source
                .dir
                .rename(from_name, &destination.dir, name(&destination)?)
        });
        renamed.map_err(|error| walk.fail(&source, error))
    }

    /// Resolves `requested` and runs `operation` on the target; if the operation fails because
    /// the last component is a symbolic link (swapped in since it was resolved, or found by the
    /// operation), and `mode` follows links, the walk goes on at the link's target.
    fn run<T>(
        &self,
        requested: &Path,
        mode: Mode,
        operation: impl FnMut(&Target<'_>) -> io::Result<T>,
    ) -> Result<T, PathScopeError> {
        let mut walk = Walk::new(self, requested, mode)?;
        self.run_walk(&mut walk, mode, operation)
    }

    /// [`run`](Self::run) on a walk already started.
    fn run_walk<T>(
        &self,
        walk: &mut Walk<'_>,
        mode: Mode,
        mut operation: impl FnMut(&Target<'_>) -> io::Result<T>,
    ) -> Result<T, PathScopeError> {
        loop {
            let target = walk.target()?;
            match operation(&target) {
                Ok(value) => return Ok(value),
                Err(error) => {
                    if mode == Mode::Follow && walk.follow_last(&target)? {
                        continue;
                    }
                    return Err(walk.fail(&target, error));
                }
            }
        }
    }
}

/// Reads `file` to its end into `bytes`, sized from its metadata first (as `std::fs::read`:
/// `File::read_to_end` would also ask for the position, one more system call).
fn read_all(mut file: &File, mut bytes: Vec<u8>) -> io::Result<Vec<u8>> {
    let size = file
        .metadata()
        .map(|meta| usize::try_from(meta.len()).unwrap_or(usize::MAX))
        .unwrap_or(0);
    bytes.try_reserve_exact(size.saturating_add(1))?;
    io::Read::read_to_end(&mut io::Read::take(&mut file, u64::MAX), &mut bytes)?;
    Ok(bytes)
}

/// The target's name in its folder; a root of the scope has none.
fn name<'t>(target: &'t Target<'_>) -> io::Result<&'t OsStr> {
    target
        .name
        .as_deref()
        .ok_or_else(|| io::Error::new(io::ErrorKind::IsADirectory, "a folder of the scope itself"))
}

/// What an operation reports when it finds a symbolic link where it will not follow one; the
/// walk then looks at the entry and follows it.
fn is_a_symlink() -> io::Error {
    io::Error::other("is a symbolic link")
}

/// A new file with a random name in `dir`, created exclusively and without following links.
fn create_temporary(dir: &Dir) -> io::Result<(String, cap_std::fs::File)> {
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create_new(true)
        .follow(FollowSymlinks::No);
    for _ in 0..TEMPORARY_TRIES {
        let name = format!(".gatehouse-{:016x}.tmp", random());
        match dir.open_with(&name, &options) {
            Ok(file) => return Ok((name, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name",
    ))
}

/// 64 unpredictable bits: a counter hashed with std's randomly keyed SipHash (its keys come
/// from the operating system's random source). Exclusive creation, not secrecy, is what makes
/// the temporary file safe; unpredictability only spares retries.
fn random() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::hash::RandomState::new().hash_one(NEXT.fetch_add(1, Ordering::Relaxed))
}
