//! `gatehouse diff`: each kind of privilege gain and loss between two versions of the files,
//! the exit code of `--fail-on-gain`, the Markdown for pull requests, and `--git A..B`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn gatehouse(args: &[&str], dir: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command
        .args(args)
        .output()
        .expect("the gatehouse binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-diff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The base version: a main window that reads documents in a scope, a viewer, a site.
const PERMISSIONS: &str = r#"
[[permission]]
identifier = "read-docs"
commands.allow = ["read_file"]
[[permission.scope.allow]]
path = "$DOCS/**"
[[permission.scope.deny]]
path = "$DOCS/private/**"

[[permission]]
identifier = "docs-root"
[[permission.scope.allow]]
path = "$DOCS"
"#;

const MAIN: &str = r#"
identifier = "main"
windows = ["main", "viewer-*"]
permissions = ["read-docs", "docs-root", "allow-save", "deny-delete"]
"#;

const SITE: &str = r#"
identifier = "site"
windows = ["main"]
local = false
remote = { urls = ["https://app.example.com"] }
permissions = ["allow-list"]
"#;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    }
}

/// Writes the base version and the base with `changes` (path, text; an empty text removes
/// the file), and diffs them as JSON for linux.
fn diff(name: &str, changes: &[(&str, &str)]) -> Vec<(String, String, bool, String)> {
    let dir = temp_dir(name);
    let base = [
        ("permissions/app.toml", PERMISSIONS),
        ("capabilities/main.toml", MAIN),
        ("capabilities/site.toml", SITE),
    ];
    let (old, new) = (dir.join("old"), dir.join("new"));
    write(&old, &base);
    write(&new, &base);
    for (path, text) in changes {
        if text.is_empty() {
            std::fs::remove_file(new.join(path)).expect("remove");
        } else {
            write(&new, &[(path, text)]);
        }
    }
    let out = gatehouse(
        &[
            "diff",
            &old.display().to_string(),
            &new.display().to_string(),
            "--format",
            "json",
            "--target",
            "linux",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let _ = std::fs::remove_dir_all(&dir);
    report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["capability"].as_str().unwrap_or_default().to_owned(),
                c["change"].as_str().unwrap_or_default().to_owned(),
                c["gain"].as_bool().unwrap_or_default(),
                c["subject"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn change(
    capability: &str,
    kind: &str,
    gain: bool,
    subject: &str,
) -> (String, String, bool, String) {
    (capability.into(), kind.into(), gain, subject.into())
}

#[test]
fn no_change_is_no_change() {
    assert_eq!(diff("same", &[]), []);
}

#[test]
fn capabilities_added_and_removed() {
    let added = diff(
        "cap-added",
        &[(
            "capabilities/tools.toml",
            "identifier = \"tools\"\nwindows = [\"tools\"]\npermissions = [\"allow-export\"]\n",
        )],
    );
    assert_eq!(
        added,
        [
            change("tools", "capability-added", true, "windows tools; local"),
            change("tools", "command-allowed", true, "`export`"),
        ]
    );
    let removed = diff("cap-removed", &[("capabilities/site.toml", "")]);
    assert_eq!(
        removed,
        [
            change(
                "site",
                "capability-removed",
                false,
                "windows main; remote https://app.example.com"
            ),
            change("site", "command-no-longer-allowed", false, "`list`"),
        ]
    );
}

#[test]
fn window_globs_widened_and_narrowed() {
    let widened = diff(
        "glob-widened",
        &[(
            "capabilities/main.toml",
            &MAIN.replace(
                "[\"main\", \"viewer-*\"]",
                "[\"main\", \"view*\", \"viewer-2\"]",
            ),
        )],
    );
    // `view*` matches labels `viewer-*` did not (and all those it did: no narrowing);
    // `viewer-2` is inside `view*`.
    assert_eq!(
        widened,
        [change(
            "main",
            "window-glob-widened",
            true,
            "window `view*`"
        )]
    );
    let narrowed = diff(
        "glob-narrowed",
        &[(
            "capabilities/main.toml",
            &MAIN.replace("[\"main\", \"viewer-*\"]", "[\"main\", \"viewer-1\"]"),
        )],
    );
    assert_eq!(
        narrowed,
        [change(
            "main",
            "window-glob-narrowed",
            false,
            "window `viewer-*`"
        )]
    );
}

#[test]
fn remote_and_local_grants() {
    let changes = diff(
        "remote",
        &[(
            "capabilities/site.toml",
            &SITE
                .replace("local = false", "local = true")
                .replace("\"https://app.example.com\"", "\"https://*.example.com\""),
        )],
    );
    assert_eq!(
        changes,
        [
            change("site", "local-added", true, ""),
            change("site", "remote-added", true, "`https://*.example.com`"),
            change("site", "remote-removed", false, "`https://app.example.com`"),
        ]
    );
}

#[test]
fn commands_and_denies() {
    let changes = diff(
        "commands",
        &[(
            "capabilities/main.toml",
            &MAIN.replace(
                "\"allow-save\", \"deny-delete\"",
                "\"allow-delete\", \"deny-save\"",
            ),
        )],
    );
    assert_eq!(
        changes,
        [
            change("main", "command-allowed", true, "`delete`"),
            change("main", "command-no-longer-allowed", false, "`save`"),
            change("main", "deny-removed", true, "`delete`"),
            change("main", "deny-added", false, "`save`"),
        ]
    );
}

#[test]
fn scopes_widened_and_narrowed() {
    let changes = diff(
        "scopes",
        &[(
            "permissions/app.toml",
            &PERMISSIONS
                .replace("$DOCS/private/**", "$DOCS/secret/**")
                .replace("path = \"$DOCS\"\n", "path = \"$HOME\"\n"),
        )],
    );
    assert_eq!(
        changes,
        [
            change(
                "main",
                "scope-widened",
                true,
                "global scope of the application allows {\"path\":\"$HOME\"}"
            ),
            change(
                "main",
                "scope-narrowed",
                false,
                "global scope of the application no longer allows {\"path\":\"$DOCS\"}"
            ),
            change(
                "main",
                "scope-deny-removed",
                true,
                "`read_file` no longer denies {\"path\":\"$DOCS/private/**\"}"
            ),
            change(
                "main",
                "scope-deny-added",
                false,
                "`read_file` denies {\"path\":\"$DOCS/secret/**\"}"
            ),
        ]
    );
    // An inline extension in a capability widens the command's scope.
    let extended = diff(
        "extension",
        &[(
            "capabilities/main.toml",
            &MAIN.replace(
                "\"read-docs\"",
                "{ identifier = \"read-docs\", allow = [{ path = \"$HOME/**\" }] }",
            ),
        )],
    );
    assert_eq!(
        extended,
        [change(
            "main",
            "scope-widened",
            true,
            "`read_file` allows {\"path\":\"$HOME/**\"}"
        )]
    );
}

/// Two versions whose only change is a new remote grant, for the exit-code and format tests.
fn gained(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let (old, new) = (dir.join("old"), dir.join("new"));
    write(&old, &[("capabilities/site.toml", SITE)]);
    write(
        &new,
        &[(
            "capabilities/site.toml",
            &SITE.replace(
                "\"https://app.example.com\"",
                "\"https://app.example.com\", \"https://*\"",
            ),
        )],
    );
    (dir, old, new)
}

#[test]
fn fail_on_gain_fails_only_on_gains() {
    let (dir, old, new) = gained("fail");
    let (old, new) = (old.display().to_string(), new.display().to_string());
    let out = gatehouse(&["diff", &old, &new, "--fail-on-gain"], None);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("+ GAIN  new remote grant: `https://*`"),
        "{text}"
    );
    // The other way round, only losses: success.
    let out = gatehouse(&["diff", &new, &old, "--fail-on-gain"], None);
    assert_eq!(out.status.code(), Some(0));
    // Without the flag, a gain is reported and the exit is 0.
    assert_eq!(
        gatehouse(&["diff", &old, &new], None).status.code(),
        Some(0)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn markdown_for_pull_requests() {
    let (dir, old, new) = gained("markdown");
    let out = gatehouse(
        &[
            "diff",
            &old.display().to_string(),
            &new.display().to_string(),
            "--format",
            "markdown",
        ],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("### Gatehouse ACL diff\n"), "{text}");
    assert!(
        text.contains("**Review needed** — 1 privilege gain, 0 losses."),
        "{text}"
    );
    assert!(
        text.contains("| ⚠️ gain | `site` | new remote grant: `https://*` |"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn changes_on_some_platforms_say_which() {
    let dir = temp_dir("platforms");
    let (old, new) = (dir.join("old"), dir.join("new"));
    write(
        &old,
        &[
            ("capabilities/main.toml", MAIN),
            ("permissions/app.toml", PERMISSIONS),
        ],
    );
    write(
        &new,
        &[
            ("capabilities/main.toml", MAIN),
            ("permissions/app.toml", PERMISSIONS),
            (
                "capabilities/phone.toml",
                "identifier = \"phone\"\nwindows = [\"main\"]\nplatforms = [\"android\", \"iOS\"]\npermissions = [\"allow-scan\"]\n",
            ),
        ],
    );
    let out = gatehouse(
        &[
            "diff",
            &old.display().to_string(),
            &new.display().to_string(),
        ],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("+ GAIN  command allowed: `scan` (on android, iOS)"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_revisions_of_a_repository() {
    let repo = temp_dir("git");
    git(&repo, &["init", "-q"]);
    write(
        &repo,
        &[
            ("app/capabilities/main.toml", MAIN),
            ("app/permissions/app.toml", PERMISSIONS),
        ],
    );
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    write(
        &repo,
        &[(
            "app/capabilities/main.toml",
            &MAIN.replace("[\"main\", \"viewer-*\"]", "[\"*\"]"),
        )],
    );
    git(&repo, &["commit", "-q", "-am", "two"]);
    let out = gatehouse(
        &["diff", "--git", "HEAD~1..HEAD", "app", "--target", "linux"],
        Some(&repo),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("+ GAIN  widened window glob: window `*`"),
        "{text}"
    );
    let out = gatehouse(&["diff", "--git", "nope"], Some(&repo));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected A..B"));
    let _ = std::fs::remove_dir_all(repo);
}
