//! [`PathScope`]: allow and deny lists of file paths, and the file operations that stay inside
//! them.
//!
//! Path scopes are where IPC layers have really been broken (Tauri's fs scope: `..` traversal,
//! symlinked folders escaping the scope, `dir/*` matching files in subfolders, glob metacharacters
//! treated as patterns, `*` matching dot-files; every check-then-open API: a local process
//! swapping a checked file for a symbolic link). Each of those attacks has a test in `tests/`
//! (and the races in the workspace's `tests/scope_race.rs`).
//!
//! The scope opens: each folder its allow patterns reach into is opened once as a directory
//! handle ([`cap_std::fs::Dir`]), and every operation resolves the request beneath a handle one
//! component at a time (`walk.rs`), checks the result and acts on it through the handle of its
//! folder, so nothing is ever reopened by path.

mod compile;
mod entry;
mod error;
mod open;
mod resolve;
mod root;
#[cfg(test)]
mod tests;
mod value;
mod walk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use glob::MatchOptions;
use serde::{Deserialize, Serialize};

use self::compile::Compiled;
use self::root::Root;
use self::walk::{Found, Mode, Walk};

pub use self::entry::{ScopedDirEntry, ScopedReadDir};
pub use self::error::PathScopeError;

/// Base-directory variables usable at the start of a pattern: `$HOME/docs/**`.
///
/// A variable is a whole first component (`$HOME`, never `$HOME.bak`); its value is taken
/// literally, so a directory named `/srv/[data]` does not become a glob. Values must be absolute,
/// valid Unicode and free of `..`; [`PathScope::new`] rejects a pattern whose variable is not.
///
/// Each directory is opened once, by the first scope that needs it (or by [`open`](Self::open),
/// at start-up), and its handle is shared by every scope built from this value or a clone of it:
/// manage one `BaseDirs` for the application, and a process that swaps `$NOTES` for a symbolic
/// link later does not redirect the scopes of callers that come after.
///
/// ```
/// use gatehouse_runtime::BaseDirs;
///
/// let dirs = BaseDirs::from_env().with("NOTES", "/var/notes");
/// assert_eq!(dirs.get("NOTES"), Some(std::path::Path::new("/var/notes")));
/// ```
#[derive(Debug, Clone, Default)]
pub struct BaseDirs {
    dirs: BTreeMap<String, BaseDir>,
}

