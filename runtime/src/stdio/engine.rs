//! What the async and the blocking client share: the calls waiting for replies, the handlers,
//! the channels, and the two sides of the pipe ([`Inbox`], [`Outbox`]) with the two threads
//! that serve them when no caller does.
//!
//! Threads rather than tokio's stdin: a read of tokio's stdin blocks the runtime's shutdown
//! until the core closes the pipe, and the blocking client must not need a runtime at all.

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::{oneshot, watch};

use super::error::ClientError;
use super::frame::{self, FrameReader};
use super::handler::{Answer, Handler, Handlers, NotRun, Reply};
use super::inbox::{Claim, Inbox, Outcome, Slot, Wake, LINGER};
use super::lock;
use super::message::{self, Incoming};
use super::outbox::{Ack, Outbox, Queued};
use super::pending::Pending;
use super::sink::{Sink, Sinks};
use super::Framing;
use crate::channel::CHANNEL_METHOD;
use crate::error::RpcError;
use crate::jsonrpc;

/// Where a call's reply goes.
pub(crate) enum Waiter {
    Async(oneshot::Sender<Outcome>),
    Blocking(Arc<Slot>),
}

impl Waiter {
    fn send(self, outcome: Outcome) {
        match self {
            // A caller that stopped waiting does not want it.
            Waiter::Async(tx) => drop(tx.send(outcome)),
            Waiter::Blocking(slot) => slot.fill(outcome),
        }
    }
}

/// Replies read and not yet handed to their callers: they are handed over together once
/// everything already read is dispatched, so that a burst of replies wakes a caller's runtime
/// once, not once per reply.
#[derive(Default)]
struct Ready(Vec<(Waiter, Outcome)>);

impl Ready {
    fn deliver(&mut self) {
        for (waiter, outcome) in self.0.drain(..) {
            waiter.send(outcome);
        }
    }
}

/// What the reader did with a frame.
enum Dispatched<'f> {
    /// The reply the reader itself waits for.
    Mine(Result<&'f RawValue, ClientError>),
    /// A reply handed to a blocked caller.
    ToCaller,
    Other,
}

pub(crate) struct Engine {
    framing: Framing,
    pub(crate) pending: Pending<Waiter>,
    handlers: Handlers,
    sinks: Sinks,
    outbox: Arc<Outbox>,
    inbox: Inbox,
    /// Callers read their own replies ([`BlockingClient`](super::BlockingClient)): the
    /// background reader lets them.
    callers_read: bool,
    closed: watch::Sender<bool>,
    closed_blocking: (Mutex<bool>, Condvar),
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.outbox.stop();
    }
}

impl Engine {
    /// Starts the background reader and the writer thread. With `callers_read`, blocked callers
    /// read their own replies when they can.
    pub(crate) fn start(
        read: Box<dyn Read + Send>,
        write: Box<dyn Write + Send>,
        framing: Framing,
        max: usize,
        callers_read: bool,
    ) -> Arc<Engine> {
        let outbox = Arc::new(Outbox::new(write));
        let engine = Arc::new(Engine {
            framing,
            pending: Pending::default(),
            handlers: Handlers::new(),
            sinks: Sinks::default(),
            outbox: Arc::clone(&outbox),
            inbox: Inbox::new(FrameReader::new(read, framing, max)),
            callers_read,
            closed: watch::Sender::new(false),
            closed_blocking: (Mutex::new(false), Condvar::new()),
        });
        let weak = Arc::downgrade(&engine);
        let writer = std::thread::Builder::new()
            .name("gatehouse-stdio-write".into())
            .spawn(move || {
                if let Err(error) = outbox.serve() {
                    if let Some(engine) = weak.upgrade() {
                        engine.broken(&error);
                    }
                }
            });
        let reader = Arc::clone(&engine);
        let reader = writer.and_then(|_| {
            std::thread::Builder::new()
                .name("gatehouse-stdio-read".into())
                .spawn(move || reader.read_in_background())
        });
        if let Err(error) = reader {
            tracing::error!(%error, "gatehouse: cannot start the stdio client's threads");
            engine.close();
        }
        engine
    }

    /// The background reader: reads whenever no caller does, until the core closes the pipe.
    fn read_in_background(self: Arc<Self>) {
        let linger = if self.callers_read {
            LINGER
        } else {
            Duration::ZERO
        };
        let mut ready = Ready::default();
        while let Some(mut role) = self.inbox.claim_in_background(linger) {
            let mut handed = false;
            loop {
                match role.next_borrowed() {
                    Ok(Some(frame)) => {
                        handed |=
                            matches!(self.dispatch(frame, None, &mut ready), Dispatched::ToCaller);
                        if role.has_frame() {
                            continue;
                        }
                        // All that was read is dispatched: wake its callers at once.
                        ready.deliver();
                        // Callers active: let them read their replies themselves.
                        if self.callers_read && (handed || self.inbox.has_followers()) {
                            self.inbox.release(role);
                            break;
                        }
                    }
                    Ok(None) => {
                        ready.deliver();
                        return self.close();
                    }
                    Err(error) => {
                        ready.deliver();
                        tracing::warn!(%error, "gatehouse: stopped reading from the core");
                        return self.close();
                    }
                }
            }
        }
    }

