//! The async client of a child process: calls the core, answers the core's calls, receives
//! channel messages and events.

use std::future::Future;
use std::io::{Read, Write};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::builder::ClientBuilder;
use super::engine::{Engine, Waiter};
use super::error::ClientError;
use super::handler::Handler;
use super::outbox::Ack;
use super::pending::Registration;
use super::sink::{Sink, LISTEN, SINK_CAPACITY};
use crate::error::RpcError;

impl ClientBuilder {
    /// A client on this process's stdin and stdout. Make it inside the tokio runtime that
    /// should run its handlers.
    pub fn stdio(self) -> Client {
        self.connect(std::io::stdin(), std::io::stdout())
    }

    /// A client on any pair of streams: what the core sends is read from `read`, what this
    /// side sends is written to `write`.
    pub fn connect<R, W>(self, read: R, write: W) -> Client
    where
        R: Read + Send + 'static,
        W: Write + Send + 'static,
    {
        Client {
            engine: self.start(read, write, false),
        }
    }
}

/// The client a child process uses to talk to the core that spawned it (tokio).
///
/// Cheap to clone. Every call is attributed by the core to the label it spawned this process
/// under; nothing the process writes can change that.
///
/// ```no_run
/// use gatehouse_runtime::stdio::Client;
/// use serde_json::json;
/// # async fn run() -> Result<(), gatehouse_runtime::stdio::ClientError> {
/// let client = Client::stdio();
/// let sum: i64 = client.call("add", json!({"a": 1, "b": 2})).await?;
/// client.closed().await; // until the core closes stdin (it is shutting this process down)
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client on stdin and stdout with newline framing: [`ClientBuilder::stdio`].
    pub fn stdio() -> Client {
        ClientBuilder::new().stdio()
    }

    /// Configures a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Calls the core's command `method` with `params` (an object of named arguments, an
    /// array, or `()` for none) and reads the result as `T`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Rpc`] when the core refuses or the command fails, [`ClientError::Closed`]
    /// when the connection is gone, [`ClientError::Result`] when the result is not a `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, ClientError> {
        let (tx, rx) = oneshot::channel();
        let engine = &self.engine;
        let pending = &engine.pending;
        let id = pending
            .register(Waiter::Async(tx))
            .ok_or(ClientError::Closed)?;
        let registration = Registration { pending, id };
        engine.send_call(engine.request(Some(id), method, &params)?)?;
        let outcome = rx.await.map_err(|_| ClientError::Closed)?;
        // The reader took the waiter out of the table to send this.
        registration.disarm();
        let result = outcome?;
        serde_json::from_str(result.get()).map_err(ClientError::Result)
    }

    /// Sends the notification `method` (a request without a reply; the core runs the command
    /// if this process may call it, and says nothing either way). Returns once it is written.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] when the pipe is gone, [`ClientError::Params`].
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), ClientError> {
        let frame = self.engine.request(None, method, &params)?;
        let (tx, rx) = oneshot::channel();
        self.engine.send_async(frame, Some(Ack::Async(tx)))?;
        rx.await.map_err(|_| ClientError::Closed)
    }

    /// Answers the core's calls of `method` with `handler` (the core is trusted: it may call
    /// any method a process registers). Each call runs on a task of its own, on the runtime
    /// the client was made in. A call of a method without a handler is answered `-32601`.
    pub fn handle<F, Fut, T>(&self, method: impl Into<String>, handler: F)
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, RpcError>> + Send + 'static,
        T: Serialize + 'static,
    {
        self.engine
            .register(method.into(), Handler::from_async(handler));
    }

    /// Listens to the core's event `event` (the command `plugin:event|listen`, which this
    /// process needs the permission for); the receiver yields each event's payload.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call): `-32001` when this process may not listen.
    pub async fn listen(&self, event: &str) -> Result<Messages, ClientError> {
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        let (id, handler) = self.engine.open_channel(Sink::Async(tx), true);
        let params = serde_json::json!({ "event": event, "handler": handler });
        match self.call::<Value>(LISTEN, params).await {
            Ok(_) => Ok(Messages { rx }),
            Err(error) => {
                self.engine.close_channel(id);
                Err(error)
            }
        }
    }

    /// A channel to pass to a command that takes a `Channel` argument: the argument's value
    /// (`"__CHANNEL__:<n>"`) and the receiver of what the command sends into it.
    pub fn channel(&self) -> (String, Messages) {
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        let (_, handler) = self.engine.open_channel(Sink::Async(tx), false);
        (handler, Messages { rx })
    }

    /// Resolves once the core has closed this process's input: it is shutting the process
    /// down (and kills it if it does not exit in time).
    pub async fn closed(&self) {
        let mut closed = self.engine.closed_watch();
        let _ = closed.wait_for(|closed| *closed).await;
    }
}

/// What arrives on a channel or for an event listener; ends when the connection closes.
///
/// A receiver that falls more than 1024 messages behind loses the newer ones (with a warning
/// in the log) rather than holding up the connection.
#[derive(Debug)]
pub struct Messages {
    rx: mpsc::Receiver<Value>,
}

impl Messages {
    /// The next message; `None` once the connection is closed.
    pub async fn recv(&mut self) -> Option<Value> {
        self.rx.recv().await
    }

    /// The next message if one has arrived.
    pub fn try_recv(&mut self) -> Option<Value> {
        self.rx.try_recv().ok()
    }
}