/// A variable's directory, and its handle and real location once opened (shared by the clones
/// of its [`BaseDirs`]).
#[derive(Debug, Clone)]
struct BaseDir {
    path: PathBuf,
    opened: Arc<OnceLock<root::Opened>>,
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
        self.dirs.insert(
            name.to_owned(),
            BaseDir {
                path: dir.into(),
                opened: Arc::default(),
            },
        );
        self
    }

    /// The directory of the variable `name` (without `$`), if set.
    pub fn get(&self, name: &str) -> Option<&Path> {
        self.dirs.get(name).map(|dir| dir.path.as_path())
    }

    /// Opens every directory now rather than when a scope first needs it: call it at start-up,
    /// before any caller can race the opening.
    ///
    /// # Errors
    ///
    /// The first directory that cannot be opened ([`PathScopeError::RootUnavailable`], naming
    /// it); the others are still opened.
    pub fn open(&self) -> Result<(), PathScopeError> {
        let mut first = Ok(());
        for dir in self.dirs.values() {
            if let Err(source) = root::open_shared(&dir.path, &dir.opened) {
                if first.is_ok() {
                    first = Err(PathScopeError::RootUnavailable {
                        requested: dir.path.clone(),
                        root: dir.path.clone(),
                        source,
                    });
                }
            }
        }
        first
    }

    /// The directory of `name` and its shared slot.
    fn shared(&self, name: &str) -> Option<(&Path, &Arc<OnceLock<root::Opened>>)> {
        self.dirs
            .get(name)
            .map(|dir| (dir.path.as_path(), &dir.opened))
    }

    /// Where the directory of `name` really was when it was opened (opening it now if it was
    /// not yet); `None` if it cannot be opened.
    fn real(&self, name: &str) -> Option<&Path> {
        let (path, opened) = self.shared(name)?;
        root::open_shared(path, opened)
            .ok()
            .map(|opened| opened.real.as_path())
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

/// Allow and deny lists of file paths, and the file operations that stay inside them.
///
/// A command gets one from its grants (`CommandScope<PathScope>`, or a type of its own built
/// with [`PathScope::from_scope_values`]) and does every file access of a request through it:
/// [`open`](Self::open), [`read`](Self::read), [`read_to_string`](Self::read_to_string),
/// [`create`](Self::create), [`write_atomic`](Self::write_atomic),
/// [`read_dir`](Self::read_dir), [`metadata`](Self::metadata), [`create_dir`](Self::create_dir),
/// [`remove`](Self::remove), [`rename`](Self::rename). Each checks the path and opens it in one
/// step, beneath a directory handle opened before the request came, so a process racing the
/// core cannot swap a checked path for a symbolic link that leads out. [`check`](Self::check)
/// only decides.
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
/// - `*`, `**`, `?` and `[…]` do not match a leading `.` of a name: `$D/docs/**` does not reach
///   `$D/docs/.ssh/id_ed25519` or `$D/docs/.env`, `$D/*` does not match `$D/.git`. Write the dot
///   (`$D/.config/**`, `$D/docs/.*`) to allow dot-files, or turn this off for a whole scope with
///   [`require_literal_leading_dot(false)`](Self::require_literal_leading_dot) (Tauri's
///   `requireLiteralLeadingDot`). On every platform. This narrows allow patterns only: a deny
///   pattern's wildcards always match a leading dot, so `$D/**/*.pem` denies `$D/a/.key.pem`
///   too. Matching is case-sensitive.
/// - Patterns are normalised when built: repeated separators collapse, `.` components and a
///   trailing separator go away. `..` is an error, as is a relative pattern, an unknown variable
///   or an invalid glob; the error names the pattern.
/// - A pattern also matches under the real location of its variable's directory, as found
///   when the [`BaseDirs`] opened it (once), so a scope over a symlinked base directory (macOS's
///   `/tmp`, a `Documents` folder linked elsewhere) matches the paths requests resolve to. The
///   components after the variable are not resolved: a symbolic link among them (`$HOME/docs`
///   linking elsewhere) is walked like any other, and leads only where a root of the scope is —
///   so a process that can swap a folder inside `$HOME` cannot widen the scopes built later.
///   Name a linked folder through a variable of its own to allow it.
/// - An absolute pattern's *literal prefix* (its components before the first one with a
///   metacharacter: `/srv/docs` in `/srv/docs/*.txt`) is resolved when the scope is built
///   (symlinks followed, a missing tail kept as written), and the pattern matches both as
///   written and under that real location. A symlink *in that prefix* is trusted because the
///   scope's author named it; scopes are built per caller, so keep such prefixes out of folders
///   an untrusted process can change, or use a variable.
///
/// # The scope's folders
///
/// Each allow pattern reaches into a *root*, a folder opened once and kept open: the directory
/// of the pattern's [`BaseDirs`] variable (opened by the `BaseDirs` and shared by every scope
/// built from it, so a scope built for a new caller after a racing process swapped `$NOTES` for a
/// link still resolves beneath the folder opened before); for an absolute pattern, its literal
/// prefix (or that prefix's parent, for a pattern without metacharacters that does not name an
/// existing folder: `/srv/notes.txt`), opened when the scope is built; and the real location of
/// a literal prefix that goes through a symbolic link (see above), likewise. The rest of a
/// pattern's literal prefix (`docs` in `$HOME/docs/*.md`) is walked per request like any other
/// component. Requests are resolved beneath the deepest root their path lies in. A root that
/// does not exist yet is opened when first used; until then operations beneath it fail with
/// [`PathScopeError::RootUnavailable`].
///
/// # Resolving a request
///
/// 1. A relative path is refused (a scope has no working directory to resolve it against).
/// 2. `.` and `..` are resolved lexically (`/a/b/../c` is `/a/c`); repeated and trailing
///    separators go away. The result is the *lexical path*. If a deny pattern matches it, the
///    request is refused before the file system is touched.
/// 3. The lexical path is walked beneath the handle of its root, one component at a time,
///    never following a symbolic link implicitly: a link met on the way is read and the walk
///    starts again at its target (`..` in a target applies to the link's real folder), beneath
///    whichever root holds it. A target under no root is refused; so is a path under no root,
///    unless the file system resolves it (through links outside the scope) to one under a root.
///    At most 40 links are followed. A link whose target does not exist is refused
///    ([`PathScopeError::DanglingSymlink`]): creating through it would create its target.
/// 4. The resulting *real path* must match an allow pattern and no deny pattern. Deny wins over
///    allow, and an empty allow list allows nothing. Whether the lexical path is allowed does
///    not matter: a request through a symlink outside the scope that lands inside it names an
///    allowed file.
/// 5. The operation acts on the last component through the handle of the folder holding it,
///    without following a link there either: if it finds one (it was swapped in since step 3),
///    the walk goes on at its target as in step 3. Operations on an entry itself
///    ([`create`](Self::create), [`create_dir`](Self::create_dir), [`remove`](Self::remove),
///    [`rename`](Self::rename)) do not follow a final link: they create, remove or rename the
///    link.
///
/// Paths are matched as text and must be valid Unicode: a name that is not (possible on
/// Unix) is refused, never converted lossily, so it can never pass for a different name. The
/// request is never a pattern: `*`, `?` and `[` in it match only themselves. On case-insensitive
/// file systems the case of the request is kept. Hard links cannot be told apart from the file
/// they link to.
///
/// ```
/// use gatehouse_runtime::{BaseDirs, PathScope};
///
/// let notes = std::env::temp_dir().join(format!("gatehouse-doc-path-scope-{}", std::process::id()));
/// std::fs::create_dir_all(notes.join("private"))?;
/// let dirs = BaseDirs::new().with("NOTES", &notes);
/// let scope = PathScope::new(["$NOTES/**"], ["$NOTES/private/**"], &dirs)?;
///
/// scope.write_atomic(notes.join("todo.txt"), "milk")?;
/// let mut text = String::new();
/// std::io::Read::read_to_string(&mut scope.open(notes.join("todo.txt"))?, &mut text)?;
/// assert_eq!(text, "milk");
///
/// assert!(scope.open(notes.join("private").join("diary.txt")).is_err());
/// assert!(scope.create(notes.join("..").join("secret.txt")).is_err());
/// assert!(scope.open("todo.txt").is_err()); // relative
/// # std::fs::remove_dir_all(&notes)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PathScope {
    allow: Vec<Compiled>,
    deny: Vec<Compiled>,
    /// Opened when the scope is built; shared by its clones.
    roots: Arc<[Root]>,
    options: MatchOptions,
}

