//! Reading permission and capability files, TOML or JSON, with positioned parse errors.

// A parse error is one diagnostic per file, built once; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Source, Span};
use crate::model::{Capability, PermissionFile};

/// The `*.toml` and `*.json` files of a folder and its subfolders, as Tauri reads
/// `permissions/**` and `capabilities/**`: other files (`reference.md`, …) are not read, nor is
/// anything in a folder named `schemas` (where Tauri keeps the JSON Schemas it generates).
/// Sorted, so that output does not depend on the order the file system lists them in. A
/// missing folder has no files.
pub(crate) fn files_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    // Deep enough for any real layout, and a stop for symbolic link loops.
    const MAX_DEPTH: usize = 32;
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    let mut stack = vec![(dir.to_owned(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                let schemas = path.file_name().is_some_and(|n| n == SCHEMAS_FOLDER);
                if depth < MAX_DEPTH && !schemas {
                    stack.push((path, depth + 1));
                }
            } else if path.is_file() && matches!(extension(&path), Some("toml" | "json")) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The folder Tauri writes JSON Schemas into, beside permission and capability files.
const SCHEMAS_FOLDER: &str = "schemas";

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

/// Parses a plugin's permission file as Tauri 2 does: keys it does not know are ignored rather
/// than refused, so that a plugin's folder as shipped loads. Each ignored key gets a warning
/// saying what it means for security. The application's own files stay strict
/// ([`permission_file`]).
pub(crate) fn plugin_permission_file(
    source: &Source,
    plugin: &str,
) -> Result<(PermissionFile, Vec<Diagnostic>), Diagnostic> {
    let strict = match parse::<PermissionFile>(source) {
        Ok(file) => return Ok((file, Vec::new())),
        Err(d) => d,
    };
    let loose: Option<serde_json::Value> = if extension(&source.path) == Some("json") {
        serde_json::from_str(&source.text).ok()
    } else {
        toml::from_str::<toml::Table>(&source.text)
            .ok()
            .and_then(|t| serde_json::to_value(t).ok())
    };
    let Some(mut value) = loose else {
        return Err(strict);
    };
    let mut ignored = Vec::new();
    strip_unknown(
        &mut value,
        PERMISSION_FILE_KEYS,
        None,
        &mut Vec::new(),
        &mut ignored,
    );
    if ignored.is_empty() {
        return Err(strict);
    }
    let file: PermissionFile = serde_json::from_value(value).map_err(|_| strict)?;
    let warnings = ignored
        .iter()
        .map(|(path, item)| ignored_key_warning(source, plugin, path, item.as_deref()))
        .collect();
    Ok((file, warnings))
}

/// A key a permission file may have, and the keys of the table (or of each table of the list)
/// under it; `None` where any value is accepted.
struct Key {
    name: &'static str,
    inner: Option<&'static [Key]>,
}

const fn leaf(name: &'static str) -> Key {
    Key { name, inner: None }
}

const fn table(name: &'static str, inner: &'static [Key]) -> Key {
    Key {
        name,
        inner: Some(inner),
    }
}

const ALLOW_DENY: &[Key] = &[leaf("allow"), leaf("deny")];
const PERMISSION_KEYS: &[Key] = &[
    leaf("identifier"),
    leaf("description"),
    table("commands", ALLOW_DENY),
    table("scope", ALLOW_DENY),
    leaf("platforms"),
];
const DEFAULT_KEYS: &[Key] = &[leaf("description"), leaf("permissions")];
const SET_KEYS: &[Key] = &[leaf("identifier"), leaf("description"), leaf("permissions")];
const PERMISSION_FILE_KEYS: &[Key] = &[
    leaf("$schema"),
    table("default", DEFAULT_KEYS),
    table("permission", PERMISSION_KEYS),
    table("set", SET_KEYS),
];

/// Removes the keys `level` does not list from `value` (a table, or a list of tables),
/// recording each as its path and the identifier of the item it is in.
fn strip_unknown(
    value: &mut serde_json::Value,
    level: &[Key],
    item: Option<&str>,
    path: &mut Vec<String>,
    ignored: &mut Vec<(String, Option<String>)>,
) {
    match value {
        serde_json::Value::Array(items) => {
            for value in items {
                strip_unknown(value, level, item, path, ignored);
            }
        }
        serde_json::Value::Object(map) => {
            let item = map
                .get("identifier")
                .and_then(|v| v.as_str())
                .or(item)
                .map(str::to_owned);
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                path.push(key.clone());
                match level.iter().find(|k| k.name == key) {
                    None => {
                        map.remove(&key);
                        ignored.push((path.join("."), item.clone()));
                    }
                    Some(known) => {
                        if let (Some(inner), Some(v)) = (known.inner, map.get_mut(&key)) {
                            strip_unknown(v, inner, item.as_deref(), path, ignored);
                        }
                    }
                }
                path.pop();
            }
        }
        _ => {}
    }
}

/// The warning for a key of a plugin's permission file that is ignored.
fn ignored_key_warning(
    source: &Source,
    plugin: &str,
    path: &str,
    item: Option<&str>,
) -> Diagnostic {
    let key = path.rsplit('.').next().unwrap_or(path);
    let span = match item {
        Some(item) => source.find_in(Some(item), key),
        None => top_level_key(source, key),
    };
    let scope = path.split('.').any(|k| k == "scope" || k == "deny");
    let meaning = if scope {
        "its values take no effect: a scope written here restricts nothing (Tauri 2 ignores it too, so a deny advertised here is not applied there either); to apply it, put it under a `[[permission]]` (one without commands is the plugin's global scope) and grant that permission in a capability"
    } else {
        "whatever it was meant to do, it does nothing (Tauri 2 ignores it too)"
    };
    Diagnostic::warning(
        source,
        span,
        format!("unknown key `{path}` in a permission file of plugin `{plugin}` is ignored"),
    )
    .help(meaning)
    .kind(crate::diagnostic::Kind::IgnoredKey)
}

/// Where a top-level key is written: `key = …`, `key.x = …`, `[key…]` or `[[key…]]` at the
/// start of a line (TOML), or `"key":` (JSON).
fn top_level_key(source: &Source, key: &str) -> Option<crate::diagnostic::Span> {
    let mut offset = 0;
    for line in source.text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let bare = trimmed.trim_start_matches('[');
        let brackets = trimmed.len() - bare.len();
        let bare = bare.trim_start_matches('"');
        let quote = usize::from(bare.len() < trimmed.len() - brackets);
        if let Some(rest) = bare.strip_prefix(key) {
            let next = rest.trim_start_matches('"').chars().next();
            if matches!(next, Some('.' | ']' | '=' | ' ' | '\t' | ':')) {
                let start = offset + indent + brackets + quote;
                return Some(crate::diagnostic::Span {
                    start,
                    end: start + key.len(),
                });
            }
        }
        offset += line.len();
    }
    source.find(key, 0)
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
