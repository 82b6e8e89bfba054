//! The blocking client, for a child process with a plain `fn main` and no async runtime.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::client::{to_reply, ClientBuilder, ClientError, LISTEN};
use super::engine::{Ack, Engine, Handler, Sink, Waiter, SINK_CAPACITY};
use super::pending::Registration;
use crate::error::RpcError;

/// The client a child process uses to talk to the core, without an async runtime: calls
/// block the calling thread, handlers run on a thread of the client's.
///
/// Cheap to clone; clones may be used from several threads at once.
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
    pub(crate) fn from_engine(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

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
        let (tx, rx) = mpsc::sync_channel(1);
        let pending = &self.engine.pending;
        let id = pending
            .register(Waiter::Blocking(tx))
            .ok_or(ClientError::Closed)?;
        let _registration = Registration { pending, id };
        self.engine
            .send(Engine::frame(Some(id), method, &params)?, None)?;
        let result = rx.recv().map_err(|_| ClientError::Closed)??;
        serde_json::from_str(result.get()).map_err(ClientError::Result)
    }

    /// Sends the notification `method`; returns once it is written.
    ///
    /// # Errors
    ///
    /// As [`Client::notify`](super::Client::notify).
    pub fn notify(&self, method: &str, params: impl Serialize) -> Result<(), ClientError> {
        let frame = Engine::frame(None, method, &params)?;
        let (tx, rx) = mpsc::sync_channel(1);
        self.engine.send(frame, Some(Ack::Blocking(tx)))?;
        rx.recv().map_err(|_| ClientError::Closed)
    }

    /// Answers the core's calls of `method` with `handler`. Handlers run one at a time, in
    /// order, on a thread of the client's, so a handler may itself call the core.
    pub fn handle<F, T>(&self, method: impl Into<String>, handler: F)
    where
        F: Fn(Value) -> Result<T, RpcError> + Send + Sync + 'static,
        T: Serialize + 'static,
    {
        let handler = Arc::new(move |params: Value| to_reply(handler(params)));
        self.engine
            .register(method.into(), Handler::Blocking(handler));
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
