//! The child's clients against a core driven by hand over a socket pair: calls, handlers,
//! channels, closing, and many callers at once.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::sink::LISTEN;
use super::{ClientBuilder, ClientError};
use crate::error::RpcError;

/// The core's end of the pipes, driven by hand.
struct FakeCore {
    read: BufReader<UnixStream>,
    write: UnixStream,
}

impl FakeCore {
    fn recv(&mut self) -> Value {
        let mut line = String::new();
        self.read.read_line(&mut line).expect("a line");
        serde_json::from_str(&line).expect("JSON")
    }

    /// Whether a whole message has arrived and is waiting to be read.
    fn has_buffered(&self) -> bool {
        self.read.buffer().contains(&b'\n')
    }

    fn send(&mut self, message: Value) {
        let mut line = serde_json::to_vec(&message).expect("serialises");
        line.push(b'\n');
        self.write.write_all(&line).expect("written");
    }
}

fn connect() -> (UnixStream, UnixStream, FakeCore) {
    let (child, core) = UnixStream::pair().expect("a socket pair");
    let core = FakeCore {
        read: BufReader::new(core.try_clone().expect("clones")),
        write: core,
    };
    (child.try_clone().expect("clones"), child, core)
}

#[test]
fn the_blocking_client_calls_answers_streams_and_closes() {
    let (read, write, mut core) = connect();
    let client = ClientBuilder::new().connect_blocking(read, write);
    client.handle("double", |p: Value| {
        Ok::<_, RpcError>(p.as_i64().unwrap_or(0) * 2)
    });

    let calling = std::thread::spawn({
        let client = client.clone();
        move || {
            let sum = client.call::<i64>("add", json!({"a": 1, "b": 2}));
            let refused = client.call::<Value>("secret", ());
            (sum, refused)
        }
    });
    let add = core.recv();
    assert_eq!(add["method"], "add");
    assert_eq!(add["params"], json!({"a": 1, "b": 2}));
    core.send(json!({"jsonrpc": "2.0", "id": add["id"], "result": 3}));
    let secret = core.recv();
    assert!(secret.get("params").is_none(), "{secret}");
    core.send(json!({"jsonrpc": "2.0", "id": secret["id"],
        "error": {"code": -32001, "message": "not allowed", "data": {"x": 1}}}));
    let (sum, refused) = calling.join().expect("no panic");
    assert_eq!(sum.expect("a sum"), 3);
    match refused {
        Err(ClientError::Rpc {
            code: -32001,
            message,
            data,
        }) => {
            assert_eq!(message, "not allowed");
            assert_eq!(data, Some(json!({"x": 1})));
        }
        other => panic!("{other:?}"),
    }

    // The core calls the child; an unknown method is answered, not ignored.
    core.send(json!({"jsonrpc": "2.0", "id": "c1", "method": "double", "params": 21}));
    assert_eq!(
        core.recv(),
        json!({"jsonrpc": "2.0", "id": "c1", "result": 42})
    );
    core.send(json!({"jsonrpc": "2.0", "id": 9, "method": "nope"}));
    assert_eq!(core.recv()["error"]["code"], -32601);
    // What the core could not read is reported with `id: null`; the client carries on.
    core.send(
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error"}}),
    );

    // A channel: its messages arrive on its receiver.
    let (handler, messages) = client.channel();
    let id: u64 = handler
        .strip_prefix("__CHANNEL__:")
        .and_then(|n| n.parse().ok())
        .expect("a channel reference");
    core.send(json!({"jsonrpc": "2.0", "method": "gatehouse:channel",
        "params": {"channel": id, "message": [1, "two"]}}));
    assert_eq!(
        messages.recv_timeout(Duration::from_secs(5)),
        Ok(json!([1, "two"]))
    );

    // The core closes the pipe: `closed` returns, calls fail, receivers end.
    drop(core);
    client.closed();
    assert!(matches!(
        client.call::<Value>("add", ()),
        Err(ClientError::Closed)
    ));
    assert_eq!(messages.recv(), None);
}

