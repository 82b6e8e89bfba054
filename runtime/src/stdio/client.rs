//! The async client of a child process: calls the core, answers the core's calls, receives
//! channel messages and events.

use std::future::Future;
use std::io::{Read, Write};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::blocking::BlockingClient;
use super::engine::{Ack, Engine, Handler, Sink, Waiter};
use super::pending::Registration;
use super::Framing;
use crate::error::{ErrorCode, RpcError};

/// The built-in command that registers an event listener.
pub(crate) const LISTEN: &str = "plugin:event|listen";

/// Why a call to the core failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The core answered with an error: refused (`-32001`), unknown command (`-32601`), bad
    /// arguments (`-32602`), the command's own error (`-32000`), a limit (`-32005`…`-32007`).
    #[error("the core answered {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i32,
        /// The message.
        message: String,
        /// The error's `data`, if any.
        data: Option<Value>,
    },
    /// The connection is closed: the core closed this process's input (it is shutting the
    /// process down) or the pipe broke. No reply will come.
    #[error("the connection to the core is closed")]
    Closed,
    /// The parameters could not be serialised.
    #[error("the parameters cannot be serialised: {0}")]
    Params(#[source] serde_json::Error),
    /// The result does not have the type asked for.
    #[error("the result does not have the expected type: {0}")]
    Result(#[source] serde_json::Error),
}

impl ClientError {
    pub(crate) fn from_rpc(error: &RpcError) -> Self {
        ClientError::Rpc {
            code: error.code().code(),
            message: error.message().to_owned(),
            data: error
                .data()
                .and_then(|d| serde_json::from_str(d.get()).ok()),
        }
    }

    /// The JSON-RPC error code, for [`ClientError::Rpc`].
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Rpc { code, .. } => Some(ErrorCode::from_code(*code)),
            _ => None,
        }
    }
}

