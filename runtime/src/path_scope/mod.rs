//! [`PathScope`]: allow and deny lists of file paths, checked against the real file system.
//!
//! Path scopes are where IPC layers have really been broken (Tauri's fs scope: `..` traversal,
//! symlinked folders escaping the scope, `dir/*` matching files in subfolders, glob metacharacters
//! treated as patterns). Each of those attacks has a test in `tests.rs`.

mod compile;
mod resolve;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use self::compile::Compiled;

/// Base-directory variables usable at the start of a pattern: `$HOME/docs/**`.
///
/// A variable is a whole first component (`$HOME`, never `$HOME.bak`); its value is taken
/// literally, so a directory named `/srv/[data]` does not become a glob. Values must be absolute,
/// valid Unicode and free of `..`; [`PathScope::new`] rejects a pattern whose variable is not.
///
/// ```
/// use gatehouse_runtime::BaseDirs;
///
/// let dirs = BaseDirs::from_env().with("NOTES", "/var/notes");
/// assert_eq!(dirs.get("NOTES"), Some(std::path::Path::new("/var/notes")));
/// ```
#[derive(Debug, Clone, Default)]
pub struct BaseDirs {
    dirs: BTreeMap<String, PathBuf>,
}

impl BaseDirs {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// `$HOME` (the `HOME` environment variable, or `USERPROFILE` on Windows), `$TEMP`
    /// ([`std::env::temp_dir`]) and `$CWD` ([`std::env::current_dir`]), each when available and
    /// absolute.
    pub fn from_env() -> Self {
        let var = |name| std::env::var_os(name).filter(|value| !value.is_empty());
        let home = var("HOME")
            .or_else(|| {
                if cfg!(windows) {
                    var("USERPROFILE")
                } else {
                    None
                }
            })
            .map(PathBuf::from);
        let candidates = [
            ("HOME", home),
            ("TEMP", Some(std::env::temp_dir())),
            ("CWD", std::env::current_dir().ok()),
        ];
        let mut dirs = Self::new();
        for (name, dir) in candidates {
            if let Some(dir) = dir.filter(|dir| dir.is_absolute()) {
                dirs = dirs.with(name, dir);
            }
        }
        dirs
    }

    /// Adds or replaces the variable `name` (written without `$`: `with("NOTES", "/var/notes")`
    /// makes `$NOTES/**` usable). Names are case-sensitive.
    #[must_use]
    pub fn with(mut self, name: &str, dir: impl Into<PathBuf>) -> Self {
        let name = name.strip_prefix('$').unwrap_or(name);
        self.dirs.insert(name.to_owned(), dir.into());
        self
    }

    /// The directory of the variable `name` (without `$`), if set.
    pub fn get(&self, name: &str) -> Option<&Path> {
        self.dirs.get(name).map(PathBuf::as_path)
    }
}

/// One allow or deny entry as written in permission files: a string `"$HOME/docs/**"` or an
/// object `{ "path": "$HOME/docs/**" }` (TOML: `[[permission.scope.allow]] path = "…"`).
///
/// Build a scope from entries with [`PathEntry::path`]:
///
/// ```
/// use gatehouse_runtime::{BaseDirs, PathEntry, PathScope};
///
/// let allow: Vec<PathEntry> = serde_json::from_str(r#"["/srv/a/**", {"path": "/srv/b/*"}]"#)?;
/// let scope = PathScope::new(allow.iter().map(PathEntry::path), [], &BaseDirs::new())?;
/// # let _ = scope;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(untagged, deny_unknown_fields)]
pub enum PathEntry {
    /// `"$HOME/docs/**"`.
    Path(String),
    /// `{ "path": "$HOME/docs/**" }`.
    Object {
        /// The pattern.
        path: String,
    },
}

impl PathEntry {
    /// The pattern, whichever way it was written.
    pub fn path(&self) -> &str {
        match self {
            Self::Path(path) | Self::Object { path } => path,
        }
    }
}

