//! `acl_toml` and `acl_json`: the build step's reading of permission and capability files,
//! then validation, resolution and code generation, all in memory.
//!
//! Input: UTF-8 text (the build reads files with `read_to_string`, so other bytes never reach
//! the parser). A line `%%` splits it into a permission file and a capability file; without
//! one, the whole text is both. Invariants: nothing panics, and every diagnostic that has a
//! position names one of the two files and a line and column inside it (a column may point
//! just past the end of its line, where a parser found the text ended).

use std::path::PathBuf;

use gatehouse_build::__fuzz;
use gatehouse_build::{Diagnostic, Source};

/// Which parser the file names select.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// `*.toml`.
    Toml,
    /// `*.json`.
    Json,
}

/// The commands the application (and the plugin `fuzz`) define.
const COMMANDS: [&str; 5] = [
    "read_note",
    "write_note",
    "list_notes",
    "delete_note",
    "greet",
];

/// Target platforms, one picked by the input's length.
const TARGETS: [&str; 3] = ["linux", "macOS", "windows"];

/// The target: see the module's documentation.
pub fn run(data: &[u8], format: Format) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (permissions, capabilities) = split(text);
    let extension = match format {
        Format::Toml => "toml",
        Format::Json => "json",
    };
    let permissions = Source {
        path: PathBuf::from(format!("permissions/fuzz.{extension}")),
        text: permissions.to_owned(),
    };
    let capabilities = Source {
        path: PathBuf::from(format!("capabilities/fuzz.{extension}")),
        text: capabilities.to_owned(),
    };

    let target = TARGETS[data.len() % TARGETS.len()];
    let (acl, rust, json, diagnostics) =
        __fuzz::check(&permissions, &capabilities, &COMMANDS, target);
    for d in &diagnostics {
        check(d, &[&permissions, &capabilities]);
    }
    assert!(!rust.is_empty() && !json.is_empty());
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
        panic!("the generated JSON is not JSON ({e}): {json}");
    }
    assert_eq!(acl.target, target);
}

fn split(text: &str) -> (&str, &str) {
    if let Some(rest) = text.strip_prefix("%%\n") {
        return ("", rest);
    }
    match text.find("\n%%\n") {
        Some(at) => (&text[..at + 1], &text[at + 4..]),
        None => (text, text),
    }
}

/// A diagnostic's position lies in the file it names, and it renders.
fn check(d: &Diagnostic, sources: &[&Source]) {
    let rendered = d.to_string();
    assert!(rendered.contains(&d.message));
    let Some((line, column)) = d.position else {
        return;
    };
    let Some(file) = &d.file else {
        panic!("a position without a file: {rendered}");
    };
    let Some(source) = sources.iter().find(|s| &s.path == file) else {
        // Diagnostics about Gatehouse's own files (core permissions) name those.
        assert!(
            file.to_string_lossy().starts_with('<'),
            "a diagnostic names an unknown file: {rendered}"
        );
        return;
    };
    let lines: Vec<&str> = source.text.split('\n').collect();
    assert!(
        line >= 1 && line <= lines.len(),
        "line {line} of a file of {} lines: {rendered}",
        lines.len()
    );
    let width = lines[line - 1].len();
    assert!(
        column >= 1 && column <= width + 1,
        "column {column} of a line of {width} bytes: {rendered}"
    );
}
