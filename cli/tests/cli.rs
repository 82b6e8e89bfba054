//! The `gatehouse` binary, run on the build step's fixture folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const APP_COMMANDS: &str = "list_notes,read_note,save_note,delete_note,export_notes";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../build/tests/fixtures")
        .join(name)
}

fn gatehouse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .output()
        .expect("the gatehouse binary runs")
}

/// `gatehouse <subcommand> …` on the tauri-style fixture, with its fs plugin and app commands.
fn tauri_style(subcommand: &[&str], target: &str) -> Output {
    let root = fixture("tauri-style");
    let plugin = format!("fs={}", root.join("plugins/fs/permissions").display());
    let root = root.display().to_string();
    let mut args = subcommand.to_vec();
    args.extend([
        "--root",
        &root,
        "--plugin",
        &plugin,
        "--commands",
        APP_COMMANDS,
        "--target",
        target,
    ]);
    gatehouse(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn explain_json(target: &str) -> Value {
    let out = tauri_style(&["explain", "--json"], target);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("explain --json prints JSON")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn check_passes_on_valid_files() {
    let out = tauri_style(&["check"], "linux");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(stderr.contains("gatehouse: ok"), "{stderr}");
}

#[test]
fn check_passes_without_plugin_commands_or_app_commands() {
    let root = fixture("tauri-style");
    let plugin = format!("fs={}", root.join("plugins/fs/permissions").display());
    let root = root.display().to_string();
    let out = gatehouse(&["check", "--root", &root, "--plugin", &plugin]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn check_reports_every_problem_with_its_position() {
    let root = fixture("broken").display().to_string();
    let out = gatehouse(&[
        "check",
        "--root",
        &root,
        "--commands",
        "read_note,list_notes",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for expected in [
        // Rendered: level and message, file:line:col, the line and a caret.
        "error: unknown permission `reed`",
        "capabilities/main.toml:5:17\n",
        "5 | permissions = [\"reed\", \"fss:default\", \"allow-read-note\", \"a\"]",
        "  |                 ^^^^\n",
        "= help: did you mean `read`?",
        "capabilities/syntax.json:4:37",
        "permissions/app.toml:4:24",
        "names command `raed_note`, which no code defines",
        "permission sets form a cycle",
        "warning: capability `nobody` applies to no caller",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let summary = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("gatehouse: ") && summary.contains(" errors and 2 warnings"),
        "{summary}"
    );
}

#[test]
fn warnings_alone_exit_zero() {
    let dir = temp_dir("warnings");
    std::fs::create_dir_all(dir.join("capabilities")).expect("temp dir");
    std::fs::write(
        dir.join("capabilities/nobody.toml"),
        "identifier = \"nobody\"\npermissions = []\n",
    )
    .expect("write");
    let out = gatehouse(&["check", "--root", &dir.display().to_string()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: capability `nobody` applies to no caller"),
        "{stderr}"
    );
    assert!(stderr.contains("capabilities/nobody.toml:1:15"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn explain_json_has_the_documented_shape() {
    let acl = explain_json("linux");
    let top: Vec<&str> = acl
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, ["commands", "globalScopes", "target"]);
    assert_eq!(acl["target"], "linux");

    let commands = acl["commands"].as_object().expect("commands by name");
    let names: Vec<&str> = commands.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "delete_note",
            "export_notes",
            "list_notes",
            "plugin:app|identifier",
            "plugin:app|name",
            "plugin:app|version",
            "plugin:event|emit",
            "plugin:event|emit_to",
            "plugin:event|listen",
            "plugin:event|unlisten",
            "plugin:fs|read_dir",
            "plugin:fs|read_file",
            "plugin:fs|write_file",
            "plugin:path|basename",
            "plugin:path|dirname",
            "plugin:path|extname",
            "plugin:path|is_absolute",
            "plugin:path|join",
            "plugin:path|normalize",
            "plugin:path|resolve",
            "plugin:path|resolve_directory",
            "read_note",
            "save_note"
        ],
        "every command, sorted (`core:default` grants the event, app and path built-ins)"
    );

    assert_eq!(
        acl["commands"]["plugin:fs|write_file"],
        json!([{
            "capability": "default",
            "effect": "allow",
            "windows": ["main"],
            "webviews": [],
            "local": true,
            "remote": [],
            "scope": {
                "allow": [{"path": "$DOCUMENT/notes/**"}],
                "deny": [{"path": "$DOCUMENT/notes/locked/**"}]
            }
        }])
    );
    // In capability file order: default.json, then viewers.json's two.
    let list: Vec<&str> = acl["commands"]["list_notes"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["capability"].as_str().expect("capability"))
        .collect();
    assert_eq!(list, ["default", "viewer", "site"]);
    let site = &acl["commands"]["list_notes"][2];
    assert_eq!(site["local"], false);
    assert_eq!(site["remote"], json!(["https://*.notes.example"]));
    assert_eq!(site["scope"], Value::Null);

    assert_eq!(
        acl["globalScopes"],
        json!({"fs": [{
            "capability": "default",
            "allow": [{"path": "$DOCUMENT/**"}],
            "deny": [{"path": "$DOCUMENT/.secrets/**"}]
        }]})
    );
}

#[test]
fn explain_json_lists_commands_nobody_grants_and_denials() {
    let dir = temp_dir("ungranted");
    std::fs::create_dir_all(dir.join("capabilities")).expect("temp dir");
    std::fs::write(
        dir.join("capabilities/main.toml"),
        "identifier = \"main\"\nwindows = [\"main\"]\npermissions = [\"allow-a\", \"deny-b\"]\n",
    )
    .expect("write");
    let root = dir.display().to_string();
    let out = gatehouse(&["explain", "--json", "--root", &root, "--commands", "a,b,c"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let acl: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(acl["commands"]["c"], json!([]));
    assert_eq!(acl["commands"]["b"][0]["effect"], "deny");
    assert_eq!(acl["commands"]["a"][0]["effect"], "allow");
    assert_eq!(acl["globalScopes"], json!({}));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn explain_table_mentions_every_capability() {
    let out = tauri_style(&["explain"], "android");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for capability in ["default", "mobile-only", "viewer", "site"] {
        assert!(
            stdout.contains(&format!("capability {capability} ")),
            "{capability} missing from:\n{stdout}"
        );
    }
    assert!(stdout.contains("deny      export_notes"), "{stdout}");
    // Columns are padded to the longest command name; compare words.
    let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        stdout.lines().map(words).any(|line| line
            == "allow plugin:fs|write_file scope allow [{\"path\":\"$DOCUMENT/notes/**\"}] deny [{\"path\":\"$DOCUMENT/notes/locked/**\"}]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("origins   remote https://*.notes.example (not local)"),
        "{stdout}"
    );
}

#[test]
fn explain_fails_with_diagnostics_on_broken_files() {
    let root = fixture("broken").display().to_string();
    let out = gatehouse(&["explain", "--root", &root]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("capabilities/main.toml:5:17"));
}

#[test]
fn the_target_selects_platform_specific_capabilities() {
    let capabilities = |acl: &Value| -> Vec<String> {
        let mut ids: Vec<String> = acl["commands"]
            .as_object()
            .expect("commands")
            .values()
            .flat_map(|entries| entries.as_array().expect("entries"))
            .map(|e| e["capability"].as_str().expect("capability").to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let android = explain_json("android");
    assert_eq!(android["target"], "android");
    assert!(capabilities(&android).contains(&"mobile-only".to_owned()));
    assert!(android["commands"]["export_notes"]
        .as_array()
        .expect("entries")
        .iter()
        .any(|e| e["capability"] == "mobile-only" && e["effect"] == "deny"));
    let linux = explain_json("linux");
    assert!(!capabilities(&linux).contains(&"mobile-only".to_owned()));

    let table = text(&tauri_style(&["explain"], "linux").stdout);
    assert!(!table.contains("mobile-only"), "{table}");
}

#[test]
fn a_bad_target_is_a_usage_error() {
    let out = tauri_style(&["check"], "beos");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid value 'beos' for '--target <TARGET>'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("linux, macOS, windows, android, iOS"),
        "{stderr}"
    );
}

#[test]
fn a_missing_plugin_folder_is_an_error() {
    let out = gatehouse(&["check", "--plugin", "fs=/no/such/folder"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/no/such/folder: no such folder"));
}

#[test]
fn schema_writes_two_json_schemas() {
    let dir = temp_dir("schema");
    let out = gatehouse(&["schema", "--out", &dir.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let (permissions, capabilities) = gatehouse_build::schemas();
    for (name, expected) in [
        ("permissions.schema.json", permissions),
        ("capability.schema.json", capabilities),
    ] {
        let path = dir.join(name);
        assert!(stdout.contains(&path.display().to_string()), "{stdout}");
        let written = std::fs::read_to_string(&path).expect("written");
        let schema: Value = serde_json::from_str(&written).expect("valid JSON");
        assert!(schema["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("json-schema.org")));
        assert_eq!(written, expected);
    }
    let _ = std::fs::remove_dir_all(dir);
}
