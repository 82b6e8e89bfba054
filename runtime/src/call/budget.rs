//! What a connection lets one message use: how many of its requests may run, how large a reply
//! may be, and the connection's turns at blocking work — counted where they cost, per request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{Notify, Semaphore};

use crate::limits::Limits;

/// What one message may use; the router reads it as it answers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget<'a> {
    /// How many of the message's requests may run: the first `admitted` entries of a batch (a
    /// single request runs when this is at least 1). The rest are answered `-32007` in place.
    pub(crate) admitted: usize,
    /// The in-flight limit, named in the `-32007` errors.
    pub(crate) max_in_flight: usize,
    /// The largest reply, in bytes; a larger one is replaced by `-32008`.
    pub(crate) max_response: usize,
    /// The connection the message came from; `None` in process (no connection to close).
    pub(crate) connection: Option<&'a Arc<ConnectionWork>>,
}

impl<'a> Budget<'a> {
    /// For a message handed to the router in process: everything runs, replies are bounded by
    /// the router's limits.
    pub(crate) fn in_process(limits: &Limits) -> Self {
        Self {
            admitted: usize::MAX,
            max_in_flight: limits.max_in_flight,
            max_response: limits.max_response_bytes,
            connection: None,
        }
    }
}

/// The work of one connection that outlives a single message: its turns at blocking commands
/// ([`Limits::max_blocking`]) and whether it has closed, so that what it started is cancelled
/// (async commands) or skipped (blocking ones not yet started).
#[derive(Debug)]
pub(crate) struct ConnectionWork {
    blocking: Arc<Semaphore>,
    closed: AtomicBool,
    closing: Notify,
}

impl ConnectionWork {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            blocking: Arc::new(Semaphore::new(
                limits.max_blocking.clamp(1, Semaphore::MAX_PERMITS),
            )),
            closed: AtomicBool::new(false),
            closing: Notify::new(),
        }
    }

    /// The connection's turns at blocking commands.
    pub(crate) fn blocking(&self) -> &Arc<Semaphore> {
        &self.blocking
    }

    /// Marks the connection closed and wakes everything waiting in [`closed`](Self::closed).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.blocking.close();
        self.closing.notify_waiters();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Completes once the connection has closed.
    pub(crate) async fn closed(&self) {
        loop {
            let mut notified = std::pin::pin!(self.closing.notified());
            // Registered before the flag is read, so a close in between is not missed.
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closing_wakes_every_waiter_and_refuses_turns() {
        let work = Arc::new(ConnectionWork::new(&Limits::default()));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let work = Arc::clone(&work);
                tokio::spawn(async move { work.closed().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(!work.is_closed());
        work.close();
        for waiter in waiters {
            assert!(waiter.await.is_ok());
        }
        work.closed().await;
        assert!(work.blocking().clone().acquire_owned().await.is_err());
    }
}
