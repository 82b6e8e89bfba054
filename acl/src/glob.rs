//! Globs over caller labels (`main`, `editor-*`), parsed once into tokens.
//!
//! The syntax and the matching are those of the `glob` crate's `Pattern` with its default
//! options, which Tauri 2 uses for the same lists: `?` is one character, `*` any run of
//! characters (`/` included), `[abc]`, `[a-z]` and `[!abc]` are character classes, and `**` as a
//! whole `/`-separated component matches nothing, anything ending in `/`, or everything up to
//! the end when the rest of the glob matches nothing. `/` is the only
//! separator on every platform. A property test holds this module to the `glob` crate.

use std::borrow::Cow;
use std::fmt;

use crate::acl::{List, Text};
use crate::problem::PatternError;

/// A glob over caller labels, parsed: what a capability's `windows` and `webviews` hold.
///
/// [`LabelGlob::new`] parses the text once; matching walks the tokens and never re-parses.
/// `gatehouse-build` writes the tokens into the generated tables ([`LabelGlob::from_static`]),
/// so an application never parses a glob at all.
#[derive(Clone)]
pub struct LabelGlob {
    source: Text,
    tokens: List<GlobToken>,
}

/// One token of a parsed [`LabelGlob`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GlobToken {
    /// These characters, exactly.
    Literal(Text),
    /// `?`: any one character.
    AnyChar,
    /// `*`: any run of characters, the empty one included.
    AnySequence,
    /// `**` as a whole component: nothing, or any run of characters that ends in `/`.
    AnyComponents,
    /// `[…]` (or, `negated`, `[!…]`): one character in (or not in) one of the inclusive ranges;
    /// a single character `c` is the range `(c, c)`.
    Class {
        /// Whether the class is `[!…]`.
        negated: bool,
        /// The inclusive ranges.
        ranges: List<(char, char)>,
    },
}

impl LabelGlob {
    /// Parses `pattern`.
    ///
    /// # Errors
    ///
    /// Why the glob is invalid, as the `glob` crate would refuse it: `***`, `**` that is not a
    /// whole component, or a `[` that opens no valid class.
    pub fn new(pattern: impl Into<Text>) -> Result<Self, PatternError> {
        let source = pattern.into();
        let tokens = parse(&source)?;
        Ok(Self {
            source,
            tokens: Cow::Owned(tokens),
        })
    }

    /// A glob already parsed into `tokens`, as `gatehouse-build` writes it; `source` is the
    /// text it was parsed from, for messages. The tokens are trusted as they are.
    pub const fn from_static(source: &'static str, tokens: &'static [GlobToken]) -> Self {
        Self {
            source: Cow::Borrowed(source),
            tokens: Cow::Borrowed(tokens),
        }
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The parsed tokens.
    pub fn tokens(&self) -> &[GlobToken] {
        &self.tokens
    }

    /// Whether `label` matches the whole glob.
    pub fn matches(&self, label: &str) -> bool {
        // A glob without wildcards is the common case: one comparison.
        match &*self.tokens {
            [] => return label.is_empty(),
            [GlobToken::Literal(text)] => return text == label,
            _ => {}
        }
        matches(&self.tokens, label)
    }
}

impl fmt::Debug for LabelGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LabelGlob").field(&self.source).finish()
    }
}

