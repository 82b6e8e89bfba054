//! Hostile input against the ws transport: every case gets a clear JSON-RPC error or a clean
//! close, and the server keeps serving other connections. Loopback only, bounded in time.

#![cfg(feature = "ws")]

mod ws_common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use gatehouse::ws::Limits;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use ws_common::*;

/// Another connection still gets answers.
async fn still_serving(app: &App) {
    let mut ws = app.open(&app.viewer).await;
    let reply = call(&mut ws, 1, "add", json!({"a": 20, "b": 22})).await;
    assert_eq!(reply["result"], 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_message_closes_the_connection_with_1009() {
    let app = App::start(Limits::default().max_message_bytes(64 * 1024)).await;
    let mut ws = app.open(&app.main).await;
    // Just under the limit is fine.
    let fits = "x".repeat(60 * 1024);
    let reply = call(&mut ws, 1, "echo", json!({ "value": fits })).await;
    assert_eq!(reply["result"].as_str().map(str::len), Some(60 * 1024));

    let big = json!({"jsonrpc": "2.0", "id": 2, "method": "echo", "params": {"value": "x".repeat(100 * 1024)}});
    // The server may close before the whole message is written.
    let _ = ws.send(Message::text(big.to_string())).await;
    let (close, reason) = closed(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(close), 1009);
    assert!(reason.contains("message too large"), "{reason}");
    assert!(reason.contains("65536"), "{reason}");
    still_serving(&app).await;
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_nesting_is_answered_and_the_connection_stays_usable() {
    let app = App::start(Limits::default()).await;
    let mut ws = app.open(&app.main).await;

    // A hundred thousand `[`: refused before parsing, under `id: null` (there is none).
    timeout(ws.send(Message::text("[".repeat(100_000))))
        .await
        .expect("send");
    let reply = recv(&mut ws).await;
    assert_eq!(code(&reply), -32006, "{reply}");
    assert_eq!(reply["error"]["message"], "nesting too deep");
    assert_eq!(reply["error"]["data"], json!({ "limit": 64 }));
    assert_eq!(reply["id"], Value::Null);

    // Nesting inside a request: answered under the request's id.
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"echo","params":{{"value":{}1{}}}}}"#,
        "[".repeat(70),
        "]".repeat(70)
    );
    timeout(ws.send(Message::text(deep))).await.expect("send");
    let reply = recv(&mut ws).await;
    assert_eq!((code(&reply), &reply["id"]), (-32006, &json!(7)), "{reply}");

    // Nesting within the limit works.
    let nested = json!([[[[[[[[[[1]]]]]]]]]]);
    let reply = call(&mut ws, 8, "echo", json!({ "value": nested })).await;
    assert_eq!(reply["result"], nested);
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_close_cleanly() {
    let app = App::start(Limits::default()).await;

    // A text frame that is not UTF-8.
    let mut ws = app.open(&app.main).await;
    let frame = Frame::message(vec![b'"', 0xff, 0xfe, b'"'], OpCode::Data(Data::Text), true);
    timeout(ws.send(Message::Frame(frame))).await.expect("send");
    let (close, _) = closed(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(close), 1007);
    still_serving(&app).await;

    // A binary frame.
    let mut ws = app.open(&app.main).await;
    let request = br#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2}}"#;
    timeout(ws.send(Message::binary(request.to_vec())))
        .await
        .expect("send");
    let (close, reason) = closed(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(close), 1003);
    assert!(reason.contains("binary"), "{reason}");
    still_serving(&app).await;

    // Garbage bytes on the socket after the handshake: not a WebSocket frame at all.
    let mut ws = app.open(&app.main).await;
    let tcp = ws.get_mut();
    timeout(tcp.write_all(b"\x00\x01garbage\xff\xff\xff\xff not a frame\r\n\r\n"))
        .await
        .expect("write");
    // The server answers with a close frame (1002) and hangs up: the socket ends in time
    // (`timeout` panics otherwise).
    let mut rest = Vec::new();
    let _ = timeout(tcp.read_to_end(&mut rest)).await;
    assert!(rest.len() < 256, "only a close frame: {rest:?}");
    still_serving(&app).await;

    // Plain JSON that is not JSON-RPC, and text that is not JSON: errors, connection kept.
    let mut ws = app.open(&app.main).await;
    timeout(ws.send(Message::text("{not json")))
        .await
        .expect("send");
    assert_eq!(code(&recv(&mut ws).await), -32700);
    timeout(ws.send(Message::text("42"))).await.expect("send");
    assert_eq!(code(&recv(&mut ws).await), -32600);
    assert_eq!(
        call(&mut ws, 3, "add", json!({"a": 1, "b": 2})).await["result"],
        3
    );
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_requests_gets_32007_for_the_excess() {
    let app = App::start(Limits::default().max_in_flight(4)).await;
    let mut ws = app.open(&app.main).await;
    for id in 1..=20u64 {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "slow", "params": {"ms": 1000}});
        timeout(ws.feed(Message::text(request.to_string())))
            .await
            .expect("feed");
    }
    timeout(ws.flush()).await.expect("flush");
    let mut replies = BTreeMap::new();
    while replies.len() < 20 {
        let reply = recv(&mut ws).await;
        let id = reply["id"].as_u64().expect("every reply has its id");
        assert!(
            replies.insert(id, reply).is_none(),
            "id {id} answered twice"
        );
    }
    let done: Vec<u64> = replies
        .iter()
        .filter(|(_, r)| r["result"] == 1000)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(done, [1, 2, 3, 4], "the first four ran");
    for (id, reply) in replies.range(5..) {
        assert_eq!(code(reply), -32007, "{id}: {reply}");
        assert_eq!(reply["error"]["message"], "too many requests in flight");
        assert_eq!(reply["error"]["data"], json!({ "limit": 4 }));
    }
    // Once they are done, new requests run again.
    assert_eq!(
        call(&mut ws, 21, "slow", json!({"ms": 1})).await["result"],
        1
    );
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_disconnected_and_others_are_unaffected() {
    let limits = Limits::default()
        .outbound_capacity(8)
        .write_timeout(Duration::from_millis(500));
    let app = App::start(limits).await;
    let mut slow = app.open(&app.main).await;
    // Each reply is 256 KiB; a few dozen fill the socket buffers and the queue.
    let payload = "y".repeat(256 * 1024);
    let writer = tokio::spawn(async move {
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < Duration::from_secs(10) {
            let request = json!({"jsonrpc": "2.0", "id": sent, "method": "echo", "params": {"value": payload}});
            // Once the server stops reading, this send blocks; give up then.
            match tokio::time::timeout(
                Duration::from_secs(3),
                slow.send(Message::text(request.to_string())),
            )
            .await
            {
                Ok(Ok(())) => sent += 1,
                _ => break,
            }
        }
        (slow, sent)
    });
    // Meanwhile another connection is answered promptly, again and again.
    let mut other = app.open(&app.viewer).await;
    for id in 0..20 {
        let start = Instant::now();
        let reply = call(&mut other, id, "add", json!({"a": id, "b": 1})).await;
        assert_eq!(reply["result"], json!(id + 1));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut slow, sent) = timeout(writer).await.expect("writer task");
    // The server gave up on the slow reader: draining what is buffered ends in a close, with
    // fewer replies than requests.
    let mut received = 0u64;
    loop {
        match timeout(slow.next()).await {
            Some(Ok(Message::Text(_))) => received += 1,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    assert!(
        received < sent,
        "received {received} of {sent}: the server never gave up"
    );
    still_serving(&app).await;
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_command_is_an_internal_error_and_the_connection_keeps_working() {
    let app = App::start(Limits::default()).await;
    let mut ws = app.open(&app.main).await;
    for id in [1, 3] {
        let reply = call(&mut ws, id, "boom", json!({})).await;
        assert_eq!(code(&reply), -32603, "{reply}");
        let reply = call(&mut ws, id + 1, "add", json!({"a": 1, "b": 1})).await;
        assert_eq!(reply["result"], 2);
    }
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_with_1001() {
    let app = App::start(Limits::default().idle_timeout(Duration::from_millis(1000))).await;
    let mut ws = app.open(&app.main).await;
    // Traffic keeps it open for longer than the idle timeout.
    for id in 0..4 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            call(&mut ws, id, "add", json!({"a": 1, "b": 1})).await["result"],
            2
        );
    }
    let start = Instant::now();
    let (close, reason) = closed(&mut ws).await.expect("a close frame");
    assert_eq!((u16::from(close), reason.as_str()), (1001, "idle timeout"));
    assert!(start.elapsed() < Duration::from_secs(5));
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_completes_its_handshake_is_closed() {
    let app = App::start(Limits::default().handshake_timeout(Duration::from_millis(400))).await;
    for opening in [
        &b""[..],
        b"GET /gatehouse/ws HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    ] {
        let mut tcp = TcpStream::connect(app.addr()).await.expect("connect");
        timeout(tcp.write_all(opening)).await.expect("write");
        let start = Instant::now();
        let mut rest = Vec::new();
        // The server hangs up (possibly after a 408); the read ends instead of waiting forever.
        let _ = timeout(tcp.read_to_end(&mut rest)).await;
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
    still_serving(&app).await;
    app.server.shutdown().await;
}
