//! The physical floor of the WebSocket benchmarks: a hand-written tokio-tungstenite server that
//! answers the same frames with serde_json, and nothing else — no token or `Origin` check, no
//! ACL, no limits, no events, one task per connection that reads a frame, answers it and writes
//! the reply (flushing once no further frame is already buffered).
//!
//! It gets the same WebSocket buffer sizes as Gatehouse's server, so the difference between the
//! two is what Gatehouse does per request, not how tungstenite is configured.

use std::net::SocketAddr;

use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::wire::{AddParams, EchoParams, ReplyOut};

/// A request's envelope; the params are parsed once the method is known.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    id: &'a RawValue,
    #[serde(borrow)]
    method: &'a str,
    #[serde(borrow)]
    params: &'a RawValue,
}

/// A running floor server; dropping the handle stops accepting.
pub(crate) struct Floor {
    pub(crate) addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Drop for Floor {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Starts the floor server on the current tokio runtime.
pub(crate) async fn start(config: WebSocketConfig) -> Floor {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("floor binds");
    let addr = listener.local_addr().expect("bound");
    let (stop, mut stopping) = watch::channel(false);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopping.wait_for(|s| *s) => break,
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        tokio::spawn(serve(stream, config));
                    }
                }
            }
        }
    });
    Floor { addr, stop }
}

async fn serve(stream: TcpStream, config: WebSocketConfig) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if !answer(&mut ws, message).await {
            return;
        }
        // Frames already buffered are answered before one flush covers them all.
        while let Some(next) = ws.next().now_or_never() {
            let Some(Ok(message)) = next else { return };
            if !answer(&mut ws, message).await {
                return;
            }
        }
        if ws.flush().await.is_err() {
            return;
        }
    }
}

/// Queues the reply to one frame; `false` when the connection should end.
async fn answer(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>, message: Message) -> bool {
    let Message::Text(text) = message else {
        return !message.is_close();
    };
    let Some(reply) = reply(text.as_str()) else {
        return false;
    };
    ws.feed(Message::text(reply)).await.is_ok()
}

fn reply(text: &str) -> Option<String> {
    let request: Envelope<'_> = serde_json::from_str(text).ok()?;
    let params = request.params.get();
    match request.method {
        "add" => {
            let p: AddParams = serde_json::from_str(params).ok()?;
            serde_json::to_string(&ReplyOut {
                jsonrpc: "2.0",
                result: p.a + p.b,
                id: request.id,
            })
            .ok()
        }
        "echo" => {
            let p: EchoParams = serde_json::from_str(params).ok()?;
            serde_json::to_string(&ReplyOut {
                jsonrpc: "2.0",
                result: p.text,
                id: request.id,
            })
            .ok()
        }
        _ => None,
    }
}
