//! What idle connections cost a server: each server runs alone in a child process (this same
//! bench binary, re-executed with [`CHILD_ENV`] set), so its resident memory is its own; this
//! process opens the connections and reads the child's RSS from `/proc/<pid>/statm`.
//!
//! A connection is opened the way a window opens it (handshake with the token and `Origin`), asks
//! one `add` (so every buffer the first message touches is counted), then stays idle.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Set in the child: the name of the server it runs.
pub(crate) const CHILD_ENV: &str = "WS_BENCH_CHILD";

const ADD: &str = r#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2}}"#;
/// Handshakes the generator runs at once (under the server's `max_handshakes`).
const OPENING: usize = 32;

/// Raises the soft limit on open files to the hard limit; returns the new soft limit.
#[allow(
    unsafe_code,
    reason = "getrlimit/setrlimit on a local struct: libc has no safe wrapper for them"
)]
pub(crate) fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls only read or write `limit`, a valid, exclusively borrowed struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    limit.rlim_cur
}

/// The resident memory of process `pid`, in bytes.
pub(crate) fn rss(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).expect("/proc/<pid>/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// A server running in a child process, until dropped.
pub(crate) struct ChildServer {
    child: Child,
    pub(crate) url: String,
    pub(crate) origin: String,
}

impl ChildServer {
    /// Re-executes this binary as the server `kind`; it prints `<url> <origin>` once listening.
    pub(crate) fn spawn(kind: &str) -> Self {
        let exe = std::env::current_exe().expect("this binary");
        let mut child = Command::new(exe)
            .env(CHILD_ENV, kind)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the child server starts");
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the child prints its address");
        let mut words = line.split_whitespace();
        let url = words.next().expect("a URL").to_owned();
        let origin = words.next().expect("an origin").to_owned();
        Self { child, url, origin }
    }

    pub(crate) fn rss(&self) -> u64 {
        rss(self.child.id())
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        // Closing its stdin tells the child to exit.
        drop(self.child.stdin.take());
        if self.child.wait().is_err() {
            let _ = self.child.kill();
        }
    }
}

/// In the child: blocks until the parent closes stdin.
pub(crate) fn wait_for_parent() {
    let mut sink = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
}

pub(crate) type Ws = WebSocketStream<TcpStream>;

/// One connection that has asked one `add` and got its answer.
async fn open_one(url: &str, origin: &str) -> Ws {
    let mut request = url.into_client_request().expect("a WebSocket URL");
    request.headers_mut().insert(
        "Origin",
        HeaderValue::from_str(origin).expect("an ASCII origin"),
    );
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("host:port")
        .to_owned();
    let tcp = TcpStream::connect(addr).await.expect("tcp connect");
    // The generator's own buffers stay small: 10 000 connections live in this process too.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
        .await
        .expect("handshake accepted");
    ask(&mut ws).await;
    ws
}

/// Sends one `add` and checks the answer.
pub(crate) async fn ask(ws: &mut Ws) {
    ws.send(Message::text(ADD)).await.expect("sent");
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                assert!(text.contains(r#""result":3"#), "{text}");
                return;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected the answer to `add`, got {other:?}"),
        }
    }
}

/// Opens `n` connections, [`OPENING`] handshakes at a time.
pub(crate) async fn open(url: &str, origin: &str, n: usize) -> Vec<Ws> {
    let mut all = Vec::with_capacity(n);
    while all.len() < n {
        let batch = OPENING.min(n - all.len());
        let opening: Vec<_> = (0..batch)
            .map(|_| {
                let (url, origin) = (url.to_owned(), origin.to_owned());
                tokio::spawn(async move { open_one(&url, &origin).await })
            })
            .collect();
        for task in opening {
            all.push(task.await.expect("a connection"));
        }
    }
    all
}

/// The RSS the server gains per idle connection, over `n` connections (bytes), and the
/// server's RSS with them open.
pub(crate) async fn per_connection(server: &ChildServer, n: usize) -> (f64, u64) {
    // Warm up: the first connections grow pools and tables that later ones reuse.
    drop(open(&server.url, &server.origin, 16).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = server.rss();
    let mut held = open(&server.url, &server.origin, n).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = server.rss();
    // Every connection is still served.
    for ws in held.iter_mut().step_by((n / 100).max(1)) {
        ask(ws).await;
    }
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    for mut ws in held {
        let _ = ws.close(None).await;
    }
    (per, after)
}