impl fmt::Display for LabelGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Two globs are equal when they are written the same: the tokens follow from the text.
impl PartialEq for LabelGlob {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for LabelGlob {}

impl PartialEq<str> for LabelGlob {
    fn eq(&self, other: &str) -> bool {
        self.source == other
    }
}

impl PartialEq<&str> for LabelGlob {
    fn eq(&self, other: &&str) -> bool {
        self.source == *other
    }
}

/// The text as written, so that lists of them join (`windows.join(", ")`) as strings do.
impl std::borrow::Borrow<str> for LabelGlob {
    fn borrow(&self) -> &str {
        &self.source
    }
}

impl AsRef<str> for LabelGlob {
    fn as_ref(&self) -> &str {
        &self.source
    }
}

impl serde::Serialize for LabelGlob {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

const ERROR_WILDCARDS: &str = "wildcards are either regular `*` or recursive `**`";
const ERROR_RECURSIVE: &str = "recursive wildcards must form a single path component";
const ERROR_RANGE: &str = "invalid range pattern";

fn error(position: usize, message: &str) -> PatternError {
    PatternError::new(format!("{message} (at character {position})"))
}

fn parse(pattern: &str) -> Result<Vec<GlobToken>, PatternError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    let push = |tokens: &mut Vec<GlobToken>, literal: &mut String, token: GlobToken| {
        if !literal.is_empty() {
            tokens.push(GlobToken::Literal(Cow::Owned(std::mem::take(literal))));
        }
        tokens.push(token);
    };
    while i < chars.len() {
        match chars[i] {
            '?' => {
                push(&mut tokens, &mut literal, GlobToken::AnyChar);
                i += 1;
            }
            '*' => {
                let start = i;
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
                match i - start {
                    1 => push(&mut tokens, &mut literal, GlobToken::AnySequence),
                    2 => {
                        // `**` must be a whole component: at the start or after `/`, and at the
                        // end or before `/` (which it then takes as its own).
                        if start > 0 && chars[start - 1] != '/' {
                            return Err(error(start - 1, ERROR_RECURSIVE));
                        }
                        if i < chars.len() {
                            if chars[i] != '/' {
                                return Err(error(i, ERROR_RECURSIVE));
                            }
                            i += 1;
                        }
                        push(&mut tokens, &mut literal, GlobToken::AnyComponents);
                    }
                    _ => return Err(error(start + 2, ERROR_WILDCARDS)),
                }
            }
            '[' => {
                // `[!…]` needs one character before its `]`, `[…]` one too: a `]` right after
                // the opening is a member, not the end.
                let negated = chars.get(i + 1) == Some(&'!');
                let first = if negated { i + 2 } else { i + 1 };
                let long_enough = if negated {
                    i + 4 <= chars.len()
                } else {
                    i + 3 <= chars.len()
                };
                let close = long_enough
                    .then(|| chars[first + 1..].iter().position(|&c| c == ']'))
                    .flatten();
                let Some(offset) = close else {
                    return Err(error(i, ERROR_RANGE));
                };
                let end = first + 1 + offset;
                let ranges = class(&chars[first..end]);
                push(
                    &mut tokens,
                    &mut literal,
                    GlobToken::Class {
                        negated,
                        ranges: Cow::Owned(ranges),
                    },
                );
                i = end + 1;
            }
            c => {
                literal.push(c);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        tokens.push(GlobToken::Literal(Cow::Owned(literal)));
    }
    Ok(tokens)
}

/// The members of a class: `a-z` is a range, anything else one character.
fn class(members: &[char]) -> Vec<(char, char)> {
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < members.len() {
        if i + 3 <= members.len() && members[i + 1] == '-' {
            ranges.push((members[i], members[i + 2]));
            i += 3;
        } else {
            ranges.push((members[i], members[i]));
            i += 1;
        }
    }
    ranges
}

/// Whether `tokens` match all of `text`, in time proportional to tokens × bytes.
///
/// `next[j]` says whether the tokens after the current one match `text[j..]`; each token is
/// folded in from the last to the first. Only offsets at character boundaries are ever true.
fn matches(tokens: &[GlobToken], text: &str) -> bool {
    let n = text.len();
    let mut next = vec![false; n + 1];
    next[n] = true;
    let mut current = vec![false; n + 1];
    for token in tokens.iter().rev() {
        // For `**`: whether a run from the boundary just after `j` can end in a `/` behind
        // which the rest matches.
        let mut run = false;
        for j in (0..=n).rev() {
            let Some(rest) = text.get(j..) else {
                current[j] = false;
                continue;
            };
            let first = rest.chars().next();
            let after = |c: char| j + c.len_utf8();
            let value = match token {
                GlobToken::Literal(literal) => {
                    rest.starts_with(&**literal) && next[j + literal.len()]
                }
                GlobToken::AnyChar => first.is_some_and(|c| next[after(c)]),
                GlobToken::Class { negated, ranges } => first.is_some_and(|c| {
                    let within = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                    within != *negated && next[after(c)]
                }),
                // Nothing, or one more character and still this token.
                GlobToken::AnySequence => next[j] || first.is_some_and(|c| current[after(c)]),
                // Nothing, a run ending in `/`, or (as the `glob` crate has it) the rest of
                // the text when nothing need follow.
                GlobToken::AnyComponents => {
                    run = first.is_some_and(|c| c == '/' && next[j + 1] || run);
                    next[j] || run || next[n]
                }
            };
            current[j] = value;
        }
        std::mem::swap(&mut next, &mut current);
    }
    next[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> LabelGlob {
        LabelGlob::new(p.to_owned()).expect("valid glob")
    }

    #[test]
    fn literals_stars_and_classes() {
        assert!(glob("main").matches("main"));
        assert!(!glob("main").matches("main2"));
        assert!(glob("editor-*").matches("editor-1"));
        assert!(glob("editor-*").matches("editor-"));
        assert!(!glob("editor-*").matches("editor"));
        assert!(glob("*").matches(""));
        assert!(glob("w?").matches("w1"));
        assert!(!glob("w?").matches("w"));
        assert!(glob("[a-c]x").matches("bx"));
        assert!(!glob("[!a-c]x").matches("bx"));
        assert!(glob("[]]").matches("]"));
        assert!(glob("[!]]").matches("a"));
        assert!(glob("a/**/b").matches("a/b"));
        assert!(glob("a/**/b").matches("a/x/y/b"));
        assert!(!glob("a/**/b").matches("a/xb"));
        assert!(glob("**").matches("anything/at/all"));
        assert!(glob("é*").matches("été"));
    }

    #[test]
    fn invalid_globs_say_why() {
        for bad in ["main[", "***", "a**", "**a", "[!]", "[]"] {
            assert!(LabelGlob::new(bad).is_err(), "{bad}");
        }
    }
}
