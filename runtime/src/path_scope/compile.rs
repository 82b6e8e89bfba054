//! Turning a scope pattern into globs: variables expanded, components normalised, the literal
//! prefix resolved; and finding the folders a pattern reaches into.

use std::path::{is_separator, Component, Path, PathBuf, MAIN_SEPARATOR, MAIN_SEPARATOR_STR};

use glob::{MatchOptions, Pattern};

use super::{resolve, BaseDirs, PathScopeError};

/// `*`, `?` and `[…]` never cross a separator and case matters; whether they match a leading
/// dot is the scope's choice.
pub(super) fn options(require_literal_leading_dot: bool) -> MatchOptions {
    MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot,
    }
}

/// One allow or deny pattern, compiled into every glob a path may match: the pattern as written,
/// the folder itself for a pattern ending in `/**`, and both again under the real location of
/// the literal prefix.
#[derive(Debug, Clone)]
pub(super) struct Compiled {
    globs: Vec<Glob>,
    /// The folders every path the pattern matches lies beneath, as written and at their real
    /// location.
    anchors: Vec<Anchor>,
}

/// A folder a pattern reaches into: the directory of its variable, else its literal prefix (or
/// the prefix's parent, for a pattern without metacharacters that does not name an existing
/// folder).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Anchor {
    pub(super) path: PathBuf,
    /// The [`BaseDirs`] variable whose directory this is, if it is one.
    pub(super) variable: Option<String>,
}

/// A glob split at its literal prefix: a path matches if it starts with `prefix` and the rest
/// matches `rest` (or, without `rest`, if it is `prefix`). Comparing the prefix as bytes decides
/// most paths without running the glob matcher, which walks the whole path character by
/// character for every pattern.
#[derive(Debug, Clone)]
struct Glob {
    /// The literal components, with the root; ends with a separator when `rest` follows.
    prefix: String,
    /// The components from the first one with a metacharacter on.
    rest: Option<Pattern>,
}

impl Glob {
    fn matches(&self, path: &str, options: MatchOptions) -> bool {
        match &self.rest {
            None => path == self.prefix,
            // The rest starts at a component, as the glob matcher assumes of a whole path, so
            // a leading dot there is a name's leading dot.
            Some(rest) => path
                .strip_prefix(&self.prefix)
                .is_some_and(|tail| rest.matches_with(tail, options)),
        }
    }
}

impl Compiled {
    pub(super) fn new(pattern: &str, dirs: &BaseDirs) -> Result<Self, PathScopeError> {
        let written = Normal::parse(pattern, dirs)?;
        let mut splits = Vec::new();
        let mut anchors = vec![written.anchor()];
        written.push_globs(&mut splits);
        match &written.variable {
            // Under the real location of the variable's directory, as found when it was opened;
            // the components after it are walked per request like any other, never resolved
            // here (a process that can change them would change what the scope allows).
            Some((name, count)) => {
                if let Some(real) = written.under_real_variable(dirs, name, *count) {
                    real.push_globs(&mut splits);
                }
            }
            None => {
                if let Some(real) = written.resolve_prefix() {
                    real.push_globs(&mut splits);
                    anchors.push(real.anchor());
                }
            }
        }
        let globs = splits
            .into_iter()
            .map(|(prefix, rest)| {
                let rest = rest
                    .map(|text| {
                        // Every component was checked on its own, so this only fails on a glob
                        // quirk.
                        Pattern::new(&text).map_err(|error| PathScopeError::InvalidGlob {
                            pattern: pattern.to_owned(),
                            component: text.clone(),
                            message: error.msg.to_owned(),
                        })
                    })
                    .transpose()?;
                Ok(Glob { prefix, rest })
            })
            .collect::<Result<_, PathScopeError>>()?;
        anchors.dedup();
        Ok(Self { globs, anchors })
    }

    /// Whether the path, as text, matches.
    pub(super) fn matches(&self, path: &str, options: MatchOptions) -> bool {
        self.globs.iter().any(|glob| glob.matches(path, options))
    }

    /// The folders the pattern reaches into (see the field).
    pub(super) fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }
}

/// A component of a normalised pattern.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// Matches only itself (a variable's directory, or text without metacharacters).
    Literal(String),
    /// Glob text as the scope's author wrote it.
    Glob(String),
}

/// A pattern after variable expansion and normalisation.
#[derive(Debug, Clone)]
struct Normal {
    /// The root (`/`, `C:\`), literal.
    root: String,
    parts: Vec<Part>,
    /// The variable the pattern starts with, and how many of `parts` its directory makes.
    variable: Option<(String, usize)>,
}

