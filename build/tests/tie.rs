//! The code–ACL tie through a real `cargo build` of a fixture crate: the build fails, naming the
//! command and the file, in both directions; the opt-out turns both into warnings.

use std::path::Path;
use std::process::Command;

fn cargo_build(warn: bool) -> (bool, String) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tie-crate");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tie-crate");
    // The workspace's lock file, so the fixture builds the same dependency versions, offline
    // when they are already here.
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    std::fs::create_dir_all(&target).expect("target dir");
    std::fs::copy(&lock, fixture.join("Cargo.lock")).expect("copy the lock file");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(fixture.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS");
    if warn {
        cmd.env("TIE_WARN", "1");
    }
    let output = cmd.output().expect("cargo runs");
    let _ = std::fs::remove_file(fixture.join("Cargo.lock"));
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
