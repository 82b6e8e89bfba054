//! Behaviour of `#[command]` through a real router: argument passing, injection, replies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use gatehouse::{command, commands, Acl, Caller, CallerInfo, Capability, Router, RpcError, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Deserialize, Serialize, PartialEq)]
struct Note {
    title: String,
    body: String,
}

#[derive(Default)]
struct Store {
    notes: Mutex<Vec<Note>>,
    calls: AtomicUsize,
}

/// Adds.
#[command]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[command]
fn greet(name: &str, greeting: Option<String>) -> String {
    format!("{}, {name}!", greeting.as_deref().unwrap_or("Hello"))
}

#[command]
fn file_info(file_path: String, max_len: Option<u32>) -> Value {
    json!({ "path": file_path, "max": max_len })
}

#[command(rename_all = "snake_case")]
fn snake(file_path: String) -> String {
    file_path
}

#[command(rename = "notes.save")]
async fn save_note(store: State<'_, Store>, note: Note) -> Result<usize, String> {
    if note.title.is_empty() {
        return Err("a note needs a title".into());
    }
    let mut notes = store.notes.lock().map_err(|_| "poisoned".to_string())?;
    notes.push(note);
    Ok(notes.len())
}

#[command]
fn count(store: State<'_, Store>) -> usize {
    store.calls.fetch_add(1, Ordering::SeqCst) + 1
}

#[command]
fn whoami(caller: Caller) -> String {
    caller.label().to_owned()
}

#[command]
fn nothing() {}

#[command]
fn custom_error() -> Result<(), RpcError> {
    Err(RpcError::new(gatehouse::ErrorCode::Other(-32099), "custom").with_data(json!({"x": 1})))
}

#[command(blocking)]
fn slow_sum(values: Vec<u64>) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(5));
    values.iter().sum()
}

#[command]
fn boom(flag: bool) -> u32 {
    if flag {
        panic!("secret detail");
    }
    1
}

#[command]
async fn async_boom() -> u32 {
    panic!("async secret")
}

mod nested {
    /// A command in a module, listed by path.
    #[gatehouse::command]
    pub(crate) fn inner(x: u8) -> u8 {
        x * 2
    }
}

use nested::inner as renamed_inner;

const ALL: &[&str] = &[
    "add",
    "async_boom",
    "boom",
    "count",
    "custom_error",
    "file_info",
    "greet",
    "inner",
    "nothing",
    "notes.save",
    "slow_sum",
    "snake",
    "whoami",
];

fn router() -> Router {
    let acl = Acl::builder()
        .commands(ALL.iter().copied())
        .capability(
            Capability::builder("all")
                .windows(["main"])
                .allow(ALL.iter().copied()),
        )
        .build()
        .expect("valid ACL");
    Router::builder(acl)
        .commands(commands![
            add,
            greet,
            file_info,
            snake,
            save_note,
            count,
            whoami,
            nothing,
            custom_error,
            slow_sum,
            boom,
            async_boom,
            renamed_inner,
        ])
        .manage(Store::default())
        .build()
        .expect("valid router")
}

async fn call(router: &Router, caller: &Caller, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply = router
        .handle(caller, request.to_string().as_bytes())
        .await
        .expect("a request gets a reply");
    serde_json::from_slice(&reply).expect("replies are JSON")
}

fn main_caller(router: &Router) -> Caller {
    router.caller(CallerInfo::local("main"))
}

#[tokio::test]
async fn named_and_positional_arguments() {
    let r = router();
    let c = main_caller(&r);
    assert_eq!(
        call(&r, &c, "add", json!({"a": 1, "b": 2})).await["result"],
        3
    );
    assert_eq!(call(&r, &c, "add", json!([40, 2])).await["result"], 42);
    assert_eq!(
        call(&r, &c, "greet", json!({"name": "Ada"})).await["result"],
        "Hello, Ada!"
    );
    assert_eq!(
        call(&r, &c, "greet", json!({"name": "Ada", "greeting": "Hi"})).await["result"],
        "Hi, Ada!"
    );
    assert_eq!(
        call(&r, &c, "greet", json!(["Ada"])).await["result"],
        "Hello, Ada!"
    );
    // Escaped strings cannot be borrowed from the request; `&str` still reports it clearly.
    let escaped = call(&r, &c, "greet", json!({"name": "A\"da"})).await;
    assert_eq!(escaped["error"]["code"], -32602);
    assert_eq!(escaped["error"]["data"]["argument"], "name");
}

#[tokio::test]
async fn keys_are_camel_case_by_default() {
    let r = router();
    let c = main_caller(&r);
    let v = call(&r, &c, "file_info", json!({"filePath": "/a", "maxLen": 3})).await;
    assert_eq!(v["result"], json!({"path": "/a", "max": 3}));
    let v = call(&r, &c, "file_info", json!({"file_path": "/a"})).await;
    assert_eq!(v["error"]["code"], -32602);
    assert_eq!(v["error"]["data"]["argument"], "file_path");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`filePath`"),
        "{v}"
    );
    let v = call(&r, &c, "snake", json!({"file_path": "/b"})).await;
    assert_eq!(v["result"], "/b");
}

