//! Load on the ws transport: 64 connections × 5 000 pipelined requests each; every request
//! gets exactly its own reply. Bounded in time; not a benchmark (see `benches/`).

#![cfg(feature = "ws")]

mod ws_common;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gatehouse::ws::Limits;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use ws_common::*;

const CONNECTIONS: u64 = 64;
const REQUESTS: u64 = 5_000;
/// Requests a client keeps in flight: pipelined, under the server's `max_in_flight` (64).
const WINDOW: usize = 32;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_gets_exactly_its_own_reply() {
    // Half of the connections are `main`'s and half `viewer`'s: more than a window's default.
    let app = App::start(Limits::default().max_connections_per_label(CONNECTIONS as usize)).await;
    let mut clients = Vec::new();
    for conn in 0..CONNECTIONS {
        let ws = app
            .open(if conn % 2 == 0 {
                &app.main
            } else {
                &app.viewer
            })
            .await;
        clients.push(tokio::spawn(client(conn, ws)));
    }
    let all = async {
        for client in clients {
            client.await.expect("client task");
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("the load test finishes in time");
    app.server.shutdown().await;
}

/// Sends `REQUESTS` additions, at most `WINDOW` unanswered, and checks every reply.
async fn client(conn: u64, ws: Ws) {
    let (mut tx, mut rx) = ws.split();
    let window = Arc::new(Semaphore::new(WINDOW));
    let sender = {
        let window = window.clone();
        tokio::spawn(async move {
            for id in 0..REQUESTS {
                window.acquire().await.expect("open").forget();
                // `b` ties the reply to this connection as well as to the id.
                let request = format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"add","params":{{"a":{id},"b":{}}}}}"#,
                    conn * 1_000_000
                );
                tx.send(Message::text(request)).await.expect("send");
            }
            tx
        })
    };
    let mut seen = vec![false; REQUESTS as usize];
    for _ in 0..REQUESTS {
        let text = match rx.next().await {
            Some(Ok(Message::Text(text))) => text,
            other => panic!("connection {conn}: expected a reply, got {other:?}"),
        };
        let reply: Value = serde_json::from_str(&text).expect("JSON");
        let id = reply["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("no id: {reply}"));
        assert_eq!(
            reply["result"].as_u64(),
            Some(id + conn * 1_000_000),
            "connection {conn}: {reply}"
        );
        let slot = seen
            .get_mut(id as usize)
            .unwrap_or_else(|| panic!("unknown id {id}"));
        assert!(!*slot, "connection {conn}: id {id} answered twice");
        *slot = true;
        window.add_permits(1);
    }
    assert!(
        seen.iter().all(|s| *s),
        "connection {conn}: a request was not answered"
    );
    let _tx = sender.await.expect("sender task");
}
