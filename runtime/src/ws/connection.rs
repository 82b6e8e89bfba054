//! One WebSocket connection: a reader that answers each text frame (in place when it completes
//! at once, else on a task of its own), and a writer that drains the connection's outbound
//! queue into the socket.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

use super::server::{stopped, ConnectionGuard, Shared};
use crate::caller::{Caller, CallerInfo};
use crate::call::reader::{self, RequestId};
use crate::limits;
use crate::outbound::{Outbound, OutboundReceiver, SendError};

/// Close codes (RFC 6455, section 7.4.1).
mod code {
    pub(super) const GOING_AWAY: u16 = 1001;
    pub(super) const PROTOCOL: u16 = 1002;
    pub(super) const UNSUPPORTED: u16 = 1003;
    pub(super) const INVALID_DATA: u16 = 1007;
    pub(super) const TOO_BIG: u16 = 1009;
}

/// Frames written per flush at most, so one busy connection cannot hold the writer forever.
const BATCH: usize = 64;

/// Serves one upgraded connection until either side closes it.
pub(crate) async fn run(
    shared: Arc<Shared>,
    socket: WebSocket,
    info: CallerInfo,
    _guard: ConnectionGuard,
) {
    let (outbound, rx) = Outbound::channel(shared.limits.outbound_capacity);
    let caller = shared.router.connect(info, outbound.clone());
    let (sink, stream) = socket.split();
    let (close_tx, close_rx) = oneshot::channel();
    let mut writer = tokio::spawn(write(sink, rx, close_rx, shared.limits.write_timeout));
    let close = Reader {
        shared: &shared,
        caller: &caller,
        outbound: &outbound,
        in_flight: Arc::new(Semaphore::new(
            shared.limits.max_in_flight.min(Semaphore::MAX_PERMITS),
        )),
    }
    .read(stream, &mut writer)
    .await;
    if let Some((code, reason)) = &close {
        tracing::debug!(
            window = caller.label(),
            code,
            reason,
            "gatehouse: closing WebSocket"
        );
    }
    // The writer sends the close frame (or just stops), then closes the outbound queue.
    let _ = close_tx.send(close);
    if !writer.is_finished() {
        let _ = tokio::time::timeout(shared.limits.write_timeout, &mut writer).await;
        writer.abort();
    }
    tracing::debug!(window = caller.label(), "gatehouse: WebSocket disconnected");
}

type Close = (u16, String);

struct Reader<'a> {
    shared: &'a Shared,
    caller: &'a Caller,
    outbound: &'a Outbound,
    in_flight: Arc<Semaphore>,
}

