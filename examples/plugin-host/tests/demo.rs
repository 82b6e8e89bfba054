//! The exchange `cargo run -p plugin-host` prints, run whole.

mod support;

use std::path::Path;

use plugin_host::demo::{self, Transcript};
use support::bounded;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_the_exchange_and_both_plugins_exit_cleanly() {
    let out = Transcript::silent();
    let outcome = bounded(
        "the demo",
        demo::run(Path::new(env!("CARGO_BIN_EXE_wordcount-plugin")), &out),
    )
    .await
    .expect("the demo runs");
    let text = out.lines().join("\n");
    assert!(outcome.ok, "{outcome:?}\n{text}");
    for expected in [
        // The watcher reads, is refused a write, cannot pass as the Rust plugin, listens.
        "python-plugin │ ✓ kv_list → [\"motd\", \"owner\"]",
        "python-plugin │ ✓ kv_set note (my grants do not include writing) → refused (-32001, as `python-plugin`)",
        "python-plugin │ ✓ kv_set claiming \"caller\": \"rust-plugin\" in the request → refused (-32001, as `python-plugin`)",
        "python-plugin │ ✓ listen kv-changed → listener",
        // The Rust plugin writes, and may not listen.
        "rust-plugin │ ✓ kv_set greeting → null",
        "rust-plugin │ ✓ listen kv-changed (only the watcher may) → refused (-32001, as `rust-plugin`)",
        // The watcher hears the Rust plugin's write.
        "python-plugin │ ⚡ event kv-changed: `greeting` changed by rust-plugin",
        // The core calls both, and emits to the one listener.
        "core │ → rust-plugin plugin.wordcount(greeting) = 8 words",
        "delivered to 1 listener(s)",
        "core │ → python-plugin plugin.seen() = [greeting by rust-plugin, motd by core]",
        // What ran: never a kv_set for the watcher.
        "python-plugin  host_info ×1  kv_list ×1  kv_get ×4  kv_set ×0",
        "rust-plugin exited",
        "python-plugin exited",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}
