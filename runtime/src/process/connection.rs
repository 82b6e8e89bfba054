//! One child's connection: a reader that answers what the child writes (in place when the
//! answer is ready at once, else on a task of its own), a writer that drains its outbound queue
//! into its stdin, and a supervisor that sees it exit.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::child::Child;
use super::shared::{Control, Shared};
use super::stderr;
use super::{CallError, Exit, ExitReason, Fault, Limits};
use crate::call::reader;
use crate::engine::{Connection, Inbound};
use crate::error::RpcError;
use crate::limits;
use crate::outbound::OutboundReceiver;
use crate::stdio::frame::{encode, AsyncFrameReader, FrameError};
use crate::stdio::message::Envelope;
use crate::stdio::pending::Pending;
use crate::stdio::Framing;

/// Frames and bytes gathered into one write at most.
const BATCH: usize = 64;
const BATCH_BYTES: usize = 256 * 1024;

/// After a child exits, how long what it wrote before is still read. Its output usually ends
/// at once; a grandchild holding the pipe open must not keep the connection alive.
const DRAIN: Duration = Duration::from_secs(1);

/// Everything a new connection starts from.
pub(super) struct Parts {
    pub(super) engine: Connection,
    pub(super) rx: OutboundReceiver,
    pub(super) process: tokio::process::Child,
    pub(super) stdin: ChildStdin,
    pub(super) stdout: ChildStdout,
    pub(super) stderr: Option<tokio::process::ChildStderr>,
    pub(super) framing: Framing,
    pub(super) limits: Limits,
    pub(super) call_timeout: Duration,
    pub(super) shutdown_timeout: Duration,
    pub(super) kill_on_drop: bool,
    pub(super) program: String,
}

/// Starts the child's tasks and returns its handle.
pub(super) fn start(parts: Parts) -> Child {
    let Parts {
        engine,
        rx,
        process,
        stdin,
        stdout,
        stderr,
        framing,
        limits,
        call_timeout,
        shutdown_timeout,
        kill_on_drop,
        program,
    } = parts;
    let pid = process.id().unwrap_or(0);
    let caller = engine.caller().clone();
    let outbound = engine.outbound().clone();
    let label: Arc<str> = caller.label().into();
    let (control, control_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        pending: Pending::default(),
        control,
    });
    tracing::debug!(child = &*label, pid, program, "gatehouse: child started");

    let reader = Reader {
        engine,
        max_depth: limits.max_depth,
        shared: Arc::clone(&shared),
        label: Arc::clone(&label),
    };
    let reader = tokio::spawn(reader.run(AsyncFrameReader::new(
        stdout,
        framing,
        limits.max_message_bytes,
    )));
    let (stop, stop_rx) = oneshot::channel();
    let writer = tokio::spawn(
        Writer {
            framing,
            timeout: limits.write_timeout,
            shared: Arc::clone(&shared),
            label: Arc::clone(&label),
        }
        .run(stdin, rx, stop_rx),
    );
    let lines = stderr.map(|stderr| stderr::capture(stderr, Arc::clone(&label)));
    let (exit_tx, exit) = watch::channel(None);
    tokio::spawn(
        Supervisor {
            process,
            control: control_rx,
            reader,
            writer,
            stop: Some(stop),
            shared: Arc::clone(&shared),
            exit: exit_tx,
            shutdown_timeout,
            label,
            pid,
        }
        .run(),
    );
    Child::new(super::child::Parts {
        caller,
        pid,
        outbound,
        shared,
        exit,
        stderr: lines,
        call_timeout,
        kill_on_drop,
    })
}

struct Reader {
    engine: Connection,
    max_depth: usize,
    shared: Arc<Shared>,
    label: Arc<str>,
}

