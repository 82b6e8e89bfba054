//! What the async and the blocking client share: a reader thread that dispatches what the core
//! sends, a writer thread that writes what the child sends, and the tables in between.
//!
//! Threads rather than tokio's stdin: a read of tokio's stdin blocks the runtime's shutdown
//! until the core closes the pipe, and the blocking client must not need a runtime at all.

use std::collections::HashMap;
use std::future::Future;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::task::{Context, Poll};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::client::ClientError;
use super::frame::{encode, FrameReader};
use super::message::{self, Envelope};
use super::pending::Pending;
use super::Framing;
use crate::channel::{CHANNEL_METHOD, CHANNEL_PREFIX};
use crate::error::{ErrorCode, RpcError};
use crate::jsonrpc;

/// Messages a channel or event receiver holds before new ones are dropped.
pub(crate) const SINK_CAPACITY: usize = 1024;

/// Frames and bytes written in one batch at most, before a flush.
const BATCH: usize = 64;
const BATCH_BYTES: usize = 256 * 1024;

/// A handler's outcome: the serialised result, or the error to answer.
pub(crate) type Reply = Result<Vec<u8>, RpcError>;

/// A call's outcome: the raw result, or why there is none.
pub(crate) type Outcome = Result<Box<RawValue>, ClientError>;

type AsyncFn = dyn Fn(Value) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync;
type BlockingFn = dyn Fn(Value) -> Reply + Send + Sync;

#[derive(Clone)]
pub(crate) enum Handler {
    Async(Arc<AsyncFn>),
    Blocking(Arc<BlockingFn>),
}

/// Where a call's reply goes.
pub(crate) enum Waiter {
    Async(oneshot::Sender<Outcome>),
    Blocking(std_mpsc::SyncSender<Outcome>),
}

impl Waiter {
    fn send(self, outcome: Outcome) {
        // A caller that stopped waiting does not want it.
        match self {
            Waiter::Async(tx) => drop(tx.send(outcome)),
            Waiter::Blocking(tx) => drop(tx.try_send(outcome)),
        }
    }
}

/// Told once a frame has been written (and flushed).
pub(crate) enum Ack {
    Async(oneshot::Sender<()>),
    Blocking(std_mpsc::SyncSender<()>),
}

impl Ack {
    fn done(self) {
        match self {
            Ack::Async(tx) => drop(tx.send(())),
            Ack::Blocking(tx) => drop(tx.try_send(())),
        }
    }
}

/// Where a channel's messages go.
pub(crate) enum Sink {
    Async(mpsc::Sender<Value>),
    Blocking(std_mpsc::SyncSender<Value>),
}

struct Subscription {
    sink: Sink,
    /// Event listeners receive the event's payload; plain channels the whole message.
    payload_only: bool,
}

struct Outgoing {
    frame: Vec<u8>,
    written: Option<Ack>,
}

struct Job {
    handler: Arc<BlockingFn>,
    params: Value,
    id: Option<Box<RawValue>>,
}

pub(crate) struct Engine {
    outgoing: std_mpsc::Sender<Outgoing>,
    pub(crate) pending: Pending<Waiter>,
    handlers: RwLock<HashMap<String, Handler>>,
    sinks: Mutex<HashMap<u64, Subscription>>,
    next_channel: AtomicU64,
    closed: watch::Sender<bool>,
    closed_blocking: (Mutex<bool>, Condvar),
    runtime: Mutex<Option<tokio::runtime::Handle>>,
    worker: Mutex<Option<std_mpsc::Sender<Job>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Starts the reader and writer threads.
    pub(crate) fn start<R, W>(read: R, write: W, framing: Framing, max: usize) -> Arc<Engine>
    where
        R: Read + Send + 'static,
        W: Write + Send + 'static,
    {
        let (outgoing, rx) = std_mpsc::channel();
        let engine = Arc::new(Engine {
            outgoing,
            pending: Pending::default(),
            handlers: RwLock::default(),
            sinks: Mutex::default(),
            next_channel: AtomicU64::new(0),
            closed: watch::Sender::new(false),
            closed_blocking: (Mutex::new(false), Condvar::new()),
            runtime: Mutex::new(tokio::runtime::Handle::try_current().ok()),
            worker: Mutex::default(),
        });
        let weak = Arc::downgrade(&engine);
        let writer = std::thread::Builder::new()
            .name("gatehouse-stdio-write".into())
            .spawn(move || write_frames(rx, write, framing, &weak));
        let reader = Arc::clone(&engine);
        let reader = writer.and_then(|_| {
            std::thread::Builder::new()
                .name("gatehouse-stdio-read".into())
                .spawn(move || reader.read_frames(read, framing, max))
        });
        if let Err(error) = reader {
            tracing::error!(%error, "gatehouse: cannot start the stdio client's threads");
            engine.close();
        }
        engine
    }

