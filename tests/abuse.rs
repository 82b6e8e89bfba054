//! Abuse from a caller that holds a real but small grant (`viewer`: read-only), over WebSocket:
//! each attack beside an honest window (`main`), whose p99 latency must stay within 3× of its
//! unloaded value while the server's memory grows by at most 64 MiB; after the attacker leaves,
//! the server is back to normal within a second. Loopback only, every loop bounded.

mod abuse_support;

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use abuse_support::*;
use futures_util::{SinkExt, StreamExt};
use gatehouse::limits::{RESPONSE_TOO_LARGE, TOO_MANY_IN_FLIGHT};
use gatehouse::ws::Limits;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const SAMPLES: usize = 400;

/// A batch of `entries` calls of `method`, ids from `first`.
fn batch(first: u64, entries: usize, method: &str, params: &Value) -> String {
    let calls: Vec<Value> = (0..entries as u64)
        .map(|i| json!({ "jsonrpc": "2.0", "id": first + i, "method": method, "params": params }))
        .collect();
    Value::Array(calls).to_string()
}

/// Runs `attack` on a runtime and thread of its own (as another process would), with the
/// attacker's connection open until the returned sender is dropped or sent to.
fn spawn_attacker<F, Fut>(attack: F) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Ws>,
{
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = attacker_runtime();
        let ws = runtime.block_on(attack());
        // Hold the connection (never reading) until told to leave, at most 25 s.
        let _ = stopped.recv_timeout(Duration::from_secs(25));
        drop(ws);
        drop(runtime);
    });
    (stop, thread)
}

/// Defect: `max_in_flight` counted frames, so batches of 1 024 blocking entries all ran at once
/// (24 frames: 515 threads, RSS +600 MiB, the honest window's reads 1 000× slower, the work
/// going on for seconds after the attacker left).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_blocking_work_from_a_read_only_window() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let limits = Limits::default();
    let app = App::start(limits.clone()).await;
    let mut main = app.open(&app.main).await;
    call(
        &mut main,
        1,
        "write_note",
        json!({ "name": "a", "text": "hello" }),
    )
    .await;
    let read = json!({ "name": "a" });
    let unloaded = p99(&mut main, SAMPLES, "read_note", read.clone()).await;
    let before = rss();

    let viewer = app.viewer.token().to_owned();
    let addr = app.server.local_addr();
    let origin = app.server.origin().to_owned();
    let (stop, attacker) = spawn_attacker(move || async move {
        let mut ws = open_as(addr, &origin, &viewer).await;
        for frame in 0..24u64 {
            let text = batch(frame * 1024, 1024, "list_notes", &json!({}));
            let sent = tokio::time::timeout(Duration::from_secs(2), ws.send(Message::text(text)));
            if !matches!(sent.await, Ok(Ok(()))) {
                break;
            }
        }
        ws
    });
    let loaded = p99(&mut main, SAMPLES, "read_note", read.clone()).await;
    let during = rss();
    let most = app.notes.most_running.load(Ordering::SeqCst);

    drop(stop);
    attacker.join().expect("attacker thread");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = app.notes.started.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = app.notes.started.load(Ordering::SeqCst);
    let after = p99(&mut main, SAMPLES, "read_note", read).await;

    assert!(
        most <= limits.max_blocking,
        "{most} blocking bodies of one connection ran at once (limit {})",
        limits.max_blocking
    );
    assert!(
        started > 0,
        "the attack ran nothing: the test would prove nothing"
    );
    assert_eq!(
        started, later,
        "blocking work of a gone connection was still starting a second after it left"
    );
    assert_latency_bounded("under the batch flood", unloaded, loaded);
    assert_memory_bounded("under the batch flood", before, during);
    assert_latency_bounded("after the batch flood", unloaded, after);
}