    /// For a blocked caller whose request `id` is written: reads until its reply arrives if
    /// nobody else reads, else waits for the reply (or for the role). `parse` reads the result.
    pub(crate) fn wait_blocking<T>(
        self: &Arc<Self>,
        id: u64,
        slot: &Arc<Slot>,
        parse: impl FnOnce(&RawValue) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let mut role = match self.inbox.claim(slot) {
            Claim::Lead(role) => role,
            Claim::Done => return slot.take().and_then(|result| parse(&result)),
            Claim::Closed => return Err(ClientError::Closed),
            Claim::Follow => match slot.wait(&self.inbox) {
                Wake::Reply(outcome) => {
                    self.inbox.unfollow(slot);
                    return outcome.and_then(|result| parse(&result));
                }
                Wake::Lead(role) => role,
            },
        };
        let mut ready = Ready::default();
        loop {
            match role.next_borrowed() {
                Ok(Some(frame)) => {
                    if let Dispatched::Mine(outcome) = self.dispatch(frame, Some(id), &mut ready) {
                        ready.deliver();
                        // Read straight from the frame, no copy.
                        let result = outcome.and_then(parse);
                        self.inbox.release(role);
                        return result;
                    }
                    if !role.has_frame() {
                        ready.deliver();
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "gatehouse: stopped reading from the core");
                    break;
                }
            }
        }
        ready.deliver();
        self.close();
        Err(ClientError::Closed)
    }

    /// The core's input ended (or the pipe broke): calls fail, receivers end, `closed`
    /// resolves.
    pub(crate) fn close(&self) {
        for waiter in self.pending.close() {
            waiter.send(Err(ClientError::Closed));
        }
        self.sinks.close();
        self.inbox.close();
        *lock(&self.closed_blocking.0) = true;
        self.closed_blocking.1.notify_all();
        self.closed.send_replace(true);
    }

    /// Writing failed: nothing more can be sent.
    fn broken(&self, error: &std::io::Error) {
        tracing::warn!(%error, "gatehouse: writing to the core failed");
        self.close();
    }

