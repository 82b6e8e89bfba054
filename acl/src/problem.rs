//! What can be wrong with an ACL, reported together, with the closest known name for typos.

use std::fmt;

/// Every problem found in an ACL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AclError {
    /// The problems, in the order they were found.
    pub problems: Vec<AclProblem>,
}

impl AclError {
    pub(crate) fn check(problems: Vec<AclProblem>) -> Result<(), AclError> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AclError { problems })
        }
    }
}

impl fmt::Display for AclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_problems(f, "invalid ACL", &self.problems)
    }
}

/// `title (N problems)` and one problem a line: how every collected-errors type displays.
pub(crate) fn write_problems<P: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    problems: &[P],
) -> fmt::Result {
    let plural = if problems.len() == 1 { "" } else { "s" };
    write!(f, "{title} ({} problem{plural})", problems.len())?;
    for p in problems {
        write!(f, "\n  - {p}")?;
    }
    Ok(())
}

/// Why a label glob or a URL pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PatternError {
    message: String,
}

impl PatternError {
    pub(crate) fn new(message: String) -> Self {
        Self { message }
    }

    /// What is wrong, and what to write instead.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// One problem in an ACL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AclProblem {
    /// A capability names a command that is not in the universe.
    #[error(
        "capability `{capability}` names unknown command `{command}`{}",
        did_you_mean(suggestion)
    )]
    UnknownCommand {
        /// The capability.
        capability: String,
        /// The unknown name.
        command: String,
        /// The closest known command, if one is close.
        suggestion: Option<String>,
    },
    /// Two capabilities share an identifier.
    #[error("capability identifier `{capability}` is used twice")]
    DuplicateCapability {
        /// The identifier.
        capability: String,
    },
    /// A label glob does not compile.
    #[error("capability `{capability}` has an invalid label glob `{pattern}`: {message}")]
    InvalidGlob {
        /// The capability.
        capability: String,
        /// The glob as written.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
    /// A remote URL pattern does not compile.
    #[error("capability `{capability}` has an invalid URL pattern `{pattern}`: {message}")]
    InvalidUrlPattern {
        /// The capability.
        capability: String,
        /// The pattern as written.
        pattern: String,
        /// Why it is invalid.
        message: String,
    },
    /// The command universe of a static ACL is not sorted and unique.
    #[error("commands `{first}` and `{second}` are out of order or repeated in the command list")]
    UnsortedCommands {
        /// The earlier name.
        first: String,
        /// The later name.
        second: String,
    },
    /// A bit set of a static ACL refers past the end of the universe.
    #[error(
        "capability `{capability}` refers to command id {id}, but there are only {len} commands"
    )]
    IdOutOfRange {
        /// The capability.
        capability: String,
        /// The id.
        id: usize,
        /// The universe size.
        len: usize,
    },
}

pub(crate) fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        // A difference of case alone is the likeliest typo of all.
        .map(|c| {
            (
                if c.eq_ignore_ascii_case(name) {
                    0
                } else {
                    edit_distance(name, c)
                },
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(
            closest("gret", ["greet", "add"].into_iter()),
            Some("greet".into())
        );
        assert_eq!(closest("xyz", ["greet", "add"].into_iter()), None);
    }
}
