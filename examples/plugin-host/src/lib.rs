//! A Gatehouse core that hosts plugins over stdio, and the crate behind
//! `cargo run -p plugin-host`.
//!
//! The core offers a small key-value store (`kv_get`, `kv_list`, `kv_set`), a log (`log`),
//! `host_info` and the start-up handshake `ready`. It starts two plugins as child processes,
//! each under a label, and every message a plugin writes on its stdout is a request of that
//! label — with exactly the grants `capabilities/` give it, whatever the message says:
//!
//! | label | plugin | may |
//! |---|---|---|
//! | `rust-plugin` | `src/bin/wordcount-plugin.rs` (Rust, `gatehouse::stdio::Client`) | read and write the store; exposes `plugin.wordcount` |
//! | `python-plugin` | `plugins/python_plugin.py` (Python, standard library only) | read the store, listen to `kv-changed`; exposes `plugin.seen` |
//!
//! ```no_run
//! # async fn run() -> Result<(), plugin_host::Error> {
//! use plugin_host::{plugin, Host, PYTHON_PLUGIN};
//!
//! let host = Host::new()?;
//! let python = host.spawn(PYTHON_PLUGIN, plugin::python_plugin::<_, &str>([]))?;
//! host.wait_ready(&python, std::time::Duration::from_secs(10)).await?;
//! assert_eq!(host.journal().count(PYTHON_PLUGIN, "kv_set"), 0); // refused, so never ran
//! python.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod commands;
pub mod demo;
mod error;
mod host;
pub mod journal;
pub mod plugin;
pub mod protocol;

pub use commands::{Store, StoreError};
pub use error::Error;
pub use host::{Host, CALL_TIMEOUT, SHUTDOWN_TIMEOUT};
pub use journal::{Entry, Journal};
pub use plugin::{PYTHON_PLUGIN, RUST_PLUGIN};
pub use protocol::{HostInfo, KvChanged, WordCount, KV_CHANGED};
