//! A plugin is the label the core spawned it under: whatever it writes cannot make it another
//! one, and what its grants refuse never runs.

mod support;

use plugin_host::{Host, PYTHON_PLUGIN, RUST_PLUGIN};
use support::{bounded, python_plugin, Stderr, LIMIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_plugin_cannot_pass_as_the_rust_plugin() {
    let host = Host::new().expect("host");
    let python = host
        .spawn(PYTHON_PLUGIN, python_plugin(&[]))
        .expect("python3 starts (set PYTHON to another interpreter)");
    let stderr = Stderr::collect(&python);
    bounded("ready", host.wait_ready(&python, LIMIT))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", stderr.text()));

    // Every attempt — extra members in the request, an extra argument, a made-up method — was
    // refused, and the refusal named the caller the core resolved, `python-plugin`.
    let journal = host.journal();
    let reports: Vec<String> = journal
        .entries()
        .into_iter()
        .filter(|e| e.command == "log")
        .map(|e| e.detail)
        .collect();
    assert_eq!(
        reports,
        [
            "refused kv_set: code=-32001 caller=python-plugin",
            "refused kv_set: code=-32001 caller=python-plugin",
            "refused kv_set: code=-32001 caller=python-plugin",
            "refused rust-plugin|kv_set: code=-32601 caller=-",
        ],
        "{}",
        stderr.text()
    );
    // The refused command never ran, for anyone, and the store is untouched.
    assert_eq!(journal.count_command("kv_set"), 0);
    assert_eq!(host.store().get("note"), None);
    // Everything that did run ran as python-plugin.
    assert!(
        journal.entries().iter().all(|e| e.caller == PYTHON_PLUGIN),
        "{:?}",
        journal.entries()
    );
    assert_eq!(journal.count(PYTHON_PLUGIN, "host_info"), 1);

    // The plugin's own verdict: `host_info` named it `python-plugin`, each refusal was as
    // expected.
    let exit = bounded("shutdown", python.shutdown()).await;
    assert!(exit.success(), "{exit}\n{}", stderr.text());
}

/// The same program spawned under another label has that label's grants: identity is the pipe
/// the core created, not anything about the program.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_label_is_the_one_the_core_chose() {
    let host = Host::new().expect("host");
    let python = host
        .spawn(RUST_PLUGIN, python_plugin(&[]))
        .expect("python3 starts");
    let stderr = Stderr::collect(&python);
    stderr.wait_for("ready: waiting", &python).await;

    let journal = host.journal();
    assert_eq!(journal.count(RUST_PLUGIN, "host_info"), 1);
    assert!(stderr.text().contains("the core calls me `rust-plugin`"));
    // As `rust-plugin` it may write: the plain attempt and the one with extra envelope members
    // ran (the one with an unknown argument is refused by the argument check).
    assert_eq!(journal.count(RUST_PLUGIN, "kv_set"), 2, "{}", stderr.text());
    assert_eq!(journal.count(PYTHON_PLUGIN, "kv_set"), 0);
    assert!(stderr
        .text()
        .contains("listen kv-changed: refused (-32001: command `plugin:event|listen` is not allowed for caller `rust-plugin`"));

    // The script expected to be python-plugin, so it reports surprises.
    let exit = bounded("shutdown", python.shutdown()).await;
    assert!(!exit.success(), "{exit}");
}

/// A label that no capability names may call nothing — not even `ready`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_without_capabilities_runs_nothing() {
    let host = Host::new().expect("host");
    let python = host
        .spawn("stranger", python_plugin(&[]))
        .expect("python3 starts");
    let stderr = Stderr::collect(&python);
    stderr.wait_for("ready: waiting", &python).await;
    assert!(host.journal().is_empty(), "{:?}", host.journal().entries());
    assert!(stderr
        .text()
        .contains("host_info: unexpectedly refused (-32001"));
    let exit = bounded("shutdown", python.shutdown()).await;
    assert!(!exit.success(), "{exit}");
}
