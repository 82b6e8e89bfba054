//! Problems found in ACL files, with file, line, column and a caret under the offending text.

use std::fmt;
use std::path::{Path, PathBuf};

/// A file that was read, kept to point into it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path, as given to the build.
    pub path: PathBuf,
    /// The contents.
    pub text: String,
}

/// A byte range in a [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Source {
    /// The span of the first string literal holding exactly `value` at or after `from`
    /// (`"value"` in JSON; `"value"` or `'value'` in TOML), or of a bare TOML key `value`.
    pub fn find(&self, value: &str, from: usize) -> Option<Span> {
        let text = self.text.get(from..)?;
        for quote in ['"', '\''] {
            let needle = format!("{quote}{value}{quote}");
            if let Some(at) = text.find(&needle) {
                let start = from + at + 1;
                return Some(Span {
                    start,
                    end: start + value.len(),
                });
            }
        }
        let at = text.find(value)?;
        Some(Span {
            start: from + at,
            end: from + at + value.len(),
        })
    }

    /// The span of `value` inside the item whose identifier is `owner` (searched first), so
    /// that a name repeated in several items is found in the right one.
    pub fn find_in(&self, owner: Option<&str>, value: &str) -> Option<Span> {
        let from = owner.and_then(|o| self.find(o, 0)).map_or(0, |s| s.start);
        self.find(value, from).or_else(|| self.find(value, 0))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line - 1).unwrap_or("")
    }
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; the build goes on.
    Warning,
    /// The build fails.
    Error,
}

/// What a warning is about, for tools that sort them (`gatehouse port`): the cases where
/// Gatehouse loads what Tauri 2 loads but something in it has no effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// A Tauri built-in (`core:window:…`, …) that Gatehouse does not provide: grants nothing.
    UnservedBuiltin,
    /// `<plugin>:default` of a plugin without a default set: grants nothing.
    MissingDefault,
    /// A key of a plugin's permission file that Tauri and Gatehouse ignore.
    IgnoredKey,
    /// A problem in what no capability for the target reaches (an unused set, a capability
    /// for another platform).
    Unreached,
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// How bad it is.
    pub severity: Severity,
    /// What it is about, when it is one of the known [`Kind`]s.
    pub kind: Option<Kind>,
    /// What is wrong, in one line.
    pub message: String,
    /// The file, when the problem is in one.
    pub file: Option<PathBuf>,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The source line and the caret under the offending text, when known.
    pub excerpt: Option<(String, usize, usize)>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error about `span` in `source` (or the whole file when the span is unknown).
    pub fn error(source: &Source, span: Option<Span>, message: impl Into<String>) -> Self {
        Self::at(Severity::Error, source, span, message)
    }

    /// A warning about `span` in `source`.
    pub fn warning(source: &Source, span: Option<Span>, message: impl Into<String>) -> Self {
        Self::at(Severity::Warning, source, span, message)
    }

    /// A problem not tied to a file.
    pub fn general(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            kind: None,
            message: message.into(),
            file: None,
            position: None,
            excerpt: None,
            help: None,
        }
    }

    /// A problem at a known line and column (as parsers report them).
    pub fn at_line(
        severity: Severity,
        source: &Source,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        let text = source.line_text(line.max(1)).to_owned();
        Self {
            severity,
            kind: None,
            message: message.into(),
            file: Some(source.path.clone()),
            position: Some((line, column)),
            excerpt: Some((text, column.max(1), 1)),
            help: None,
        }
    }

    fn at(
        severity: Severity,
        source: &Source,
        span: Option<Span>,
        message: impl Into<String>,
    ) -> Self {
        let mut d = Self::general(severity, message);
        d.file = Some(source.path.clone());
        if let Some(span) = span {
            let (line, column) = source.line_col(span.start);
            let width = source
                .text
                .get(span.start..span.end)
                .map_or(1, |t| t.chars().count().max(1));
            d.position = Some((line, column));
            d.excerpt = Some((source.line_text(line).to_owned(), column, width));
        }
        d
    }

    /// Adds advice.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Says what it is about.
    #[must_use]
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// `file:line:col`, or the file alone.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_deref().map(Path::display)?;
        Some(match self.position {
            Some((l, c)) => format!("{file}:{l}:{c}"),
            None => file.to_string(),
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}", self.message)?;
        // Laid out as rustc does: the gutter is as wide as the line number.
        let pad = " ".repeat(self.position.map_or(1, |(line, _)| line.to_string().len()));
        if let Some(location) = self.location() {
            write!(f, "\n{pad}--> {location}")?;
        }
        if let (Some((text, column, width)), Some((line, _))) = (&self.excerpt, self.position) {
            let indent: String = text
                .chars()
                .take(column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(
                f,
                "\n{pad} |\n{line} | {text}\n{pad} | {indent}{}",
                "^".repeat(*width)
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n{pad} = help: {help}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source {
            path: "capabilities/main.toml".into(),
            text: text.into(),
        }
    }

    #[test]
    fn renders_file_line_column_and_caret() {
        let s = source("identifier = \"main\"\npermissions = [\"allow-reed-note\"]\n");
        let span = s.find("allow-reed-note", 0);
        let d = Diagnostic::error(&s, span, "unknown permission `allow-reed-note`")
            .help("did you mean `allow-read-note`?");
        assert_eq!(
            d.to_string(),
            "error: unknown permission `allow-reed-note`\n --> capabilities/main.toml:2:17\n  |\n2 | permissions = [\"allow-reed-note\"]\n  |                 ^^^^^^^^^^^^^^^\n  = help: did you mean `allow-read-note`?"
        );
    }

    #[test]
    fn finds_values_inside_their_owner() {
        let s = source("[[set]]\nidentifier = \"a\"\npermissions = [\"x\"]\n[[set]]\nidentifier = \"b\"\npermissions = [\"x\"]\n");
        let first = s.find_in(Some("a"), "x").expect("found");
        let second = s.find_in(Some("b"), "x").expect("found");
        assert_eq!(s.line_col(first.start).0, 3);
        assert_eq!(s.line_col(second.start).0, 6);
    }
}