impl Reader {
    /// Reads the child's output until it ends or breaks a limit; then no reply can come, so the
    /// core's calls still waiting fail.
    async fn run(self, mut frames: AsyncFrameReader<ChildStdout>) {
        let label = &*self.label;
        loop {
            match frames.next().await {
                Ok(Some(frame)) => self.message(frame).await,
                Ok(None) => break,
                Err(FrameError::TooLarge { limit }) => {
                    crate::log::warn_limited!(
                        child = label,
                        limit,
                        "gatehouse: killing a child: it wrote a message over the size limit"
                    );
                    self.kill(Fault::MessageTooLarge { limit });
                    break;
                }
                Err(FrameError::Truncated { bytes }) => {
                    crate::log::warn_limited!(
                        child = label,
                        bytes,
                        "gatehouse: a child's output ended inside a message; the partial message was discarded"
                    );
                    break;
                }
                Err(FrameError::Io(error)) => {
                    crate::log::warn_limited!(child = label, %error, "gatehouse: killing a child: reading its output failed");
                    self.kill(Fault::Read {
                        message: error.to_string(),
                    });
                    break;
                }
            }
        }
        drop(self.shared.pending.close());
    }

    fn kill(&self, fault: Fault) {
        let _ = self
            .shared
            .control
            .send(Control::Kill(ExitReason::Fault(fault)));
    }

    /// One message: a reply to one of the core's calls, or requests for the router.
    async fn message(&self, frame: Vec<u8>) {
        match self.engine.frame(frame).await {
            Ok(Inbound::Served) | Err(_) => {}
            Ok(Inbound::Response {
                frame,
                too_deep: true,
            }) => self.too_deep_reply(&frame),
            Ok(Inbound::Response {
                frame,
                too_deep: false,
            }) => match serde_json::from_slice::<Envelope>(&frame) {
                Ok(envelope) if envelope.is_reply() => self.reply(envelope),
                // Not a reply after all (an invalid request, garbage): the router answers it.
                _ => {
                    let _ = self.engine.request(frame).await;
                }
            },
        }
    }

    /// A reply too deep to read: a response is never answered, so the call it answers fails
    /// at once instead of waiting for its timeout.
    fn too_deep_reply(&self, frame: &[u8]) {
        let error = limits::nesting_too_deep(self.max_depth);
        let id = reader::outline(frame, usize::MAX).shape.id();
        let waiter = id
            .reply_id()
            .and_then(|id| id.parse::<u64>().ok())
            .and_then(|id| self.shared.pending.take(id));
        match waiter {
            Some(waiter) => {
                let _ = waiter.send(Err(CallError::Limit(error)));
            }
            None => crate::log::warn_limited!(
                child = &*self.label,
                limit = self.max_depth,
                "gatehouse: a child's reply nested too deep was dropped; no call waits for it"
            ),
        }
    }

    /// Hands a reply to the call waiting for it.
    fn reply(&self, envelope: Envelope) {
        let label = &*self.label;
        let Some(id) = envelope.reply_id() else {
            let error = envelope.into_outcome().err().flatten();
            crate::log::warn_limited!(
                child = label,
                error = error.as_ref().map(RpcError::message),
                "gatehouse: a child could not read a message from the core"
            );
            return;
        };
        let Some(waiter) = self.shared.pending.take(id) else {
            tracing::debug!(
                child = label,
                id,
                "gatehouse: a child's reply that no call waits for (it timed out?)"
            );
            return;
        };
        let outcome = envelope
            .into_outcome()
            .map_err(|error| error.map_or(CallError::InvalidReply, CallError::Rpc));
        let _ = waiter.send(outcome);
    }
}

struct Writer {
    framing: Framing,
    timeout: Duration,
    shared: Arc<Shared>,
    label: Arc<str>,
}

