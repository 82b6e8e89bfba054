//! `engine_frame`: arbitrary bytes as one frame from a caller that holds grants.
//!
//! A fresh router per input (so a crash replays from its input alone) serves commands of every
//! kind: sync and async, injected state, the caller, a channel, a scope, a blocking one, and
//! the built-in event commands. The frame is answered twice:
//!
//! 1. for `main`, which may call everything: the reply must be JSON, a reply's `id` must be
//!    the request's, a batch reply holds at most one answer per entry, and every frame queued
//!    on the connection (channel messages, events) must be JSON too;
//! 2. for `widget-1`, which may call only `add` (its capabilities allow `greet` and deny it
//!    again): no other command may run, whatever the frame says.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse::{
    command, commands, Acl, Caller, CallerInfo, Capability, Channel, CommandScope, Emitter,
    Outbound, OutboundReceiver, PathEntry, Router, RpcError, ScopeList, State,
};
use gatehouse_runtime::limits::{check_depth, Limits};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// The commands the router serves, in the order of [`CALLS`].
const COMMANDS: [&str; 11] = [
    "add",
    "greet",
    "notes.save",
    "echo",
    "whoami",
    "nothing",
    "fail",
    "count",
    "read_file",
    "sum_blocking",
    "announce",
];

const LISTEN: &str = "plugin:event|listen";
const UNLISTEN: &str = "plugin:event|unlisten";
const EMIT: &str = "plugin:event|emit";
const EMIT_TO: &str = "plugin:event|emit_to";

/// How often each command of [`COMMANDS`] ran.
static CALLS: [AtomicUsize; COMMANDS.len()] = [const { AtomicUsize::new(0) }; COMMANDS.len()];

fn ran(command: usize) {
    CALLS[command].fetch_add(1, Ordering::SeqCst);
}

fn calls() -> Vec<usize> {
    CALLS.iter().map(|c| c.load(Ordering::SeqCst)).collect()
}

#[derive(Default)]
struct Store {
    notes: AtomicUsize,
}

#[derive(Debug, Deserialize, Serialize)]
struct Note {
    title: String,
    body: Option<String>,
    tags: Vec<String>,
}

#[command]
fn add(a: i64, b: i64) -> i64 {
    ran(0);
    a.wrapping_add(b)
}

#[command]
fn greet(name: &str, greeting: Option<String>) -> String {
    ran(1);
    format!("{}, {name}!", greeting.as_deref().unwrap_or("Hello"))
}

#[command(rename = "notes.save")]
async fn save_note(store: State<'_, Store>, note: Note) -> Result<usize, String> {
    ran(2);
    if note.title.is_empty() {
        return Err("a note needs a title".into());
    }
    Ok(store.notes.fetch_add(1, Ordering::SeqCst) + 1)
}

#[command]
fn echo(value: Value, times: Option<u8>) -> Vec<Value> {
    ran(3);
    vec![value; usize::from(times.unwrap_or(1).min(4))]
}

#[command]
fn whoami(caller: Caller) -> String {
    ran(4);
    caller.label().to_owned()
}

#[command]
fn nothing() {
    ran(5);
}

#[command(rename_all = "snake_case")]
fn fail(error_code: Option<i32>) -> Result<(), RpcError> {
    ran(6);
    let code = gatehouse::ErrorCode::Other(error_code.unwrap_or(-32099));
    Err(RpcError::new(code, "failed on purpose").with_data(serde_json::json!({"x": 1})))
}

#[command]
async fn count(to: u8, progress: Channel<u8>) -> u8 {
    ran(7);
    for i in 1..=to.min(8) {
        // A full or closed queue is the caller's loss, not an error of the command.
        let _ = progress.send(i);
    }
    to
}

#[command]
fn read_file(path: String, scope: CommandScope<ScopeList<PathEntry>>) -> bool {
    ran(8);
    !scope
        .deny
        .iter()
        .any(|entry| path.starts_with(entry.path()))
        && scope
            .allow
            .iter()
            .any(|entry| path.starts_with(entry.path()))
}

