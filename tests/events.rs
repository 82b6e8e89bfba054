//! Channels and events in process: a command streams to the caller that passed a channel, and
//! events reach the connections that were allowed to listen — and only those.

use gatehouse::{
    command, commands, Acl, CallerInfo, Capability, Channel, Emitter, Outbound, OutboundReceiver,
    Router,
};
use serde_json::{json, Value};

#[command]
fn count(to: u32, progress: Channel<u32>) -> u32 {
    for i in 1..=to {
        progress.send(i).expect("the caller reads");
    }
    to
}

#[command]
async fn count_slowly(to: u32, progress: Channel<u32>) -> u32 {
    for i in 1..=to {
        progress.send_async(i).await.expect("the caller reads");
    }
    to
}

#[command]
fn save(name: String, events: Emitter) -> usize {
    events.emit("saved", &name).expect("valid event")
}

const LISTEN: &str = "plugin:event|listen";
const UNLISTEN: &str = "plugin:event|unlisten";
const EMIT: &str = "plugin:event|emit";
const EMIT_TO: &str = "plugin:event|emit_to";

fn router() -> Router {
    let acl = Acl::builder()
        .commands([
            "count",
            "count_slowly",
            "save",
            LISTEN,
            UNLISTEN,
            EMIT,
            EMIT_TO,
        ])
        .capability(Capability::builder("main").windows(["main"]).allow([
            "count",
            "count_slowly",
            "save",
            LISTEN,
            UNLISTEN,
            EMIT_TO,
        ]))
        .capability(
            Capability::builder("viewer")
                .windows(["viewer"])
                .allow([LISTEN, UNLISTEN]),
        )
        .capability(
            Capability::builder("mute")
                .windows(["mute"])
                .allow(["count"]),
        )
        .build()
        .expect("valid ACL");
    Router::builder(acl)
        .commands(commands![count, count_slowly, save])
        .build()
        .expect("every command served")
}

struct Conn {
    caller: gatehouse::Caller,
    rx: OutboundReceiver,
}

fn connect(router: &Router, label: &str) -> Conn {
    let (outbound, rx) = Outbound::channel(64);
    Conn {
        caller: router.connect(CallerInfo::local(label), outbound),
        rx,
    }
}

async fn call(router: &Router, conn: &Conn, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply = router
        .handle(&conn.caller, request.to_string().as_bytes())
        .await
        .expect("a reply");
    serde_json::from_slice(&reply).expect("JSON reply")
}

fn drain(conn: &mut Conn) -> Vec<Value> {
    std::iter::from_fn(|| conn.rx.try_recv())
        .map(|frame| serde_json::from_slice(&frame).expect("JSON frame"))
        .collect()
}

#[tokio::test]
async fn a_command_streams_in_order_to_its_caller_only() {
    let router = router();
    let mut main = connect(&router, "main");
    let mut other = connect(&router, "main");
    let reply = call(
        &router,
        &main,
        "count",
        json!({"to": 3, "progress": "__CHANNEL__:7"}),
    )
    .await;
    assert_eq!(reply["result"], 3);
    let frames = drain(&mut main);
    let messages: Vec<&Value> = frames.iter().map(|f| &f["params"]["message"]).collect();
    assert_eq!(messages, [&json!(1), &json!(2), &json!(3)]);
    assert!(frames.iter().all(|f| f["method"] == "gatehouse:channel"
        && f["params"]["channel"] == 7
        && f.get("id").is_none()));
    assert!(
        drain(&mut other).is_empty(),
        "another connection gets nothing"
    );

    let reply = call(&router, &main, "count_slowly", json!([2, "__CHANNEL__:8"])).await;
    assert_eq!(reply["result"], 2, "{reply}");
    assert_eq!(drain(&mut main).len(), 2);
}

#[tokio::test]
async fn a_channel_argument_is_checked() {
    let router = router();
    let main = connect(&router, "main");
    for bad in [json!("7"), json!(7), json!("__CHANNEL__:x"), json!(null)] {
        let reply = call(&router, &main, "count", json!({"to": 1, "progress": bad})).await;
        assert_eq!(reply["error"]["code"], -32602, "{reply}");
        assert_eq!(reply["error"]["data"]["argument"], "progress", "{reply}");
    }
    // A caller made without a connection cannot take channels.
    let plain = router.caller(CallerInfo::local("main"));
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "count",
        "params": {"to": 1, "progress": "__CHANNEL__:1"}});
    let reply: Value = serde_json::from_slice(
        &router
            .handle(&plain, request.to_string().as_bytes())
            .await
            .expect("a reply"),
    )
    .expect("JSON");
    assert_eq!(reply["error"]["code"], -32602);
    assert!(reply["error"]["message"]
        .as_str()
        .expect("message")
        .contains("cannot receive channel messages"));
}

