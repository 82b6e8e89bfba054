//! The stdio transport's wire format, and the client a child process uses to talk to the core
//! (features `stdio-client` and `stdio`).
//!
//! The core spawns the child with `process::spawn` (feature `stdio`);
//! the child talks JSON-RPC 2.0 on its standard input and output. Any language can speak it;
//! for Rust children, this module has a [`Client`] (tokio) and a [`BlockingClient`] (plain
//! threads, for a `fn main` without a runtime).
//!
//! # Wire
//!
//! - The core writes to the child's **stdin**, the child writes to its **stdout**; stderr is
//!   not part of the protocol (the core passes it through, captures it or discards it).
//! - [`Framing::Lines`] (the default): one JSON text per line, ended by `\n` (a `\r` before it is
//!   tolerated, blank lines are skipped). JSON never needs a raw newline: inside strings it is
//!   written `\n`, so `json.dumps(msg) + "\n"` is a valid frame in any language.
//! - [`Framing::LengthPrefixed`]: a 4-byte big-endian length, then exactly that many bytes of
//!   JSON. A length over the limit ends the connection: such a stream cannot be resynchronised.
//! - A message with a `method` is a request (with an `id`) or a notification (without); a
//!   message without one is a reply to the other side's request, matched by `id`. Both sides
//!   may call each other.
//! - Channel messages and events reach the child as on every transport:
//!   `{"jsonrpc":"2.0","method":"gatehouse:channel","params":{"channel":<n>,"message":…}}`.
//!   A child listens to an event by calling `plugin:event|listen` with
//!   `{"event": <name>, "handler": "__CHANNEL__:<n>"}`, which needs the permission
//!   `core:event:allow-listen` like any frontend.
//!
//! # The client
//!
//! ```no_run
//! use gatehouse_runtime::stdio::{Client, ClientError, Framing};
//! use gatehouse_runtime::RpcError;
//! use serde_json::{json, Value};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), ClientError> {
//!     let client = Client::stdio(); // or Client::builder().framing(Framing::LengthPrefixed).stdio()
//!     // Methods the core may call on this child.
//!     client.handle("plugin.add", |params: Value| async move {
//!         Ok::<_, RpcError>(params["a"].as_i64().unwrap_or(0) + params["b"].as_i64().unwrap_or(0))
//!     });
//!     let sum: i64 = client.call("add", json!({"a": 1, "b": 2})).await?;
//!     client.notify("log", json!({"sum": sum})).await?;
//!     let mut events = client.listen("note-changed").await?;
//!     while let Some(payload) = events.recv().await {
//!         eprintln!("note changed: {payload}");
//!     }
//!     Ok(())
//! }
//! ```
//!
//! The client owns stdout: anything else printed there reaches the core as a malformed
//! message (it is answered with an error and otherwise ignored). Log to stderr.
//!
//! The feature `stdio-client` gives a child this module alone: it needs no dependency beyond
//! what the runtime already has. The client has a reader thread and a writer thread of its
//! own, which serve it when no caller does (and keep a blocked read of stdin from holding up
//! the exit of a tokio program); a call writes its own request when the pipe is idle, and a
//! [`BlockingClient`] call reads its own reply when no other call is reading. The feature
//! `stdio` adds the core side, the module `process`, and implies `stdio-client`.

// Layers, each using only those below it (and `Framing` and `lock` from here): the clients
// (`client`, `blocking`) → `builder` → `engine` → `inbox`, `outbox`, `handler`, `sink` →
// `frame`, `message`, `pending`, `error`.
mod blocking;
mod builder;
mod client;
mod engine;
mod error;
pub(crate) mod frame;
mod handler;
mod inbox;
pub(crate) mod message;
mod outbox;
pub(crate) mod pending;
mod sink;
#[cfg(all(test, unix))]
mod tests;

pub use blocking::{BlockingClient, BlockingMessages};
pub use builder::ClientBuilder;
pub use client::{Client, Messages};
pub use error::ClientError;

/// Locks `mutex`, also after a panic elsewhere left it poisoned (every critical section here
/// leaves its data consistent).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// How messages are delimited on the pipes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Framing {
    /// One JSON text per line, ended by `\n`. Any language can speak it.
    #[default]
    Lines,
    /// A 4-byte big-endian length, then that many bytes of JSON: for payloads that are large
    /// or that a peer would rather not scan for newlines.
    LengthPrefixed,
}
