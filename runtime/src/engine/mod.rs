//! The connection engine: every transport feeds the frames it reads into one [`Connection`], and
//! only here is a frame outlined, held to the limits, admitted, answered and its work cancelled.
//! A transport keeps what is its own — the handshake, the framing, the socket or the process.
//!
//! One frame goes: outline ([`reader`]: depth, shape, batch size, id) → a response to one of the
//! core's calls goes back to the transport → too deep is refused → as many of its requests as
//! the connection has room for are admitted (the rest are refused `-32007` in place by the
//! router) → the router answers within the [`Budget`] → the reply waits for room in the
//! connection's outbound queue (bounded in frames and bytes). A frame answered in one poll is
//! answered right here, in the transport's reader, which saves a task and lets the writer batch
//! replies; one that has to wait gets a task of its own, cancelled when the connection closes.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::call::budget::{Budget, ConnectionWork};
use crate::call::reader::{self, RequestId, Shape};
use crate::caller::{Caller, CallerInfo};
use crate::error::RpcError;
use crate::limits::{self, Limits};
use crate::outbound::{Outbound, OutboundReceiver, SendError};
use crate::router::Router;

/// What became of a frame.
#[derive(Debug)]
pub(crate) enum Inbound<F> {
    /// It was answered, or is being answered on a task of its own.
    Served,
    /// It is a response to one of the core's own calls (only on connections that
    /// [accept responses](Connection::open)): the transport hands it to the waiting call.
    /// `too_deep` responses were not parsed; the call they answer should fail at once.
    Response {
        /// The frame, untouched.
        frame: F,
        /// Whether it nests deeper than the depth limit (and must not be parsed).
        too_deep: bool,
    },
}

/// One connection (a WebSocket, a child process) as the engine serves it.
pub(crate) struct Connection {
    router: Router,
    caller: Caller,
    outbound: Outbound,
    in_flight: Arc<Semaphore>,
    work: Arc<ConnectionWork>,
    max_depth: usize,
    max_in_flight: usize,
    max_response: usize,
    responses: bool,
}

impl Connection {
    /// Opens a connection for the caller `info`, with its outbound queue bounded by `limits`.
    /// `responses`: whether the peer may answer calls of the core's (stdio children may).
    pub(crate) fn open(
        router: &Router,
        info: CallerInfo,
        limits: &Limits,
        responses: bool,
    ) -> (Self, OutboundReceiver) {
        let (outbound, rx) = Outbound::bounded(limits);
        let caller = router.connect(info, outbound.clone());
        let connection = Self {
            router: router.clone(),
            caller,
            outbound,
            in_flight: Arc::new(Semaphore::new(
                limits.max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
            )),
            work: Arc::new(ConnectionWork::new(limits)),
            max_depth: limits.max_depth,
            max_in_flight: limits.max_in_flight,
            max_response: limits.max_response_bytes,
            responses,
        };
        (connection, rx)
    }

    /// The caller this connection was resolved to.
    pub(crate) fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The connection's outbound queue.
    pub(crate) fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// Serves one frame the peer sent.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] when the connection is gone and the reader should stop.
    pub(crate) async fn frame<F>(&self, frame: F) -> Result<Inbound<F>, SendError>
    where
        F: AsRef<[u8]> + Send + Sync + 'static,
    {
        let outline = reader::outline(frame.as_ref(), self.max_depth);
        if self.responses {
            if let Shape::Object(members) = outline.shape {
                // A response names no method; a too-deep one is told by its outcome member.
                let response = members.method != Some(true)
                    && (!outline.too_deep || members.outcome != Some(false));
                if response {
                    let too_deep = outline.too_deep;
                    return Ok(Inbound::Response { frame, too_deep });
                }
            }
        }
        if outline.too_deep {
            let id = outline.shape.id();
            self.refuse(id, &limits::nesting_too_deep(self.max_depth))
                .await?;
            return Ok(Inbound::Served);
        }
        let requests = outline.shape.requests();
        self.serve(frame, requests).await?;
        Ok(Inbound::Served)
    }

    /// Serves a frame as requests, whatever it looks like: for a frame that
    /// [`frame`](Self::frame) returned as a response but that did not answer any call.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] when the connection is gone.
    pub(crate) async fn request<F>(&self, frame: F) -> Result<(), SendError>
    where
        F: AsRef<[u8]> + Send + Sync + 'static,
    {
        let outline = reader::outline(frame.as_ref(), self.max_depth);
        if outline.too_deep {
            let id = outline.shape.id();
            return self
                .refuse(id, &limits::nesting_too_deep(self.max_depth))
                .await;
        }
        let requests = outline.shape.requests();
        self.serve(frame, requests).await
    }