/// Allow and deny lists of file paths that a command enforces before it opens a path the caller
/// sent.
///
/// # Patterns
///
/// A pattern is an absolute path, or one starting with a [`BaseDirs`] variable (`$HOME/docs/**`),
/// in glob syntax over the *whole* path:
///
/// - `*`, `?` and `[…]` never match a separator: `$D/docs/*` matches `$D/docs/a.txt`, not
///   `$D/docs/sub/a.txt`.
/// - `**` is a whole component and matches any number of components: `$D/docs/**` matches
///   `$D/docs/a.txt` and `$D/docs/sub/a.txt`. A pattern ending in `/**` also matches **the folder
///   itself** (`$D/docs`), so an allowed tree can be listed and, more importantly, a denied tree
///   (`$D/docs/private/**`) cannot be listed, renamed or removed as a whole.
/// - A leading dot is not special (`*` matches `.env`). Matching is case-sensitive.
/// - Patterns are normalised when built: repeated separators collapse, `.` components and a
///   trailing separator go away. `..` is an error, as is a relative pattern, an unknown variable
///   or an invalid glob; the error names the pattern.
/// - The *literal prefix* of a pattern (its components before the first one with a metacharacter:
///   `$D/docs` in `$D/docs/*.txt`) is also resolved once, when the scope is built, like a request
///   (symlinks followed, a missing tail kept as written). The pattern then matches both as written
///   and under that real location, so a scope over a symlinked base directory (macOS's `/tmp`, a
///   `Documents` folder linked elsewhere) matches the paths requests resolve to. A symlink *in the
///   prefix* is trusted because the scope's author named it; it is resolved at build time and a
///   later change of its target is not followed.
///
/// # Checking a request
///
/// [`check`](Self::check) decides on the path as the file system will see it:
///
/// 1. A relative path is refused (a scope has no working directory to resolve it against).
/// 2. `.` and `..` are resolved lexically (`/a/b/../c` is `/a/c`); repeated and trailing
///    separators go away. The result is the *lexical path*. If a deny pattern matches it, the
///    request is refused before the file system is touched.
/// 3. Symbolic links are resolved with [`std::fs::canonicalize`] on the longest existing prefix,
///    and the missing tail is appended unchanged, so a file that does not exist yet can be
///    checked before it is created. A dangling symlink on the way is refused (creating through it
///    would create its target). The result is the *real path*.
/// 4. The real path must match an allow pattern and no deny pattern. Deny wins over allow, and an
///    empty allow list allows nothing. Whether the lexical path is allowed does not matter: a
///    request through a symlink outside the scope that lands inside it names an allowed file.
///
/// Both paths are matched as text and must be valid Unicode: a name that is not (possible on
/// Unix) is refused, never converted lossily, so it can never pass for a different name. The
/// request is never a pattern: `*`, `?` and `[` in it match only themselves.
///
/// **Open the returned path, not the requested one**, and open it promptly: the check cannot stop
/// a process that changes the file system between the check and the open (when creating, prefer
/// `create_new`). On case-insensitive file systems the existing part of the real path carries the
/// on-disk case, but a not-yet-existing tail keeps the case of the request. Hard links cannot be
/// told apart from the file they link to.
///
/// ```
/// use gatehouse_runtime::{BaseDirs, PathScope};
///
/// let notes = std::env::temp_dir().join("gatehouse-doc-path-scope-never-created");
/// let dirs = BaseDirs::new().with("NOTES", &notes);
/// let scope = PathScope::new(["$NOTES/**"], ["$NOTES/private/**"], &dirs)?;
///
/// assert!(scope.is_allowed(notes.join("todo.txt")));
/// assert!(!scope.is_allowed(notes.join("private").join("diary.txt")));
/// assert!(!scope.is_allowed(notes.join("..").join("secret.txt")));
/// assert!(!scope.is_allowed("todo.txt")); // relative
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PathScope {
    allow: Vec<Compiled>,
    deny: Vec<Compiled>,
}

