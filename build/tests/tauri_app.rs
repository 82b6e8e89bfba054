//! A Tauri 2 application's files, laid out as real ones are (`fixtures/tauri-app`), resolve to
//! what Tauri 2 resolves them to. Each test is one difference between Gatehouse and Tauri that
//! used to fail the build, and fails on the code before the fix:
//!
//! - `core:*` permissions are Tauri's whole catalogue;
//! - capabilities for other platforms are not held against the plugins linked for this one;
//! - `permissions/**` and `capabilities/**` are read recursively (TOML and JSON only, nothing
//!   in `schemas/`);
//! - a broken set that no capability reaches is a warning;
//! - `<plugin>:default` of a plugin without one is an empty grant;
//! - an unknown key in a plugin's permission file is ignored, loudly;
//! - a plugin's set may name another plugin's permission.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gatehouse_build::{Builder, Checked, Diagnostic, Plugin, Severity};

fn app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tauri-app")
}

/// Tauri plugins export no command list: their permission files say what they allow.
fn plugin(name: &str) -> Plugin {
    Plugin {
        name: name.into(),
        permissions: app().join(format!("plugins/tauri-plugin-{name}/permissions")),
        commands: Vec::new(),
    }
}

fn builder(target: &str) -> Builder {
    Builder::new()
        .root(app().join("src-tauri"))
        .plugin(plugin("clipboard"))
        .plugin(plugin("sync"))
        .plugins_from_dependencies(false)
        .target(target)
        .emit_cargo_directives(false)
}

fn check(target: &str) -> Checked {
    builder(target).check().expect("the files can be read")
}

fn errors(checked: &Checked) -> Vec<String> {
    checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect()
}

fn warnings<'c>(checked: &'c Checked, needle: &str) -> Vec<&'c Diagnostic> {
    checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.message.contains(needle))
        .collect()
}

fn allowed<'c>(checked: &'c Checked, capability: &str) -> BTreeSet<&'c str> {
    checked
        .acl
        .capabilities
        .iter()
        .find(|c| c.identifier == capability)
        .unwrap_or_else(|| panic!("no capability `{capability}`"))
        .allow
        .iter()
        .map(String::as_str)
        .collect()
}

#[test]
fn the_application_resolves_without_errors_on_desktop() {
    let checked = check("linux");
    assert_eq!(errors(&checked), Vec::<String>::new());
    let ids: Vec<&str> = checked
        .acl
        .capabilities
        .iter()
        .map(|c| c.identifier.as_str())
        .collect();
    // `mobile.json` is for phones; `windows/viewer.toml` is read from its subfolder.
    assert_eq!(ids, ["default", "viewer"]);
}

#[test]
fn core_permissions_are_tauris_catalogue() {
    let checked = check("linux");
    let main = allowed(&checked, "default");
    let mut expected: BTreeSet<String> = gatehouse_build::tauri_core::served_commands()
        .into_iter()
        .collect();
    expected.extend(
        [
            "greet",
            "save_note",
            "plugin:clipboard|read_text",
            "plugin:sync|push",
        ]
        .map(String::from),
    );
    let expected: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(main, expected);
    // `core:window:allow-set-title` is known, grants nothing, and is said so once per
    // capability, together with what `core:default` names that Gatehouse does not serve.
    let unserved = warnings(&checked, "Tauri built-ins not provided by Gatehouse");
    assert_eq!(unserved.len(), 1, "{unserved:#?}");
    assert_eq!(
        unserved[0].message,
        "capability `default` names Tauri built-ins not provided by Gatehouse, which grant nothing here: `core:default` (77 commands), `core:window:allow-set-title`"
    );
    assert_eq!(unserved[0].position.map(|p| p.0), Some(3));
    let viewer = allowed(&checked, "viewer");
    assert!(viewer.contains("plugin:event|listen") && viewer.contains("plugin:app|version"));
    assert!(!viewer.contains("plugin:app|name"));

    // A `core:` identifier Tauri does not have is an error, with a suggestion.
    let dir = copy_of_app("core-typo");
    let path = dir.join("src-tauri/capabilities/windows/viewer.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace("core:event:default", "core:window:allow-set-titel"),
    )
    .expect("write");
    let checked = builder("linux")
        .root(dir.join("src-tauri"))
        .check()
        .expect("readable");
    let errors = errors(&checked);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("unknown permission `core:window:allow-set-titel`")
            && errors[0].contains("did you mean `core:window:allow-set-title`?"),
        "{}",
        errors[0]
    );
}

#[test]
fn capabilities_for_other_platforms_are_not_held_against_this_ones_plugins() {
    // On linux, `mobile.json` names a plugin that is not linked: nothing to report.
    let checked = check("linux");
    assert!(
        !checked
            .diagnostics
            .iter()
            .any(|d| d.message.contains("barcode-scanner")),
        "{:#?}",
        checked.diagnostics
    );
    // On android, it applies, and the plugin is missing: an error, as in Tauri.
    let errors = errors(&check("android"));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("unknown plugin `barcode-scanner`"));
}

#[test]
fn folders_are_read_recursively_and_only_permission_files_are_read() {
    let checked = check("linux");
    // `autogenerated/commands/read_text.toml` defines `allow-read-text`; `reference.md` and
    // `schemas/schema.json` (which is no permission file) are not read.
    assert!(allowed(&checked, "default").contains("plugin:clipboard|read_text"));
    let read: Vec<String> = checked
        .read_paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        read.iter()
            .any(|p| p.ends_with("capabilities/windows/viewer.toml")),
        "{read:#?}"
    );
    assert!(!checked
        .diagnostics
        .iter()
        .any(|d| d.location().is_some_and(|l| l.contains("schema"))));
}

