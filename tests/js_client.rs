//! The JavaScript client's own tests (`client/test/*.test.mjs`, Node's built-in test runner
//! against a fake WebSocket), run as part of `cargo test`. The real-browser tests of the notes
//! example exercise the same client against the real transport.

use std::path::Path;
use std::process::Command;

#[test]
fn javascript_client_unit_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(root.join("client/test"))
        .expect("client/test exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no JavaScript tests found");
    let output = Command::new("node")
        .arg("--test")
        .args(&files)
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `node` ({e}): install Node.js (the CI script `.ci/run` does)")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "JavaScript client tests failed:\n{stdout}\n{stderr}"
    );
    // The runner's summary: every test passed and none was skipped.
    assert!(stdout.contains("# fail 0"), "{stdout}");
    assert!(stdout.contains("# skipped 0"), "{stdout}");
    assert!(!stdout.contains("# pass 0\n"), "{stdout}");
}