#[tokio::test]
async fn the_async_client_calls_answers_and_listens() {
    let (read, write, mut core) = connect();
    let client = ClientBuilder::new().connect(read, write);
    client.handle("greet", |p: Value| async move {
        Ok::<_, RpcError>(format!("hello {}", p["name"].as_str().unwrap_or("?")))
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let script = std::thread::spawn(move || {
        let listen = core.recv();
        assert_eq!(listen["method"], LISTEN);
        assert_eq!(listen["params"]["event"], "changed");
        let handler = listen["params"]["handler"].as_str().expect("a handler");
        let channel: u64 = handler["__CHANNEL__:".len()..].parse().expect("an id");
        core.send(json!({"jsonrpc": "2.0", "id": listen["id"], "result": 1}));
        core.send(
            json!({"jsonrpc": "2.0", "method": "gatehouse:channel", "params":
            {"channel": channel, "message": {"event": "changed", "id": 1, "payload": {"n": 5}}}}),
        );
        core.send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "greet", "params": {"name": "core"}}),
        );
        let _ = tx.send(core.recv());
        let notified = core.recv();
        let _ = tx.send(notified);
        // Closing the pipe ends the client.
    });
    let mut events = client.listen("changed").await.expect("listening");
    assert_eq!(events.recv().await, Some(json!({"n": 5})));
    client
        .notify("bye", json!({"at": 1}))
        .await
        .expect("written");
    let (first, second) = tokio::task::spawn_blocking(move || (rx.recv(), rx.recv()))
        .await
        .expect("joined");
    // The handler's reply and the notification, in either order.
    let mut got = [first.expect("a message"), second.expect("a message")];
    got.sort_by_key(|m| m.get("method").is_some());
    let [reply, notified] = got;
    assert_eq!(reply["result"], "hello core", "{reply}");
    assert_eq!(notified["method"], "bye");
    assert!(notified.get("id").is_none(), "{notified}");
    client.closed().await;
    script.join().expect("the script passed");
    assert!(matches!(
        client.call::<Value>("add", ()).await,
        Err(ClientError::Closed)
    ));
    assert_eq!(events.recv().await, None);
}

/// The channel id in a `"__CHANNEL__:<n>"` argument.
fn channel_id(handler: &str) -> u64 {
    handler
        .strip_prefix("__CHANNEL__:")
        .and_then(|n| n.parse().ok())
        .expect("a channel reference")
}

/// What [`serve_many`] saw.
#[derive(Debug, Default, PartialEq)]
struct Served {
    requests: usize,
    events: usize,
    calls: usize,
    answers: usize,
}

/// A core serving `requests` requests from the child, answering each with its own params and
/// the replies to a burst in reverse order (so replies cross); after every `event_every`th it
/// sends a message on `channel`, after every `call_every`th it calls the child's `double`.
/// Returns once every request is answered and every call of its own is answered correctly.
fn serve_many(
    mut core: FakeCore,
    requests: usize,
    channel: u64,
    event_every: usize,
    call_every: usize,
) -> (FakeCore, Served) {
    let mut served = Served::default();
    while served.requests < requests || served.answers < served.calls {
        let mut burst = vec![core.recv()];
        while core.has_buffered() {
            burst.push(core.recv());
        }
        for message in burst.into_iter().rev() {
            if message.get("method").is_none() {
                // The child's answer to one of our calls.
                let id = message["id"].as_str().expect("our id");
                let n: i64 = id[1..].parse().expect("a number");
                assert_eq!(message["result"], json!(2 * n), "{message}");
                served.answers += 1;
                continue;
            }
            assert!(
                message["id"].is_u64(),
                "a call, not a notification: {message}"
            );
            core.send(json!({"jsonrpc": "2.0", "result": message["params"], "id": message["id"]}));
            served.requests += 1;
            let n = served.requests;
            if n % event_every == 0 {
                core.send(json!({"jsonrpc": "2.0", "method": "gatehouse:channel",
                    "params": {"channel": channel, "message": n}}));
                served.events += 1;
            }
            if n % call_every == 0 {
                core.send(json!({"jsonrpc": "2.0", "id": format!("c{n}"),
                    "method": "double", "params": n}));
                served.calls += 1;
            }
        }
    }
    (core, served)
}

