//! The way from the core to one connected caller: a queue of frames that a transport drains into
//! its socket or pipe, bounded in frames *and* in bytes. Replies, channel messages and events go
//! through it.

use std::fmt;
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};

use crate::limits::Limits;

/// The method of the notification that carries a channel message.
pub const CHANNEL_METHOD: &str = "gatehouse:channel";

/// Why a frame could not be queued for a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The caller's queue is full: it is not reading as fast as the core writes.
    #[error("the caller's outbound queue is full: it is not reading its messages")]
    Full,
    /// The caller is gone (its connection or process ended).
    #[error("the caller has disconnected")]
    Closed,
}

/// The sending side of one caller's outbound queue.
///
/// Cheap to clone. A transport makes one per connection with [`Outbound::bounded`] and gives it
/// to [`Router::connect`](crate::Router::connect); the runtime then pushes replies, channel
/// messages and events into it, and the transport writes what comes out of the
/// [`OutboundReceiver`].
///
/// The queue holds at most [`Limits::outbound_capacity`] frames and
/// [`Limits::max_outbound_bytes`] bytes; a frame larger than the byte bound is let through when
/// the queue is empty, so one large reply is never refused, only made to wait.
#[derive(Clone)]
pub struct Outbound {
    tx: mpsc::Sender<Vec<u8>>,
    /// What every clone shares; its address is the queue's identity (tells one connection from
    /// another).
    key: Arc<Shared>,
}

/// What the clones of one [`Outbound`] and its receiver share.
#[derive(Debug)]
struct Shared {
    /// One permit a byte of room; closed with the queue, so waiting senders learn of it.
    room: Semaphore,
    /// The byte bound (what `room` starts with).
    max_bytes: u32,
    max_listeners: usize,
}

impl Shared {
    /// The room a frame of `len` bytes takes: its length, at most the whole bound.
    fn cost(&self, len: usize) -> u32 {
        u32::try_from(len).map_or(self.max_bytes, |len| len.min(self.max_bytes))
    }
}

impl Outbound {
    /// A queue holding at most `capacity` frames (at least 1), with the default byte bound.
    pub fn channel(capacity: usize) -> (Outbound, OutboundReceiver) {
        Self::bounded(&Limits::default().outbound_capacity(capacity))
    }

    /// A queue for one connection bounded by `limits` (`outbound_capacity`,
    /// `max_outbound_bytes`), which also carries the connection's other per-connection limits
    /// (`max_listeners`).
    pub fn bounded(limits: &Limits) -> (Outbound, OutboundReceiver) {
        let (tx, rx) = mpsc::channel(limits.outbound_capacity.max(1));
        // Semaphores count in `usize` but take at most `u32` permits at a time.
        let max_bytes = u32::try_from(limits.max_outbound_bytes.clamp(1, Semaphore::MAX_PERMITS))
            .unwrap_or(u32::MAX);
        let shared = Arc::new(Shared {
            room: Semaphore::new(max_bytes as usize),
            max_bytes,
            max_listeners: limits.max_listeners,
        });
        (
            Outbound {
                tx,
                key: Arc::clone(&shared),
            },
            OutboundReceiver { rx, shared },
        )
    }

    /// Queues `frame` without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError::Full`] when the queue has no room for it, [`SendError::Closed`] when the
    /// caller is gone.
    pub fn send(&self, frame: Vec<u8>) -> Result<(), SendError> {
        let cost = self.key.cost(frame.len());
        match self.key.room.try_acquire_many(cost) {
            Ok(permit) => permit.forget(),
            Err(tokio::sync::TryAcquireError::NoPermits) => return Err(SendError::Full),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(SendError::Closed),
        }
        self.tx.try_send(frame).map_err(|e| {
            self.key.room.add_permits(cost as usize);
            match e {
                mpsc::error::TrySendError::Full(_) => SendError::Full,
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            }
        })
    }

    /// Queues `frame`, waiting for room.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] when the caller is gone.
    pub async fn send_async(&self, frame: Vec<u8>) -> Result<(), SendError> {
        let cost = self.key.cost(frame.len());
        self.key
            .room
            .acquire_many(cost)
            .await
            .map_err(|_| SendError::Closed)?
            .forget();
        self.tx.send(frame).await.map_err(|_| {
            self.key.room.add_permits(cost as usize);
            SendError::Closed
        })
    }

    /// Whether the caller is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Whether `self` and `other` feed the same queue.
    pub fn same_queue(&self, other: &Outbound) -> bool {
        Arc::ptr_eq(&self.key, &other.key)
    }

