//! The notes commands through the router, in-process: what each window may do, the path scope,
//! the events and the search's progress channel.

#[path = "support/temp.rs"]
mod temp;

use std::sync::Arc;

use gatehouse::{CallerInfo, Outbound, OutboundReceiver, Router};
use serde_json::{json, Value};
use temp::TempDir;

/// A connected window: its caller and the queue its notifications arrive on.
struct Window {
    router: Arc<Router>,
    caller: gatehouse::Caller,
    rx: OutboundReceiver,
    next_id: u64,
}

impl Window {
    fn open(router: &Arc<Router>, label: &str) -> Self {
        let (outbound, rx) = Outbound::channel(256);
        Self {
            router: Arc::clone(router),
            caller: router.connect(CallerInfo::local(label), outbound),
            rx,
            next_id: 0,
        }
    }

    /// Calls `method`; returns the whole reply.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let request =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        let reply = self
            .router
            .handle(&self.caller, request.to_string().as_bytes())
            .await
            .expect("a request gets a reply");
        serde_json::from_slice(&reply).expect("the reply is JSON")
    }

    /// Calls `method` and returns its result, failing on an error reply.
    async fn ok(&mut self, method: &str, params: Value) -> Value {
        let reply = self.call(method, params).await;
        assert!(reply.get("error").is_none(), "{method}: {reply}");
        reply["result"].clone()
    }

    /// Calls `method` and returns its error, failing on a result.
    async fn err(&mut self, method: &str, params: Value) -> Value {
        let reply = self.call(method, params).await;
        assert!(
            reply.get("result").is_none(),
            "{method} should fail: {reply}"
        );
        reply["error"].clone()
    }

    /// The messages that arrived on channel `id` so far.
    fn channel(&mut self, id: u64) -> Vec<Value> {
        let mut messages = Vec::new();
        while let Some(frame) = self.rx.try_recv() {
            let v: Value = serde_json::from_slice(&frame).expect("a notification is JSON");
            assert_eq!(v["method"], "gatehouse:channel", "{v}");
            if v["params"]["channel"] == id {
                messages.push(v["params"]["message"].clone());
            }
        }
        messages
    }
}

fn setup(what: &str) -> (TempDir, Arc<Router>) {
    let dir = TempDir::new(what);
    let router = notes::router(&dir.path().join("data")).expect("router");
    (dir, router)
}

fn data(dir: &TempDir) -> std::path::PathBuf {
    dir.path().join("data")
}

#[tokio::test]
async fn main_writes_lists_reads_and_deletes_files() {
    let (dir, router) = setup("crud");
    let mut main = Window::open(&router, "main");
    assert_eq!(main.ok("list_notes", json!({})).await, json!([]));

    main.ok(
        "write_note",
        json!({"name": "Groceries", "body": "# Shopping\n\n- milk\n- eggs\n"}),
    )
    .await;
    let file = data(&dir).join("Groceries.md");
    assert_eq!(
        std::fs::read_to_string(&file).expect("the note is a file"),
        "# Shopping\n\n- milk\n- eggs\n"
    );

    let list = main.ok("list_notes", json!({})).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["name"], "Groceries");
    assert_eq!(list[0]["title"], "Shopping");
    assert_eq!(list[0]["preview"], "- milk - eggs");
    assert!(
        list[0]["modified"].as_u64().is_some_and(|m| m > 0),
        "{list}"
    );

    let note = main.ok("read_note", json!({"name": "Groceries"})).await;
    assert_eq!(note["body"], "# Shopping\n\n- milk\n- eggs\n");

    // Only `<valid name>.md` files are notes; temporary files of writes never linger.
    std::fs::write(data(&dir).join("readme.txt"), "not a note").expect("write");
    std::fs::write(data(&dir).join(".hidden.md"), "not a note").expect("write");
    let names: Vec<Value> = main
        .ok("list_notes", json!({}))
        .await
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| n["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Groceries")]);

    main.ok("delete_note", json!({"name": "Groceries"})).await;
    assert!(!file.exists());
    let e = main.err("read_note", json!({"name": "Groceries"})).await;
    assert_eq!(e["code"], -32000, "{e}");
    assert_eq!(e["data"]["kind"], "notFound", "{e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("no note named")),
        "{e}"
    );
    let e = main.err("delete_note", json!({"name": "Groceries"})).await;
    assert_eq!(e["data"]["kind"], "notFound", "{e}");
}

