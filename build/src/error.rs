//! What a build produces, and why it fails.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Severity};
use crate::resolve::ResolvedAcl;

/// What a successful build produced.
#[derive(Debug)]
pub struct Output {
    /// The resolved ACL.
    pub acl: ResolvedAcl,
    /// The generated Rust file.
    pub rust: PathBuf,
    /// The generated JSON file.
    pub json: PathBuf,
    /// Warnings.
    pub diagnostics: Vec<Diagnostic>,
}

/// Why the build failed.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The files have problems; every one is listed.
    #[error("{}", render(diagnostics))]
    Invalid {
        /// The problems (and warnings).
        diagnostics: Vec<Diagnostic>,
    },
    /// A file or folder could not be read or written.
    #[error("gatehouse: {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Neither `OUT_DIR` nor [`Builder::out_dir`](crate::Builder::out_dir) says where to write.
    #[error(
        "gatehouse: no output folder: run from a build script (OUT_DIR) or set `Builder::out_dir`"
    )]
    NoOutDir,
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }
}

// `build().expect(…)` prints the error with `Debug`: make that the readable report.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{self}")
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let mut text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    text.push(format!(
        "gatehouse: {errors} error{} in the ACL files",
        if errors == 1 { "" } else { "s" }
    ));
    text.join("\n\n")
}