/// Configures a [`Client`] or a [`BlockingClient`].
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
            engine: Engine::start(read, write, self.framing, self.max_message_bytes),
        }
    }

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
        BlockingClient::from_engine(Engine::start(
            read,
            write,
            self.framing,
            self.max_message_bytes,
        ))
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
        let pending = &self.engine.pending;
        let id = pending
            .register(Waiter::Async(tx))
            .ok_or(ClientError::Closed)?;
        let _registration = Registration { pending, id };
        self.engine
            .send(Engine::frame(Some(id), method, &params)?, None)?;
        let result = rx.await.map_err(|_| ClientError::Closed)??;
        serde_json::from_str(result.get()).map_err(ClientError::Result)
    }

    /// Sends the notification `method` (a request without a reply; the core runs the command
    /// if this process may call it, and says nothing either way). Returns once it is written.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] when the pipe is gone, [`ClientError::Params`].
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), ClientError> {
        let frame = Engine::frame(None, method, &params)?;
        let (tx, rx) = oneshot::channel();
        self.engine.send(frame, Some(Ack::Async(tx)))?;
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
        let handler = Arc::new(move |params: Value| {
            let future = handler(params);
            Box::pin(async move { to_reply(future.await) })
                as std::pin::Pin<Box<dyn Future<Output = _> + Send>>
        });
        self.engine.register(method.into(), Handler::Async(handler));
    }

    /// Listens to the core's event `event` (the command `plugin:event|listen`, which this
    /// process needs the permission for); the receiver yields each event's payload.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call): `-32001` when this process may not listen.
    pub async fn listen(&self, event: &str) -> Result<Messages, ClientError> {
        let (tx, rx) = mpsc::channel(super::engine::SINK_CAPACITY);
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
        let (tx, rx) = mpsc::channel(super::engine::SINK_CAPACITY);
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

/// The serialised result of a handler.
pub(crate) fn to_reply<T: Serialize>(result: Result<T, RpcError>) -> super::engine::Reply {
    let value = result?;
    serde_json::to_vec(&value).map_err(|e| {
        RpcError::new(
            ErrorCode::Internal,
            format!("the result cannot be serialised: {e}"),
        )
    })
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    use serde_json::json;

    /// The core's end of the pipes, driven by hand.
    struct FakeCore {
        read: BufReader<UnixStream>,
        write: UnixStream,
    }

    impl FakeCore {
        fn recv(&mut self) -> Value {
            let mut line = String::new();
            self.read.read_line(&mut line).expect("a line");
            serde_json::from_str(&line).expect("JSON")
        }

        fn send(&mut self, message: Value) {
            let mut line = serde_json::to_vec(&message).expect("serialises");
            line.push(b'\n');
            self.write.write_all(&line).expect("written");
        }
    }

    fn connect() -> (UnixStream, UnixStream, FakeCore) {
        let (child, core) = UnixStream::pair().expect("a socket pair");
        let core = FakeCore {
            read: BufReader::new(core.try_clone().expect("clones")),
            write: core,
        };
        (child.try_clone().expect("clones"), child, core)
    }

    #[test]
    fn the_blocking_client_calls_answers_streams_and_closes() {
        let (read, write, mut core) = connect();
        let client = ClientBuilder::new().connect_blocking(read, write);
        client.handle("double", |p: Value| {
            Ok::<_, RpcError>(p.as_i64().unwrap_or(0) * 2)
        });

        let calling = std::thread::spawn({
            let client = client.clone();
            move || {
                let sum = client.call::<i64>("add", json!({"a": 1, "b": 2}));
                let refused = client.call::<Value>("secret", ());
                (sum, refused)
            }
        });
        let add = core.recv();
        assert_eq!(add["method"], "add");
        assert_eq!(add["params"], json!({"a": 1, "b": 2}));
        core.send(json!({"jsonrpc": "2.0", "id": add["id"], "result": 3}));
        let secret = core.recv();
        assert!(secret.get("params").is_none(), "{secret}");
        core.send(json!({"jsonrpc": "2.0", "id": secret["id"],
            "error": {"code": -32001, "message": "not allowed", "data": {"x": 1}}}));
        let (sum, refused) = calling.join().expect("no panic");
        assert_eq!(sum.expect("a sum"), 3);
        match refused {
            Err(ClientError::Rpc {
                code: -32001,
                message,
                data,
            }) => {
                assert_eq!(message, "not allowed");
                assert_eq!(data, Some(json!({"x": 1})));
            }
            other => panic!("{other:?}"),
        }

        // The core calls the child; an unknown method is answered, not ignored.
        core.send(json!({"jsonrpc": "2.0", "id": "c1", "method": "double", "params": 21}));
        assert_eq!(
            core.recv(),
            json!({"jsonrpc": "2.0", "id": "c1", "result": 42})
        );
        core.send(json!({"jsonrpc": "2.0", "id": 9, "method": "nope"}));
        assert_eq!(core.recv()["error"]["code"], -32601);
        // What the core could not read is reported with `id: null`; the client carries on.
        core.send(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error"}}));

        // A channel: its messages arrive on its receiver.
        let (handler, messages) = client.channel();
        let id: u64 = handler
            .strip_prefix("__CHANNEL__:")
            .and_then(|n| n.parse().ok())
            .expect("a channel reference");
        core.send(json!({"jsonrpc": "2.0", "method": "gatehouse:channel",
            "params": {"channel": id, "message": [1, "two"]}}));
        assert_eq!(
            messages.recv_timeout(Duration::from_secs(5)),
            Ok(json!([1, "two"]))
        );

        // The core closes the pipe: `closed` returns, calls fail, receivers end.
        drop(core);
        client.closed();
        assert!(matches!(
            client.call::<Value>("add", ()),
            Err(ClientError::Closed)
        ));
        assert_eq!(messages.recv(), None);
    }

    #[tokio::test]
    async fn the_async_client_calls_answers_and_listens() {
        let (read, write, mut core) = connect();
        let client = ClientBuilder::new().connect(read, write);
        client.handle("greet", |p: Value| async move {
            Ok::<_, RpcError>(format!("hello {}", p["name"].as_str().unwrap_or("?")))
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let script = std::thread::spawn(move || {
            let listen = core.recv();
            assert_eq!(listen["method"], LISTEN);
            assert_eq!(listen["params"]["event"], "changed");
            let handler = listen["params"]["handler"].as_str().expect("a handler");
            let channel: u64 = handler["__CHANNEL__:".len()..].parse().expect("an id");
            core.send(json!({"jsonrpc": "2.0", "id": listen["id"], "result": 1}));
            core.send(json!({"jsonrpc": "2.0", "method": "gatehouse:channel", "params":
                {"channel": channel, "message": {"event": "changed", "id": 1, "payload": {"n": 5}}}}));
            core.send(
                json!({"jsonrpc": "2.0", "id": 1, "method": "greet", "params": {"name": "core"}}),
            );
            let _ = tx.send(core.recv());
            let notified = core.recv();
            let _ = tx.send(notified);
            // Closing the pipe ends the client.
        });
        let mut events = client.listen("changed").await.expect("listening");
        assert_eq!(events.recv().await, Some(json!({"n": 5})));
        client
            .notify("bye", json!({"at": 1}))
            .await
            .expect("written");
        let (first, second) = tokio::task::spawn_blocking(move || (rx.recv(), rx.recv()))
            .await
            .expect("joined");
        // The handler's reply and the notification, in either order.
        let mut got = [first.expect("a message"), second.expect("a message")];
        got.sort_by_key(|m| m.get("method").is_some());
        let [reply, notified] = got;
        assert_eq!(reply["result"], "hello core", "{reply}");
        assert_eq!(notified["method"], "bye");
        assert!(notified.get("id").is_none(), "{notified}");
        client.closed().await;
        script.join().expect("the script passed");
        assert!(matches!(
            client.call::<Value>("add", ()).await,
            Err(ClientError::Closed)
        ));
        assert_eq!(events.recv().await, None);
    }
}