/// `(severity, line, message)` of every diagnostic in the clipboard plugin's `default.toml`.
fn in_clipboard_default(checked: &Checked) -> Vec<(Severity, usize, String)> {
    checked
        .diagnostics
        .iter()
        .filter(|d| {
            d.file
                .as_deref()
                .is_some_and(|f| f.ends_with("tauri-plugin-clipboard/permissions/default.toml"))
        })
        .map(|d| (d.severity, d.position.map_or(0, |p| p.0), d.message.clone()))
        .collect()
}

#[test]
fn a_broken_set_no_capability_reaches_is_a_warning_and_an_error_once_reached() {
    let checked = check("linux");
    let found: Vec<_> = in_clipboard_default(&checked)
        .into_iter()
        .filter(|(_, _, m)| m.starts_with("unknown p"))
        .collect();
    assert_eq!(
        found,
        [
            (
                Severity::Warning,
                20,
                "unknown permission `allow-read-txt`".to_owned()
            ),
            (
                Severity::Warning,
                20,
                "unknown plugin `missing` in `missing:allow-thing`".to_owned()
            ),
        ]
    );
    let unused = checked
        .diagnostics
        .iter()
        .find(|d| d.message == "unknown permission `allow-read-txt`")
        .expect("reported");
    let help = unused.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("did you mean `clipboard:allow-read-text`?")
            && help.contains("no capability for `linux` reaches `clipboard:unused`"),
        "{unused}"
    );
    // Once a capability names the set, both are errors.
    let dir = copy_of_app("reached");
    let path = dir.join("src-tauri/capabilities/windows/viewer.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace("\"clipboard:allow-read-text\"", "\"clipboard:unused\""),
    )
    .expect("write");
    let checked = builder("linux")
        .root(dir.join("src-tauri"))
        .check()
        .expect("readable");
    let errors: Vec<String> = in_clipboard_default(&checked)
        .into_iter()
        .filter(|(s, _, _)| *s == Severity::Error)
        .map(|(_, _, m)| m)
        .collect();
    assert_eq!(
        errors,
        [
            "unknown permission `allow-read-txt`",
            "unknown plugin `missing` in `missing:allow-thing`"
        ]
    );
}

#[test]
fn the_default_of_a_plugin_without_one_grants_nothing() {
    let checked = check("linux");
    let missing = warnings(&checked, "has no default set");
    assert_eq!(missing.len(), 1, "{missing:#?}");
    assert_eq!(
        missing[0].message,
        "plugin `sync` has no default set: `sync:default` grants nothing"
    );
    assert_eq!(
        missing[0]
            .location()
            .as_deref()
            .map(|l| l.ends_with("capabilities/default.json:12:6")),
        Some(true),
        "{}",
        missing[0]
    );
    // What `default` grants of `sync` comes from `clipboard:with-sync` alone.
    let dir = copy_of_app("sync-default");
    let path = dir.join("src-tauri/capabilities/default.json");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("    \"clipboard:with-sync\",\n", "")).expect("write");
    let checked = builder("linux")
        .root(dir.join("src-tauri"))
        .check()
        .expect("readable");
    assert_eq!(errors(&checked), Vec::<String>::new());
    assert!(!allowed(&checked, "default").contains("plugin:sync|push"));
}

#[test]
fn an_unknown_key_in_a_plugin_file_is_ignored_loudly_and_is_an_error_in_the_apps() {
    let checked = check("linux");
    let ignored = warnings(&checked, "unknown key");
    assert_eq!(ignored.len(), 1, "{ignored:#?}");
    let d = ignored[0];
    assert_eq!(
        d.message,
        "unknown key `scope` in a permission file of plugin `clipboard` is ignored"
    );
    assert_eq!(d.position, Some((9, 3)), "{d}");
    assert!(
        d.help
            .as_deref()
            .is_some_and(|h| h.contains("a scope written here restricts nothing")),
        "{d}"
    );
    // The deny is not applied anywhere: no global scope for the clipboard.
    assert!(checked
        .acl
        .capabilities
        .iter()
        .all(|c| !c.global_scopes.contains_key("clipboard")));
    // In the application's own files, the same key is an error, as before.
    let dir = copy_of_app("app-key");
    let path = dir.join("src-tauri/permissions/notes.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, format!("{text}\n[[scope.deny]]\npath = \"$HOME\"\n")).expect("write");
    let checked = builder("linux")
        .root(dir.join("src-tauri"))
        .check()
        .expect("readable");
    // (The file does not load, so the capability naming its `write-notes` fails too.)
    let errors = errors(&checked);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("unknown field `scope`")
            && errors[0].contains("permissions/notes.toml:7:3"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_plugins_set_may_name_another_plugins_permission() {
    let checked = check("linux");
    assert!(allowed(&checked, "default").contains("plugin:sync|push"));
}

/// A copy of the fixture application to change, under the temporary folder.
fn copy_of_app(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-tauri-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy(&app(), &dir);
    dir
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("read folder").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// The catalogue's "served" marks and the runtime's built-in commands agree: a router over an
/// ACL naming every command marked served needs no command of the application's.
#[test]
fn the_runtime_serves_what_the_catalogue_says_it_serves() {
    let router = |commands: Vec<String>| {
        let acl = gatehouse::Acl::builder()
            .commands(commands)
            .build()
            .expect("valid ACL");
        gatehouse::Router::builder(acl).build()
    };
    let served = gatehouse_build::tauri_core::served_commands();
    assert_eq!(served.len(), 15);
    if let Err(e) = router(served) {
        panic!("{e}");
    }
    assert!(router(vec!["plugin:window|set_title".to_owned()]).is_err());
}
