//! Both plugins speak the length-prefixed framing too, when the core and the plugin agree on it.

mod support;

use gatehouse::stdio::Framing;
use plugin_host::protocol::{SEEN, WORDCOUNT};
use plugin_host::{Host, KvChanged, WordCount, PYTHON_PLUGIN, RUST_PLUGIN};
use serde_json::json;
use support::{bounded, python_plugin, rust_plugin, Stderr, LIMIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_plugins_speak_length_prefixed_frames() {
    let host = Host::new().expect("host");
    let framed = |label| Host::builder(label).framing(Framing::LengthPrefixed);
    let python = host
        .spawn_with(
            framed(PYTHON_PLUGIN),
            python_plugin(&["--framing", "length-prefixed"]),
        )
        .expect("python3 starts");
    let python_err = Stderr::collect(&python);
    bounded("python ready", host.wait_ready(&python, LIMIT))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", python_err.text()));
    let rust = host
        .spawn_with(
            framed(RUST_PLUGIN),
            rust_plugin(&["--framing", "length-prefixed"]),
        )
        .expect("the Rust plugin starts");
    let rust_err = Stderr::collect(&rust);
    bounded("rust ready", host.wait_ready(&rust, LIMIT))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", rust_err.text()));

    // A text with raw newlines, as a value of the core's call.
    let count: WordCount = bounded(
        "wordcount",
        rust.call(WORDCOUNT, json!({"text": "a\nb\nc d"})),
    )
    .await
    .expect("answered");
    assert_eq!((count.words, count.lines), (4, 3));
    host.journal()
        .wait_for(LIMIT, |e| {
            e.caller == PYTHON_PLUGIN && e.detail == "greeting"
        })
        .await
        .expect("the watcher heard of the greeting");
    let seen: Vec<KvChanged> = bounded("seen", python.call(SEEN, json!({})))
        .await
        .expect("answered");
    assert_eq!(seen.len(), 1, "{seen:?}");

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
}
