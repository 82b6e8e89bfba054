//! The build step on fixture folders: realistic Tauri-style files resolve to the expected
//! grants, and a folder full of mistakes reports every one of them, with positions, at once.

use std::path::{Path, PathBuf};

use gatehouse_build::{Builder, Error, Plugin, Severity};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-build-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn tauri_style(target: &str) -> Builder {
    let root = fixture("tauri-style");
    Builder::new()
        .root(&root)
        .discover_commands(false)
        .commands([
            "list_notes",
            "read_note",
            "save_note",
            "delete_note",
            "export_notes",
        ])
        .plugin(Plugin {
            name: "fs".into(),
            permissions: root.join("plugins/fs/permissions"),
            commands: vec!["read_file".into(), "write_file".into(), "read_dir".into()],
        })
        .plugins_from_dependencies(false)
        .target(target)
        .out_dir(out_dir(&format!("tauri-{target}")))
        .emit_cargo_directives(false)
}

#[test]
fn tauri_style_files_resolve_unchanged() {
    let output = tauri_style("linux").build().expect("valid files");
    let acl = &output.acl;
    assert_eq!(
        acl.commands,
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
        ]
    );
    // The built-in event, app and path commands join because `core:default` grants them, as
    // in Tauri; an application that names no `core:` permission has none of them.
    let ids: Vec<&str> = acl
        .capabilities
        .iter()
        .map(|c| c.identifier.as_str())
        .collect();
    assert_eq!(
        ids,
        ["default", "viewer", "site"],
        "mobile-only is not for linux"
    );
    let main = &acl.capabilities[0];
    let allowed: Vec<&str> = main.allow.iter().map(String::as_str).collect();
    assert_eq!(
        allowed,
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
        ]
    );
    assert!(main.deny.is_empty());
    // The inline extension scopes the permission's command; `scope-docs` has no command, so its
    // values are the plugin's global scope.
    let write = &main.scopes["plugin:fs|write_file"];
    assert_eq!(
        write.allow,
        [serde_json::json!({"path": "$DOCUMENT/notes/**"})]
    );
    assert_eq!(
        write.deny,
        [serde_json::json!({"path": "$DOCUMENT/notes/locked/**"})]
    );
    let global = &main.global_scopes["fs"];
    assert_eq!(global.allow, [serde_json::json!({"path": "$DOCUMENT/**"})]);
    assert_eq!(
        global.deny,
        [serde_json::json!({"path": "$DOCUMENT/.secrets/**"})]
    );
    let site = &acl.capabilities[2];
    assert!(!site.local);
    assert_eq!(site.remote, ["https://*.notes.example"]);
    let viewer: Vec<&str> = acl.capabilities[1]
        .allow
        .iter()
        .map(String::as_str)
        .collect();
    // `core:default` is Tauri's: of its 92 commands, Gatehouse serves event, path and three
    // of app; the others grant nothing, with one warning per capability.
    let core = gatehouse_build::tauri_core::served_commands();
    let mut expected: Vec<&str> = core.iter().map(String::as_str).collect();
    expected.extend(["list_notes", "plugin:fs|read_file", "read_note"]);
    expected.sort_unstable();
    assert_eq!(viewer, expected);
    let unserved: Vec<&str> = output
        .diagnostics
        .iter()
        .filter(|d| {
            d.message
                .contains("Tauri built-ins not provided by Gatehouse")
        })
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        unserved,
        [
            "capability `default` names Tauri built-ins not provided by Gatehouse, which grant nothing here: `core:default` (77 commands)",
            "capability `viewer` names Tauri built-ins not provided by Gatehouse, which grant nothing here: `core:default` (77 commands)",
        ]
    );

    let rust = std::fs::read_to_string(&output.rust).expect("generated");
    assert!(rust.starts_with("// @generated by gatehouse-build"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output.json).expect("generated"))
            .expect("JSON");
    assert_eq!(json["capabilities"][0]["identifier"], "default");
}

#[test]
fn platform_specific_permissions_and_capabilities() {
    let acl = tauri_style("android").build().expect("valid files").acl;
    let mobile = acl
        .capabilities
        .iter()
        .find(|c| c.identifier == "mobile-only")
        .expect("on android");
    assert!(mobile.deny.contains("export_notes"));
}

#[test]
fn unchanged_inputs_give_byte_identical_output() {
    let first = tauri_style("linux").build().expect("valid");
    let a = std::fs::read(&first.rust).expect("read");
    let b_out = tauri_style("linux")
        .out_dir(out_dir("again"))
        .build()
        .expect("valid");
    let b = std::fs::read(&b_out.rust).expect("read");
    assert_eq!(a, b);
    assert_eq!(
        std::fs::read(&first.json).expect("read"),
        std::fs::read(&b_out.json).expect("read")
    );
}