    /// How many event listeners the connection may hold
    /// ([`Limits::max_listeners`](crate::limits::Limits::max_listeners)).
    pub fn max_listeners(&self) -> usize {
        self.key.max_listeners
    }

    /// A number that tells this connection's queue from every other one alive (its identity,
    /// shared by every clone), for keying per-connection bookkeeping.
    #[allow(dead_code, reason = "for the event hub's per-connection bookkeeping")]
    pub(crate) fn key(&self) -> usize {
        Arc::as_ptr(&self.key) as usize
    }
}

impl fmt::Debug for Outbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbound")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// The receiving side of a caller's outbound queue, held by the transport.
#[derive(Debug)]
pub struct OutboundReceiver {
    rx: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
}

impl OutboundReceiver {
    /// The next frame; `None` once the queue is closed and empty, or every [`Outbound`] is gone.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        let frame = self.rx.recv().await?;
        self.release(&frame);
        Some(frame)
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Vec<u8>> {
        let frame = self.rx.try_recv().ok()?;
        self.release(&frame);
        Some(frame)
    }

    /// Marks the caller as gone: senders get [`SendError::Closed`] from now on, including those
    /// waiting for room. Frames already queued can still be received.
    pub fn close(&mut self) {
        self.rx.close();
        self.shared.room.close();
    }

    fn release(&self, frame: &[u8]) {
        self.shared
            .room
            .add_permits(self.shared.cost(frame.len()) as usize);
    }
}

impl Drop for OutboundReceiver {
    fn drop(&mut self) {
        // Senders waiting for room would otherwise wait forever.
        self.shared.room.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_closed_are_told_apart() {
        let (out, mut rx) = Outbound::channel(1);
        assert_eq!(out.send(b"a".to_vec()), Ok(()));
        assert_eq!(out.send(b"b".to_vec()), Err(SendError::Full));
        assert_eq!(rx.try_recv(), Some(b"a".to_vec()));
        rx.close();
        assert!(out.is_closed());
        assert_eq!(out.send(b"c".to_vec()), Err(SendError::Closed));
    }

    #[test]
    fn clones_share_a_queue() {
        let (a, _rx) = Outbound::channel(4);
        let (b, _rx2) = Outbound::channel(4);
        assert!(a.same_queue(&a.clone()));
        assert!(!a.same_queue(&b));
        assert_ne!(a.key(), b.key());
    }

    #[test]
    fn bytes_are_bounded_and_released_as_frames_are_taken() {
        let limits = Limits::default().max_outbound_bytes(10);
        let (out, mut rx) = Outbound::bounded(&limits);
        assert_eq!(out.send(vec![0; 6]), Ok(()));
        assert_eq!(out.send(vec![0; 5]), Err(SendError::Full));
        assert_eq!(out.send(vec![0; 4]), Ok(()));
        assert_eq!(out.send(vec![0; 1]), Err(SendError::Full));
        assert_eq!(rx.try_recv().map(|f| f.len()), Some(6));
        assert_eq!(out.send(vec![0; 5]), Ok(()));
    }

    #[test]
    fn a_frame_over_the_bound_waits_for_an_empty_queue() {
        let limits = Limits::default().max_outbound_bytes(10);
        let (out, mut rx) = Outbound::bounded(&limits);
        assert_eq!(out.send(vec![0; 1]), Ok(()));
        assert_eq!(out.send(vec![0; 100]), Err(SendError::Full));
        assert_eq!(rx.try_recv().map(|f| f.len()), Some(1));
        assert_eq!(out.send(vec![0; 100]), Ok(()));
        assert_eq!(out.send(vec![0; 1]), Err(SendError::Full));
        assert_eq!(rx.try_recv().map(|f| f.len()), Some(100));
        assert_eq!(out.send(vec![0; 1]), Ok(()));
    }

    #[tokio::test]
    async fn waiting_senders_learn_that_the_caller_is_gone() {
        let limits = Limits::default().max_outbound_bytes(4);
        let (out, rx) = Outbound::bounded(&limits);
        assert_eq!(out.send(vec![0; 4]), Ok(()));
        let waiting = tokio::spawn({
            let out = out.clone();
            async move { out.send_async(vec![0; 4]).await }
        });
        tokio::task::yield_now().await;
        drop(rx);
        assert_eq!(waiting.await.ok(), Some(Err(SendError::Closed)));
    }
}
