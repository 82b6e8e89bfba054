//! A build with nothing changed does nothing: a real application (a build script, a capability,
//! no `permissions/` folder) built twice with cargo is entirely `Fresh` the second time — no
//! build script run, no crate compiled.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A copy of the fixture (whose second capability holds every kind of glob token and URL
/// pattern part, so the generated tables for each compile and match as they should), so that the test writes nothing into the source tree: its files, its
/// manifest with the paths to this workspace made absolute, and the workspace's lock file, so
/// that the same dependency versions are built.
fn fixture() -> PathBuf {
    let build_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = build_dir.parent().expect("the workspace root");
    let fixture = build_dir.join("tests/fixtures/noop-app");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("noop-app");
    // A `permissions/` folder left by an earlier run would hide the case under test.
    let _ = std::fs::remove_dir_all(work.join("permissions"));
    for dir in ["src", "capabilities"] {
        std::fs::create_dir_all(work.join(dir)).expect("work dir");
    }
    for file in [
        "build.rs",
        "src/main.rs",
        "capabilities/main.toml",
        "capabilities/editors.toml",
    ] {
        std::fs::copy(fixture.join(file), work.join(file)).expect("copy the fixture");
    }
    let manifest = std::fs::read_to_string(fixture.join("Cargo.toml"))
        .expect("fixture manifest")
        .replace(
            "\"../../../..\"",
            &format!("{:?}", workspace.display().to_string()),
        )
        .replace(
            "\"../../..\"",
            &format!("{:?}", build_dir.display().to_string()),
        );
    std::fs::write(work.join("Cargo.toml"), manifest).expect("write manifest");
    std::fs::copy(workspace.join("Cargo.lock"), work.join("Cargo.lock")).expect("lock file");
    work
}

/// `cargo <subcommand> -v`: its output (cargo reports on stderr) and how long it took.
fn cargo(subcommand: &str, work: &Path) -> (String, Duration) {
    let start = Instant::now();
    let output = Command::new(env!("CARGO"))
        .arg(subcommand)
        .arg("-v")
        .arg("--manifest-path")
        .arg(work.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", work.join("target"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "`cargo {subcommand}` fails:\n{stderr}"
    );
    (stderr, elapsed)
}

#[test]
fn a_second_build_with_nothing_changed_is_fresh() {
    let work = fixture();
    assert!(!work.join("permissions").exists());
    // The application checks its own grants when it runs.
    cargo("run", &work);
    let (stderr, elapsed) = cargo("build", &work);
    println!("second build: {elapsed:?}");
    let busy: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("Compiling") || l.starts_with("Running") || l.starts_with("Dirty")
        })
        .collect();
    assert!(
        busy.is_empty(),
        "the second build did work:\n{}\n\nfull output:\n{stderr}",
        busy.join("\n")
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.trim_start().starts_with("Fresh noop-fixture")),
        "{stderr}"
    );
}