#[tokio::test]
async fn events_reach_listeners_that_may_listen() {
    let router = router();
    let mut main = connect(&router, "main");
    let mut viewer = connect(&router, "viewer");
    let mut mute = connect(&router, "mute");

    let listen = |ch: u32| json!({"event": "saved", "handler": format!("__CHANNEL__:{ch}")});
    let main_id = call(&router, &main, LISTEN, listen(1)).await["result"].clone();
    let viewer_id = call(&router, &viewer, LISTEN, listen(2)).await["result"].clone();
    assert!(main_id.is_u64() && viewer_id.is_u64() && main_id != viewer_id);
    let refused = call(&router, &mute, LISTEN, listen(3)).await;
    assert_eq!(refused["error"]["code"], -32001, "{refused}");

    // A command emits through its `Emitter`.
    let reply = call(&router, &main, "save", json!({"name": "a.md"})).await;
    assert_eq!(reply["result"], 2);
    let expect = |ch: u32, id: &Value| {
        json!([{"jsonrpc": "2.0", "method": "gatehouse:channel", "params": {"channel": ch,
            "message": {"event": "saved", "id": id, "payload": "a.md"}}}])
    };
    assert_eq!(Value::from(drain(&mut main)), expect(1, &main_id));
    assert_eq!(Value::from(drain(&mut viewer)), expect(2, &viewer_id));
    assert!(drain(&mut mute).is_empty());

    // The core emits to one window.
    assert_eq!(router.emit_to("viewer", "saved", "b.md").expect("emits"), 1);
    assert!(drain(&mut main).is_empty());
    assert_eq!(drain(&mut viewer).len(), 1);

    // A frontend with `emit_to` (but not `emit`) emits to one window.
    let reply = call(
        &router,
        &main,
        EMIT_TO,
        json!({"target": "viewer", "event": "saved", "payload": {"x": 1}}),
    )
    .await;
    assert_eq!(reply["result"], Value::Null, "{reply}");
    assert_eq!(
        drain(&mut viewer)[0]["params"]["message"]["payload"],
        json!({"x": 1})
    );
    let refused = call(&router, &main, EMIT, json!({"event": "saved"})).await;
    assert_eq!(refused["error"]["code"], -32001);

    // Unlisten: the viewer cannot remove main's listener; main can.
    let reply = call(
        &router,
        &viewer,
        UNLISTEN,
        json!({"event": "saved", "eventId": main_id}),
    )
    .await;
    assert_eq!(reply["result"], Value::Null);
    assert_eq!(router.emit("saved", "c.md").expect("emits"), 2);
    call(
        &router,
        &main,
        UNLISTEN,
        json!({"event": "saved", "eventId": main_id}),
    )
    .await;
    assert_eq!(router.emit("saved", "d.md").expect("emits"), 1);

    // A listener whose connection is gone is dropped.
    drop(viewer);
    assert_eq!(router.emit("saved", "e.md").expect("emits"), 0);
}

#[tokio::test]
async fn event_names_and_arguments_are_checked() {
    let router = router();
    let main = connect(&router, "main");
    for (params, argument) in [
        (
            json!({"event": "bad name", "handler": "__CHANNEL__:1"}),
            "event",
        ),
        (json!({"event": "ok", "handler": "nope"}), "handler"),
    ] {
        let reply = call(&router, &main, LISTEN, params).await;
        assert_eq!(reply["error"]["code"], -32602, "{reply}");
        assert_eq!(reply["error"]["data"]["argument"], argument, "{reply}");
    }
    let reply = call(
        &router,
        &main,
        LISTEN,
        json!({"event": "ok", "handler": "__CHANNEL__:1", "x": 1}),
    )
    .await;
    assert_eq!(
        reply["error"]["code"], -32602,
        "unknown members refused: {reply}"
    );
    assert!(router.emit("no spaces", &1).is_err());
}
