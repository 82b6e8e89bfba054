//! The way from the core to one connected caller: a bounded queue of frames that a transport
//! drains into its socket or pipe. Channel messages and events go through it.

use std::fmt;
use std::sync::Arc;

use tokio::sync::mpsc;

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
/// Cheap to clone. A transport makes one per connection with [`Outbound::channel`] and gives it
/// to [`Router::connect`](crate::Router::connect); the runtime then pushes channel messages and
/// events into it, and the transport writes what comes out of the [`OutboundReceiver`].
#[derive(Clone)]
pub struct Outbound {
    tx: mpsc::Sender<Vec<u8>>,
    /// What every clone shares; its address is the queue's identity (tells one connection from
    /// another).
    key: Arc<Shared>,
}

/// What the clones of one [`Outbound`] share.
#[derive(Debug)]
struct Shared {
    max_listeners: usize,
}

impl Outbound {
    /// A queue holding at most `capacity` frames (at least 1).
    pub fn channel(capacity: usize) -> (Outbound, OutboundReceiver) {
        Self::bounded(&crate::limits::Limits::default().outbound_capacity(capacity))
    }

    /// A queue for one connection bounded by `limits` (`outbound_capacity`,
    /// `max_outbound_bytes`), which also carries the connection's other per-connection limits
    /// (`max_listeners`).
    pub fn bounded(limits: &crate::limits::Limits) -> (Outbound, OutboundReceiver) {
        let (tx, rx) = mpsc::channel(limits.outbound_capacity.max(1));
        (
            Outbound {
                tx,
                key: Arc::new(Shared {
                    max_listeners: limits.max_listeners,
                }),
            },
            OutboundReceiver { rx },
        )
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

    /// Queues `frame` without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError::Full`] when the queue is full, [`SendError::Closed`] when the caller is gone.
    pub fn send(&self, frame: Vec<u8>) -> Result<(), SendError> {
        self.tx.try_send(frame).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
        })
    }

    /// Queues `frame`, waiting for room.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] when the caller is gone.
    pub async fn send_async(&self, frame: Vec<u8>) -> Result<(), SendError> {
        self.tx.send(frame).await.map_err(|_| SendError::Closed)
    }

    /// Whether the caller is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Whether `self` and `other` feed the same queue.
    pub fn same_queue(&self, other: &Outbound) -> bool {
        Arc::ptr_eq(&self.key, &other.key)
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
}

impl OutboundReceiver {
    /// The next frame; `None` once the queue is closed and empty, or every [`Outbound`] is gone.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.rx.recv().await
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Vec<u8>> {
        self.rx.try_recv().ok()
    }

    /// Marks the caller as gone: senders get [`SendError::Closed`] from now on. Frames already
    /// queued can still be received.
    pub fn close(&mut self) {
        self.rx.close();
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
    }
}