#[command(blocking)]
fn sum_blocking(values: Vec<u64>) -> u64 {
    ran(9);
    values.iter().fold(0u64, |sum, v| sum.wrapping_add(*v))
}

#[command]
fn announce(event: String, events: Emitter) -> Result<usize, RpcError> {
    ran(10);
    events.emit(&event, &serde_json::json!({"from": "announce"}))
}

/// The router every input gets afresh, and its two connections.
struct Setup {
    router: Router,
    main: Caller,
    main_rx: OutboundReceiver,
    widget: Caller,
    widget_rx: OutboundReceiver,
}

fn setup() -> Setup {
    let all: Vec<&str> = COMMANDS
        .iter()
        .copied()
        .chain([LISTEN, UNLISTEN, EMIT, EMIT_TO])
        .collect();
    let acl = Acl::builder()
        .commands(all.iter().copied())
        .capability(
            Capability::builder("main")
                .windows(["main"])
                .allow(all.iter().copied())
                .scope(
                    "read_file",
                    [serde_json::json!({"path": "/srv/notes"})],
                    ["/srv/notes/private"],
                ),
        )
        .capability(
            Capability::builder("widgets")
                .windows(["widget-*"])
                .allow(["add", "greet"]),
        )
        .capability(
            Capability::builder("no-greeting")
                .windows(["widget-1"])
                .deny(["greet"]),
        )
        .build();
    let acl = match acl {
        Ok(acl) => acl,
        Err(e) => panic!("the fuzz target's ACL is invalid: {e}"),
    };
    let router = Router::builder(acl)
        .commands(commands![
            add,
            greet,
            save_note,
            echo,
            whoami,
            nothing,
            fail,
            count,
            read_file,
            sum_blocking,
            announce
        ])
        .manage(Store::default())
        .max_batch(16)
        .limits(Limits::default().max_listeners(8).outbound_capacity(64))
        .build();
    let router = match router {
        Ok(router) => router,
        Err(e) => panic!("the fuzz target's router is invalid: {e}"),
    };
    let limits = router.limits().clone();
    let (outbound, main_rx) = Outbound::bounded(&limits);
    let main = router.connect(CallerInfo::local("main"), outbound);
    let (outbound, widget_rx) = Outbound::bounded(&limits);
    let widget = router.connect(CallerInfo::local("widget-1"), outbound);
    Setup {
        router,
        main,
        main_rx,
        widget,
        widget_rx,
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("no tokio runtime: {e}"),
    };
}

/// The target: see the module's documentation.
pub fn run(frame: &[u8]) {
    let mut s = setup();
    // engine: once `runtime/src/engine/` exists, feed the frame to the engine entry every
    // transport uses (it owns the size and depth limits) instead of this check + `handle`.
    if check_depth(frame, s.router.limits().max_depth).is_err() {
        return;
    }
    let reply = RUNTIME.with(|rt| rt.block_on(s.router.handle(&s.main, frame)));
    if let Some(reply) = &reply {
        check_reply(frame, reply);
    }
    for queued in std::iter::from_fn(|| s.main_rx.try_recv()) {
        json(&queued, "a queued frame");
    }

    let before = calls();
    let reply = RUNTIME.with(|rt| rt.block_on(s.router.handle(&s.widget, frame)));
    let after = calls();
    for (i, name) in COMMANDS.iter().enumerate() {
        if *name != "add" && before[i] != after[i] {
            panic!("`widget-1` reached `{name}`, which it was not granted");
        }
    }
    if let Some(reply) = &reply {
        check_reply(frame, reply);
    }
    while s.widget_rx.try_recv().is_some() {}
}