impl Writer {
    /// Writes queued frames until told to stop, the child stops reading, or its input closes.
    /// Closes the outbound queue when done, so senders see `Closed`; dropping stdin closes the
    /// child's input.
    async fn run(
        self,
        mut stdin: ChildStdin,
        mut rx: OutboundReceiver,
        mut stop: oneshot::Receiver<()>,
    ) {
        let mut batch = Vec::new();
        let mut stopping = false;
        loop {
            let first = if stopping {
                rx.try_recv()
            } else {
                tokio::select! {
                    biased;
                    _ = &mut stop => {
                        // Shutting down: what is already queued still goes out, then stdin
                        // closes.
                        rx.close();
                        stopping = true;
                        rx.try_recv()
                    }
                    frame = rx.recv() => frame,
                }
            };
            let Some(first) = first else { break };
            batch.clear();
            self.encode(&first, &mut batch);
            let mut frames = 1;
            while frames < BATCH && batch.len() < BATCH_BYTES {
                let Some(frame) = rx.try_recv() else { break };
                self.encode(&frame, &mut batch);
                frames += 1;
            }
            match tokio::time::timeout(self.timeout, write(&mut stdin, &batch)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::debug!(child = &*self.label, %error, "gatehouse: a child's input is closed");
                    break;
                }
                // While shutting down, the shutdown timeout decides.
                Err(_) if stopping => break,
                Err(_) => {
                    crate::log::warn_limited!(
                        child = &*self.label,
                        timeout = ?self.timeout,
                        "gatehouse: killing a child: it has not read its input within the write timeout"
                    );
                    let fault = Fault::WriteTimeout {
                        timeout: self.timeout,
                    };
                    let _ = self
                        .shared
                        .control
                        .send(Control::Kill(ExitReason::Fault(fault)));
                    break;
                }
            }
            // Do not hold on to the room a burst of large messages needed.
            if batch.capacity() > 4 * BATCH_BYTES {
                batch = Vec::new();
            }
        }
        rx.close();
    }

    fn encode(&self, frame: &[u8], batch: &mut Vec<u8>) {
        if let Err(error) = encode(self.framing, frame, batch) {
            tracing::error!(child = &*self.label, %error, "gatehouse: a message to a child was dropped");
        }
    }
}

async fn write(stdin: &mut ChildStdin, bytes: &[u8]) -> std::io::Result<()> {
    stdin.write_all(bytes).await?;
    stdin.flush().await
}

struct Supervisor {
    process: tokio::process::Child,
    control: mpsc::UnboundedReceiver<Control>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
    shared: Arc<Shared>,
    exit: watch::Sender<Option<Exit>>,
    shutdown_timeout: Duration,
    label: Arc<str>,
    pid: u32,
}

impl Supervisor {
    /// Waits for the child to exit (or ends it when asked), then winds the connection down
    /// and publishes the [`Exit`].
    async fn run(mut self) {
        // Control first: the reader sends its `Kill` before it stops reading, and a child whose
        // writes then fail may exit on its own a moment later; the fault is the reason.
        let (status, reason) = tokio::select! {
            biased;
            control = self.control.recv() => match control {
                Some(Control::Kill(reason)) => (self.kill().await, reason),
                Some(Control::Shutdown) => self.shutdown().await,
                // Unreachable while `self.shared` holds a sender; wait for the exit anyway.
                None => (self.process.wait().await.ok(), ExitReason::Exited),
            },
            status = self.process.wait() => (status.ok(), ExitReason::Exited),
        };
        // What the child wrote before it exited is still read (and its requests run).
        if tokio::time::timeout(DRAIN, &mut self.reader).await.is_err() {
            self.reader.abort();
        }
        drop(self.shared.pending.close());
        // Nobody reads the child's input any more: stop writing, close the outbound queue.
        self.writer.abort();
        let _ = (&mut self.writer).await;
        let exit = Exit { status, reason };
        let label = &*self.label;
        match &exit.reason {
            ExitReason::Exited if !exit.success() => {
                crate::log::warn_limited!(child = label, pid = self.pid, %exit, "gatehouse: a child crashed");
            }
            _ => tracing::debug!(child = label, pid = self.pid, %exit, "gatehouse: a child ended"),
        }
        self.exit.send_replace(Some(exit));
    }

    async fn kill(&mut self) -> Option<std::process::ExitStatus> {
        // Fails only when it has exited already; `wait` then reports how.
        let _ = self.process.start_kill();
        self.process.wait().await.ok()
    }

    /// Closes stdin (after what is queued), waits, then kills.
    async fn shutdown(&mut self) -> (Option<std::process::ExitStatus>, ExitReason) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(self.shutdown_timeout, self.process.wait()).await {
            Ok(status) => (status.ok(), ExitReason::Shutdown { killed: false }),
            Err(_) => {
                tracing::debug!(
                    child = &*self.label,
                    "gatehouse: a child did not exit within the shutdown timeout; killing it"
                );
                (self.kill().await, ExitReason::Shutdown { killed: true })
            }
        }
    }
}
