//! The settings of a child's client. The constructors that finish a builder live beside the
//! client they make ([`Client`](super::Client), [`BlockingClient`](super::BlockingClient)).

use std::io::{Read, Write};
use std::sync::Arc;

use super::engine::Engine;
use super::Framing;

/// Configures a [`Client`](super::Client) or a [`BlockingClient`](super::BlockingClient).
///
/// ```no_run
/// use gatehouse_runtime::stdio::{Client, Framing};
/// # async fn run() {
/// let client = Client::builder()
///     .framing(Framing::LengthPrefixed)
///     .max_message_bytes(64 << 20)
///     .stdio();
/// # }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientBuilder {
    framing: Framing,
    max_message_bytes: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            framing: Framing::Lines,
            max_message_bytes: 16 << 20,
        }
    }
}

impl ClientBuilder {
    /// Newline framing, 16 MiB messages at most.
    pub fn new() -> Self {
        Self::default()
    }

    /// The framing; it must be the one the core spawned this process with.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// The largest message accepted from the core (default 16 MiB); a larger one ends the
    /// connection.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Starts the connection's engine; with `callers_read`, blocked callers read their own
    /// replies.
    pub(crate) fn start<R, W>(self, read: R, write: W, callers_read: bool) -> Arc<Engine>
    where
        R: Read + Send + 'static,
        W: Write + Send + 'static,
    {
        Engine::start(
            Box::new(read),
            Box::new(write),
            self.framing,
            self.max_message_bytes,
            callers_read,
        )
    }
}
