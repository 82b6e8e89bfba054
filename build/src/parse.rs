//! Reading permission and capability files, TOML or JSON, with positioned parse errors.

// A parse error is one diagnostic per file, built once; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Source, Span};
use crate::model::{Capability, PermissionFile};

/// The `*.toml` and `*.json` files of a folder, sorted so that output does not depend on the
/// order the file system lists them in. A missing folder has no files.
pub(crate) fn files_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && matches!(extension(&path), Some("toml" | "json")) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn extension(path: &Path) -> Option<&str> {
    path.extension().and_then(|e| e.to_str())
}

/// Reads a file into a [`Source`].
pub(crate) fn read(path: &Path) -> io::Result<Source> {
    Ok(Source {
        path: path.to_owned(),
        text: std::fs::read_to_string(path)?,
    })
}

/// Parses a file as `T`, by its extension.
fn parse<T: DeserializeOwned>(source: &Source) -> Result<T, Diagnostic> {
    if extension(&source.path) == Some("json") {
        serde_json::from_str(&source.text).map_err(|e| {
            let start = json_offset(&source.text, e.line(), e.column());
            let span = Span {
                start,
                end: start + 1,
            };
            Diagnostic::error(source, Some(span), json_message(&e))
        })
    } else {
        toml::from_str(&source.text).map_err(|e| {
            let span = e.span().map(|r| Span {
                start: r.start,
                end: r.end.max(r.start + 1),
            });
            Diagnostic::error(source, span, e.message().trim().to_owned())
        })
    }
}

/// The byte offset of serde_json's position. Its columns count bytes, and are 0 where nothing
/// of the line was read (an empty file, the end after a newline); positions built from the
/// offset count characters from 1, as TOML's do.
fn json_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut offset = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Parses a permission file.
pub(crate) fn permission_file(source: &Source) -> Result<PermissionFile, Diagnostic> {
    parse(source)
}

/// Parses a capability file: one capability, a list (JSON array), or `capabilities = [ … ]`.
pub(crate) fn capability_file(source: &Source) -> Result<Vec<Capability>, Diagnostic> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Many {
        #[serde(rename = "$schema", default)]
        _schema: Option<String>,
        capabilities: Vec<Capability>,
    }
    // Decide the shape on a loose parse, then parse strictly as that shape, so that errors
    // point at the real mistake instead of "matches no variant".
    let is_json = extension(&source.path) == Some("json");
    let shape = if is_json {
        match serde_json::from_str::<serde_json::Value>(&source.text) {
            Ok(serde_json::Value::Array(_)) => Shape::List,
            Ok(serde_json::Value::Object(map)) if map.contains_key("capabilities") => Shape::Many,
            _ => Shape::One,
        }
    } else {
        match toml::from_str::<toml::Table>(&source.text) {
            Ok(table) if table.contains_key("capabilities") => Shape::Many,
            _ => Shape::One,
        }
    };
    match shape {
        Shape::List => parse::<Vec<Capability>>(source),
        Shape::Many => parse::<Many>(source).map(|m| m.capabilities),
        Shape::One => parse::<Capability>(source).map(|c| vec![c]),
    }
}

enum Shape {
    One,
    List,
    Many,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, text: &str) -> Source {
        Source {
            path: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn capability_shapes() {
        let one = source(
            "a.toml",
            "identifier = \"x\"\nwindows = [\"main\"]\npermissions = [\"p\"]\n",
        );
        assert_eq!(capability_file(&one).expect("valid").len(), 1);
        let many = source(
            "b.toml",
            "[[capabilities]]\nidentifier = \"x\"\npermissions = []\n[[capabilities]]\nidentifier = \"y\"\npermissions = []\n",
        );
        assert_eq!(capability_file(&many).expect("valid").len(), 2);
        let list = source(
            "c.json",
            r#"[{"identifier":"x","permissions":[]},{"identifier":"y","permissions":["a:b"]}]"#,
        );
        assert_eq!(capability_file(&list).expect("valid").len(), 2);
        let wrapped = source(
            "d.json",
            r#"{"capabilities":[{"identifier":"x","permissions":[]}]}"#,
        );
        assert_eq!(capability_file(&wrapped).expect("valid").len(), 1);
    }

    #[test]
    fn parse_errors_point_at_the_mistake() {
        let bad = source("e.toml", "identifier = \"x\"\npermisions = []\n");
        let d = capability_file(&bad).expect_err("invalid");
        assert_eq!(d.position.map(|p| p.0), Some(2), "{d}");
        assert!(d.message.contains("permisions"), "{d}");
        let bad = source(
            "f.json",
            "{\n  \"identifier\": \"x\",\n  \"permissions\": [1]\n}",
        );
        let d = capability_file(&bad).expect_err("invalid");
        assert_eq!(d.position.map(|p| p.0), Some(3), "{d}");
    }

    /// Found by the `acl_json` fuzz target: serde_json says column 0 where nothing of the line
    /// was read, and counts columns in bytes.
    #[test]
    fn json_positions_are_inside_the_file_and_count_characters() {
        let d = permission_file(&source("empty.json", "")).expect_err("invalid");
        assert_eq!(d.position, Some((1, 1)), "{d}");
        let d = permission_file(&source("open.json", "{\n")).expect_err("invalid");
        assert_eq!(d.position, Some((2, 1)), "{d}");
        let d =
            capability_file(&source("u.json", "{\"identifier\": \"é\" x}")).expect_err("invalid");
        assert_eq!(d.position, Some((1, 20)), "{d}");
        assert!(d.to_string().ends_with("\n  |                    ^"), "{d}");
    }
}
