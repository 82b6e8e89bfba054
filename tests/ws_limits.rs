//! Connection limits and window tokens of the ws transport: the server-wide cap, the cap per
//! window, eviction of the oldest handshake, and revoking and rotating tokens. Loopback only,
//! every wait bounded.

#![cfg(feature = "ws")]

mod ws_common;

use std::time::{Duration, Instant};

use gatehouse::ws::Limits;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ws_common::*;

/// Whether the server closes `tcp` within `within` (EOF or reset), without sending anything
/// but perhaps an HTTP error.
async fn closed_by_server(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Retries opening `window` until it is accepted (the server notices a closed connection
/// asynchronously), for at most a second.
async fn open_soon(app: &App, window: &gatehouse::ws::Window) -> Ws {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let query = format!("token={}", window.token());
        match app.connect(Some(app.server.origin()), None, &query).await {
            Ok(ws) => return ws,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("not accepted within a second: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_closes_connections_over_its_limit_at_accept() {
    let app = App::start(Limits::default().max_connections(3)).await;
    let mut open = Vec::new();
    for window in [&app.main, &app.main, &app.viewer] {
        let mut ws = app.open(window).await;
        assert_eq!(
            call(&mut ws, 1, "add", json!({"a": 1, "b": 1})).await["result"],
            2
        );
        open.push(ws);
    }
    // A fourth connection is closed before the server reads anything: its request goes
    // unanswered.
    let mut tcp = TcpStream::connect(app.addr()).await.expect("tcp connect");
    let request = format!(
        "GET /gatehouse/gatehouse.js HTTP/1.1\r\nHost: {}\r\n\r\n",
        app.host()
    );
    let _ = tcp.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = timeout(tcp.read_to_end(&mut answer)).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // The open ones are still served; once one closes, there is room again.
    assert_eq!(
        call(&mut open[2], 2, "add", json!({"a": 2, "b": 2})).await["result"],
        4
    );
    drop(open.pop());
    let mut ws = open_soon(&app, &app.viewer).await;
    assert_eq!(
        call(&mut ws, 3, "add", json!({"a": 3, "b": 3})).await["result"],
        6
    );
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_holds_at_most_its_connections() {
    let app = App::start(Limits::default().max_connections_per_label(2)).await;
    let origin = app.server.origin().to_owned();
    let mut first = app.open(&app.main).await;
    let _second = app.open(&app.main).await;
    assert_eq!(app.main.connections(), 2);
    let query = format!("token={}", app.main.token());
    let (status, reason) = refusal(app.connect(Some(&origin), None, &query).await);
    assert_eq!(
        (status, reason.as_str()),
        (503, "too many connections for this window")
    );
    // Other windows are not affected, nor the open connections.
    let mut viewer = app.open(&app.viewer).await;
    assert_eq!(
        call(&mut viewer, 1, "whoami", json!({})).await["result"]["label"],
        "viewer"
    );
    assert_eq!(
        call(&mut first, 2, "add", json!({"a": 1, "b": 2})).await["result"],
        3
    );
    // A closed connection frees its place.
    drop(first);
    let mut again = open_soon(&app, &app.main).await;
    assert_eq!(
        call(&mut again, 3, "whoami", json!({})).await["result"]["label"],
        "main"
    );
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_are_evicted_and_cannot_lock_a_window_out() {
    const HANDSHAKES: usize = 8;
    const IDLE: usize = 200;
    let app = App::start(Limits::default().max_handshakes(HANDSHAKES)).await;
    // Sockets that connect and say nothing, and sockets stuck halfway through their request.
    let mut idle = Vec::new();
    for i in 0..IDLE {
        let mut tcp = TcpStream::connect(app.addr()).await.expect("tcp connect");
        if i % 2 == 1 {
            let partial = format!("GET /gatehouse/ws HTTP/1.1\r\nHost: {}\r\n", app.host());
            let _ = tcp.write_all(partial.as_bytes()).await;
        }
        idle.push(tcp);
    }
    // The real window connects and is served at once.
    let started = Instant::now();
    let mut ws = app.open(&app.main).await;
    assert_eq!(
        call(&mut ws, 1, "add", json!({"a": 1, "b": 1})).await["result"],
        2
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The server kept at most its handshakes of them; the rest it closed.
    let mut kept = 0;
    for tcp in &mut idle {
        if !closed_by_server(tcp, Duration::from_millis(20)).await {
            kept += 1;
        }
    }
    assert!(kept <= HANDSHAKES, "{kept} idle sockets kept open");
    // The established connection was never a handshake, so it was not evicted.
    assert_eq!(
        call(&mut ws, 2, "add", json!({"a": 2, "b": 2})).await["result"],
        4
    );
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_closes_the_window_and_refuses_its_token() {
    let app = App::start(Limits::default()).await;
    let origin = app.server.origin().to_owned();
    let mut a = app.open(&app.main).await;
    let mut b = app.open(&app.main).await;
    let mut viewer = app.open(&app.viewer).await;
    let token = app.main.token();
    app.main.revoke();
    for ws in [&mut a, &mut b] {
        let (code, reason) = closed(ws).await.expect("a close frame");
        assert_eq!((u16::from(code), reason.as_str()), (1008, "window revoked"));
    }
    let (status, reason) = refusal(
        app.connect(Some(&origin), None, &format!("token={token}"))
            .await,
    );
    assert_eq!((status, reason.as_str()), (403, "invalid token"));
    // Other windows go on.
    assert_eq!(
        call(&mut viewer, 1, "whoami", json!({})).await["result"]["label"],
        "viewer"
    );
    // A rotation gives the window a working token again; the revoked one stays refused.
    let url = app.main.rotate();
    assert!(url.ends_with(&format!("#token={}", app.main.token())));
    assert_ne!(app.main.token(), token);
    let mut c = app.open(&app.main).await;
    assert_eq!(
        call(&mut c, 2, "whoami", json!({})).await["result"]["label"],
        "main"
    );
    let (status, _) = refusal(
        app.connect(Some(&origin), None, &format!("token={token}"))
            .await,
    );
    assert_eq!(status, 403);
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_refuses_the_old_token_and_keeps_open_connections() {
    let app = App::start(Limits::default()).await;
    let origin = app.server.origin().to_owned();
    let old = app.main.token();
    let mut live = app.open(&app.main).await;
    let url = app.main.rotate();
    let new = app.main.token();
    assert_ne!(old, new);
    assert_eq!(url, format!("{origin}/#token={new}"));
    let (status, reason) = refusal(
        app.connect(Some(&origin), None, &format!("token={old}"))
            .await,
    );
    assert_eq!((status, reason.as_str()), (403, "invalid token"));
    // The connection opened with the old token stays open and served.
    assert_eq!(
        call(&mut live, 1, "whoami", json!({})).await["result"]["label"],
        "main"
    );
    let mut fresh = app.open(&app.main).await;
    assert_eq!(
        call(&mut fresh, 2, "add", json!({"a": 1, "b": 2})).await["result"],
        3
    );
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_has_one_live_token() {
    let app = App::start(Limits::default()).await;
    let origin = app.server.origin().to_owned();
    let first = app.main.token();
    // Registering the label again rotates its token; every handle shows the live one.
    let again = app.server.window("main");
    assert_ne!(again.token(), first);
    assert_eq!(app.main.token(), again.token());
    assert_eq!(app.main.url(), again.url());
    let (status, _) = refusal(
        app.connect(Some(&origin), None, &format!("token={first}"))
            .await,
    );
    assert_eq!(status, 403);
    let mut ws = app.open(&again).await;
    assert_eq!(
        call(&mut ws, 1, "whoami", json!({})).await["result"]["label"],
        "main"
    );
    // A clone revokes for all of them.
    again.clone().revoke();
    let (code, _) = closed(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(code), 1008);
    app.server.shutdown().await;
}