impl Reader<'_> {
    /// Reads frames until the connection should end; `Some` is the close frame to send.
    async fn read(
        &self,
        mut stream: SplitStream<WebSocket>,
        writer: &mut JoinHandle<()>,
    ) -> Option<Close> {
        let limits = &self.shared.limits;
        let mut stopping = self.shared.stopping();
        loop {
            let next = tokio::select! {
                _ = stopped(&mut stopping) => {
                    return Some((code::GOING_AWAY, "server shutting down".into()));
                }
                // The writer ends only when the socket is gone or the peer stopped reading.
                _ = &mut *writer => return None,
                next = tokio::time::timeout(limits.idle_timeout, stream.next()) => next,
            };
            let message = match next {
                Err(_) => return Some((code::GOING_AWAY, "idle timeout".into())),
                Ok(None) => return None,
                Ok(Some(Err(error))) => return self.read_error(error),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    if self.request(text).await.is_err() {
                        return None;
                    }
                }
                Message::Binary(_) => {
                    return Some((
                        code::UNSUPPORTED,
                        "binary frames are not supported: send JSON-RPC as text".into(),
                    ));
                }
                // The peer is closing; the WebSocket layer answers, and the stream then ends.
                Message::Close(_) | Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    }

    /// What to do after a read error: the close frame to send, if the socket can take one.
    fn read_error(&self, error: axum::Error) -> Option<Close> {
        use tungstenite::error::{CapacityError, Error as WsError};
        let error = error.into_inner();
        let Some(error) = error.downcast_ref::<WsError>() else {
            tracing::debug!(%error, "gatehouse: WebSocket read failed");
            return Some((code::PROTOCOL, "protocol error".into()));
        };
        tracing::debug!(window = self.caller.label(), %error, "gatehouse: WebSocket read failed");
        match error {
            WsError::Capacity(CapacityError::MessageTooLong { .. }) => Some((
                code::TOO_BIG,
                format!(
                    "message too large: the limit is {} bytes",
                    self.shared.limits.max_message_bytes
                ),
            )),
            WsError::Capacity(_) => Some((code::TOO_BIG, "message too large".into())),
            WsError::Utf8(_) => Some((code::INVALID_DATA, "invalid UTF-8 in a text frame".into())),
            WsError::Protocol(_) => Some((code::PROTOCOL, "protocol error".into())),
            _ => None,
        }
    }

    /// Answers one text frame: limits first, then the router on a task of its own.
    async fn request(&self, text: Utf8Bytes) -> Result<(), SendError> {
        let limits = &self.shared.limits;
        if limits::check_depth(text.as_bytes(), limits.max_depth).is_err() {
            return self
                .refuse(text.as_bytes(), &limits::nesting_too_deep(limits.max_depth))
                .await;
        }
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            return self
                .refuse(
                    text.as_bytes(),
                    &limits::too_many_in_flight(limits.max_in_flight),
                )
                .await;
        };
        let router = self.shared.router.clone();
        let caller = self.caller.clone();
        let outbound = self.outbound.clone();
        let mut answer = Box::pin(async move {
            if let Some(reply) = router.handle(&caller, text.as_bytes()).await {
                // A closed queue means the connection is gone: the reply has nowhere to go.
                let _ = outbound.send_async(reply).await;
            }
            drop(permit);
        });
        // Most requests (sync commands, refusals, argument errors) are answered in one poll:
        // answering them here saves a task and lets the writer send replies in batches. Only a
        // request that has to wait (an `async` or blocking command, a full queue) gets a task
        // of its own, so it never holds up the frames behind it.
        let done =
            std::future::poll_fn(|cx| Poll::Ready(answer.as_mut().poll(cx).is_ready())).await;
        if !done {
            tokio::spawn(answer);
        }
        Ok(())
    }

    /// Answers a request that will not run, under its id when it has one.
    async fn refuse(&self, bytes: &[u8], error: &crate::RpcError) -> Result<(), SendError> {
        let id = reader::outline(bytes, usize::MAX).shape.id();
        if id == RequestId::Notification {
            tracing::debug!(window = self.caller.label(), %error, "gatehouse: notification dropped");
            return Ok(());
        }
        self.outbound
            .send_async(limits::error_reply(id.reply_id(), error))
            .await
    }
}

/// Writes queued frames in batches until told to close, the queue ends, or a write fails or
/// takes longer than `timeout`. Closes the queue when done, so senders see `Closed`.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: OutboundReceiver,
    mut close: oneshot::Receiver<Option<Close>>,
    timeout: Duration,
) {
    loop {
        tokio::select! {
            biased;
            frame = &mut close => {
                if let Ok(Some((code, reason))) = frame {
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = tokio::time::timeout(timeout, sink.send(Message::Close(Some(frame)))).await;
                }
                break;
            }
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                let batch = async {
                    feed(&mut sink, frame).await?;
                    for _ in 1..BATCH {
                        let Some(frame) = rx.try_recv() else { break };
                        feed(&mut sink, frame).await?;
                    }
                    sink.flush().await
                };
                match tokio::time::timeout(timeout, batch).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "gatehouse: WebSocket write failed");
                        break;
                    }
                    Err(_) => {
                        tracing::warn!(
                            "gatehouse: closing a WebSocket whose peer has not read for {timeout:?}"
                        );
                        break;
                    }
                }
            }
        }
    }
    rx.close();
}

async fn feed(sink: &mut SplitSink<WebSocket, Message>, frame: Vec<u8>) -> Result<(), axum::Error> {
    match Utf8Bytes::try_from(frame) {
        Ok(text) => sink.feed(Message::Text(text)).await,
        Err(error) => {
            // The runtime writes JSON only; a frame that is not UTF-8 is a bug, not the peer's.
            tracing::error!(%error, "gatehouse: dropped an outbound frame that is not UTF-8");
            Ok(())
        }
    }
}
