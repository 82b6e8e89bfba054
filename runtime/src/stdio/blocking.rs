//! The blocking client, for a child process with a plain `fn main` and no async runtime.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::builder::ClientBuilder;
use super::engine::{Engine, Waiter};
use super::error::ClientError;
use super::handler::Handler;
use super::inbox::Slot;
use super::pending::Registration;
use super::sink::{Sink, LISTEN, SINK_CAPACITY};
use crate::error::RpcError;

impl ClientBuilder {
    /// A blocking client on this process's stdin and stdout.
    pub fn stdio_blocking(self) -> BlockingClient {
        self.connect_blocking(std::io::stdin(), std::io::stdout())
    }

    /// A blocking client on any pair of streams.
    pub fn connect_blocking<R, W>(self, read: R, write: W) -> BlockingClient
    where
        R: Read + Send + 'static,
        W: Write + Send + 'static,
    {
        BlockingClient {
            engine: self.start(read, write, true),
        }
    }
}

/// The client a child process uses to talk to the core, without an async runtime: calls
/// block the calling thread, handlers run on a thread of the client's.
///
/// Cheap to clone; clones may be used from several threads at once. A call writes its request
/// from the calling thread and, when no other call is reading, reads the core's messages on
/// that thread until its reply arrives (handing on what is not its own), so a call costs no
/// hand-off between threads.
///
/// ```no_run
/// use gatehouse_runtime::stdio::BlockingClient;
/// use gatehouse_runtime::RpcError;
/// use serde_json::{json, Value};
///
/// fn main() -> Result<(), gatehouse_runtime::stdio::ClientError> {
///     let client = BlockingClient::stdio();
///     client.handle("plugin.version", |_params: Value| Ok::<_, RpcError>("1.0"));
///     let sum: i64 = client.call("add", json!({"a": 1, "b": 2}))?;
///     eprintln!("1 + 2 = {sum}");
///     client.closed(); // until the core shuts this process down
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct BlockingClient {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for BlockingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingClient").finish_non_exhaustive()
    }
}

impl BlockingClient {
    /// A client on stdin and stdout with newline framing.
    pub fn stdio() -> BlockingClient {
        ClientBuilder::new().stdio_blocking()
    }

    /// Configures a client; finish with [`ClientBuilder::stdio_blocking`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Calls the core's command `method` and waits for its result.
    ///
    /// # Errors
    ///
    /// As [`Client::call`](super::Client::call).
    pub fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, ClientError> {
        let slot = Slot::new();
        let engine = &self.engine;
        let pending = &engine.pending;
        let id = pending
            .register(Waiter::Blocking(Arc::clone(&slot)))
            .ok_or(ClientError::Closed)?;
        let _registration = Registration { pending, id };
        engine.send_blocking(engine.request(Some(id), method, &params)?, false)?;
        engine.wait_blocking(id, &slot, |result| {
            serde_json::from_str(result.get()).map_err(ClientError::Result)
        })
    }

    /// Sends the notification `method`; returns once it is written.
    ///
    /// # Errors
    ///
    /// As [`Client::notify`](super::Client::notify).
    pub fn notify(&self, method: &str, params: impl Serialize) -> Result<(), ClientError> {
        let frame = self.engine.request(None, method, &params)?;
        self.engine.send_blocking(frame, true)
    }

    /// Answers the core's calls of `method` with `handler`. Handlers run one at a time, in
    /// order, on a thread of the client's, so a handler may itself call the core.
    pub fn handle<F, T>(&self, method: impl Into<String>, handler: F)
    where
        F: Fn(Value) -> Result<T, RpcError> + Send + Sync + 'static,
        T: Serialize + 'static,
    {
        self.engine
            .register(method.into(), Handler::from_blocking(handler));
    }

    /// Listens to the core's event `event`; the receiver yields each event's payload.
    ///
    /// # Errors
    ///
    /// As [`Client::listen`](super::Client::listen).
    pub fn listen(&self, event: &str) -> Result<BlockingMessages, ClientError> {
        let (tx, rx) = mpsc::sync_channel(SINK_CAPACITY);
        let (id, handler) = self.engine.open_channel(Sink::Blocking(tx), true);
        let params = serde_json::json!({ "event": event, "handler": handler });
        match self.call::<Value>(LISTEN, params) {
            Ok(_) => Ok(BlockingMessages { rx }),
            Err(error) => {
                self.engine.close_channel(id);
                Err(error)
            }
        }
    }

    /// A channel to pass to a command that takes a `Channel` argument, and its receiver.
    pub fn channel(&self) -> (String, BlockingMessages) {
        let (tx, rx) = mpsc::sync_channel(SINK_CAPACITY);
        let (_, handler) = self.engine.open_channel(Sink::Blocking(tx), false);
        (handler, BlockingMessages { rx })
    }

    /// Blocks until the core has closed this process's input (it is shutting it down).
    pub fn closed(&self) {
        self.engine.wait_closed();
    }
}

/// What arrives on a channel or for an event listener, for a [`BlockingClient`]; ends when the
/// connection closes. Also an iterator.
#[derive(Debug)]
pub struct BlockingMessages {
    rx: mpsc::Receiver<Value>,
}

impl BlockingMessages {
    /// The next message, waiting for it; `None` once the connection is closed.
    pub fn recv(&self) -> Option<Value> {
        self.rx.recv().ok()
    }

    /// The next message, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`mpsc::RecvTimeoutError::Timeout`] when none arrived in time,
    /// [`mpsc::RecvTimeoutError::Disconnected`] once the connection is closed.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Value, mpsc::RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// The next message if one has arrived.
    pub fn try_recv(&self) -> Option<Value> {
        self.rx.try_recv().ok()
    }
}

impl Iterator for BlockingMessages {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        self.recv()
    }
}
