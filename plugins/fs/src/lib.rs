//! A file-system plugin for Gatehouse: `plugin:fs|read_file`, `plugin:fs|write_file` and
//! `plugin:fs|list_dir`, each confined to the path scope the caller's grants carry.
//!
//! The application lists the commands and grants them in a capability, with the paths:
//!
//! ```toml
//! # capabilities/main.toml
//! identifier = "main"
//! windows = ["main"]
//! permissions = [
//!   { identifier = "fs:read-write", allow = [{ path = "$NOTES/**" }], deny = [{ path = "$NOTES/private/**" }] },
//! ]
//! ```
//!
//! ```no_run
//! # fn acl() -> gatehouse::Acl { unimplemented!() }
//! let router = gatehouse::Router::builder(acl())
//!     .commands(gatehouse_plugin_fs::commands())
//!     .manage(gatehouse::BaseDirs::from_env().with("NOTES", "/var/lib/notes"))
//!     .build()?;
//! # Ok::<(), gatehouse::BuildError>(())
//! ```
//!
//! Every file is opened by the [`PathScope`] of the call, beneath the
//! directory handles it opened when it was built for the caller: `..`, symlinks that leave the
//! scope (even ones a racing process swaps in between two calls or in the middle of one) and
//! glob characters in the requested path do not get out. The scope is the command's scope
//! values and the plugin's global ones together (allowed by either, denied by either; deny
//! wins), as in Tauri's fs plugin. `$VARIABLES` in the scope come from the managed
//! [`BaseDirs`], or from the environment when the application manages
//! none.
//!
//! `*`, `**`, `?` and `[…]` do not match a name's leading dot, so `$NOTES/**` does not reach
//! `$NOTES/.ssh/id_ed25519`; manage a [`Config`] with `require_literal_leading_dot: false` to
//! change that (Tauri's `requireLiteralLeadingDot`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use gatehouse::{
    command, commands, BaseDirs, CommandEntry, CommandScope, ErrorCode, Invocation, PathScope,
    PathScopeError, RpcError, Scope, ScopeValues,
};
use serde::{Deserialize, Serialize};

/// Why a file-system command failed, as the caller receives it (`data` of a `-32000` error).
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FsError {
    /// The path is outside the scope the caller was granted.
    OutsideScope {
        /// The path as requested.
        path: String,
    },
    /// The operating system refused.
    Io {
        /// The path as requested.
        path: String,
        /// The system's message.
        message: String,
    },
}

impl FsError {
    fn new(path: &str, error: &PathScopeError) -> Self {
        if error.is_refusal() {
            return Self::OutsideScope {
                path: path.to_owned(),
            };
        }
        Self::Io {
            path: path.to_owned(),
            message: error
                .io_error()
                .map_or_else(|| error.to_string(), ToString::to_string),
        }
    }
}

/// The plugin's settings, as managed state (`.manage(Config { … })`); it reads from JSON as
/// Tauri's `plugins.fs` configuration does: `{ "requireLiteralLeadingDot": false }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Whether `*`, `**`, `?` and `[…]` need a literal `.` to match a name that starts with
    /// one (default `true`: `$HOME/**` does not reach `$HOME/.ssh`).
    #[serde(default = "yes")]
    pub require_literal_leading_dot: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            require_literal_leading_dot: yes(),
        }
    }
}

fn yes() -> bool {
    true
}

/// The files a call may touch: its command's scope and the plugin's global scope as one
/// [`PathScope`], built (and its folders opened) once per caller and command.
struct Files(PathScope);

impl Scope for Files {
    fn from_values(
        values: &ScopeValues<'_>,
        invocation: &Invocation<'_>,
    ) -> Result<Self, RpcError> {
        let mut all = values.clone();
        all.extend(ScopeValues::global(invocation));
        let from_env;
        let dirs = match invocation.state::<BaseDirs>() {
            Some(dirs) => dirs,
            None => {
                from_env = BaseDirs::from_env();
                &from_env
            }
        };
        let config = invocation.state::<Config>().cloned().unwrap_or_default();
        let scope = PathScope::from_scope_values(&all, dirs).map_err(|error| {
            // The details name the scope's folders: for the core's log, not for the caller.
            tracing::error!(command = invocation.command(), %error, "unusable fs scope");
            RpcError::new(
                ErrorCode::Internal,
                format!(
                    "the path scope of `{}` is misconfigured",
                    invocation.command()
                ),
            )
        })?;
        Ok(Files(scope.require_literal_leading_dot(
            config.require_literal_leading_dot,
        )))
    }
}

/// Reads a UTF-8 text file.
#[command(plugin = "fs", blocking)]
fn read_file(files: CommandScope<Files>, path: String) -> Result<String, FsError> {
    files
        .0
        .read_to_string(&path)
        .map_err(|e| FsError::new(&path, &e))
}

/// Writes a text file, creating or replacing it (atomically: a reader sees the old file or the
/// new one).
#[command(plugin = "fs", blocking)]
fn write_file(files: CommandScope<Files>, path: String, contents: String) -> Result<(), FsError> {
    files
        .0
        .write_atomic(&path, contents)
        .map_err(|e| FsError::new(&path, &e))
}

/// Lists the names in a folder, sorted.
#[command(plugin = "fs", blocking)]
fn list_dir(files: CommandScope<Files>, path: String) -> Result<Vec<String>, FsError> {
    let mut names = Vec::new();
    for entry in files
        .0
        .read_dir(&path)
        .map_err(|e| FsError::new(&path, &e))?
    {
        let entry = entry.map_err(|e| FsError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The plugin's commands, for [`RouterBuilder::commands`](gatehouse::RouterBuilder::commands).
pub fn commands() -> &'static [CommandEntry] {
    commands![read_file, write_file, list_dir]
}
