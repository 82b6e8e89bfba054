//! Note names: what a caller may call a note, checked before any path is built from it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest name a note may have, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A note's name: the file `<name>.md` in the notes folder.
///
/// Checked when a request is read, so a command never sees a bad one: it is not empty, at most
/// [`MAX_NAME_CHARS`] characters, contains no `/`, `\`, `..` or control character, and does not
/// start with `.` (hidden files are not notes) or with or end in a space. A bad name is refused
/// with a `-32602` error whose message says which rule it broke.
///
/// The path scope still checks every file a command opens: the name rules keep requests
/// readable, the scope is what keeps them inside the notes folder.
///
/// ```
/// use notes::NoteName;
///
/// assert!(NoteName::new("Groceries").is_ok());
/// assert!(NoteName::new("../secret").is_err());
/// assert!(NoteName::new("a/b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NoteName(String);

/// Why a name is not a note's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing, or only spaces.
    #[error("a note needs a name")]
    Empty,
    /// More than [`MAX_NAME_CHARS`] characters.
    #[error("a note name has at most {MAX_NAME_CHARS} characters (this one has {0})")]
    TooLong(usize),
    /// A path separator.
    #[error("a note name may not contain `/` or `\\`")]
    Separator,
    /// `..` somewhere in the name.
    #[error("a note name may not contain `..`")]
    Parent,
    /// A leading `.`.
    #[error("a note name may not start with `.`")]
    Hidden,
    /// A control character (newline, NUL, …).
    #[error("a note name may not contain control characters")]
    Control,
    /// A leading or trailing space.
    #[error("a note name may not start or end with a space")]
    Padded,
}

impl NoteName {
    /// Checks `name` against the rules above.
    ///
    /// # Errors
    ///
    /// The first rule the name breaks.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(NameError::Empty);
        }
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(NameError::TooLong(chars));
        }
        if name.contains(['/', '\\']) {
            return Err(NameError::Separator);
        }
        if name.contains("..") {
            return Err(NameError::Parent);
        }
        if name.starts_with('.') {
            return Err(NameError::Hidden);
        }
        if name.chars().any(char::is_control) {
            return Err(NameError::Control);
        }
        if name.trim() != name {
            return Err(NameError::Padded);
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The note's file name, `<name>.md`.
    pub fn file_name(&self) -> String {
        format!("{}.md", self.0)
    }

    /// The name of the note stored in `file_name`, if it is one (`<valid name>.md`).
    pub fn from_file_name(file_name: &str) -> Option<Self> {
        file_name
            .strip_suffix(".md")
            .and_then(|stem| Self::new(stem).ok())
    }
}

impl TryFrom<String> for NoteName {
    type Error = NameError;

    fn try_from(name: String) -> Result<Self, NameError> {
        Self::new(name)
    }
}

impl From<NoteName> for String {
    fn from(name: NoteName) -> String {
        name.0
    }
}

impl fmt::Display for NoteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        for good in [
            "a",
            "Groceries",
            "2024-05 plans",
            "naïve café",
            "a.b",
            "x*?[y]",
        ] {
            assert!(NoteName::new(good).is_ok(), "{good}");
        }
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        for (bad, why) in [
            ("", NameError::Empty),
            ("   ", NameError::Empty),
            (long.as_str(), NameError::TooLong(MAX_NAME_CHARS + 1)),
            ("a/b", NameError::Separator),
            ("a\\b", NameError::Separator),
            ("../x", NameError::Separator),
            ("..", NameError::Parent),
            ("a..b", NameError::Parent),
            (".hidden", NameError::Hidden),
            ("a\nb", NameError::Control),
            ("a\0b", NameError::Control),
            (" a", NameError::Padded),
            ("a ", NameError::Padded),
        ] {
            assert_eq!(NoteName::new(bad), Err(why), "{bad:?}");
        }
        assert!(NoteName::new("é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn file_names() {
        assert_eq!(
            NoteName::from_file_name("todo.md").map(String::from),
            Some("todo".to_owned())
        );
        assert_eq!(NoteName::from_file_name("todo.txt"), None);
        assert_eq!(NoteName::from_file_name(".x.md"), None);
        assert_eq!(NoteName::from_file_name(".md"), None);
    }

    #[test]
    fn deserialising_checks() {
        let refused = serde_json::from_str::<NoteName>(r#""../etc/passwd""#);
        assert!(refused.is_err());
        let name: NoteName = serde_json::from_str(r#""todo""#).expect("valid");
        assert_eq!(name.file_name(), "todo.md");
    }
}
