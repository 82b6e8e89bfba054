//! What can go wrong: starting the application, and answering a command.

use std::path::PathBuf;

use gatehouse::{ErrorCode, PathScopeError, RpcError};
use serde::Serialize;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The notes folder cannot be created or read.
    #[error("the notes folder `{}`: {source}", path.display())]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The router refused the commands or the ACL.
    #[error(transparent)]
    Router(#[from] gatehouse::BuildError),
    /// The web server could not start.
    #[error("the web server: {0}")]
    Server(#[from] gatehouse::ws::Error),
    /// The command line or the environment is wrong.
    #[error("{0}")]
    Usage(String),
}

/// Why a command failed, as the page receives it: a `-32000` error whose message is this
/// type's text and whose `data` is the value (`{"kind": "notFound", "name": "todo"}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum NoteError {
    /// There is no such note.
    #[error("there is no note named “{name}”")]
    NotFound {
        /// The note.
        name: String,
    },
    /// The path scope of the caller's grant refuses the note's file.
    #[error("the note “{name}” is outside the files this window may touch")]
    OutsideScope {
        /// The note.
        name: String,
    },
    /// The note is larger than [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES).
    #[error("a note holds at most {max} bytes (this one has {size})")]
    TooLarge {
        /// The size sent.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The search query is longer than [`MAX_QUERY_CHARS`](crate::MAX_QUERY_CHARS).
    #[error("a search query has at most {max} characters")]
    QueryTooLong {
        /// The limit.
        max: usize,
    },
    /// The page that asked for a search is gone.
    #[error("the search was abandoned: its page is gone")]
    Abandoned,
    /// The file system refused.
    #[error("the note “{name}” could not be {action}: {message}")]
    Io {
        /// The note, or the folder (`""`).
        name: String,
        /// What was being done: `read`, `written`, `deleted`, `listed`.
        action: &'static str,
        /// The system's message.
        message: String,
    },
}

impl NoteError {
    pub(crate) fn outside(name: &str, why: &PathScopeError) -> Self {
        // The refusal's details (where symlinks led) stay in the core's log.
        tracing::info!(name, %why, "note outside the caller's scope");
        Self::OutsideScope {
            name: name.to_owned(),
        }
    }

    pub(crate) fn io(name: &str, action: &'static str, e: &std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::NotFound && action != "written" {
            return Self::NotFound {
                name: name.to_owned(),
            };
        }
        Self::Io {
            name: name.to_owned(),
            action,
            message: e.to_string(),
        }
    }
}

impl From<NoteError> for RpcError {
    fn from(e: NoteError) -> Self {
        RpcError::new(ErrorCode::Command, e.to_string()).with_data(&e)
    }
}