const THREADS: usize = 8;
const CALLS: usize = 1_000;

#[test]
fn eight_blocking_threads_each_get_their_own_replies_while_events_and_calls_arrive() {
    let (read, write, core) = connect();
    let client = ClientBuilder::new().connect_blocking(read, write);
    client.handle("double", |n: Value| {
        Ok::<_, RpcError>(n.as_i64().unwrap_or(0) * 2)
    });
    let (handler, events) = client.channel();
    let channel = channel_id(&handler);
    let core = std::thread::spawn(move || serve_many(core, THREADS * CALLS, channel, 8, 97));
    let callers: Vec<_> = (0..THREADS)
        .map(|t| {
            let client = client.clone();
            std::thread::spawn(move || {
                for i in 0..CALLS {
                    let sent = json!({"t": t, "i": i});
                    let got: Value = client.call("echo", &sent).expect("a reply");
                    assert_eq!(got, sent, "thread {t} got another call's reply");
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().expect("every reply matched its call");
    }
    let (core, served) = core.join().expect("the core was answered correctly");
    assert_eq!(served.requests, THREADS * CALLS);
    assert_eq!(served.answers, served.calls);
    assert!(served.calls > 0);
    // Every event arrived, in order (fewer than the receiver holds, so none was dropped).
    let received: Vec<Value> = (0..served.events)
        .map(|_| {
            events
                .recv_timeout(Duration::from_secs(10))
                .expect("an event")
        })
        .collect();
    let expected: Vec<Value> = (1..=served.events).map(|k| json!(k * 8)).collect();
    assert_eq!(received, expected);
    drop(core);
    client.closed();
}

#[test]
fn many_async_calls_each_get_their_own_replies_while_events_and_calls_arrive() {
    // A multi-thread runtime is tried by tests/stdio_rust_child.rs (this crate's tokio has no
    // `rt-multi-thread`); here the tasks share one thread with each other's flushes.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (read, write, core) = connect();
    let client = runtime.block_on(async {
        let client = ClientBuilder::new().connect(read, write);
        client.handle("double", |n: Value| async move {
            Ok::<_, RpcError>(n.as_i64().unwrap_or(0) * 2)
        });
        client
    });
    let (handler, mut events) = client.channel();
    let channel = channel_id(&handler);
    let core = std::thread::spawn(move || serve_many(core, THREADS * CALLS, channel, 8, 97));
    runtime.block_on(async {
        // 8 tasks, each with 4 calls in flight at a time.
        let tasks: Vec<_> = (0..THREADS)
            .map(|t| {
                let client = client.clone();
                tokio::spawn(async move {
                    for i in (0..CALLS).step_by(4) {
                        let calls = (i..i + 4).map(|i| {
                            let client = client.clone();
                            async move {
                                let sent = json!({"t": t, "i": i});
                                let got: Value = client.call("echo", &sent).await.expect("a reply");
                                assert_eq!(got, sent, "task {t} got another call's reply");
                            }
                        });
                        let _: Vec<()> = futures_join(calls).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("every reply matched its call");
        }
    });
    let (core, served) = core.join().expect("the core was answered correctly");
    assert_eq!(served.requests, THREADS * CALLS);
    assert_eq!(served.answers, served.calls);
    runtime.block_on(async {
        for k in 1..=served.events {
            assert_eq!(events.recv().await, Some(json!(k * 8)));
        }
        drop(core);
        client.closed().await;
        assert_eq!(events.recv().await, None);
    });
}

/// Awaits every future, in order (spawned, so they run at once).
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("no panic"));
    }
    out
}

#[test]
fn blocked_callers_all_learn_that_the_core_closed() {
    let (read, write, mut core) = connect();
    let client = ClientBuilder::new().connect_blocking(read, write);
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || client.call::<Value>("never", ()))
        })
        .collect();
    // Every request is written (one caller reads, the others wait), then the core goes away.
    for _ in 0..4 {
        assert_eq!(core.recv()["method"], "never");
    }
    drop(core);
    for caller in callers {
        assert!(matches!(
            caller.join().expect("no panic"),
            Err(ClientError::Closed)
        ));
    }
    client.closed();
    assert!(matches!(
        client.call::<Value>("later", ()),
        Err(ClientError::Closed)
    ));
}

#[test]
fn an_idle_blocking_client_still_receives_events_and_calls() {
    let (read, write, mut core) = connect();
    let client = ClientBuilder::new().connect_blocking(read, write);
    client.handle("ping", |_: Value| Ok::<_, RpcError>("pong"));
    let (handler, events) = client.channel();
    let channel = channel_id(&handler);
    let calling = std::thread::spawn({
        let client = client.clone();
        move || client.call::<i64>("add", ())
    });
    let add = core.recv();
    core.send(json!({"jsonrpc": "2.0", "id": add["id"], "result": 3}));
    assert_eq!(calling.join().expect("no panic").expect("a sum"), 3);
    // No call is in progress: the client's own reader takes over.
    core.send(json!({"jsonrpc": "2.0", "method": "gatehouse:channel",
        "params": {"channel": channel, "message": "hello"}}));
    assert_eq!(
        events.recv_timeout(Duration::from_secs(10)),
        Ok(json!("hello"))
    );
    core.send(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}));
    assert_eq!(
        core.recv(),
        json!({"jsonrpc": "2.0", "id": 1, "result": "pong"})
    );
    // A reply for a call that is not waiting (or not ours) is ignored.
    core.send(json!({"jsonrpc": "2.0", "id": 999, "result": 1}));
    let calling = std::thread::spawn({
        let client = client.clone();
        move || client.notify("bye", json!([1]))
    });
    calling.join().expect("no panic").expect("written");
    assert_eq!(core.recv()["method"], "bye");
}