impl Normal {
    fn parse(pattern: &str, dirs: &BaseDirs) -> Result<Self, PathScopeError> {
        let (root, mut parts, rest, variable) = match pattern.strip_prefix('$') {
            Some(variable) => {
                let end = variable.find(is_separator).unwrap_or(variable.len());
                let (name, rest) = variable.split_at(end);
                let dir = dirs
                    .get(name)
                    .ok_or_else(|| PathScopeError::UnknownVariable {
                        pattern: pattern.to_owned(),
                        name: name.to_owned(),
                    })?;
                let invalid = || PathScopeError::InvalidBaseDir {
                    pattern: pattern.to_owned(),
                    name: name.to_owned(),
                    dir: dir.to_owned(),
                };
                let (root, parts) = split_real(dir).ok_or_else(invalid)?;
                if !dir.is_absolute() {
                    return Err(invalid());
                }
                let variable = Some((name.to_owned(), parts.len()));
                (root, parts, rest, variable)
            }
            None => {
                let mut components = Path::new(pattern).components();
                let mut root = PathBuf::new();
                while let Some(component @ (Component::Prefix(_) | Component::RootDir)) =
                    components.clone().next()
                {
                    root.push(component.as_os_str());
                    components.next();
                }
                if !root.is_absolute() {
                    return Err(PathScopeError::RelativePattern {
                        pattern: pattern.to_owned(),
                    });
                }
                // Both are slices of `pattern`, so they are Unicode.
                let (Some(root), Some(rest)) = (root.to_str(), components.as_path().to_str())
                else {
                    return Err(PathScopeError::RelativePattern {
                        pattern: pattern.to_owned(),
                    });
                };
                (root.to_owned(), Vec::new(), rest, None)
            }
        };
        // Split by hand rather than with `Path::components`: on Windows a rest starting with
        // `\\` would parse as a UNC prefix.
        for component in rest.split(is_separator) {
            match component {
                "" | "." => {}
                ".." => {
                    return Err(PathScopeError::ParentInPattern {
                        pattern: pattern.to_owned(),
                    })
                }
                text if !text.contains(['*', '?', '[', ']']) => {
                    parts.push(Part::Literal(text.to_owned()));
                }
                text => {
                    Pattern::new(text).map_err(|error| PathScopeError::InvalidGlob {
                        pattern: pattern.to_owned(),
                        component: text.to_owned(),
                        message: error.msg.to_owned(),
                    })?;
                    parts.push(Part::Glob(text.to_owned()));
                }
            }
        }
        Ok(Self {
            root,
            parts,
            variable,
        })
    }

    /// The number of leading literal components, and the path they make with the root.
    fn literal_prefix(&self) -> (usize, PathBuf) {
        let literal = self
            .parts
            .iter()
            .take_while(|part| matches!(part, Part::Literal(_)))
            .count();
        let mut prefix = PathBuf::from(&self.root);
        for part in &self.parts[..literal] {
            if let Part::Literal(text) = part {
                prefix.push(text);
            }
        }
        (literal, prefix)
    }

    /// The folder every path this pattern matches lies beneath: its variable's directory;
    /// else the literal prefix, or for a pattern that is all literal and not an existing folder
    /// (a file, or something not created yet), its parent. The scope's author named it, so
    /// looking at the file system here is trusted, like resolving the prefix.
    fn anchor(&self) -> Anchor {
        if let Some((name, count)) = &self.variable {
            let mut dir = PathBuf::from(&self.root);
            for part in &self.parts[..*count] {
                if let Part::Literal(text) = part {
                    dir.push(text);
                }
            }
            return Anchor {
                path: dir,
                variable: Some(name.clone()),
            };
        }
        let (literal, prefix) = self.literal_prefix();
        let path = if literal < self.parts.len() || prefix.is_dir() {
            prefix
        } else {
            prefix.parent().map_or(prefix.clone(), Path::to_path_buf)
        };
        Anchor {
            path,
            variable: None,
        }
    }

    /// The same pattern with its variable's directory replaced by where it really is, if that
    /// differs (a symbolic link, macOS's `/tmp`).
    fn under_real_variable(&self, dirs: &BaseDirs, name: &str, count: usize) -> Option<Self> {
        let real = dirs.real(name)?;
        let (root, mut parts) = split_real(real)?;
        if root == self.root && parts[..] == self.parts[..count] {
            return None;
        }
        parts.extend_from_slice(&self.parts[count..]);
        Some(Self {
            root,
            parts,
            variable: None,
        })
    }

    /// The same pattern with its literal prefix replaced by its real location, if that differs
    /// and can be found.
    fn resolve_prefix(&self) -> Option<Self> {
        let (literal, prefix) = self.literal_prefix();
        let real = resolve::real(&prefix)?;
        if real == prefix {
            return None;
        }
        // A real location that is not Unicode is never matched: requests under it are refused.
        let (root, mut parts) = split_real(&real)?;
        parts.extend_from_slice(&self.parts[literal..]);
        Some(Self {
            root,
            parts,
            variable: None,
        })
    }

    /// Adds the globs of this pattern, split at their literal prefix: as it is, and for
    /// `…/**` also the folder itself.
    fn push_globs(&self, splits: &mut Vec<(String, Option<String>)>) {
        let mut push = |split: (String, Option<String>)| {
            if !splits.contains(&split) {
                splits.push(split);
            }
        };
        push(self.split(&self.parts));
        if let Some((Part::Glob(last), folder)) = self.parts.split_last() {
            if last == "**" {
                push(self.split(folder));
            }
        }
    }

