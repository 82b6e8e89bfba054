//! `path_scope`: [`PathScope`] built from fuzzed allow and deny patterns, checking fuzzed paths,
//! against a reference written from the type's documentation.
//!
//! Input: lines. Lines starting with `+` are allow patterns, `-` deny patterns, anything else
//! a path to check. Patterns are written under `$ROOT`, a folder that does not exist, so the
//! file system resolves nothing under it and the real path of a request under it is its
//! lexical path; requests are made absolute under the same folder unless they start with `/`.
//!
//! The reference: patterns normalised (empty and `.` components dropped, `..` refused),
//! matched with the `glob` crate with `*`, `?` and `[…]` not crossing `/`, a trailing `/**`
//! also matching the folder itself; requests normalised lexically (`..` pops, never above the
//! root); a request is allowed when an allow pattern matches and no deny pattern does. For
//! requests that leave `$ROOT` (where the real file system decides) only the invariants are
//! checked: a path that a deny pattern matches lexically is refused, and an allowed path comes
//! back absolute and free of `.` and `..`.

use std::path::{Component, Path};

use gatehouse::{BaseDirs, PathScope};
use glob::{MatchOptions, Pattern};

/// A folder that does not exist, so that nothing under it resolves.
const ROOT: &str = "/gatehouse-fuzz-absent";

/// How patterns match: `*`, `?` and `[…]` never cross a `/`; whether they match a leading dot
/// is the scope's choice for allow patterns, and always so for deny patterns.
const fn options(require_literal_leading_dot: bool) -> MatchOptions {
    MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot,
    }
}

/// The target: see the module's documentation.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return non_unicode(data);
    };
    let mut allow = Vec::new();
    let mut deny = Vec::new();
    let mut requests = Vec::new();
    // A first line `!dots` lets allow patterns' wildcards match a leading dot.
    let (dots, text) = match text.strip_prefix("!dots\n") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    for line in text.split('\n') {
        if let Some(p) = line.strip_prefix('+') {
            allow.push(format!("$ROOT/{p}"));
        } else if let Some(p) = line.strip_prefix('-') {
            deny.push(format!("$ROOT/{p}"));
        } else if line.starts_with('/') {
            requests.push(line.to_owned());
        } else {
            requests.push(format!("{ROOT}/{line}"));
        }
    }
    let dirs = BaseDirs::new().with("ROOT", ROOT);
    let scope = PathScope::new(
        allow.iter().map(String::as_str),
        deny.iter().map(String::as_str),
        &dirs,
    );
    let reference = Reference::new(&allow, &deny, dots);
    let (scope, reference) = match (scope, reference) {
        (Ok(scope), Some(reference)) => (scope.require_literal_leading_dot(!dots), reference),
        (Err(_), None) => return,
        (Ok(_), None) => {
            panic!("PathScope accepts patterns the reference refuses: {allow:?} {deny:?}")
        }
        (Err(e), Some(_)) => panic!("PathScope refuses valid patterns ({e}): {allow:?} {deny:?}"),
    };

    for request in &requests {
        let result = scope.check(request);
        let lexical = lexical(request);
        // Near `PATH_MAX`, or with a NUL in a path (which no file name holds), the system's
        // answer decides; otherwise nothing under `ROOT` exists.
        if lexical.starts_with(&format!("{ROOT}/")) && lexical.len() < 4000 && !text.contains('\0')
        {
            let expected = reference.allows(&lexical);
            match &result {
                Ok(real) => assert!(
                    expected && real == Path::new(&lexical),
                    "`{request}` allowed as {real:?}; expected {}",
                    if expected {
                        "allowed as itself"
                    } else {
                        "refused"
                    }
                ),
                Err(e) => assert!(!expected, "`{request}` refused ({e}); expected allowed"),
            }
        } else {
            if reference.denies(&lexical) {
                assert!(result.is_err(), "`{request}` is denied and was allowed");
            }
            if let Ok(real) = &result {
                assert!(
                    real.is_absolute(),
                    "`{request}` allowed as relative {real:?}"
                );
                assert!(
                    real.components()
                        .all(|c| !matches!(c, Component::CurDir | Component::ParentDir)),
                    "`{request}` allowed as {real:?}"
                );
            }
        }
    }
}

/// A request whose lexical path is not Unicode is always refused (a name that is not Unicode
/// but that a `..` removes never reaches the check).
fn non_unicode(data: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(scope) = PathScope::new(["/**"], [], &BaseDirs::new()) else {
        panic!("`/**` is a valid pattern");
    };
    let mut path = b"/".to_vec();
    path.extend(data.iter().filter(|&&b| b != 0));
    let path = Path::new(std::ffi::OsStr::from_bytes(&path));
    let mut lexical = std::path::PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    if lexical.to_str().is_none() {
        assert!(
            !scope.is_allowed(path),
            "{path:?} is not Unicode and was allowed"
        );
    }
}

/// `path` with `.` dropped and `..` applied, never above the root, as text.
fn lexical(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

struct Reference {
    allow: Vec<Vec<Pattern>>,
    deny: Vec<Vec<Pattern>>,
    /// Whether allow patterns' wildcards match a leading dot.
    dots: bool,
}

impl Reference {
    /// `None` when a pattern is invalid.
    fn new(allow: &[String], deny: &[String], dots: bool) -> Option<Self> {
        let compile = |patterns: &[String]| {
            patterns
                .iter()
                .map(|p| globs(p))
                .collect::<Option<Vec<_>>>()
        };
        Some(Self {
            allow: compile(allow)?,
            deny: compile(deny)?,
            dots,
        })
    }

    fn denies(&self, path: &str) -> bool {
        matches_any(&self.deny, path, options(false))
    }

    fn allows(&self, path: &str) -> bool {
        !self.denies(path) && matches_any(&self.allow, path, options(!self.dots))
    }
}

fn matches_any(patterns: &[Vec<Pattern>], path: &str, options: MatchOptions) -> bool {
    patterns
        .iter()
        .flatten()
        .any(|glob| glob.matches_with(path, options))
}

/// The globs of one `$ROOT/…` pattern.
fn globs(pattern: &str) -> Option<Vec<Pattern>> {
    let rest = pattern.strip_prefix("$ROOT")?;
    let mut parts = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            // Each component must be a glob by itself (`[!/]` is one only across the `/`).
            part => {
                Pattern::new(part).ok()?;
                parts.push(part);
            }
        }
    }
    let mut texts = vec![format!("{ROOT}/{}", parts.join("/"))];
    if parts.last() == Some(&"**") {
        texts.push(format!("{ROOT}/{}", parts[..parts.len() - 1].join("/")));
    }
    texts
        .iter()
        .map(|t| Pattern::new(t.trim_end_matches('/')).ok())
        .collect()
}
