//! Turning a scope pattern into globs: variables expanded, components normalised, the literal
//! prefix resolved; and finding the folders a pattern reaches into.

use std::path::{is_separator, Component, Path, PathBuf, MAIN_SEPARATOR};

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
    globs: Vec<Pattern>,
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

impl Compiled {
    pub(super) fn new(pattern: &str, dirs: &BaseDirs) -> Result<Self, PathScopeError> {
        let written = Normal::parse(pattern, dirs)?;
        let mut texts = Vec::new();
        let mut anchors = vec![written.anchor()];
        written.push_globs(&mut texts);
        if let Some(real) = written.resolve_prefix() {
            real.push_globs(&mut texts);
            anchors.push(real.anchor());
        }
        let globs = texts
            .iter()
            .map(|text| {
                // Every component was checked on its own, so this only fails on a glob quirk.
                Pattern::new(text).map_err(|error| PathScopeError::InvalidGlob {
                    pattern: pattern.to_owned(),
                    component: text.clone(),
                    message: error.msg.to_owned(),
                })
            })
            .collect::<Result<_, _>>()?;
        anchors.dedup();
        Ok(Self { globs, anchors })
    }

    /// Whether the path, as text, matches.
    pub(super) fn matches(&self, path: &str, options: MatchOptions) -> bool {
        self.globs
            .iter()
            .any(|glob| glob.matches_with(path, options))
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
        let folder = |parts: &[Part]| {
            let mut path = PathBuf::from(&self.root);
            for part in parts {
                if let Part::Literal(text) = part {
                    path.push(text);
                }
            }
            path
        };
        if let Some((name, count)) = &self.variable {
            let dir = folder(&self.parts[..*count]);
            // `$CONFIG` naming a file is reached from its folder, like any file.
            if self.parts.len() > *count || dir.is_dir() || !dir.exists() {
                return Anchor {
                    path: dir,
                    variable: Some(name.clone()),
                };
            }
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

    /// Adds the globs of this pattern: as it is, and for `…/**` also the folder itself.
    fn push_globs(&self, texts: &mut Vec<String>) {
        let mut push = |text: String| {
            if !texts.contains(&text) {
                texts.push(text);
            }
        };
        push(self.render(&self.parts));
        if let Some((Part::Glob(last), folder)) = self.parts.split_last() {
            if last == "**" {
                push(self.render(folder));
            }
        }
    }

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