/// `bytes` as JSON; `None` when it holds a number past `f64` (`1e400`), which is JSON but which
/// serde_json refuses to hold (a request's own id or value, echoed back as it was written).
///
/// # Panics
///
/// When `bytes` is no JSON text.
fn json(bytes: &[u8], what: &str) -> Option<Value> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Some(value),
        Err(e) if e.to_string().starts_with("number out of range") => {
            if let Err(e) = serde_json::from_slice::<Box<RawValue>>(bytes) {
                panic!(
                    "{what} is not JSON ({e}): {}",
                    String::from_utf8_lossy(bytes)
                );
            }
            None
        }
        Err(e) => panic!(
            "{what} is not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// The reply is JSON, and answers the request's ids.
fn check_reply(frame: &[u8], reply: &[u8]) {
    let text = String::from_utf8_lossy(reply);
    let Some(reply) = json(reply, "the reply") else {
        return;
    };
    let Some(request) = Message::read(frame) else {
        return;
    };
    match (request, &reply) {
        (Message::Single(Some(id)), Value::Object(reply)) => {
            let got = reply.get("id");
            // Only a request too broken to trust its id is answered with `null`.
            let broken = got == Some(&Value::Null) && reply.contains_key("error");
            if got != Some(&id) && !broken {
                panic!("reply id {got:?} for request id {id}: {text}");
            }
        }
        // Notifications get no reply, unless the message was not a valid one.
        (Message::Single(None), Value::Object(reply)) if reply.get("error").is_none() => {
            panic!("a reply with a result to a notification: {text}");
        }
        (Message::Batch(count, ids), Value::Array(replies)) => {
            if replies.len() > count {
                panic!("{} replies to a batch of {count}: {text}", replies.len());
            }
            for reply in replies {
                let got = reply.get("id");
                if !matches!(got, Some(id) if id.is_null() || ids.contains(id)) {
                    panic!("reply id {got:?} is no id of the batch: {text}");
                }
            }
        }
        // A batch answered by one error (empty, too long), or a request by an array: only the
        // JSON check applies. A single request must never get an array.
        (Message::Single(_), Value::Array(_)) => panic!("an array answers one request: {text}"),
        _ => {}
    }
}

/// What the frame is, read as plain JSON with duplicate members kept: `None` when it is no
/// JSON, or when its ids are ambiguous (a member given twice, an id that is not a string, a
/// number or `null`).
enum Message {
    /// A request's id, `None` for a notification.
    Single(Option<Value>),
    /// How many entries the batch has, and their ids.
    Batch(usize, Vec<Value>),
}

impl Message {
    fn read(frame: &[u8]) -> Option<Self> {
        match serde_json::from_slice::<Shape>(frame).ok()? {
            Shape::Batch(entries) => {
                let mut ids = Vec::new();
                let count = entries.len();
                for entry in entries {
                    if let Shape::Object(members) = entry {
                        ids.extend(unique_id(&members)?);
                    }
                }
                Some(Self::Batch(count, ids))
            }
            Shape::Object(members) => Some(Self::Single(unique_id(&members)?)),
            Shape::Other(_) => None,
        }
    }
}

/// The `id` member: `Some(None)` when there is none, `None` when it is ambiguous.
fn unique_id(members: &[(String, Value)]) -> Option<Option<Value>> {
    let mut keys = HashSet::new();
    if !members.iter().all(|(k, _)| keys.insert(k.as_str())) {
        return None;
    }
    match members.iter().find(|(k, _)| k == "id") {
        None => Some(None),
        Some((_, id @ (Value::String(_) | Value::Number(_) | Value::Null))) => {
            Some(Some(id.clone()))
        }
        Some(_) => None,
    }
}

/// A JSON text with the members of objects in order, duplicates kept.
enum Shape {
    Object(Vec<(String, Value)>),
    Batch(Vec<Shape>),
    Other(#[allow(dead_code, reason = "read to validate the JSON")] Value),
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Shape;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Shape, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Shape::Object(members))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Shape, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = seq.next_element::<Shape>()? {
                    entries.push(entry);
                }
                Ok(Shape::Batch(entries))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Shape, E> {
                Ok(Shape::Other(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Shape, E> {
                Ok(Shape::Other(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Shape, E> {
                Ok(Shape::Other(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Shape, E> {
                Ok(Shape::Other(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Shape, E> {
                Ok(Shape::Other(v.into()))
            }
            fn visit_unit<E>(self) -> Result<Shape, E> {
                Ok(Shape::Other(Value::Null))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
