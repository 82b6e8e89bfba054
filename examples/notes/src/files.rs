//! The notes folder, and the path scope every file access goes through.

use std::path::{Path, PathBuf};

use gatehouse::{
    BaseDirs, ErrorCode, Invocation, PathEntry, PathScope, PathScopeError, RpcError, Scope,
    ScopeValues,
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

    /// The base directories the scopes of the notes' permissions refer to.
    pub fn base_dirs(&self) -> BaseDirs {
        BaseDirs::new().with(NOTES_VAR, &self.0)
    }
}

/// The files a call may touch: the path scope of the permission that granted the command
/// (`$NOTES/*.md` in `permissions/notes.toml`), built once per caller and command.
///
/// Commands open only paths this scope returned: the name rules keep requests tidy, the scope
/// keeps them inside the folder, symlinks included.
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
        let parse = |text: &&str| {
            serde_json::from_str::<PathEntry>(text).map_err(|e| misconfigured(e.to_string()))
        };
        let allow = values
            .allow
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        let deny = values
            .deny
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        let dirs = invocation
            .state::<BaseDirs>()
            .ok_or_else(|| misconfigured("no `BaseDirs` managed".to_owned()))?;
        PathScope::new(
            allow.iter().map(PathEntry::path),
            deny.iter().map(PathEntry::path),
            dirs,
        )
        .map(NoteFiles)
        .map_err(|e| misconfigured(e.to_string()))
    }
}

impl NoteFiles {
    /// The real path of note `name`, if this scope allows it.
    ///
    /// # Errors
    ///
    /// [`NoteError::OutsideScope`] when the scope refuses the path.
    pub fn note(&self, dir: &NotesDir, name: &NoteName) -> Result<PathBuf, NoteError> {
        self.check(&dir.note_path(name))
            .map_err(|e| NoteError::outside(name.as_str(), &e))
    }

    /// The real path of `path`, if this scope allows it.
    ///
    /// # Errors
    ///
    /// The scope's refusal.
    pub fn check(&self, path: &Path) -> Result<PathBuf, PathScopeError> {
        self.0.check(path)
    }
}