impl PathScope {
    /// Builds a scope from allow and deny patterns, expanding the variables in `dirs`.
    ///
    /// # Errors
    ///
    /// The first pattern that is relative, contains `..`, uses an unknown variable (or one whose
    /// directory is unusable) or is not a valid glob; the error names it.
    pub fn new<'a>(
        allow: impl IntoIterator<Item = &'a str>,
        deny: impl IntoIterator<Item = &'a str>,
        dirs: &BaseDirs,
    ) -> Result<Self, PathScopeError> {
        let compile_all = |patterns: Vec<&str>| {
            patterns
                .into_iter()
                .map(|pattern| Compiled::new(pattern, dirs))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            allow: compile_all(allow.into_iter().collect())?,
            deny: compile_all(deny.into_iter().collect())?,
        })
    }

    /// Resolves `requested` to the real path the command may open, as the type's documentation
    /// describes.
    ///
    /// # Errors
    ///
    /// Why the path may not be opened: it is relative, not valid Unicode, cannot be resolved
    /// (an I/O error other than "not found", or a dangling symlink on the way), is denied or is
    /// not allowed.
    pub fn check(&self, requested: impl AsRef<Path>) -> Result<PathBuf, PathScopeError> {
        let requested = requested.as_ref();
        if !requested.is_absolute() {
            return Err(PathScopeError::Relative {
                requested: requested.to_owned(),
            });
        }
        let lexical = resolve::lexical(requested);
        self.refuse_denied(requested, &lexical)?;
        if self.allow.is_empty() {
            return Err(PathScopeError::NotAllowed {
                requested: requested.to_owned(),
                resolved: lexical,
            });
        }
        let real = resolve::real(&lexical).map_err(|error| match error {
            resolve::Error::Dangling(link) => PathScopeError::DanglingSymlink {
                requested: requested.to_owned(),
                link,
            },
            resolve::Error::Io(source) => PathScopeError::Unresolvable {
                requested: requested.to_owned(),
                source,
            },
        })?;
        let text = self.refuse_denied(requested, &real)?;
        if self.allow.iter().any(|pattern| pattern.matches(text)) {
            Ok(real)
        } else {
            Err(PathScopeError::NotAllowed {
                requested: requested.to_owned(),
                resolved: real,
            })
        }
    }

    /// Whether [`check`](Self::check) accepts `requested`.
    pub fn is_allowed(&self, requested: impl AsRef<Path>) -> bool {
        self.check(requested).is_ok()
    }

    /// Refuses `path` if it is not Unicode or a deny pattern matches it; returns it as text.
    fn refuse_denied<'p>(
        &self,
        requested: &Path,
        path: &'p Path,
    ) -> Result<&'p str, PathScopeError> {
        let Some(text) = path.to_str() else {
            return Err(PathScopeError::NotUnicode {
                requested: requested.to_owned(),
            });
        };
        if self.deny.iter().any(|pattern| pattern.matches(text)) {
            return Err(PathScopeError::Denied {
                requested: requested.to_owned(),
                resolved: path.to_owned(),
            });
        }
        Ok(text)
    }
}

/// Why a [`PathScope`] could not be built, or why it refused a path.
///
/// The messages of refusals name only the requested path, never where symlinks led, so they can
/// be sent back to the caller; the `resolved` and `link` fields are for the core's logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathScopeError {
    /// A pattern starts with `$NAME` and `NAME` is not one of the [`BaseDirs`].
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
    /// Resolving the requested path met a symbolic link whose target does not exist.
    #[error("`{}` goes through a dangling symbolic link", requested.display())]
    DanglingSymlink {
        /// The path as requested.
        requested: PathBuf,
        /// The dangling link.
        link: PathBuf,
    },
    /// The file system could not resolve the requested path (permission denied, not a
    /// directory, a symlink loop…).
    #[error("cannot resolve `{}`: {source}", requested.display())]
    Unresolvable {
        /// The path as requested.
        requested: PathBuf,
        /// What the file system said.
        source: io::Error,
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
}