#[tokio::test]
async fn an_abandoned_async_call_leaves_nothing_behind() {
    let (read, write, mut core) = connect();
    let client = ClientBuilder::new().connect(read, write);
    let slow = tokio::time::timeout(Duration::from_millis(50), client.call::<Value>("slow", ()));
    assert!(slow.await.is_err(), "no reply came");
    let core = tokio::task::spawn_blocking(move || {
        let slow = core.recv();
        // The late reply finds nobody; the next call gets its own.
        core.send(json!({"jsonrpc": "2.0", "id": slow["id"], "result": "late"}));
        let next = core.recv();
        core.send(json!({"jsonrpc": "2.0", "id": next["id"], "result": "on time"}));
        core
    });
    assert_eq!(
        client.call::<String>("next", ()).await.expect("a reply"),
        "on time"
    );
    drop(core.await.expect("no panic"));
    client.closed().await;
}

#[test]
fn writes_from_many_threads_never_interleave_inside_a_frame() {
    let (read, write, mut core) = connect();
    let client = ClientBuilder::new()
        .framing(super::Framing::LengthPrefixed)
        .connect_blocking(read, write);
    let text = Arc::new("x".repeat(100_000));
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let client = client.clone();
            let text = Arc::clone(&text);
            std::thread::spawn(move || {
                for i in 0..20 {
                    client
                        .notify("big", json!({"t": t, "i": i, "text": &*text}))
                        .expect("written");
                }
            })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..80 {
        let mut prefix = [0u8; 4];
        std::io::Read::read_exact(&mut core.read, &mut prefix).expect("a prefix");
        let mut body = vec![0; u32::from_be_bytes(prefix) as usize];
        std::io::Read::read_exact(&mut core.read, &mut body).expect("a body");
        let message: Value = serde_json::from_slice(&body).expect("a whole frame");
        assert_eq!(
            message["params"]["text"].as_str().map(str::len),
            Some(100_000)
        );
        assert!(seen.insert((
            message["params"]["t"].clone(),
            message["params"]["i"].clone()
        )));
    }
    for sender in senders {
        sender.join().expect("no panic");
    }
}
