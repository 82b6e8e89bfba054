//! One WebSocket connection: a reader that answers each text frame (in place when it completes
//! at once, else on a task of its own), and a writer that drains the connection's outbound
//! queue into the socket.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::admission::Open;
use super::shared::{stopped, Shared};
use super::token::Seat;
use crate::caller::{Caller, CallerInfo};
use crate::engine::Connection;
use crate::log::warn_limited;
use crate::outbound::{OutboundReceiver, SendError};

/// Close codes (RFC 6455, section 7.4.1).
mod code {
    pub(super) const GOING_AWAY: u16 = 1001;
    pub(super) const POLICY: u16 = 1008;
    pub(super) const PROTOCOL: u16 = 1002;
    pub(super) const UNSUPPORTED: u16 = 1003;
    pub(super) const INVALID_DATA: u16 = 1007;
    pub(super) const TOO_BIG: u16 = 1009;
}

/// Frames written per flush at most, so one busy connection cannot hold the writer forever.
const BATCH: usize = 64;

/// tungstenite's read buffer per connection, and the most it reads per system call. Its
/// default, 128 KiB, is zero-filled before each read and stays resident for as long as the
/// connection lives: it was nearly all of an idle connection's memory. A message larger than
/// this is still read whole, into a buffer of its own size.
pub(crate) const READ_BUFFER: usize = 16 * 1024;
/// How many bytes of frames tungstenite gathers before writing them to the socket (a flush
/// writes them at once); the buffer only grows as far as the frames need.
pub(crate) const WRITE_BUFFER: usize = 128 * 1024;

/// Serves one upgraded connection until either side closes it or its window is revoked.
/// `seat` counts it among its window's connections, `_open` among the server's.
///
/// The reader runs here, the writer on a task of its own; the writer ends when the reader
/// hands it the close frame (or nothing), when the socket fails, or when the peer does not
/// read within the write timeout — which the reader then sees.
pub(crate) async fn run(
    shared: Arc<Shared>,
    socket: WebSocket,
    info: CallerInfo,
    mut seat: Seat,
    _open: Open,
) {
    let (connection, rx) = Connection::open(&shared.router, info, &shared.limits, false);
    let caller = connection.caller().clone();
    let (sink, stream) = socket.split();
    let (close_tx, close_rx) = oneshot::channel();
    let (writer_done, writer_ended) = oneshot::channel::<()>();
    let timeout = shared.limits.write_timeout;
    let writer = async move {
        write(sink, rx, close_rx, timeout).await;
        drop(writer_done);
    };
    let reader = async {
        let close = Reader {
            shared: &shared,
            caller: &caller,
            connection: &connection,
        }
        .read(stream, writer_ended, &mut seat)
        .await;
        // What the connection started is cancelled (async) or skipped (blocking, not started).
        connection.close();
        if let Some((code, reason)) = &close {
            tracing::debug!(
                window = caller.label(),
                code,
                reason,
                "gatehouse: closing WebSocket"
            );
        }
        // The writer sends the close frame (or just stops) within the write timeout, then
        // closes the outbound queue.
        let _ = close_tx.send(close);
    };
    // On a task of its own, the writer sends one reply while the reader takes in the next
    // request: a 64 KiB echo costs 16 % less server CPU than with both on one task (and `add`
    // the same within noise); see BENCHMARKS.md.
    let mut writer = tokio::spawn(writer);
    reader.await;
    if !writer.is_finished() {
        let _ = tokio::time::timeout(timeout, &mut writer).await;
        writer.abort();
    }
    tracing::debug!(window = caller.label(), "gatehouse: WebSocket disconnected");
}

type Close = (u16, String);

struct Reader<'a> {
    shared: &'a Shared,
    caller: &'a Caller,
    connection: &'a Connection,
}

impl Reader<'_> {
    /// Reads frames until the connection should end; `Some` is the close frame to send.
    /// `writer_ended` resolves when the writer stops (the socket is gone or the peer stopped
    /// reading).
    async fn read(
        &self,
        mut stream: SplitStream<WebSocket>,
        mut writer_ended: oneshot::Receiver<()>,
        seat: &mut Seat,
    ) -> Option<Close> {
        let idle = self.shared.limits.idle_timeout;
        let mut stopping = self.shared.stopping();
        let stop = stopped(&mut stopping);
        let revoked = seat.revoked();
        // One timer for the connection's life, pushed back only when it fires: a frame costs a
        // clock read, not a timer registration.
        let sleep = tokio::time::sleep(idle);
        tokio::pin!(stop, revoked, sleep);
        let mut last = Instant::now();
        loop {
            let next = tokio::select! {
                // Frames first: the others are looked at whenever no frame is ready (tokio's
                // budget makes a flood of frames yield regularly).
                biased;
                next = stream.next() => next,
                () = &mut stop => {
                    return Some((code::GOING_AWAY, "server shutting down".into()));
                }
                () = &mut revoked => {
                    return Some((code::POLICY, "window revoked".into()));
                }
                _ = &mut writer_ended => return None,
                () = &mut sleep => {
                    let due = last + idle;
                    if Instant::now() >= due {
                        return Some((code::GOING_AWAY, "idle timeout".into()));
                    }
                    sleep.as_mut().reset(due);
                    continue;
                }
            };
            last = Instant::now();
            let message = match next {
                None => return None,
                Some(Err(error)) => return self.read_error(error),
                Some(Ok(message)) => message,
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

    /// Answers one text frame through the connection engine.
    async fn request(&self, text: Utf8Bytes) -> Result<(), SendError> {
        self.connection.frame(TextFrame(text)).await.map(|_| ())
    }
}

/// A text frame as the engine reads it: its bytes, kept without a copy.
struct TextFrame(Utf8Bytes);

impl AsRef<[u8]> for TextFrame {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
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
                        warn_limited!(
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
