//! The write side of the child's connection: frames go out in the order they were queued, and
//! whoever finds the pipe idle writes them.
//!
//! - A blocked caller ([`BlockingClient`]) or a blocking handler writes its own frame when no
//!   write is in progress, and then what others queued meanwhile: no hand-off to another thread.
//! - A task on a tokio runtime queues its frame and spawns one flush per burst on the same
//!   runtime, so the frames of every call a task starts in one poll leave in one `write`; a
//!   call that is the only one waiting writes its frame at once. A runtime thread writes at
//!   most [`RUNTIME_BATCH`] bytes at a time: such a write waits only until the core, which
//!   keeps reading, has read what does not fit in the pipe (64 KiB on Linux).
//! - The reader, which must never block on a write (the core may be waiting for it to read),
//!   and anything too large to write on a runtime thread, hand the queue to the client's
//!   writer thread.
//!
//! Only one party writes at a time (`writing`); it drains the queue before it lets go, or
//! hands the rest to the writer thread.
//!
//! [`BlockingClient`]: super::BlockingClient

use std::io::{self, Write};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::error::ClientError;
use super::lock;

/// The most a runtime thread writes in one flush: twice a Linux pipe's capacity, so that one
/// 64 KiB message goes out without a hand-off, and a write waits at most for the core to read
/// one pipe's worth. A larger batch goes to the writer thread.
const RUNTIME_BATCH: usize = 128 * 1024;

/// Batches a blocked caller writes for others before it hands the rest to the writer thread.
const CALLER_ROUNDS: usize = 4;

/// A queue buffer larger than this is not kept for the next batch.
const KEEP_BYTES: usize = 1 << 20;

/// Told once a frame has been written (and flushed).
pub(crate) enum Ack {
    Async(oneshot::Sender<()>),
    Blocking(mpsc::SyncSender<()>),
}

impl Ack {
    fn done(self) {
        match self {
            Ack::Async(tx) => drop(tx.send(())),
            Ack::Blocking(tx) => drop(tx.try_send(())),
        }
    }
}

/// Who drains the queue, and how far.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Drainer {
    Caller,
    Runtime,
    Thread,
}

pub(crate) struct Outbox {
    state: Mutex<State>,
    /// The writer thread waits here.
    work: Condvar,
    /// Held by whoever has set `writing`.
    out: Mutex<Box<dyn Write + Send>>,
}

#[derive(Default)]
struct State {
    /// Framed bytes not yet written.
    queue: Vec<u8>,
    /// Told once the queue is written.
    acks: Vec<Ack>,
    /// An empty buffer for the next batch.
    spare: Vec<u8>,
    /// Someone writes, and drains the queue before letting go.
    writing: bool,
    /// A flush is spawned on a runtime and has not run yet.
    flush_spawned: bool,
    /// The writer thread has the queue to drain.
    thread_due: bool,
    /// A write failed: the pipe is gone.
    broken: bool,
    /// The client is gone: the writer thread ends.
    stopped: bool,
}

/// What a queued frame needs next.
#[must_use]
pub(crate) enum Queued {
    /// Someone will write it.
    Handled,
    /// Nobody will unless the caller spawns a flush ([`Outbox::flush_on_runtime`]) or calls
    /// [`Outbox::hand_to_thread`].
    NeedsFlush,
}

impl Outbox {
    pub(crate) fn new(out: Box<dyn Write + Send>) -> Self {
        Self {
            state: Mutex::default(),
            work: Condvar::new(),
            out: Mutex::new(out),
        }
    }

    /// Writes `frame` from the calling thread when nobody else writes (then also what was
    /// queued meanwhile); otherwise queues it for whoever writes. With `ack`, returns once it
    /// is written.
    ///
    /// # Errors
    ///
    /// The write failed, or an earlier one did: the pipe is gone.
    pub(crate) fn write_blocking(&self, mut frame: Vec<u8>, ack: bool) -> Result<(), io::Error> {
        let mut state = lock(&self.state);
        if state.broken {
            return Err(broken());
        }
        if state.writing {
            append(&mut state.queue, &mut frame);
            if !ack {
                return Ok(());
            }
            let (tx, rx) = mpsc::sync_channel(1);
            state.acks.push(Ack::Blocking(tx));
            drop(state);
            return rx.recv().map_err(|_| broken());
        }
        state.writing = true;
        if state.queue.is_empty() {
            // The common case: nothing waits, the frame goes out as it is.
            drop(state);
            let written = self.write(&frame);
            state = lock(&self.state);
            if let Err(error) = written {
                self.fail(state);
                return Err(error);
            }
        } else {
            append(&mut state.queue, &mut frame);
        }
        self.drain(state, Drainer::Caller)
    }

