//! The code–ACL tie through a real `cargo build` of a fixture crate: the build fails, naming the
//! command and the file, in both directions; the opt-out turns both into warnings.

use std::path::Path;
use std::process::Command;

fn cargo_build(warn: bool) -> (bool, String) {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Build a copy, so the test writes nothing into the source tree: the fixture's files, its
    // manifest with the path to this crate made absolute, and the workspace's lock file, so the
    // same dependency versions are built (offline when they are already here).
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tie-crate");
    let fixture = manifest_dir.join("tests/fixtures/tie-crate");
    for dir in ["src", "permissions", "capabilities"] {
        std::fs::create_dir_all(work.join(dir)).expect("work dir");
    }
    for file in [
        "build.rs",
        "src/main.rs",
        "permissions/app.toml",
        "capabilities/main.toml",
    ] {
        std::fs::copy(fixture.join(file), work.join(file)).expect("copy the fixture");
    }
    let manifest = std::fs::read_to_string(fixture.join("Cargo.toml"))
        .expect("fixture manifest")
        .replace(
            "\"../../..\"",
            &format!("{:?}", manifest_dir.display().to_string()),
        );
    std::fs::write(work.join("Cargo.toml"), manifest).expect("write manifest");
    std::fs::copy(manifest_dir.join("../Cargo.lock"), work.join("Cargo.lock")).expect("lock file");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(work.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", work.join("target"))
        .env_remove("RUSTFLAGS");
    if warn {
        cmd.env("TIE_WARN", "1");
    }
    let output = cmd.output().expect("cargo runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn cargo_build_reports_both_directions_of_the_tie() {
    let (ok, stderr) = cargo_build(false);
    assert!(!ok, "the build must fail:\n{stderr}");
    assert!(
        stderr.contains(
            "command `orphan` is listed in `commands![…]` but no capability grants it to anyone"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("src/main.rs:"), "{stderr}");
    assert!(
        stderr.contains("permission `ghostly` names command `ghost`, which no code defines"),
        "{stderr}"
    );
    assert!(stderr.contains("permissions/app.toml:3:20"), "{stderr}");

    let (ok, stderr) = cargo_build(true);
    assert!(ok, "with the opt-out the build succeeds:\n{stderr}");
    assert!(
        stderr.contains("warning: command `orphan` is listed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: permission `ghostly` names command `ghost`"),
        "{stderr}"
    );
}