    /// The pattern of `parts` as its literal prefix (as text, the root included) and the glob
    /// of the components after it, if any.
    fn split(&self, parts: &[Part]) -> (String, Option<String>) {
        let literal = parts
            .iter()
            .take_while(|part| matches!(part, Part::Literal(_)))
            .count();
        let mut prefix = self.root.clone();
        for part in &parts[..literal] {
            if let Part::Literal(text) = part {
                if !prefix.ends_with(is_separator) {
                    prefix.push(MAIN_SEPARATOR);
                }
                prefix.push_str(text);
            }
        }
        if literal == parts.len() {
            return (prefix, None);
        }
        if !prefix.ends_with(is_separator) {
            prefix.push(MAIN_SEPARATOR);
        }
        let rest: Vec<String> = parts[literal..]
            .iter()
            .map(|part| match part {
                Part::Literal(text) => Pattern::escape(text),
                Part::Glob(glob) => glob.clone(),
            })
            .collect();
        (prefix, Some(rest.join(MAIN_SEPARATOR_STR)))
    }

    /// The whole pattern as one glob, as it was matched before it was split (for the tests
    /// that hold the split to it).
    #[cfg(test)]
    fn render(&self, parts: &[Part]) -> String {
        let mut text = Pattern::escape(&self.root);
        for part in parts {
            if !text.ends_with(is_separator) {
                text.push(MAIN_SEPARATOR);
            }
            match part {
                Part::Literal(literal) => text.push_str(&Pattern::escape(literal)),
                Part::Glob(glob) => text.push_str(glob),
            }
        }
        text
    }
}

/// A real path (a variable's directory, a resolved prefix) as a literal root and components;
/// `None` if it is not Unicode or contains `..`.
fn split_real(path: &Path) -> Option<(String, Vec<Part>)> {
    let mut root = String::new();
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {
                root.push_str(component.as_os_str().to_str()?)
            }
            Component::CurDir => {}
            Component::ParentDir => return None,
            Component::Normal(name) => parts.push(Part::Literal(name.to_str()?.to_owned())),
        }
    }
    Some((root, parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splitting a glob at its literal prefix never changes what it matches: random patterns
    /// and paths from a small alphabet (dots, metacharacters, separators), both leading-dot
    /// settings, against the whole pattern matched by `glob`.
    #[test]
    fn a_split_glob_matches_what_the_whole_glob_matches() {
        use proptest::prelude::*;
        use proptest::sample::select;
        use proptest::test_runner::{Config, TestRunner};

        const PATTERN_PARTS: &[&str] = &[
            "a", "b.md", ".env", "*", "**", "*.md", "?", ".*", "[.]x", "[!a]b", "a*", "[ab]",
        ];
        const PATH_PARTS: &[&str] = &["a", "b", "b.md", ".env", ".x", "ab", "bb", ".md", "x"];
        let root = std::env::temp_dir();
        let root = root
            .to_str()
            .expect("a Unicode temporary directory")
            .to_owned();
        let dirs = BaseDirs::new().with("R", &root);
        let strategy = (
            proptest::collection::vec(select(PATTERN_PARTS), 0..4),
            proptest::collection::vec(select(PATH_PARTS), 0..5),
            any::<bool>(),
        );
        let mut runner = TestRunner::new(Config {
            cases: 2048,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strategy, |(pattern_parts, path_parts, leading_dot)| {
                let pattern = std::iter::once("$R")
                    .chain(pattern_parts.iter().copied())
                    .collect::<Vec<_>>()
                    .join("/");
                let Ok(normal) = Normal::parse(&pattern, &dirs) else {
                    return Ok(()); // `a**`-style mistakes are refused when built
                };
                let Ok(compiled) = Compiled::new(&pattern, &dirs) else {
                    return Ok(());
                };
                let mut path = PathBuf::from(&root);
                path.extend(&path_parts);
                let path = path.to_str().expect("Unicode").to_owned();
                let options = options(leading_dot);
                let mut whole = vec![normal.render(&normal.parts)];
                if let Some((Part::Glob(last), folder)) = normal.parts.split_last() {
                    if last == "**" {
                        whole.push(normal.render(folder));
                    }
                }
                let expected = whole.iter().any(|text| {
                    Pattern::new(text).is_ok_and(|glob| glob.matches_with(&path, options))
                });
                // The scope also matches under the prefix's real location; the temporary
                // directory may be a link (macOS), so compare on the written form only when
                // it is real.
                if std::fs::canonicalize(&root).is_ok_and(|real| real == Path::new(&root)) {
                    prop_assert_eq!(
                        compiled.matches(&path, options),
                        expected,
                        "{} vs {}",
                        pattern,
                        path
                    );
                }
                Ok(())
            })
            .expect("a split glob matches as the whole one");
    }
}
