//! Why a [`PathScope`](super::PathScope) could not be built, or refused a request.

use std::io;
use std::path::PathBuf;

/// Why a [`PathScope`](super::PathScope) could not be built, or why it refused a path or could
/// not carry out an operation on it.
///
/// The messages name only the requested path, never where symlinks led or where the scope's
/// folders are, so they can be sent back to the caller; the `resolved`, `link` and `root` fields
/// are for the core's logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathScopeError {
    /// A pattern starts with `$NAME` and `NAME` is not one of the [`BaseDirs`](super::BaseDirs).
    #[error("scope pattern `{pattern}`: unknown variable `${name}`")]
    UnknownVariable {
        /// The pattern as written.
        pattern: String,
        /// The variable, without `$`.
        name: String,
    },
    /// A pattern's variable names a directory that is relative, not Unicode, or contains `..`.
    #[error(
        "scope pattern `{pattern}`: the directory of `${name}` (`{}`) must be absolute, valid \
         Unicode and without `..`",
        dir.display()
    )]
    InvalidBaseDir {
        /// The pattern as written.
        pattern: String,
        /// The variable, without `$`.
        name: String,
        /// Its directory.
        dir: PathBuf,
    },
    /// A pattern neither is absolute nor starts with a variable.
    #[error(
        "scope pattern `{pattern}`: expected an absolute path or one starting with `$VARIABLE`"
    )]
    RelativePattern {
        /// The pattern as written.
        pattern: String,
    },
    /// A pattern contains a `..` component.
    #[error("scope pattern `{pattern}`: `..` is not allowed in a pattern")]
    ParentInPattern {
        /// The pattern as written.
        pattern: String,
    },
    /// A component of a pattern is not a valid glob (`a**`, `[a`).
    #[error("scope pattern `{pattern}`: invalid glob `{component}`: {message}")]
    InvalidGlob {
        /// The pattern as written.
        pattern: String,
        /// The offending component.
        component: String,
        /// What is wrong with it.
        message: String,
    },
    /// A scope value is not a path entry (`"$HOME/**"` or `{ "path": "$HOME/**" }`).
    #[error("scope value `{value}` is not a path entry: {message}")]
    InvalidEntry {
        /// The value, as JSON.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// The requested path is relative.
    #[error("`{}` is a relative path; only absolute paths can be checked", requested.display())]
    Relative {
        /// The path as requested.
        requested: PathBuf,
    },
    /// The requested path, or the real path it resolves to, is not valid Unicode.
    #[error("`{}` is not valid Unicode", requested.display())]
    NotUnicode {
        /// The path as requested.
        requested: PathBuf,
    },
    /// Resolving the requested path followed a symbolic link whose target does not exist.
    #[error("`{}` goes through a dangling symbolic link", requested.display())]
    DanglingSymlink {
        /// The path as requested.
        requested: PathBuf,
        /// The dangling link.
        link: PathBuf,
    },
    /// A deny pattern matches the path.
    #[error("`{}` is denied by the scope", requested.display())]
    Denied {
        /// The path as requested.
        requested: PathBuf,
        /// The lexical or real path that a deny pattern matched.
        resolved: PathBuf,
    },
    /// No allow pattern matches the path.
    #[error("`{}` is outside the scope", requested.display())]
    NotAllowed {
        /// The path as requested.
        requested: PathBuf,
        /// The path that was checked.
        resolved: PathBuf,
    },
    /// The folder of the scope that the path lies in cannot be opened (it does not exist yet,
    /// or the core may not read it).
    #[error("`{}`: the scope's folder for it cannot be opened: {source}", requested.display())]
    RootUnavailable {
        /// The path as requested.
        requested: PathBuf,
        /// The scope's folder.
        root: PathBuf,
        /// What the file system said.
        source: io::Error,
    },
    /// The file system refused while resolving the path or carrying out the operation (not
    /// found, not a directory, permission denied, already exists, too many symbolic links…).
    #[error("`{}`: {source}", requested.display())]
    Io {
        /// The path as requested.
        requested: PathBuf,
        /// What the file system said.
        source: io::Error,
    },
}

impl PathScopeError {
    /// Whether the scope refused the request (relative, not Unicode, through a dangling link,
    /// denied, or not allowed), as opposed to failing to build or the file system failing.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::Relative { .. }
                | Self::NotUnicode { .. }
                | Self::DanglingSymlink { .. }
                | Self::Denied { .. }
                | Self::NotAllowed { .. }
        )
    }

    /// The file system's error, for [`Io`](Self::Io) and
    /// [`RootUnavailable`](Self::RootUnavailable).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Self::Io { source, .. } | Self::RootUnavailable { source, .. } => Some(source),
            _ => None,
        }
    }
}