/// A window that asks for large replies and never reads them: the core stops reading its
/// requests once its queue is full, so it holds at most the queue's bytes and what is in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_replies_to_a_window_that_never_reads() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let limits = Limits::default();
    let app = App::start(limits).await;
    let mut main = app.open(&app.main).await;
    let big = "x".repeat(256 << 10);
    call(
        &mut main,
        1,
        "write_note",
        json!({ "name": "big", "text": big }),
    )
    .await;
    call(
        &mut main,
        2,
        "write_note",
        json!({ "name": "a", "text": "hello" }),
    )
    .await;
    let read = json!({ "name": "a" });
    let unloaded = p99(&mut main, SAMPLES, "read_note", read.clone()).await;
    let before = rss();

    let viewer = app.viewer.token().to_owned();
    let addr = app.server.local_addr();
    let origin = app.server.origin().to_owned();
    let (stop, attacker) = spawn_attacker(move || async move {
        let mut ws = open_as(addr, &origin, &viewer).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        for id in 0..2_000u64 {
            let text = json!({ "jsonrpc": "2.0", "id": id, "method": "read_note", "params": { "name": "big" } });
            let sent = tokio::time::timeout_at(deadline, ws.send(Message::text(text.to_string())));
            if !matches!(sent.await, Ok(Ok(()))) {
                break;
            }
        }
        ws
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loaded = p99(&mut main, SAMPLES, "read_note", read.clone()).await;
    let during = rss();
    drop(stop);
    attacker.join().expect("attacker thread");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = p99(&mut main, SAMPLES, "read_note", read).await;

    assert_latency_bounded("under the large-reply flood", unloaded, loaded);
    assert_memory_bounded("under the large-reply flood", before, during);
    assert_latency_bounded("after the large-reply flood", unloaded, after);
}

/// Defect: the outbound queue was bounded in frames only: a read-only window listening to an
/// event with large payloads, and never reading, made the core hold 1 024 of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_events_to_a_listener_that_never_reads() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let app = App::start(Limits::default()).await;
    let mut main = app.open(&app.main).await;
    call(
        &mut main,
        1,
        "write_note",
        json!({ "name": "a", "text": "hello" }),
    )
    .await;
    let read = json!({ "name": "a" });
    let unloaded = p99(&mut main, SAMPLES, "read_note", read.clone()).await;
    let before = rss();

    // The attacker listens (a grant it holds), then never reads again.
    let mut viewer = app.open(&app.viewer).await;
    let listen = json!({ "event": "note-changed", "handler": "__CHANNEL__:1" });
    let reply = call(&mut viewer, 1, LISTEN, listen).await;
    assert!(reply.get("result").is_some(), "{reply}");
    // The honest window saves 400 large notes; each save is an event for the attacker.
    let big = "x".repeat(256 << 10);
    for id in 0..400u64 {
        let name = format!("n{}", id % 4);
        call(
            &mut main,
            10 + id,
            "write_note",
            json!({ "name": name, "text": big }),
        )
        .await;
    }
    let during = rss();
    let loaded = p99(&mut main, SAMPLES, "read_note", read.clone()).await;
    drop(viewer);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = p99(&mut main, SAMPLES, "read_note", read).await;

    assert_memory_bounded(
        "events queued for a listener that never reads",
        before,
        during,
    );
    assert_latency_bounded(
        "events queued for a listener that never reads",
        unloaded,
        loaded,
    );
    assert_latency_bounded("after the listener left", unloaded, after);
}

/// Defect: a batch was admitted or refused whole; now every entry is a request, the excess is
/// answered `-32007` in place under its own id, and the reply is an array.
#[tokio::test]
async fn a_batch_over_the_in_flight_limit_is_answered_entry_by_entry() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let app = App::start(Limits::default().max_in_flight(8)).await;
    let mut viewer = app.open(&app.viewer).await;
    let text = batch(100, 20, "list_notes", &json!({}));
    viewer.send(Message::text(text)).await.expect("send");
    let reply = next_json(&mut viewer).await;
    let entries = reply.as_array().expect("an array of replies");
    assert_eq!(entries.len(), 20, "{reply}");
    let refused: Vec<u64> = entries
        .iter()
        .filter(|e| e["error"]["code"] == json!(TOO_MANY_IN_FLIGHT))
        .filter_map(|e| e["id"].as_u64())
        .collect();
    let ran = entries.iter().filter(|e| e.get("result").is_some()).count();
    assert_eq!(ran, 8, "{reply}");
    assert_eq!(refused.len(), 12, "{reply}");
    assert!(
        refused.iter().all(|id| (108..120).contains(id)),
        "{refused:?}"
    );
    assert_eq!(app.notes.started.load(Ordering::SeqCst), 8);
    // The refusal counted nothing against the connection: the next batch runs in full.
    let text = batch(200, 8, "list_notes", &json!({}));
    viewer.send(Message::text(text)).await.expect("send");
    let reply = next_json(&mut viewer).await;
    assert_eq!(
        reply
            .as_array()
            .map(|e| e.iter().filter(|e| e.get("result").is_some()).count()),
        Some(8),
        "{reply}"
    );
}

/// A reply larger than `max_response_bytes` is replaced by `-32008`; the connection goes on.
#[tokio::test]
async fn a_reply_over_the_response_limit_is_an_error() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let app = App::start(Limits::default().max_response_bytes(1024)).await;
    let mut main = app.open(&app.main).await;
    let big = "x".repeat(4096);
    call(
        &mut main,
        1,
        "write_note",
        json!({ "name": "big", "text": big }),
    )
    .await;
    let reply = call(&mut main, 2, "read_note", json!({ "name": "big" })).await;
    assert_eq!(reply["error"]["code"], json!(RESPONSE_TOO_LARGE), "{reply}");
    assert_eq!(reply["error"]["data"]["limit"], json!(1024), "{reply}");
    let reply = call(&mut main, 3, "read_note", json!({ "name": "missing" })).await;
    assert_eq!(reply["result"], Value::Null, "{reply}");
}

async fn open_as(addr: std::net::SocketAddr, origin: &str, token: &str) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    let url = format!("ws://{addr}/gatehouse/ws?token={token}");
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(origin).expect("header"));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("handshake")
        .0
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("JSON"),
            Some(Ok(_)) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}