#[tokio::test]
async fn invalid_params_name_the_argument() {
    let r = router();
    let c = main_caller(&r);
    let v = call(&r, &c, "add", json!({"a": 1, "b": "two"})).await;
    assert_eq!(v["error"]["code"], -32602);
    assert_eq!(v["error"]["data"]["argument"], "b");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("invalid type"),
        "{v}"
    );
    let v = call(&r, &c, "add", json!({"a": 1})).await;
    assert_eq!(v["error"]["data"]["argument"], "b");
    assert_eq!(v["error"]["data"]["reason"], "missing argument");
    let v = call(&r, &c, "add", json!([1, 2, 3])).await;
    assert_eq!(v["error"]["code"], -32602);
    let v = call(&r, &c, "add", json!([1, "x"])).await;
    assert_eq!(v["error"]["data"]["argument"], "b");
    let v = call(&r, &c, "add", json!({"a": 1, "a": 2, "b": 3})).await;
    // serde_json's `json!` keeps the last duplicate; send the raw text instead.
    assert_eq!(v["result"], 5);
    let raw = br#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"a":2,"b":3}}"#;
    let v: Value = serde_json::from_slice(&r.handle(&c, raw).await.expect("reply")).expect("json");
    assert_eq!(v["error"]["data"]["argument"], "a");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("twice"),
        "{v}"
    );
}

#[tokio::test]
async fn injected_arguments_cannot_be_sent() {
    let r = router();
    let c = main_caller(&r);
    let v = call(&r, &c, "count", json!({"store": 1})).await;
    assert_eq!(v["error"]["code"], -32602);
    assert_eq!(v["error"]["data"]["argument"], "store");
    assert_eq!(call(&r, &c, "count", json!({})).await["result"], 1);
    assert_eq!(call(&r, &c, "count", json!([])).await["result"], 2);
    // `null` is not "no arguments" (JSON-RPC 2.0: `params` is an object or an array).
    assert_eq!(
        call(&r, &c, "whoami", json!(null)).await["error"]["code"],
        -32600
    );
}

#[tokio::test]
async fn an_unknown_argument_lists_only_what_the_caller_may_send() {
    let r = router();
    let c = main_caller(&r);
    let v = call(&r, &c, "notes.save", json!({"nte": {}})).await;
    assert_eq!(v["error"]["code"], -32602);
    assert_eq!(v["error"]["data"]["argument"], "nte");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("expected one of `note`"), "{v}");
    assert!(!message.contains("store"), "{v}");
    // A command whose arguments are all injected takes none from the caller.
    let v = call(&r, &c, "whoami", json!({"invocation": 1})).await;
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("takes no arguments"), "{v}");
    assert!(!message.contains("caller"), "{v}");
}

