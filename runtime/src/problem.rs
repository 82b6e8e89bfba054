//! How the runtime's collected errors display, in the same shape as `gatehouse-acl`'s.

use std::fmt;

pub(crate) use gatehouse_acl::AclProblem;

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

/// ` (did you mean `x`?)`, or nothing.
pub(crate) fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}
