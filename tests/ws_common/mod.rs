//! A small application served over the ws transport, and a client for the tests: loopback only,
//! every wait bounded.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each ws test file uses part of the support code; `pub` for the glob import"
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gatehouse::ws::{Limits, Server, ServerHandle, Window};
use gatehouse::{command, commands, Acl, Caller, Capability, Channel, Origin, Router};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

/// How long any single wait in a test may take.
pub const WAIT: Duration = Duration::from_secs(20);

pub type Ws = WebSocketStream<TcpStream>;

/// Adds.
#[command]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Who the core thinks is calling.
#[command]
fn whoami(caller: Caller) -> Value {
    let origin = match caller.origin() {
        Origin::Local => "local".to_owned(),
        Origin::Remote(url) => url.clone(),
    };
    json!({ "label": caller.label(), "origin": origin })
}

/// Granted to local windows only.
#[command]
fn local_only() -> &'static str {
    "local"
}

/// Granted to the remote origin only.
#[command]
fn remote_only() -> &'static str {
    "remote"
}

/// Sleeps, then answers.
#[command]
async fn slow(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Panics.
#[command]
fn boom() -> u32 {
    panic!("boom")
}

/// Returns its argument.
#[command]
fn echo(value: Value) -> Value {
    value
}

/// Streams 1..=n into `progress`, then returns n.
#[command]
async fn count_to(n: u32, progress: Channel<u32>) -> Result<u32, String> {
    for i in 1..=n {
        progress.send_async(i).await.map_err(|e| e.to_string())?;
    }
    Ok(n)
}

pub const LISTEN: &str = "plugin:event|listen";
pub const UNLISTEN: &str = "plugin:event|unlisten";
pub const EMIT: &str = "plugin:event|emit";
pub const EMIT_TO: &str = "plugin:event|emit_to";

/// `main` may do everything locally; `viewer` may add, ask who it is and listen; `mute` may only
/// add; a page from `https://*.example.com` holding `main`'s token may only call `whoami` and
/// `remote_only`.
pub fn router() -> Arc<Router> {
    let acl = Acl::builder()
        .commands([
            "add",
            "whoami",
            "local_only",
            "remote_only",
            "slow",
            "boom",
            "echo",
            "count_to",
            LISTEN,
            UNLISTEN,
            EMIT,
            EMIT_TO,
        ])
        .capability(Capability::builder("main").windows(["main"]).allow([
            "add",
            "whoami",
            "local_only",
            "slow",
            "boom",
            "echo",
            "count_to",
            LISTEN,
            UNLISTEN,
            EMIT,
            EMIT_TO,
        ]))
        .capability(
            Capability::builder("viewer")
                .windows(["viewer"])
                .allow(["add", "whoami", LISTEN]),
        )
        .capability(Capability::builder("mute").windows(["mute"]).allow(["add"]))
        .capability(
            Capability::builder("remote")
                .windows(["main"])
                .local(false)
                .remote(["https://*.example.com"])
                .allow(["whoami", "remote_only"]),
        )
        .build()
        .expect("valid ACL");
    let router = Router::builder(acl)
        .commands(commands![
            add,
            whoami,
            local_only,
            remote_only,
            slow,
            boom,
            echo,
            count_to
        ])
        .build()
        .expect("valid router");
    Arc::new(router)
}

/// A running test server with its three local windows.
pub struct App {
    pub router: Arc<Router>,
    pub server: ServerHandle,
    pub main: Window,
    pub viewer: Window,
    pub mute: Window,
}

impl App {
    pub async fn start(limits: Limits) -> App {
        App::start_with(limits, None).await
    }

    /// A server sharing one router with the test, serving `frontend` if given.
    pub async fn start_with(limits: Limits, frontend: Option<&Path>) -> App {
        let router = router();
        let mut builder = Server::builder(router.clone()).limits(limits);
        if let Some(folder) = frontend {
            builder = builder.frontend(folder);
        }
        let server = builder.build().await.expect("server binds");
        let main = server.window("main");
        let viewer = server.window("viewer");
        let mute = server.window("mute");
        App {
            router,
            server: server.spawn(),
            main,
            viewer,
            mute,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// Opens `window`'s connection as its own page would.
    pub async fn open(&self, window: &Window) -> Ws {
        self.connect(
            Some(self.server.origin()),
            None,
            &format!("token={}", window.token()),
        )
        .await
        .expect("handshake accepted")
    }

    /// A handshake with the given `Origin` (none when `None`), `Host` (the real one when `None`)
    /// and query string.
    pub async fn connect(
        &self,
        origin: Option<&str>,
        host: Option<&str>,
        query: &str,
    ) -> Result<Ws, tungstenite::Error> {
        let url = format!("ws://{}/gatehouse/ws?{query}", self.host());
        let mut request = url.into_client_request()?;
        let headers = request.headers_mut();
        if let Some(origin) = origin {
            headers.insert("origin", HeaderValue::from_str(origin).expect("header"));
        }
        if let Some(host) = host {
            headers.insert("host", HeaderValue::from_str(host).expect("header"));
        }
        let tcp = TcpStream::connect(self.addr()).await.expect("tcp connect");
        let (ws, _response) = timeout(tokio_tungstenite::client_async(request, tcp)).await?;
        Ok(ws)
    }
}

/// `fut`, or a panic after [`WAIT`].
pub async fn timeout<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(WAIT, fut)
        .await
        .expect("timed out waiting")
}

/// The HTTP status and body of a refused handshake.
pub fn refusal(result: Result<Ws, tungstenite::Error>) -> (u16, String) {
    match result {
        Ok(_) => panic!("the handshake was accepted"),
        Err(tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            (response.status().as_u16(), body)
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
    }
}

/// Sends a request.
pub async fn send(ws: &mut Ws, id: u64, method: &str, params: Value) {
    let request = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
    timeout(ws.send(Message::text(request.to_string())))
        .await
        .expect("send");
}

/// The next text message, as JSON.
pub async fn recv(ws: &mut Ws) -> Value {
    loop {
        match timeout(ws.next()).await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).expect("the server sends JSON")
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Calls `method` and returns its reply (checking the id).
pub async fn call(ws: &mut Ws, id: u64, method: &str, params: Value) -> Value {
    send(ws, id, method, params).await;
    let reply = recv(ws).await;
    assert_eq!(reply["id"], json!(id), "{reply}");
    reply
}

/// The close frame the server ends the connection with (code and reason); `None` when the
/// connection ended without one.
pub async fn closed(ws: &mut Ws) -> Option<(CloseCode, String)> {
    loop {
        match timeout(ws.next()).await {
            Some(Ok(Message::Close(frame))) => {
                return frame.map(|f| (f.code, f.reason.to_string()))
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// Sends raw bytes on a fresh TCP connection and returns everything the server answers until
/// it closes the connection (or a second of silence).
pub async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.expect("tcp connect");
    timeout(tcp.write_all(request)).await.expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(1), tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `GET` with `Connection: close`.
pub async fn get(addr: SocketAddr, host: &str, path: &str) -> String {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
}

/// The status code of a raw HTTP response.
pub fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

/// The value of header `name` in a raw HTTP response.
pub fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The body of a raw HTTP response.
pub fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// The JSON-RPC error code of a reply.
pub fn code(reply: &Value) -> i64 {
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error reply: {reply}"))
}
