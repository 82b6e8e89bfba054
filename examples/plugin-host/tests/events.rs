//! Events reach only the plugin whose grants let it listen.

mod support;

use plugin_host::protocol::SEEN;
use plugin_host::{Host, KvChanged, KV_CHANGED, PYTHON_PLUGIN, RUST_PLUGIN};
use serde_json::json;
use support::{bounded, python_plugin, rust_plugin, Stderr, LIMIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_only_the_listening_plugin() {
    let host = Host::new().expect("host");
    let python = host
        .spawn(PYTHON_PLUGIN, python_plugin(&[]))
        .expect("python3 starts");
    let python_err = Stderr::collect(&python);
    bounded("python ready", host.wait_ready(&python, LIMIT))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", python_err.text()));
    let rust = host
        .spawn(RUST_PLUGIN, rust_plugin(&[]))
        .expect("the Rust plugin starts");
    let rust_err = Stderr::collect(&rust);
    bounded("rust ready", host.wait_ready(&rust, LIMIT))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", rust_err.text()));

    // The Rust plugin's attempt to listen was refused, as itself.
    assert!(
        host.journal()
            .entries()
            .iter()
            .any(|e| e.caller == RUST_PLUGIN
                && e.detail == "refused plugin:event|listen: code=-32001 caller=rust-plugin"),
        "{}",
        rust_err.text()
    );

    // Its write reached the watcher as an event, and the watcher read the new value.
    let read = host
        .journal()
        .wait_for(LIMIT, |e| {
            e.caller == PYTHON_PLUGIN && e.command == "kv_get" && e.detail == "greeting"
        })
        .await;
    assert!(read.is_some(), "{}", python_err.text());

    // One listener in all: the watcher's.
    let change = KvChanged {
        key: "motd".to_owned(),
        by: "core".to_owned(),
    };
    assert_eq!(host.router().emit(KV_CHANGED, &change).expect("emit"), 1);
    assert_eq!(
        host.router()
            .emit_to(RUST_PLUGIN, KV_CHANGED, &change)
            .expect("emit_to"),
        0
    );
    let only_python = KvChanged {
        key: "only-python".to_owned(),
        by: "core".to_owned(),
    };
    assert_eq!(
        host.router()
            .emit_to(PYTHON_PLUGIN, KV_CHANGED, &only_python)
            .expect("emit_to"),
        1
    );

    // Events and the core's call travel the same pipe, in order: by the time the watcher
    // answers, it has seen all three.
    let seen: Vec<KvChanged> = bounded("plugin.seen", python.call(SEEN, json!({})))
        .await
        .expect("the watcher answers");
    assert_eq!(
        seen,
        [
            KvChanged {
                key: "greeting".to_owned(),
                by: RUST_PLUGIN.to_owned()
            },
            change,
            only_python
        ],
        "{}",
        python_err.text()
    );

    let (rust_exit, python_exit) = bounded("shutdown", async {
        tokio::join!(rust.shutdown(), python.shutdown())
    })
    .await;
    assert!(rust_exit.success(), "{rust_exit}\n{}", rust_err.text());
    assert!(
        python_exit.success(),
        "{python_exit}\n{}",
        python_err.text()
    );
    // A plugin that is gone has no listener left.
    assert_eq!(host.router().emit(KV_CHANGED, &"after").expect("emit"), 0);
}
