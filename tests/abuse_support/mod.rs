//! What the abuse tests share: a notes-like application served over WebSocket, with an honest
//! window (`main`, may read and write) and an attacker's window (`viewer`, read-only), a client,
//! and the measures the tests assert — p99 latency of the honest caller and the process's RSS.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each abuse test file uses part of the support code"
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gatehouse::ws::{Limits, Server, ServerHandle, Window};
use gatehouse::{command, commands, Acl, Capability, Emitter, Router, State};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// How long any single wait may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// Latencies below this are scheduler noise on a shared two-core machine (another process's
/// time slice is a few milliseconds), not a signal: the unloaded p99 used as the baseline is at
/// least this. The defects these tests guard against cost the honest caller 100–1000× (from
/// under a millisecond to seconds), far above `3 × NOISE_FLOOR`.
pub const NOISE_FLOOR: Duration = Duration::from_millis(5);

/// Held by each abuse test for its whole run: attacks measured side by side would measure each
/// other.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub type Ws = WebSocketStream<TcpStream>;

/// The notes, and what the commands count.
#[derive(Default)]
pub struct Notes {
    pub notes: Mutex<HashMap<String, String>>,
    /// Blocking `list_notes` bodies running now, and the most that ever ran at once.
    pub running: AtomicUsize,
    pub most_running: AtomicUsize,
    /// Every `list_notes` body that started.
    pub started: AtomicUsize,
    /// Every `read_note` call.
    pub reads: AtomicUsize,
}

/// Lists the notes: blocking work of about a millisecond, as a directory listing is.
#[command(blocking)]
fn list_notes(notes: State<'_, Arc<Notes>>) -> Vec<String> {
    let now = notes.running.fetch_add(1, Ordering::SeqCst) + 1;
    notes.started.fetch_add(1, Ordering::SeqCst);
    notes.most_running.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1));
    let names = notes
        .notes
        .lock()
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    notes.running.fetch_sub(1, Ordering::SeqCst);
    names
}

/// Reads a note.
#[command]
fn read_note(notes: State<'_, Arc<Notes>>, name: String) -> Option<String> {
    notes.reads.fetch_add(1, Ordering::Relaxed);
    notes.notes.lock().ok()?.get(&name).cloned()
}

/// Writes a note, and tells the listeners of `note-changed` what it now says.
#[command]
fn write_note(notes: State<'_, Arc<Notes>>, events: Emitter, name: String, text: String) -> bool {
    let _ = events.emit("note-changed", &json!({ "name": name, "text": text }));
    notes
        .notes
        .lock()
        .map(|mut n| n.insert(name, text).is_none())
        .unwrap_or(false)
}

/// Listening to events, as Tauri's `core:event:allow-listen` grants it.
pub const LISTEN: &str = "plugin:event|listen";

/// A running server with the honest and the attacking window.
pub struct App {
    pub server: ServerHandle,
    pub notes: Arc<Notes>,
    pub main: Window,
    pub viewer: Window,
}

impl App {
    pub async fn start(limits: Limits) -> App {
        let notes = Arc::new(Notes::default());
        let acl = Acl::builder()
            .commands(["list_notes", "read_note", "write_note", LISTEN])
            .capability(Capability::builder("main").windows(["main"]).allow([
                "list_notes",
                "read_note",
                "write_note",
                LISTEN,
            ]))
            .capability(Capability::builder("viewer").windows(["viewer"]).allow([
                "list_notes",
                "read_note",
                LISTEN,
            ]))
            .build()
            .expect("valid ACL");
        let router = Router::builder(acl)
            .commands(commands![list_notes, read_note, write_note])
            .manage(Arc::clone(&notes))
            .limits(limits.clone())
            .build()
            .expect("valid router");
        let server = Server::builder(Arc::new(router))
            .limits(limits)
            .build()
            .await
            .expect("server binds");
        let main = server.window("main");
        let viewer = server.window("viewer");
        App {
            server: server.spawn(),
            notes,
            main,
            viewer,
        }
    }

    /// Opens `window`'s connection as its own page would.
    pub async fn open(&self, window: &Window) -> Ws {
        let addr = self.server.local_addr();
        let url = format!("ws://{addr}/gatehouse/ws?token={}", window.token());
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert(
            "origin",
            HeaderValue::from_str(self.server.origin()).expect("header"),
        );
        let tcp = TcpStream::connect(addr).await.expect("tcp connect");
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(request, tcp))
            .await
            .expect("handshake in time")
            .expect("handshake accepted");
        ws
    }
}

/// Calls `method` and returns its reply.
pub async fn call(ws: &mut Ws, id: u64, method: &str, params: Value) -> Value {
    let request = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
    tokio::time::timeout(WAIT, ws.send(Message::text(request.to_string())))
        .await
        .expect("send in time")
        .expect("send");
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("reply in time")
        {
            Some(Ok(Message::Text(text))) => {
                let reply: Value = serde_json::from_str(&text).expect("JSON");
                if reply["id"] == json!(id) {
                    return reply;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("expected a reply, got {other:?}"),
        }
    }
}

/// The p99 of `samples` sequential calls of `method` on `ws`.
pub async fn p99(ws: &mut Ws, samples: usize, method: &str, params: Value) -> Duration {
    let mut times = Vec::with_capacity(samples);
    for id in 0..samples {
        let start = Instant::now();
        let reply = call(ws, 1_000_000 + id as u64, method, params.clone()).await;
        times.push(start.elapsed());
        assert!(reply.get("result").is_some(), "{reply}");
    }
    times.sort();
    times[(samples * 99).div_ceil(100) - 1]
}

/// The process's resident memory, in bytes.
pub fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// A multi-threaded runtime of its own, for the attacker, so that its client does not share
/// the server's workers (as another process would not).
pub fn attacker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Asserts the honest caller's p99 under attack is within 3× of its unloaded p99 (floored at
/// [`NOISE_FLOOR`]).
pub fn assert_latency_bounded(what: &str, unloaded: Duration, loaded: Duration) {
    let baseline = unloaded.max(NOISE_FLOOR);
    assert!(
        loaded <= baseline * 3,
        "{what}: the honest caller's p99 went from {unloaded:?} to {loaded:?} (bound: 3 × {baseline:?})"
    );
}

/// Asserts the RSS grew by at most 64 MiB.
pub fn assert_memory_bounded(what: &str, before: usize, after: usize) {
    let grown = after.saturating_sub(before);
    assert!(
        grown <= 64 << 20,
        "{what}: the server's RSS grew by {} MiB (bound: 64 MiB)",
        grown >> 20
    );
}