    /// One message from the core. `mine` is the id of the reply the reader itself waits for.
    fn dispatch<'f>(
        self: &Arc<Self>,
        frame: &'f [u8],
        mine: Option<u64>,
        ready: &mut Ready,
    ) -> Dispatched<'f> {
        let incoming: Incoming<'f> = match serde_json::from_slice(frame) {
            Ok(incoming) => incoming,
            Err(error) => {
                tracing::warn!(%error, "gatehouse: ignored a malformed message from the core");
                return Dispatched::Other;
            }
        };
        if incoming.is_reply() {
            return self.reply_arrived(&incoming, mine, ready);
        }
        if incoming.id.is_none() && incoming.method_is(CHANNEL_METHOD) {
            self.sinks.deliver(incoming.params);
            return Dispatched::Other;
        }
        let Some(method) = incoming.method_name() else {
            tracing::warn!("gatehouse: ignored a message from the core without a method");
            return Dispatched::Other;
        };
        let params = incoming
            .params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or(Value::Null);
        let answer = incoming.id.map(|id| self.answer_to(id));
        if let Err(NotRun { answer, error }) = self.handlers.run(&method, params, answer) {
            match answer {
                // The reader must not wait for a write: the writer thread sends it.
                Some(answer) => answer(Err(error)),
                None => tracing::debug!(method, %error, "gatehouse: a notification nobody handles"),
            }
        }
        Dispatched::Other
    }

    fn reply_arrived<'f>(
        &self,
        incoming: &Incoming<'f>,
        mine: Option<u64>,
        ready: &mut Ready,
    ) -> Dispatched<'f> {
        let Some(id) = incoming.reply_id() else {
            // The core answers `id: null` to what it could not read at all, such as a stray
            // line on stdout.
            let error = incoming.outcome().err().flatten();
            tracing::warn!(
                error = error.as_ref().map(RpcError::message),
                "gatehouse: the core could not read a message from this process (is something else printing to stdout?)"
            );
            return Dispatched::Other;
        };
        let outcome = || {
            incoming.outcome().map_err(|error| match error {
                Some(error) => ClientError::from_rpc(&error),
                None => ClientError::malformed_reply(),
            })
        };
        if mine == Some(id) {
            return Dispatched::Mine(outcome());
        }
        let Some(waiter) = self.pending.take(id) else {
            tracing::debug!(id, "gatehouse: a reply nobody waits for");
            return Dispatched::Other;
        };
        let to_caller = matches!(waiter, Waiter::Blocking(_));
        ready.0.push((waiter, outcome().map(RawValue::to_owned)));
        if to_caller {
            Dispatched::ToCaller
        } else {
            Dispatched::Other
        }
    }

    /// Where a handler's reply to the core's request `id` goes. Answered from a runtime (an
    /// async handler), it is flushed by a task; from another thread (the blocking handlers'
    /// thread), written at once; from the reader (no handler), by the writer thread.
    fn answer_to(self: &Arc<Self>, id: &RawValue) -> Answer {
        let id = id.get().to_owned();
        let engine = Arc::downgrade(self);
        let reader = std::thread::current().id();
        Box::new(move |reply: Reply| {
            let Some(engine) = engine.upgrade() else {
                return;
            };
            let mut out = Vec::with_capacity(64);
            let start = frame::begin(engine.framing, &mut out);
            match reply {
                Ok(result) => jsonrpc::write_result(&mut out, Some(&id), &result),
                Err(error) => jsonrpc::write_error(&mut out, Some(&id), &error),
            }
            if let Err(error) = frame::end(engine.framing, &mut out, start) {
                tracing::error!(%error, "gatehouse: a reply to the core was not sent");
                return;
            }
            let sent = if std::thread::current().id() == reader {
                engine.send_later(out)
            } else if tokio::runtime::Handle::try_current().is_ok() {
                engine.send_async(out, None)
            } else {
                engine.send_blocking(out, false)
            };
            if sent.is_err() {
                tracing::debug!("gatehouse: a reply to the core was dropped: the pipe is closed");
            }
        })
    }

    /// A request frame for a call, or a notification frame, framed.
    pub(crate) fn request<P: Serialize + ?Sized>(
        &self,
        id: Option<u64>,
        method: &str,
        params: &P,
    ) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::with_capacity(64 + method.len());
        let start = frame::begin(self.framing, &mut out);
        message::write_request(&mut out, id, method, params).map_err(ClientError::Params)?;
        frame::end(self.framing, &mut out, start)
            .map_err(|e| ClientError::Params(serde_json::Error::io(e)))?;
        Ok(out)
    }

    /// Sends from a thread that may block: written by this thread unless someone else is
    /// writing. With `ack`, returns once written.
    pub(crate) fn send_blocking(&self, frame: Vec<u8>, ack: bool) -> Result<(), ClientError> {
        self.outbox.write_blocking(frame, ack).map_err(|error| {
            self.broken(&error);
            ClientError::Closed
        })
    }

    /// Sends from a task: queued, and flushed by a task on this thread's runtime once the
    /// current task yields (by the writer thread outside a runtime). `ack` is told once it is
    /// written.
    pub(crate) fn send_async(
        self: &Arc<Self>,
        frame: Vec<u8>,
        ack: Option<Ack>,
    ) -> Result<(), ClientError> {
        if let Queued::NeedsFlush = self.outbox.queue(frame, ack)? {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let flush = Flush(Some(Arc::clone(self)));
                    drop(runtime.spawn(flush.run()));
                }
                Err(_) => self.outbox.hand_to_thread(),
            }
        }
        Ok(())
    }

    /// Sends a call's request from a task. When it is the only call waiting, no other frame is
    /// likely to join it in a batch: it is written at once (if the pipe is idle and the frame
    /// small), without a flush task.
    pub(crate) fn send_call(self: &Arc<Self>, frame: Vec<u8>) -> Result<(), ClientError> {
        let alone = self.pending.len() <= 1 && tokio::runtime::Handle::try_current().is_ok();
        let frame = if alone {
            match self.outbox.write_now(frame) {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(frame)) => frame,
                Err(error) => {
                    self.broken(&error);
                    return Err(ClientError::Closed);
                }
            }
        } else {
            frame
        };
        self.send_async(frame, None)
    }

    /// Sends from the reader, which must not wait for a write: by the writer thread.
    fn send_later(&self, frame: Vec<u8>) -> Result<(), ClientError> {
        if let Queued::NeedsFlush = self.outbox.queue(frame, None)? {
            self.outbox.hand_to_thread();
        }
        Ok(())
    }

    pub(crate) fn register(&self, method: String, handler: Handler) {
        self.handlers.register(method, handler);
    }

    /// A fresh channel, and its `Channel` argument value.
    pub(crate) fn open_channel(&self, sink: Sink, payload_only: bool) -> (u64, String) {
        self.sinks.open(sink, payload_only)
    }

    pub(crate) fn close_channel(&self, id: u64) {
        self.sinks.remove(id);
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

/// A flush spawned on a runtime. Dropped without running (the runtime is shutting down), it
/// hands the queue to the writer thread.
struct Flush(Option<Arc<Engine>>);

impl Flush {
    async fn run(mut self) {
        if let Some(engine) = self.0.take() {
            if let Err(error) = engine.outbox.flush_on_runtime() {
                engine.broken(&error);
            }
        }
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        if let Some(engine) = self.0.take() {
            engine.outbox.hand_to_thread();
        }
    }
}