#[tokio::test]
async fn bad_names_are_refused_before_any_file_is_touched() {
    let (dir, router) = setup("names");
    let mut main = Window::open(&router, "main");
    let long = "x".repeat(101);
    for (name, says) in [
        ("../x", "may not contain `/`"),
        ("..", "may not contain `..`"),
        ("a/b", "may not contain `/`"),
        ("..\\x", "may not contain `/` or `\\`"),
        ("", "needs a name"),
        (long.as_str(), "at most 100 characters"),
        (".hidden", "may not start with `.`"),
        ("a\nb", "control characters"),
    ] {
        for (method, params) in [
            ("write_note", json!({"name": name, "body": "x"})),
            ("read_note", json!({"name": name})),
            ("delete_note", json!({"name": name})),
        ] {
            let e = main.err(method, params).await;
            assert_eq!(e["code"], -32602, "{method} {name:?}: {e}");
            let message = e["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("`name`") && message.contains(says),
                "{method} {name:?}: {message}"
            );
        }
    }
    let mut left = std::fs::read_dir(dir.path())
        .expect("read")
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<Vec<_>, _>>()
        .expect("read");
    left.sort();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("data")],
        "nothing written next to the data folder"
    );
    assert_eq!(std::fs::read_dir(data(&dir)).expect("read").count(), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn the_path_scope_refuses_a_note_that_leads_outside() {
    let (dir, router) = setup("scope");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(outside.join("secret.md"), "the secret milk").expect("write");
    // A valid name whose file is a symlink out of the notes folder: the name rules pass it,
    // the scope must not.
    std::os::unix::fs::symlink(outside.join("secret.md"), data(&dir).join("link.md"))
        .expect("symlink");
    let mut main = Window::open(&router, "main");

    let e = main.err("read_note", json!({"name": "link"})).await;
    assert_eq!(e["data"]["kind"], "outsideScope", "{e}");
    assert!(
        !e["message"]
            .as_str()
            .unwrap_or_default()
            .contains("outside/secret"),
        "the refusal does not say where the link leads: {e}"
    );
    let e = main
        .err("write_note", json!({"name": "link", "body": "overwritten"}))
        .await;
    assert_eq!(e["data"]["kind"], "outsideScope", "{e}");
    let e = main.err("delete_note", json!({"name": "link"})).await;
    assert_eq!(e["data"]["kind"], "outsideScope", "{e}");
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.md")).expect("read"),
        "the secret milk"
    );
    // The write was refused, not turned into a new file: the link is still there.
    assert!(std::fs::symlink_metadata(data(&dir).join("link.md"))
        .expect("the link")
        .file_type()
        .is_symlink());

    assert_eq!(
        main.ok("list_notes", json!({})).await,
        json!([]),
        "not listed"
    );
    let hits = main
        .ok(
            "search",
            json!({"query": "milk", "progress": "__CHANNEL__:1"}),
        )
        .await;
    assert_eq!(hits, json!([]), "not searched");
}

#[tokio::test]
async fn the_viewer_reads_but_may_not_write_or_delete() {
    let (dir, router) = setup("viewer");
    let mut main = Window::open(&router, "main");
    let mut viewer = Window::open(&router, "viewer");
    main.ok("write_note", json!({"name": "todo", "body": "call Ann"}))
        .await;

    assert_eq!(
        viewer.ok("read_note", json!({"name": "todo"})).await["body"],
        "call Ann"
    );
    assert_eq!(viewer.ok("list_notes", json!({})).await[0]["name"], "todo");
    let hits = viewer
        .ok(
            "search",
            json!({"query": "ANN", "progress": "__CHANNEL__:7"}),
        )
        .await;
    assert_eq!(hits[0]["name"], "todo");

    for (method, params) in [
        ("write_note", json!({"name": "todo", "body": "hacked"})),
        ("write_note", json!({"name": "new", "body": "hacked"})),
        ("delete_note", json!({"name": "todo"})),
        // Refused before the arguments are even looked at.
        ("write_note", json!({"name": "../x", "body": "hacked"})),
    ] {
        let e = viewer.err(method, params).await;
        assert_eq!(e["code"], -32001, "{method}: {e}");
        assert!(
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("not allowed")),
            "{e}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(data(&dir).join("todo.md")).expect("read"),
        "call Ann"
    );
    assert!(!data(&dir).join("new.md").exists());

    let stranger_reply = Window::open(&router, "stranger")
        .call("list_notes", json!({}))
        .await;
    assert_eq!(stranger_reply["error"]["code"], -32001, "{stranger_reply}");

    let me = viewer.ok("whoami", json!({})).await;
    assert_eq!(me["label"], "viewer");
    assert_eq!(me["origin"], "local");
    let commands: Vec<&str> = me["commands"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        commands.contains(&"read_note") && commands.contains(&"plugin:event|listen"),
        "{me}"
    );
    assert!(
        !commands.contains(&"write_note") && !commands.contains(&"delete_note"),
        "{me}"
    );
    let me = main.ok("whoami", json!({})).await;
    assert!(
        me["commands"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("write_note"))),
        "{me}"
    );
}