    /// Reads until the core closes the pipe.
    fn read_frames<R: Read>(self: Arc<Self>, read: R, framing: Framing, max: usize) {
        let mut frames = FrameReader::new(read, framing, max);
        loop {
            match frames.next() {
                Ok(Some(frame)) => self.dispatch(&frame),
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "gatehouse: stopped reading from the core");
                    break;
                }
            }
        }
        self.close();
    }

    /// The core's input ended: calls fail, receivers end, `closed` resolves.
    pub(crate) fn close(&self) {
        drop(self.pending.close());
        lock(&self.sinks).clear();
        *lock(&self.closed_blocking.0) = true;
        self.closed_blocking.1.notify_all();
        self.closed.send_replace(true);
    }

    fn dispatch(self: &Arc<Self>, frame: &[u8]) {
        let envelope: Envelope = match serde_json::from_slice(frame) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::warn!(%error, "gatehouse: ignored a malformed message from the core");
                return;
            }
        };
        if envelope.is_reply() {
            self.reply_arrived(envelope);
            return;
        }
        let Some(method) = envelope.method_name() else {
            tracing::warn!("gatehouse: ignored a message from the core without a method");
            return;
        };
        if method == CHANNEL_METHOD && envelope.id.is_none() {
            self.channel_message(envelope.params.as_deref());
            return;
        }
        let params = envelope
            .params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or(Value::Null);
        self.request(envelope.id, &method, params);
    }

    fn reply_arrived(&self, envelope: Envelope) {
        let Some(id) = envelope.reply_id() else {
            // The core answers `id: null` to what it could not read at all, such as a stray
            // line on stdout.
            let error = envelope.into_outcome().err().flatten();
            tracing::warn!(
                error = error.as_ref().map(RpcError::message),
                "gatehouse: the core could not read a message from this process (is something else printing to stdout?)"
            );
            return;
        };
        let Some(waiter) = self.pending.take(id) else {
            tracing::debug!(id, "gatehouse: a reply nobody waits for");
            return;
        };
        let outcome = envelope.into_outcome().map_err(|error| match error {
            Some(error) => ClientError::from_rpc(&error),
            None => ClientError::Rpc {
                code: ErrorCode::Internal.code(),
                message: "the core sent a malformed reply".into(),
                data: None,
            },
        });
        waiter.send(outcome);
    }

    fn channel_message(&self, params: Option<&RawValue>) {
        #[derive(Deserialize)]
        struct ChannelParams {
            channel: u64,
            message: Value,
        }
        let Some(p) = params.and_then(|p| serde_json::from_str::<ChannelParams>(p.get()).ok())
        else {
            tracing::warn!("gatehouse: ignored a malformed channel message");
            return;
        };
        let mut sinks = lock(&self.sinks);
        let Some(subscription) = sinks.get(&p.channel) else {
            tracing::debug!(channel = p.channel, "gatehouse: a message for no channel");
            return;
        };
        let message = match (subscription.payload_only, p.message) {
            (true, Value::Object(mut event)) => event.remove("payload").unwrap_or(Value::Null),
            (_, message) => message,
        };
        let (full, gone) = match &subscription.sink {
            Sink::Async(tx) => match tx.try_send(message) {
                Ok(()) => (false, false),
                Err(mpsc::error::TrySendError::Full(_)) => (true, false),
                Err(mpsc::error::TrySendError::Closed(_)) => (false, true),
            },
            Sink::Blocking(tx) => match tx.try_send(message) {
                Ok(()) => (false, false),
                Err(std_mpsc::TrySendError::Full(_)) => (true, false),
                Err(std_mpsc::TrySendError::Disconnected(_)) => (false, true),
            },
        };
        if full {
            tracing::warn!(
                channel = p.channel,
                "gatehouse: dropped a channel message: its receiver is not reading"
            );
        } else if gone {
            sinks.remove(&p.channel);
        }
    }

    fn request(self: &Arc<Self>, id: Option<Box<RawValue>>, method: &str, params: Value) {
        let handler = self
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(method)
            .cloned();
        match handler {
            None => {
                if let Some(id) = id {
                    let error = RpcError::new(
                        ErrorCode::UnknownCommand,
                        format!("unknown method `{method}`: this process has no handler for it"),
                    );
                    self.answer(&id, Err(error));
                } else {
                    tracing::debug!(method, "gatehouse: a notification nobody handles");
                }
            }
            Some(Handler::Async(handler)) => {
                let Some(runtime) = lock(&self.runtime).clone() else {
                    tracing::error!(method, "gatehouse: no tokio runtime to run the handler on: make the client inside one");
                    if let Some(id) = id {
                        let error = RpcError::new(ErrorCode::Internal, "the handler cannot run");
                        self.answer(&id, Err(error));
                    }
                    return;
                };
                let engine = Arc::clone(self);
                let method = method.to_owned();
                runtime.spawn(async move {
                    let reply = match catch_unwind(AssertUnwindSafe(|| handler(params))) {
                        Ok(future) => Unwind(future).await,
                        Err(_) => Err(panicked()),
                    };
                    if let Err(error) = &reply {
                        tracing::debug!(method, %error, "gatehouse: handler failed");
                    }
                    if let Some(id) = id {
                        engine.answer(&id, reply);
                    }
                });
            }
            Some(Handler::Blocking(handler)) => self.run_blocking(Job {
                handler,
                params,
                id,
            }),
        }
    }

    /// Runs a blocking handler on the worker thread, started on first use. Handlers run one
    /// at a time, in the order the core's requests arrived.
    fn run_blocking(self: &Arc<Self>, job: Job) {
        let mut worker = lock(&self.worker);
        let job = match worker.as_ref() {
            Some(tx) => match tx.send(job) {
                Ok(()) => return,
                // The worker is gone (a handler panicked through?): start another.
                Err(std_mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let (tx, rx) = std_mpsc::channel::<Job>();
        let engine = Arc::downgrade(self);
        let started = std::thread::Builder::new()
            .name("gatehouse-stdio-handler".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let handler = &job.handler;
                    let params = job.params;
                    let reply = catch_unwind(AssertUnwindSafe(|| handler(params)))
                        .unwrap_or_else(|_| Err(panicked()));
                    let (Some(id), Some(engine)) = (job.id, engine.upgrade()) else {
                        continue;
                    };
                    engine.answer(&id, reply);
                }
            });
        match started {
            Ok(_) => {
                let _ = tx.send(job);
                *worker = Some(tx);
            }
            Err(error) => {
                tracing::error!(%error, "gatehouse: cannot start the handler thread");
                if let Some(id) = job.id {
                    drop(worker);
                    let error = RpcError::new(ErrorCode::Internal, "the handler cannot run");
                    self.answer(&id, Err(error));
                }
            }
        }
    }

    /// Answers the core's request `id`.
    fn answer(&self, id: &RawValue, reply: Reply) {
        let mut out = Vec::with_capacity(64);
        match reply {
            Ok(result) => jsonrpc::write_result(&mut out, Some(id.get()), &result),
            Err(error) => jsonrpc::write_error(&mut out, Some(id.get()), &error),
        }
        if self.send(out, None).is_err() {
            tracing::debug!("gatehouse: a reply to the core was dropped: the pipe is closed");
        }
    }

    /// Queues a frame for the writer thread.
    pub(crate) fn send(&self, frame: Vec<u8>, written: Option<Ack>) -> Result<(), ClientError> {
        self.outgoing
            .send(Outgoing { frame, written })
            .map_err(|_| ClientError::Closed)
    }

    pub(crate) fn register(&self, method: String, handler: Handler) {
        if matches!(handler, Handler::Async(_)) {
            let mut runtime = lock(&self.runtime);
            if runtime.is_none() {
                *runtime = tokio::runtime::Handle::try_current().ok();
            }
        }
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(method, handler);
    }

    /// A fresh channel id, written as a `Channel` argument is: `"__CHANNEL__:<id>"`.
    pub(crate) fn open_channel(&self, sink: Sink, payload_only: bool) -> (u64, String) {
        let id = self.next_channel.fetch_add(1, Ordering::Relaxed) + 1;
        let mut sinks = lock(&self.sinks);
        // After the core is gone, nothing will arrive: leave the receiver to end at once.
        if !self.pending.is_closed() {
            sinks.insert(id, Subscription { sink, payload_only });
        }
        (id, format!("{CHANNEL_PREFIX}{id}"))
    }

    pub(crate) fn close_channel(&self, id: u64) {
        lock(&self.sinks).remove(&id);
    }

    /// A request frame for a call, or a notification frame.
    pub(crate) fn frame<P: serde::Serialize>(
        id: Option<u64>,
        method: &str,
        params: &P,
    ) -> Result<Vec<u8>, ClientError> {
        message::request(id, method, params).map_err(ClientError::Params)
    }

    pub(crate) fn closed_watch(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }

    pub(crate) fn wait_closed(&self) {
        let (flag, condvar) = &self.closed_blocking;
        let mut closed = lock(flag);
        while !*closed {
            closed = condvar.wait(closed).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Writes queued frames in batches until the queue or the pipe is gone.
fn write_frames<W: Write>(
    rx: std_mpsc::Receiver<Outgoing>,
    mut write: W,
    framing: Framing,
    engine: &Weak<Engine>,
) {
    let mut batch = Vec::new();
    let mut acks = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.clear();
        let mut next = Some(first);
        let mut count = 0;
        while let Some(item) = next {
            match encode(framing, &item.frame, &mut batch) {
                Ok(()) => acks.extend(item.written),
                Err(error) => tracing::error!(%error, "gatehouse: a message was not sent"),
            }
            count += 1;
            next = if count < BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if let Err(error) = write.write_all(&batch).and_then(|()| write.flush()) {
            tracing::warn!(%error, "gatehouse: writing to the core failed");
            if let Some(engine) = engine.upgrade() {
                engine.close();
            }
            return;
        }
        acks.drain(..).for_each(Ack::done);
        if batch.capacity() > 4 * BATCH_BYTES {
            batch = Vec::new();
        }
    }
}

fn panicked() -> RpcError {
    tracing::error!("gatehouse: a handler panicked");
    RpcError::new(ErrorCode::Internal, "the handler panicked")
}

/// Turns a panic while polling a handler's future into an error reply.
struct Unwind(Pin<Box<dyn Future<Output = Reply> + Send>>);

impl Future for Unwind {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(Err(panicked())),
        }
    }
}