#[test]
fn every_problem_is_reported_together_with_its_position() {
    let err = Builder::new()
        .root(fixture("broken"))
        .discover_commands(false)
        .commands(["read_note", "list_notes"])
        .plugins_from_dependencies(false)
        .target("linux")
        .out_dir(out_dir("broken"))
        .emit_cargo_directives(false)
        .build()
        .expect_err("broken files");
    let Error::Invalid { diagnostics } = &err else {
        panic!("{err}")
    };
    let report = err.to_string();
    let expect = |needle: &str| {
        assert!(
            diagnostics.iter().any(|d| d.to_string().contains(needle)),
            "missing {needle:?} in:\n{report}"
        );
    };
    // Parse error, with its line.
    expect("capabilities/syntax.json:4:");
    // Unknown command in a permission, with a suggestion.
    expect("permission `read` names command `raed_note`, which no code defines");
    expect("did you mean `read_note`?");
    // Unknown platform.
    expect("unknown platform `macos`");
    expect("did you mean `macOS`?");
    // Duplicate identifier.
    expect("duplicate identifier `read`");
    // A cycle among sets.
    expect("permission sets form a cycle: a → b → a");
    // Unknown permission in a set and in a capability, with suggestions.
    expect("unknown permission `allow-lst-notes`");
    expect("did you mean `allow-list-notes`?");
    expect("unknown permission `reed`");
    // Unknown plugin.
    expect("unknown plugin `fss` in `fss:default`");
    // Invalid glob and URL pattern.
    expect("invalid label glob `main[`");
    expect("invalid URL pattern `::::`");
    // Warnings: both lists, and a capability for nobody.
    expect("lists both `windows` and `webviews`");
    expect("capability `nobody` applies to no caller");
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    assert_eq!(errors, 10, "{report}");
    // Positions are real: the caret line shows the offending token.
    let unknown = diagnostics
        .iter()
        .find(|d| d.message == "unknown permission `reed`")
        .expect("reported");
    assert_eq!(unknown.position, Some((5, 17)), "{unknown}");
    assert!(unknown.to_string().contains("^^^^"), "{unknown}");
}

fn tie(mode: gatehouse_build::Tie) -> Result<gatehouse_build::Output, Error> {
    Builder::new()
        .root(fixture("tie"))
        .plugins_from_dependencies(false)
        .target("linux")
        .tie(mode)
        .out_dir(out_dir(&format!("tie-{mode:?}")))
        .emit_cargo_directives(false)
        .build()
}

#[test]
fn code_and_acl_are_tied_in_both_directions() {
    let err = tie(gatehouse_build::Tie::Deny).expect_err("the tie is broken both ways");
    let report = err.to_string();
    // A command in `commands![…]` that no capability grants: named, with the file and line.
    assert!(report.contains("command `orphan.command` is listed in `commands![…]` but no capability grants it to anyone"), "{report}");
    assert!(report.contains("src/main.rs:11"), "{report}");
    // A permission naming a command no code defines: named, with the file.
    assert!(
        report.contains("permission `ghostly` names command `ghost`, which no code defines"),
        "{report}"
    );
    assert!(report.contains("permissions/app.toml:3:20"), "{report}");
    // The opt-out turns both into warnings, and the build goes through.
    let output = tie(gatehouse_build::Tie::Warn).expect("warnings only");
    assert_eq!(
        output
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count(),
        2
    );
    assert_eq!(output.acl.commands, ["greet", "orphan.command"]);
}

#[test]
fn core_event_permissions_are_tauris() {
    let root = out_dir("core-event");
    std::fs::create_dir_all(root.join("capabilities")).expect("dir");
    std::fs::create_dir_all(root.join("permissions")).expect("dir");
    std::fs::write(
        root.join("capabilities/main.toml"),
        r#"
identifier = "main"
windows = ["main"]
permissions = ["core:event:allow-listen", "core:event:allow-unlisten", "allow-save"]
"#,
    )
    .expect("write");
    std::fs::write(
        root.join("capabilities/viewer.json"),
        r#"{"identifier": "viewer", "windows": ["viewer"],
            "permissions": ["core:event:default", "core:event:deny-emit"]}"#,
    )
    .expect("write");
    let output = Builder::new()
        .root(&root)
        .discover_commands(false)
        .commands(["save"])
        .plugins_from_dependencies(false)
        .out_dir(out_dir("core-event-out"))
        .emit_cargo_directives(false)
        .build()
        .expect("valid files");
    let acl = &output.acl;
    assert_eq!(
        acl.commands,
        [
            "plugin:event|emit",
            "plugin:event|emit_to",
            "plugin:event|listen",
            "plugin:event|unlisten",
            "save"
        ]
    );
    let names =
        |set: &std::collections::BTreeSet<String>| -> Vec<String> { set.iter().cloned().collect() };
    assert_eq!(
        names(&acl.capabilities[0].allow),
        ["plugin:event|listen", "plugin:event|unlisten", "save"]
    );
    assert_eq!(names(&acl.capabilities[1].deny), ["plugin:event|emit"]);

    // A misspelt core permission is reported with a suggestion.
    std::fs::write(
        root.join("capabilities/main.toml"),
        r#"
identifier = "main"
windows = ["main"]
permissions = ["core:event:allow-lsten", "allow-save"]
"#,
    )
    .expect("write");
    let error = Builder::new()
        .root(&root)
        .discover_commands(false)
        .commands(["save"])
        .plugins_from_dependencies(false)
        .out_dir(out_dir("core-event-out"))
        .emit_cargo_directives(false)
        .build()
        .expect_err("unknown permission");
    let text = error.to_string();
    assert!(
        text.contains("unknown permission `core:event:allow-lsten`"),
        "{text}"
    );
    assert!(
        text.contains("did you mean `core:event:allow-listen`?"),
        "{text}"
    );
}