    /// Writes `frame` at once from a runtime thread if the pipe is idle and the frame small
    /// (what [`flush_on_runtime`](Self::flush_on_runtime) would write); otherwise gives it back.
    ///
    /// # Errors
    ///
    /// The write failed: the pipe is gone.
    pub(crate) fn write_now(&self, frame: Vec<u8>) -> Result<Result<(), Vec<u8>>, io::Error> {
        let mut state = lock(&self.state);
        let busy = state.writing || state.flush_spawned || state.thread_due || state.broken;
        if busy || !state.queue.is_empty() || frame.len() > RUNTIME_BATCH {
            return Ok(Err(frame));
        }
        state.writing = true;
        drop(state);
        let written = self.write(&frame);
        let state = lock(&self.state);
        if let Err(error) = written {
            self.fail(state);
            return Err(error);
        }
        self.drain(state, Drainer::Runtime).map(Ok)
    }

    /// Queues `frame` for whoever writes; `ack` is told once it is written.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] when the pipe is gone.
    pub(crate) fn queue(
        &self,
        mut frame: Vec<u8>,
        ack: Option<Ack>,
    ) -> Result<Queued, ClientError> {
        let mut state = lock(&self.state);
        if state.broken {
            return Err(ClientError::Closed);
        }
        append(&mut state.queue, &mut frame);
        state.acks.extend(ack);
        if state.writing || state.flush_spawned || state.thread_due {
            return Ok(Queued::Handled);
        }
        state.flush_spawned = true;
        Ok(Queued::NeedsFlush)
    }

    /// The flush that [`Queued::NeedsFlush`] asked for, on a runtime thread: writes the queue
    /// unless someone else does, or hands it to the writer thread when it is too large to
    /// write here.
    ///
    /// # Errors
    ///
    /// The write failed: the pipe is gone.
    pub(crate) fn flush_on_runtime(&self) -> Result<(), io::Error> {
        let mut state = lock(&self.state);
        state.flush_spawned = false;
        if state.writing || state.thread_due || state.broken {
            return Ok(());
        }
        state.writing = true;
        self.drain(state, Drainer::Runtime)
    }

    /// The flush that [`Queued::NeedsFlush`] asked for, by the writer thread.
    pub(crate) fn hand_to_thread(&self) {
        let mut state = lock(&self.state);
        state.flush_spawned = false;
        if !state.writing && !state.broken && !state.queue.is_empty() {
            self.wake_thread(&mut state);
        }
    }

    fn wake_thread(&self, state: &mut State) {
        state.thread_due = true;
        self.work.notify_one();
    }

    /// The writer thread's loop: drains the queue whenever it is handed over, until the client
    /// is gone (`Ok`) or a write fails.
    ///
    /// # Errors
    ///
    /// The write failed: the pipe is gone.
    pub(crate) fn serve(&self) -> Result<(), io::Error> {
        let mut state = lock(&self.state);
        loop {
            if state.stopped || state.broken {
                return Ok(());
            }
            if state.thread_due && !state.writing {
                state.thread_due = false;
                state.writing = true;
                self.drain(state, Drainer::Thread)?;
                state = lock(&self.state);
                continue;
            }
            state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The client is gone: the writer thread ends once the queue is written.
    pub(crate) fn stop(&self) {
        lock(&self.state).stopped = true;
        self.work.notify_all();
    }

    /// Writes what is queued until the queue is empty, then lets go of `writing` (which the
    /// caller holds), or hands the rest to the writer thread.
    fn drain<'a>(&'a self, mut state: MutexGuard<'a, State>, by: Drainer) -> Result<(), io::Error> {
        let mut rounds = 0;
        loop {
            if state.queue.is_empty() {
                state.writing = false;
                // Whatever the writer thread was handed is written.
                state.thread_due = false;
                return Ok(());
            }
            let too_much = match by {
                Drainer::Caller => rounds == CALLER_ROUNDS,
                Drainer::Runtime => rounds > 0 || state.queue.len() > RUNTIME_BATCH,
                Drainer::Thread => false,
            };
            if too_much {
                state.writing = false;
                self.wake_thread(&mut state);
                return Ok(());
            }
            rounds += 1;
            let mut batch = std::mem::take(&mut state.spare);
            std::mem::swap(&mut batch, &mut state.queue);
            let acks = std::mem::take(&mut state.acks);
            drop(state);
            let written = self.write(&batch);
            state = lock(&self.state);
            if let Err(error) = written {
                self.fail(state);
                return Err(error);
            }
            batch.clear();
            if batch.capacity() <= KEEP_BYTES {
                state.spare = batch;
            }
            acks.into_iter().for_each(Ack::done);
        }
    }

    fn write(&self, bytes: &[u8]) -> Result<(), io::Error> {
        let mut out = lock(&self.out);
        out.write_all(bytes).and_then(|()| out.flush())
    }

    /// A write failed: nothing more will be written; the waiting acks see it.
    fn fail(&self, mut state: MutexGuard<'_, State>) {
        state.broken = true;
        state.writing = false;
        state.queue = Vec::new();
        state.acks.clear();
        drop(state);
        self.work.notify_all();
    }
}

/// Moves `frame` to the end of `queue`, without a copy when the queue is empty.
fn append(queue: &mut Vec<u8>, frame: &mut Vec<u8>) {
    if queue.is_empty() && frame.capacity() >= queue.capacity() {
        std::mem::swap(queue, frame);
    } else {
        queue.extend_from_slice(frame);
    }
}

fn broken() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the pipe to the core is closed")
}