    /// Admits what fits of `requests`, then answers: here when that takes one poll, else on a
    /// task that ends with the connection.
    async fn serve<F>(&self, frame: F, requests: usize) -> Result<(), SendError>
    where
        F: AsRef<[u8]> + Send + Sync + 'static,
    {
        let (admitted, permit) = self.admit(requests);
        let router = self.router.clone();
        let caller = self.caller.clone();
        let outbound = self.outbound.clone();
        let work = Arc::clone(&self.work);
        let (max_in_flight, max_response) = (self.max_in_flight, self.max_response);
        let mut answer: Pin<Box<dyn Future<Output = Result<(), SendError>> + Send>> =
            Box::pin(async move {
                let budget = Budget {
                    admitted,
                    max_in_flight,
                    max_response,
                    connection: Some(&work),
                };
                let reply = router.serve(&caller, frame.as_ref(), budget).await;
                let sent = match reply {
                    Some(reply) => outbound.send_async(reply).await,
                    None => Ok(()),
                };
                // The requests count as in flight until their reply has room in the queue.
                drop(permit);
                sent
            });
        let first = std::future::poll_fn(|cx| Poll::Ready(answer.as_mut().poll(cx))).await;
        match first {
            Poll::Ready(sent) => sent,
            Poll::Pending => {
                let work = Arc::clone(&self.work);
                tokio::spawn(async move {
                    let mut closed = pin!(work.closed());
                    std::future::poll_fn(|cx| {
                        if closed.as_mut().poll(cx).is_ready() {
                            // Dropping the answer cancels an async command; a blocking one
                            // that has not started sees the connection closed and is skipped.
                            return Poll::Ready(());
                        }
                        answer.as_mut().poll(cx).map(|_| ())
                    })
                    .await;
                });
                Ok(())
            }
        }
    }

    /// Takes in-flight permits for as many of `requests` as there is room for.
    fn admit(&self, requests: usize) -> (usize, Option<OwnedSemaphorePermit>) {
        let room = self.in_flight.available_permits().min(requests);
        // Only this connection's reader takes permits, so the room cannot shrink in between;
        // saturate anyway rather than trust it.
        let Ok(count) = u32::try_from(room) else {
            return (0, None);
        };
        if count == 0 {
            return (0, None);
        }
        match Arc::clone(&self.in_flight).try_acquire_many_owned(count) {
            Ok(permit) => (room, Some(permit)),
            Err(_) => (0, None),
        }
    }

    /// Answers a message that will not run, under its id when it has one.
    async fn refuse(&self, id: RequestId<'_>, error: &RpcError) -> Result<(), SendError> {
        if id == RequestId::Notification {
            tracing::debug!(caller = self.caller.label(), %error, "gatehouse: a notification was dropped");
            return Ok(());
        }
        self.outbound
            .send_async(limits::error_reply(id.reply_id(), error))
            .await
    }

    /// Ends the connection's work: async commands still running are cancelled, blocking ones
    /// that have not started are skipped, its event listeners are removed. Also done when the
    /// connection is dropped.
    pub(crate) fn close(&self) {
        self.work.close();
        self.router.disconnect(&self.outbound);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("caller", &self.caller.label())
            .field(
                "in_flight",
                &(self.max_in_flight - self.in_flight.available_permits()),
            )
            .finish_non_exhaustive()
    }
}

/// The engine's entry for fuzz targets. **Not public API.**
#[doc(hidden)]
pub mod fuzz {
    use super::{Connection, Inbound};
    use crate::caller::CallerInfo;
    use crate::limits::Limits;
    use crate::router::Router;

    /// Feeds `frame` to a new connection of `info`, as a transport does (with `responses`, as
    /// stdio does), and returns what was queued for the peer once it has been served, plus
    /// whether the engine handed the frame back as a response.
    pub async fn frame(
        router: &Router,
        info: CallerInfo,
        limits: &Limits,
        responses: bool,
        frame: Vec<u8>,
    ) -> (Vec<Vec<u8>>, bool) {
        let (connection, mut rx) = Connection::open(router, info, limits, responses);
        let response = matches!(connection.frame(frame).await, Ok(Inbound::Response { .. }));
        // Work that had to wait runs on tasks of its own; let them finish or be cancelled.
        tokio::task::yield_now().await;
        connection.close();
        let mut out = Vec::new();
        while let Some(frame) = rx.try_recv() {
            out.push(frame);
        }
        (out, response)
    }
}
