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
//! Paths are checked by [`PathScope`](gatehouse::PathScope): `..`, symlinks that leave the
//! scope and glob characters in the requested path do not get out. `$VARIABLES` in the scope
//! come from the managed [`BaseDirs`](gatehouse::BaseDirs), or from the environment when the
//! application manages none.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::PathBuf;

use gatehouse::{
    command, commands, BaseDirs, CommandEntry, CommandScope, FromInvoke, GlobalScope, Invocation,
    PathEntry, PathScope, RpcError, ScopeList,
};
use serde::Serialize;

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

/// The base directories `$VARIABLES` in scopes refer to.
struct Dirs(BaseDirs);

impl<'a> FromInvoke<'a> for Dirs {
    fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError> {
        Ok(Dirs(
            invocation
                .state::<BaseDirs>()
                .cloned()
                .unwrap_or_else(BaseDirs::from_env),
        ))
    }
}

type Entries = ScopeList<PathEntry>;

/// The command's scope and the plugin's global scope, combined: allowed by either, denied by
/// either (deny wins).
fn confine(
    command: &Entries,
    global: &Entries,
    dirs: &Dirs,
    path: &str,
) -> Result<PathBuf, FsError> {
    let allow = command
        .allow
        .iter()
        .chain(&global.allow)
        .map(PathEntry::path);
    let deny = command.deny.iter().chain(&global.deny).map(PathEntry::path);
    let outside = || FsError::OutsideScope {
        path: path.to_owned(),
    };
    let scope = PathScope::new(allow, deny, &dirs.0).map_err(|_| outside())?;
    scope.check(path).map_err(|_| outside())
}

fn io(path: &str, e: std::io::Error) -> FsError {
    FsError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Reads a UTF-8 text file.
#[command(plugin = "fs", blocking)]
fn read_file(
    scope: CommandScope<Entries>,
    global: GlobalScope<Entries>,
    dirs: Dirs,
    path: String,
) -> Result<String, FsError> {
    let real = confine(&scope, &global, &dirs, &path)?;
    std::fs::read_to_string(real).map_err(|e| io(&path, e))
}

/// Writes a text file, creating or replacing it.
#[command(plugin = "fs", blocking)]
fn write_file(
    scope: CommandScope<Entries>,
    global: GlobalScope<Entries>,
    dirs: Dirs,
    path: String,
    contents: String,
) -> Result<(), FsError> {
    let real = confine(&scope, &global, &dirs, &path)?;
    std::fs::write(real, contents).map_err(|e| io(&path, e))
}

/// Lists the names in a folder, sorted.
#[command(plugin = "fs", blocking)]
fn list_dir(
    scope: CommandScope<Entries>,
    global: GlobalScope<Entries>,
    dirs: Dirs,
    path: String,
) -> Result<Vec<String>, FsError> {
    let real = confine(&scope, &global, &dirs, &path)?;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(real).map_err(|e| io(&path, e))? {
        let entry = entry.map_err(|e| io(&path, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The plugin's commands, for [`RouterBuilder::commands`](gatehouse::RouterBuilder::commands).
pub fn commands() -> &'static [CommandEntry] {
    commands![read_file, write_file, list_dir]
}