#[tokio::test]
async fn writes_and_deletes_are_announced_to_every_listening_window() {
    let (_dir, router) = setup("events");
    let mut main = Window::open(&router, "main");
    let mut viewer = Window::open(&router, "viewer");
    for w in [&mut main, &mut viewer] {
        w.ok(
            "plugin:event|listen",
            json!({"event": "note-changed", "handler": "__CHANNEL__:3"}),
        )
        .await;
    }
    let mut stranger = Window::open(&router, "stranger");
    let e = stranger
        .err(
            "plugin:event|listen",
            json!({"event": "note-changed", "handler": "__CHANNEL__:1"}),
        )
        .await;
    assert_eq!(e["code"], -32001, "listening is a permission too: {e}");

    main.ok("write_note", json!({"name": "plan", "body": "v1"}))
        .await;
    main.ok("delete_note", json!({"name": "plan"})).await;
    for w in [&mut main, &mut viewer] {
        let events: Vec<Value> = w
            .channel(3)
            .into_iter()
            .map(|m| {
                assert_eq!(m["event"], "note-changed", "{m}");
                m["payload"].clone()
            })
            .collect();
        assert_eq!(
            events,
            vec![
                json!({"name": "plan", "kind": "written", "by": "main"}),
                json!({"name": "plan", "kind": "deleted", "by": "main"}),
            ]
        );
    }
    assert!(stranger.channel(1).is_empty());

    // A refused write is not announced.
    viewer
        .err("write_note", json!({"name": "plan", "body": "v2"}))
        .await;
    assert!(main.channel(3).is_empty());
}

#[tokio::test]
async fn search_reports_progress_on_its_channel() {
    let (_dir, router) = setup("search");
    let mut main = Window::open(&router, "main");
    for (name, body) in [
        ("a", "Milk and more MILK\nmilk"),
        ("b", "nothing here"),
        ("c", "first line\nbuy milk"),
    ] {
        main.ok("write_note", json!({"name": name, "body": body}))
            .await;
    }
    let hits = main
        .ok(
            "search",
            json!({"query": "mIlK", "progress": "__CHANNEL__:9"}),
        )
        .await;
    assert_eq!(
        hits,
        json!([
            {"name": "a", "matches": 3, "line": 1, "snippet": "Milk and more MILK"},
            {"name": "c", "matches": 1, "line": 2, "snippet": "buy milk"},
        ])
    );
    let steps = main.channel(9);
    assert_eq!(steps.len(), 4, "{steps:?}");
    assert_eq!(steps[0], json!({"scanned": 0, "total": 3}));
    let mut names = Vec::new();
    for (i, step) in steps.iter().enumerate().skip(1) {
        assert_eq!(step["scanned"], i, "{step}");
        assert_eq!(step["total"], 3, "{step}");
        names.push(step["name"].as_str().unwrap_or_default().to_owned());
    }
    names.sort();
    assert_eq!(names, ["a", "b", "c"]);

    let e = main
        .err(
            "search",
            json!({"query": "x".repeat(201), "progress": "__CHANNEL__:10"}),
        )
        .await;
    assert_eq!(e["data"]["kind"], "queryTooLong", "{e}");
    assert_eq!(
        main.ok(
            "search",
            json!({"query": "  ", "progress": "__CHANNEL__:11"})
        )
        .await,
        json!([])
    );
}

#[tokio::test]
async fn a_note_larger_than_the_limit_is_refused() {
    let (dir, router) = setup("large");
    let mut main = Window::open(&router, "main");
    let body = "x".repeat(notes::MAX_BODY_BYTES + 1);
    let e = main
        .err("write_note", json!({"name": "big", "body": body}))
        .await;
    assert_eq!(e["data"]["kind"], "tooLarge", "{e}");
    assert!(!data(&dir).join("big.md").exists());
}