impl PathScope {
    /// Builds a scope from allow and deny patterns, expanding the variables in `dirs`, and
    /// opens its folders.
    ///
    /// # Errors
    ///
    /// The first pattern that is relative, contains `..`, uses an unknown variable (or one whose
    /// directory is unusable) or is not a valid glob; the error names it. A folder that cannot
    /// be opened is no error here (see the type's documentation).
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
        let allow = compile_all(allow.into_iter().collect())?;
        let deny = compile_all(deny.into_iter().collect())?;
        let roots = Root::all(&allow, dirs).into();
        Ok(Self {
            allow,
            deny,
            roots,
            options: compile::options(true),
        })
    }

    /// Whether `*`, `**`, `?` and `[…]` need a literal `.` to match a name that starts with one
    /// (`true`, the default; Tauri's `requireLiteralLeadingDot`). With `false`, `$D/**` matches
    /// `$D/.ssh/id_ed25519`.
    #[must_use]
    pub fn require_literal_leading_dot(mut self, require: bool) -> Self {
        self.options = compile::options(require);
        self
    }

    /// Decides whether the scope allows `requested`, and returns its real path as the type's
    /// documentation describes; a path that does not exist yet (from some component on) is
    /// decided where it would be created.
    ///
    /// **For a decision only.** Opening the returned path afterwards is racy: a process can
    /// replace a component with a symbolic link between the check and the open. Use the
    /// scope's operations to open, create, list or change files.
    ///
    /// # Errors
    ///
    /// Why the path may not be used: it is relative, not valid Unicode, goes through a dangling
    /// symlink or too many, is denied or is not allowed; or the file system failed while
    /// resolving it (not a directory, permission denied…).
    pub fn check(&self, requested: impl AsRef<Path>) -> Result<PathBuf, PathScopeError> {
        let requested = requested.as_ref();
        let mut walk = Walk::new(self, requested, Mode::Check)?;
        loop {
            let target = match walk.resolve()? {
                Found::Missing(path) => return Ok(path),
                Found::Target(target) => target,
            };
            let Some(name) = &target.name else {
                return Ok(target.path);
            };
            match target.dir.symlink_metadata(name) {
                // Followed, or swapped back since and looked at again.
                Ok(meta) if meta.file_type().is_symlink() => {
                    walk.follow_last(&target)?;
                }
                Ok(_) => return Ok(target.path),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    walk.refuse_dangling(target.index)?;
                    return Ok(target.path);
                }
                Err(error) => return Err(walk.io(error)),
            }
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
        // A deny is never narrowed: its wildcards match a leading dot whatever the scope says.
        if self
            .deny
            .iter()
            .any(|pattern| pattern.matches(text, compile::options(false)))
        {
            return Err(PathScopeError::Denied {
                requested: requested.to_owned(),
                resolved: path.to_owned(),
            });
        }
        Ok(text)
    }

    /// Accepts the real path `path` if an allow pattern and no deny pattern matches it; the
    /// deny patterns are skipped if `path` was checked against them already.
    fn admit(&self, requested: &Path, path: &Path, deny: bool) -> Result<(), PathScopeError> {
        let text = if deny {
            self.refuse_denied(requested, path)?
        } else {
            path.to_str().ok_or_else(|| PathScopeError::NotUnicode {
                requested: requested.to_owned(),
            })?
        };
        if self
            .allow
            .iter()
            .any(|pattern| pattern.matches(text, self.options))
        {
            Ok(())
        } else {
            Err(PathScopeError::NotAllowed {
                requested: requested.to_owned(),
                resolved: path.to_owned(),
            })
        }
    }
}
