//! `gatehouse port` on a fixture Tauri application: a `src-tauri` whose plugins are local path
//! dependencies (found with `cargo metadata`, without network), and on one that needs no
//! manual change.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../build/tests/fixtures/tauri-app/src-tauri")
}

fn port(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("port")
        .args(args)
        .output()
        .expect("the gatehouse binary runs")
}

#[test]
fn the_report_says_what_moves_and_what_to_write() {
    let dir = app().display().to_string();
    let out = port(&[&dir, "--target", "linux"]);
    let text = String::from_utf8_lossy(&out.stdout);
    // Plugins need their commands served: a manual change.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "gatehouse port: `tauri-app`",
        // Found through `cargo metadata`, shown relative to the application.
        "tauri-plugin-clipboard → `clipboard:…`, permissions: ../plugins/tauri-plugin-clipboard/permissions",
        "tauri-plugin-sync → `sync:…`, permissions: ../plugins/tauri-plugin-sync/permissions",
        "Resolves as in Tauri 2:\n  default: 19 commands allowed, 0 denied\n  viewer: 6 commands allowed, 0 denied",
        "[Tauri built-in without a webview here] capability `default` names Tauri built-ins not provided by Gatehouse",
        "[the plugin has no default set] plugin `sync` has no default set",
        "[key Tauri ignores too] unknown key `scope` in a permission file of plugin `clipboard` is ignored",
        "[not reached by any capability for this target] unknown permission `allow-read-txt`",
        "every window may call `export_all`",
        "permissions: \"../plugins/tauri-plugin-clipboard/permissions\".into(),",
        "gatehouse-build = \"0.1\"",
        ".manage(gatehouse::AppInfo::new(",
        "serve the commands of `tauri-plugin-sync` that capabilities grant (plugin:sync|push)",
        "grant the application commands every window could call in Tauri, where they are needed: `allow-export-all`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // `mobile.json` is for phones: nothing about its plugin on linux.
    assert!(!text.contains("barcode"), "{text}");
}

#[test]
fn the_json_report_is_for_tools() {
    let dir = app().display().to_string();
    let out = port(&[&dir, "--target", "linux", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["ready"], false);
    assert_eq!(report["package"], "tauri-app");
    let plugins: Vec<&str> = report["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(plugins, ["clipboard", "sync"]);
    assert_eq!(report["plugins"][1]["granted"][0], "plugin:sync|push");
    assert_eq!(report["capabilities"][0]["identifier"], "default");
    assert!(report["files"]["build.rs"]
        .as_str()
        .is_some_and(|b| b.contains("gatehouse_build::Builder::new()")));
    assert_eq!(report["ignored"].as_array().map(Vec::len), Some(5));
}

#[test]
fn an_application_that_needs_nothing_by_hand_exits_zero() {
    let dir = std::env::temp_dir().join(format!("gatehouse-port-ready-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in [
        (
            "Cargo.toml",
            "[package]\nname = \"ready\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        ),
        (
            "src/main.rs",
            "#[tauri::command]\nfn greet(name: String) -> String { name }\nfn main() {}\n",
        ),
        (
            "tauri.conf.json",
            "{\"productName\": \"ready\", \"identifier\": \"com.example.ready\"}",
        ),
        (
            "capabilities/default.json",
            r#"{"identifier": "default", "windows": ["main"],
                "permissions": ["core:event:default", "core:path:default", "core:app:allow-name", "allow-greet"]}"#,
        ),
    ] {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    }
    let out = port(&[&dir.display().to_string(), "--target", "linux"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Ready: no manual change needed."), "{text}");
    assert!(text.contains("(no tauri-plugin-* dependency)"), "{text}");
    assert!(text.contains("\"com.example.ready\""), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_folder_without_cargo_toml_is_an_error() {
    let dir = std::env::temp_dir();
    let out = port(&[&dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Cargo.toml"));
}