#[tokio::test]
async fn async_state_and_command_errors() {
    let r = router();
    let c = main_caller(&r);
    let note = json!({"note": {"title": "t", "body": "b"}});
    assert_eq!(call(&r, &c, "notes.save", note).await["result"], 1);
    let v = call(
        &r,
        &c,
        "notes.save",
        json!({"note": {"title": "", "body": "b"}}),
    )
    .await;
    assert_eq!(v["error"]["code"], -32000);
    assert_eq!(v["error"]["message"], "a note needs a title");
    assert_eq!(v["error"]["data"], "a note needs a title");
    let v = call(&r, &c, "custom_error", json!({})).await;
    assert_eq!(
        v["error"],
        json!({"code": -32099, "message": "custom", "data": {"x": 1}})
    );
    assert_eq!(
        call(&r, &c, "nothing", json!({})).await["result"],
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_commands_run_on_the_pool() {
    let r = router();
    let c = main_caller(&r);
    assert_eq!(
        call(&r, &c, "slow_sum", json!({"values": [1, 2, 3]})).await["result"],
        6
    );
    let v = call(&r, &c, "slow_sum", json!({"values": "x"})).await;
    assert_eq!(v["error"]["data"]["argument"], "values");
}

#[tokio::test]
async fn panics_become_internal_errors_and_the_router_keeps_serving() {
    let r = router();
    let c = main_caller(&r);
    let v = call(&r, &c, "boom", json!({"flag": true})).await;
    assert_eq!(v["error"]["code"], -32603);
    assert!(
        !v.to_string().contains("secret"),
        "panic messages stay in the core: {v}"
    );
    let v = call(&r, &c, "async_boom", json!({})).await;
    assert_eq!(v["error"]["code"], -32603);
    assert_eq!(
        call(&r, &c, "boom", json!({"flag": false})).await["result"],
        1
    );
}

#[tokio::test]
async fn commands_by_path_and_renamed_import() {
    let r = router();
    let c = main_caller(&r);
    assert_eq!(call(&r, &c, "inner", json!({"x": 21})).await["result"], 42);
    // Still plain functions.
    assert_eq!(add(2, 2), 4);
    assert_eq!(nested::inner(1), 2);
}

/// Sends raw text and returns the reply as JSON (`Null` when there is none).
async fn raw(router: &Router, caller: &Caller, text: &str) -> Value {
    match router.handle(caller, text.as_bytes()).await {
        Some(reply) => serde_json::from_slice(&reply).expect("replies are JSON"),
        None => Value::Null,
    }
}

#[tokio::test]
async fn single_pass_and_two_pass_paths_answer_alike() {
    // With `method` before `params` the arguments are read in one pass; with `params` first the
    // request takes the two-pass path. Both must give the same reply, success or error.
    let r = router();
    let c = main_caller(&r);
    let cases = [
        ("add", r#"{"a":1,"b":2}"#),
        ("add", r#"[1,2]"#),
        ("add", r#"{"a":1,"b":"x"}"#),
        ("add", r#"{"a":1}"#),
        ("add", r#"{"a":1,"b":2,"c":3}"#),
        ("add", r#"{"a":1,"a":2,"b":3}"#),
        ("add", r#"[1,2,3]"#),
        ("add", r#"{"a":1,"b":2"#),
        ("add", r#""text""#),
        ("greet", r#"{"name":"A\"da"}"#),
        ("greet", r#"{"name":"Ada","greeting":null}"#),
        ("file_info", r#"{"filePath":"/x","maxLen":7}"#),
        ("notes.save", r#"{"note":{"title":"","body":"b"}}"#),
        ("whoami", r#"{}"#),
        ("whoami", r#"{"caller":"forged"}"#),
        ("nothing", r#"[]"#),
        ("nope", r#"{}"#),
    ];
    for (method, params) in cases {
        let first = format!(r#"{{"jsonrpc":"2.0","id":7,"method":"{method}","params":{params}}}"#);
        let second = format!(r#"{{"params":{params},"method":"{method}","jsonrpc":"2.0","id":7}}"#);
        let a = raw(&r, &c, &first).await;
        let b = raw(&r, &c, &second).await;
        assert_eq!(a, b, "{method} {params}");
    }
}

#[tokio::test]
async fn a_malformed_request_never_runs_the_command() {
    let r = router();
    let c = main_caller(&r);
    let bad = [
        // Trailing garbage after a complete request: a parse error.
        r#"{"jsonrpc":"2.0","id":1,"method":"count","params":{}} x"#,
        // A second `params` after the first one was read.
        r#"{"jsonrpc":"2.0","id":1,"method":"count","params":{},"params":{}}"#,
        // The wrong version, after the arguments.
        r#"{"method":"count","params":{},"jsonrpc":"1.0","id":1}"#,
        // An id that is not a string, number or null.
        r#"{"jsonrpc":"2.0","method":"count","params":{},"id":{"x":1}}"#,
        // Unterminated object.
        r#"{"jsonrpc":"2.0","method":"count","params":{},"id":1"#,
    ];
    for text in bad {
        let reply = raw(&r, &c, text).await;
        assert!(reply["error"]["code"].is_i64(), "{text} -> {reply}");
    }
    // The counter was never touched: the next call is the first.
    let first = raw(
        &r,
        &c,
        r#"{"jsonrpc":"2.0","id":1,"method":"count","params":{}}"#,
    )
    .await;
    assert_eq!(first["result"], 1);
}

/// An injected argument of the application's own: the caller's label, upper-cased.
struct Shout(String);

impl<'a> gatehouse::FromInvoke<'a> for Shout {
    fn from_invoke(invocation: &gatehouse::Invocation<'a>) -> Result<Self, RpcError> {
        if invocation.caller().label().is_empty() {
            return Err(RpcError::new(
                gatehouse::ErrorCode::Other(-32050),
                "no label",
            ));
        }
        Ok(Shout(invocation.caller().label().to_uppercase()))
    }
}

#[command]
fn shout(who: Shout, punctuation: Option<char>) -> String {
    format!("{}{}", who.0, punctuation.unwrap_or('!'))
}

#[tokio::test]
async fn custom_extractors_are_injected_and_their_errors_are_replies() {
    let acl = Acl::builder()
        .commands(["shout"])
        .capability(Capability::builder("all").windows(["*"]).allow(["shout"]))
        .build()
        .expect("valid ACL");
    let r = Router::builder(acl)
        .commands(commands![shout])
        .build()
        .expect("router");
    let main = r.caller(CallerInfo::local("main"));
    assert_eq!(call(&r, &main, "shout", json!({})).await["result"], "MAIN!");
    assert_eq!(
        call(&r, &main, "shout", json!(["?"])).await["result"],
        "MAIN?"
    );
    let v = call(&r, &main, "shout", json!({"who": "someone else"})).await;
    assert_eq!(
        v["error"]["data"]["argument"], "who",
        "injected arguments cannot be sent: {v}"
    );
    let nameless = r.caller(CallerInfo::local(""));
    let v = call(&r, &nameless, "shout", json!({})).await;
    assert_eq!(v["error"]["code"], -32050);
}
