//! Channels and events over the ws transport.

#![cfg(feature = "ws")]

mod ws_common;

use std::time::Duration;

use gatehouse::ws::Limits;
use serde_json::{json, Value};
use ws_common::*;

/// The `message` of a channel notification on channel `channel`.
fn channel_message(frame: &Value, channel: u64) -> &Value {
    assert_eq!(frame["method"], "gatehouse:channel", "{frame}");
    assert_eq!(frame["params"]["channel"], json!(channel), "{frame}");
    assert!(
        frame.get("id").is_none(),
        "a notification has no id: {frame}"
    );
    &frame["params"]["message"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_streams_in_order_before_the_reply() {
    let app = App::start(Limits::default()).await;
    let mut ws = app.open(&app.main).await;
    const N: u64 = 500;
    send(
        &mut ws,
        1,
        "count_to",
        json!({ "n": N, "progress": "__CHANNEL__:7" }),
    )
    .await;
    for i in 1..=N {
        let frame = recv(&mut ws).await;
        assert_eq!(channel_message(&frame, 7), &json!(i));
    }
    let reply = recv(&mut ws).await;
    assert_eq!(reply["id"], 1);
    assert_eq!(reply["result"], json!(N));
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_windows_allowed_to_listen() {
    let app = App::start(Limits::default()).await;
    let mut main = app.open(&app.main).await;
    let mut viewer = app.open(&app.viewer).await;
    let mut mute = app.open(&app.mute).await;

    let listen = |channel: u64| json!({ "event": "note-changed", "handler": format!("__CHANNEL__:{channel}") });
    let main_id = call(&mut main, 1, LISTEN, listen(1)).await["result"].clone();
    let viewer_id = call(&mut viewer, 1, LISTEN, listen(2)).await["result"].clone();
    assert!(main_id.is_u64() && viewer_id.is_u64() && main_id != viewer_id);
    let refused = call(&mut mute, 1, LISTEN, listen(3)).await;
    assert_eq!(code(&refused), -32001, "{refused}");

    let delivered = app
        .router
        .emit("note-changed", &json!({ "name": "a" }))
        .expect("emit");
    assert_eq!(delivered, 2);
    for (ws, channel, id) in [(&mut main, 1, &main_id), (&mut viewer, 2, &viewer_id)] {
        let frame = recv(ws).await;
        assert_eq!(
            channel_message(&frame, channel),
            &json!({ "event": "note-changed", "id": id, "payload": { "name": "a" } })
        );
    }

    // `emit_to` reaches that label only.
    let delivered = app
        .router
        .emit_to("viewer", "note-changed", &json!("only viewer"))
        .expect("emit_to");
    assert_eq!(delivered, 1);
    let frame = recv(&mut viewer).await;
    assert_eq!(channel_message(&frame, 2)["payload"], "only viewer");
    // Main's next message is the reply to its next call, not the event.
    let reply = call(&mut main, 2, "add", json!({"a": 1, "b": 2})).await;
    assert_eq!(reply["result"], 3);
    // So is mute's: it never listened.
    assert_eq!(
        call(&mut mute, 2, "add", json!({"a": 1, "b": 2})).await["result"],
        3
    );

    // A frontend may emit too, when granted: main emits, viewer hears it.
    // Main listens too, so its own event reaches it (queued before the reply).
    send(
        &mut main,
        3,
        EMIT,
        json!({ "event": "note-changed", "payload": 5 }),
    )
    .await;
    let frame = recv(&mut main).await;
    assert_eq!(channel_message(&frame, 1)["payload"], 5);
    let reply = recv(&mut main).await;
    assert_eq!(
        (&reply["id"], &reply["result"]),
        (&json!(3), &Value::Null),
        "{reply}"
    );
    let frame = recv(&mut viewer).await;
    assert_eq!(channel_message(&frame, 2)["payload"], 5);

    // Once viewer's connection is gone its listener is too.
    drop(viewer);
    let start = std::time::Instant::now();
    loop {
        let delivered = app.router.emit("note-changed", &json!(null)).expect("emit");
        let _ = recv(&mut main).await;
        if delivered == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "viewer still listens"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.server.shutdown().await;
}
