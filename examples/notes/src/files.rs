//! The notes folder, and the path scope every file access goes through.

use std::fs::File;
use std::path::{Path, PathBuf};

use gatehouse::{
    BaseDirs, ErrorCode, Invocation, PathScope, PathScopeError, RpcError, Scope, ScopeValues,
};

use crate::error::NoteError;
use crate::name::NoteName;

/// The variable that scopes name the notes folder by: `$NOTES/*.md`.
pub const NOTES_VAR: &str = "NOTES";

/// The notes folder, as managed state. Its path is absolute and has no symlinks.
#[derive(Debug, Clone)]
pub struct NotesDir(PathBuf);

impl NotesDir {
    /// Creates `dir` if it is missing and resolves it to its real, absolute path.
    ///
    /// # Errors
    ///
    /// The folder cannot be created or resolved.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self(std::fs::canonicalize(dir)?))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Where note `name` is stored, before any check: `<folder>/<name>.md`.
    pub fn note_path(&self, name: &NoteName) -> PathBuf {
        self.0.join(name.file_name())
    }

    /// The base directories the scopes of the notes' permissions refer to, with the folder
    /// opened now: every scope built for a caller later resolves notes beneath this one
    /// handle, so a process that swaps the folder for a symbolic link afterwards redirects
    /// nobody.
    pub fn base_dirs(&self) -> BaseDirs {
        let dirs = BaseDirs::new().with(NOTES_VAR, &self.0);
        if let Err(error) = dirs.open() {
            // Scopes retry when they are used, and say why they cannot.
            tracing::warn!(%error, "the notes folder cannot be opened yet");
        }
        dirs
    }
}

/// The files a call may touch: the path scope of the permission that granted the command
/// (`$NOTES/*.md` in `permissions/notes.toml`), built once per caller and command, with the
/// notes folder opened then.
///
/// Every file access of a command goes through it, and it opens the files itself, beneath the
/// folder's handle: the name rules keep requests tidy, the scope keeps them inside the folder,
/// symlinks (and a process swapping files for them) included.
#[derive(Debug)]
pub struct NoteFiles(PathScope);

impl Scope for NoteFiles {
    fn from_values(
        values: &ScopeValues<'_>,
        invocation: &Invocation<'_>,
    ) -> Result<Self, RpcError> {
        let misconfigured = |why: String| {
            tracing::error!(command = invocation.command(), %why, "unusable note scope");
            RpcError::new(
                ErrorCode::Internal,
                format!(
                    "the path scope of `{}` is misconfigured",
                    invocation.command()
                ),
            )
        };
        let dirs = invocation
            .state::<BaseDirs>()
            .ok_or_else(|| misconfigured("no `BaseDirs` managed".to_owned()))?;
        PathScope::from_scope_values(values, dirs)
            .map(NoteFiles)
            .map_err(|e| misconfigured(e.to_string()))
    }
}

impl NoteFiles {
    /// Opens note `name` for reading.
    ///
    /// # Errors
    ///
    /// [`NoteError::OutsideScope`] when the scope refuses it, [`NoteError::NotFound`], or the
    /// file system's refusal.
    pub fn open(&self, dir: &NotesDir, name: &NoteName) -> Result<File, NoteError> {
        self.0
            .open(dir.note_path(name))
            .map_err(|e| refused(name.as_str(), "read", &e))
    }

    /// Creates or replaces note `name` with `body`: a reader sees the old note or the new
    /// one, never half of one.
    ///
    /// # Errors
    ///
    /// [`NoteError::OutsideScope`] when the scope refuses it, or the file system's refusal.
    pub fn write(&self, dir: &NotesDir, name: &NoteName, body: &str) -> Result<(), NoteError> {
        self.0
            .write_atomic(dir.note_path(name), body)
            .map_err(|e| refused(name.as_str(), "written", &e))
    }

    /// Deletes note `name`: a file the scope allows (a symbolic link that leads out of it is
    /// refused, as reading it is; removing is then done on the entry itself, so a swap in
    /// between removes at most a link in the folder).
    ///
    /// # Errors
    ///
    /// [`NoteError::OutsideScope`] when the scope refuses it, [`NoteError::NotFound`], or the
    /// file system's refusal.
    pub fn remove(&self, dir: &NotesDir, name: &NoteName) -> Result<(), NoteError> {
        let path = dir.note_path(name);
        let failed = |e: PathScopeError| refused(name.as_str(), "deleted", &e);
        self.0.metadata(&path).map_err(failed)?;
        self.0.remove(&path).map_err(failed)
    }

    /// The names of the notes in the folder (`<valid name>.md` entries), unsorted; whether
    /// each may be opened is up to [`open`](Self::open).
    ///
    /// # Errors
    ///
    /// The folder cannot be listed.
    pub fn names(&self, dir: &NotesDir) -> Result<Vec<NoteName>, NoteError> {
        let entries = self
            .0
            .read_dir(dir.path())
            .map_err(|e| refused("", "listed", &e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| NoteError::io("", "listed", &e))?;
            if let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(NoteName::from_file_name)
            {
                names.push(name);
            }
        }
        Ok(names)
    }
}

/// The note error for the scope's refusal or failure.
fn refused(name: &str, action: &'static str, error: &PathScopeError) -> NoteError {
    match error.io_error() {
        Some(io) if !error.is_refusal() => NoteError::io(name, action, io),
        _ => NoteError::outside(name, error),
    }
}
