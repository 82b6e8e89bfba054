//! Every example of the "Examples" section of the JSON-RPC 2.0 specification, answered as the
//! specification shows. Error messages are ours, so replies are compared with `message` and
//! `data` set aside; codes, ids, results, order and presence of a reply are compared exactly.

use gatehouse::{command, commands, Acl, CallerInfo, Capability, Router};
use serde_json::{json, Value};

#[command]
fn subtract(minuend: i64, subtrahend: i64) -> i64 {
    minuend - subtrahend
}

#[command]
fn sum(a: i64, b: i64, c: i64) -> i64 {
    a + b + c
}

#[command]
fn update(a: i64, b: i64, c: i64, d: i64, e: i64) {
    let _ = (a, b, c, d, e);
}

#[command]
fn notify_hello(value: i64) {
    let _ = value;
}

#[command]
fn notify_sum(a: i64, b: i64, c: i64) {
    let _ = a + b + c;
}

#[command]
fn get_data() -> (String, i64) {
    ("hello".into(), 5)
}

fn router() -> Router {
    let names = [
        "get_data",
        "notify_hello",
        "notify_sum",
        "subtract",
        "sum",
        "update",
    ];
    let acl = Acl::builder()
        .commands(names)
        .capability(Capability::builder("spec").windows(["*"]).allow(names))
        .build()
        .expect("valid ACL");
    Router::builder(acl)
        .commands(commands![
            subtract,
            sum,
            update,
            notify_hello,
            notify_sum,
            get_data
        ])
        .build()
        .expect("valid router")
}

/// Drops what the specification leaves to the server: error messages and data.
fn normalise(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Value::Object(mut map) => {
            if let Some(Value::Object(error)) = map.get_mut("error") {
                error.remove("message");
                error.remove("data");
            }
            Value::Object(map)
        }
        other => other,
    }
}

/// Sends `request` and compares the reply with `expected` (`None`: no reply at all).
async fn exchange(request: &str, expected: Option<&str>) {
    let router = router();
    let caller = router.caller(CallerInfo::local("main"));
    let reply = router.handle(&caller, request.as_bytes()).await;
    match (reply, expected) {
        (None, None) => {}
        (Some(reply), Some(expected)) => {
            let reply: Value = serde_json::from_slice(&reply).expect("the reply is JSON");
            let expected: Value = serde_json::from_str(expected).expect("the expectation is JSON");
            assert_eq!(normalise(reply), normalise(expected), "request: {request}");
        }
        (reply, expected) => panic!(
            "request {request}: got {:?}, expected {expected:?}",
            reply.map(|r| String::from_utf8_lossy(&r).into_owned())
        ),
    }
}

#[tokio::test]
async fn positional_parameters() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
        Some(r#"{"jsonrpc": "2.0", "result": 19, "id": 1}"#),
    )
    .await;
    exchange(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
        Some(r#"{"jsonrpc": "2.0", "result": -19, "id": 2}"#),
    )
    .await;
}

#[tokio::test]
async fn named_parameters() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
        Some(r#"{"jsonrpc": "2.0", "result": 19, "id": 3}"#),
    )
    .await;
    exchange(
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
        Some(r#"{"jsonrpc": "2.0", "result": 19, "id": 4}"#),
    )
    .await;
}

#[tokio::test]
async fn notifications() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
        None,
    )
    .await;
    exchange(r#"{"jsonrpc": "2.0", "method": "foobar"}"#, None).await;
}

#[tokio::test]
async fn non_existent_method() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
        Some(r#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#),
    )
    .await;
}

#[tokio::test]
async fn invalid_json() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
        Some(r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#),
    )
    .await;
}

#[tokio::test]
async fn invalid_request_object() {
    exchange(
        r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
        Some(r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#),
    )
    .await;
}

#[tokio::test]
async fn batch_with_invalid_json() {
    exchange(
        r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]"#,
        Some(r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#),
    )
    .await;
}

#[tokio::test]
async fn empty_batch() {
    exchange(
        "[]",
        Some(r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#),
    )
    .await;
}

#[tokio::test]
async fn invalid_batch_of_one() {
    exchange(
        "[1]",
        Some(r#"[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]"#),
    )
    .await;
}

#[tokio::test]
async fn invalid_batch() {
    exchange(
        "[1,2,3]",
        Some(
            r#"[
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
]"#,
        ),
    )
    .await;
}

#[tokio::test]
async fn mixed_batch() {
    exchange(
        r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
  {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
  {"foo": "boo"},
  {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
  {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
]"#,
        Some(
            r#"[
  {"jsonrpc": "2.0", "result": 7, "id": "1"},
  {"jsonrpc": "2.0", "result": 19, "id": "2"},
  {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
  {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
  {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
]"#,
        ),
    )
    .await;
}

#[tokio::test]
async fn all_notification_batch() {
    exchange(
        r#"[
  {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
  {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
]"#,
        None,
    )
    .await;
}

#[tokio::test]
async fn oversize_batches_are_refused_whole() {
    let acl = Acl::builder().build().expect("empty ACL");
    let router = Router::builder(acl).max_batch(2).build().expect("router");
    let caller = router.caller(CallerInfo::local("main"));
    let batch = json!([
        {"jsonrpc": "2.0", "method": "a", "id": 1},
        {"jsonrpc": "2.0", "method": "b", "id": 2},
        {"jsonrpc": "2.0", "method": "c", "id": 3}
    ]);
    let reply = router
        .handle(&caller, batch.to_string().as_bytes())
        .await
        .expect("a reply");
    let reply: Value = serde_json::from_slice(&reply).expect("JSON");
    assert_eq!(reply["error"]["code"], -32600);
    assert_eq!(reply["id"], Value::Null);
}

#[tokio::test]
async fn hostile_messages_get_clear_errors() {
    let router = router();
    let caller = router.caller(CallerInfo::local("main"));
    let deep_params = format!(
        r#"{{"jsonrpc":"2.0","method":"subtract","params":{{"minuend":{}1{},"subtrahend":1}},"id":1}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_member = format!(
        r#"{{"jsonrpc":"2.0","method":"subtract","x":{}1{},"id":1}}"#,
        "{\"a\":".repeat(100_000),
        "}".repeat(100_000)
    );
    let cases: Vec<(Vec<u8>, i64)> = vec![
        (b"".to_vec(), -32700),
        (b"   ".to_vec(), -32700),
        (b"\xff\xfe".to_vec(), -32700),
        (b"null".to_vec(), -32600),
        (b"\"subtract\"".to_vec(), -32600),
        (deep_params.into_bytes(), -32602),
        // Unknown members are skipped without recursion, however deep; the request is read.
        (deep_member.into_bytes(), -32602),
        (br#"["2.0","subtract",[1,2],1]"#.to_vec(), -32600),
        (
            br#"{"jsonrpc":"2.0","method":"subtract","params":[1,2],"id":[1]}"#.to_vec(),
            -32600,
        ),
        (
            br#"{"jsonrpc":2.0,"method":"subtract","params":[1,2],"id":1}"#.to_vec(),
            -32600,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":1e999},"id":1}"#.to_vec(),
            -32602,
        ),
    ];
    for (message, code) in cases {
        let reply = router.handle(&caller, &message).await.expect("a reply");
        let reply: Value = serde_json::from_slice(&reply).expect("JSON");
        let reply = if reply.is_array() {
            reply[0].clone()
        } else {
            reply
        };
        assert_eq!(
            reply["error"]["code"],
            code,
            "{} -> {reply}",
            String::from_utf8_lossy(&message[..message.len().min(60)])
        );
    }
}

static RENDEZVOUS: std::sync::OnceLock<tokio::sync::Barrier> = std::sync::OnceLock::new();

/// Finishes only when another call to it is running at the same time.
#[command]
async fn meet(name: String) -> String {
    RENDEZVOUS
        .get_or_init(|| tokio::sync::Barrier::new(2))
        .wait()
        .await;
    name
}

#[tokio::test]
async fn batch_entries_run_together_and_replies_keep_their_order() {
    let acl = Acl::builder()
        .commands(["meet"])
        .capability(Capability::builder("all").windows(["*"]).allow(["meet"]))
        .build()
        .expect("valid ACL");
    let router = Router::builder(acl)
        .commands(commands![meet])
        .build()
        .expect("router");
    let caller = router.caller(CallerInfo::local("main"));
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "meet", "params": ["a"]},
        {"jsonrpc": "2.0", "id": 2, "method": "meet", "params": ["b"]}
    ]);
    // Answered one after the other, the first call would wait for the second forever.
    let reply = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        router.handle(&caller, batch.to_string().as_bytes()),
    )
    .await
    .expect("the two calls meet, so they ran together")
    .expect("a reply");
    let reply: Value = serde_json::from_slice(&reply).expect("JSON");
    assert_eq!(
        reply,
        json!([
            {"jsonrpc": "2.0", "result": "a", "id": 1},
            {"jsonrpc": "2.0", "result": "b", "id": 2}
        ])
    );
}

#[tokio::test]
async fn the_version_may_be_escaped_and_params_may_not_be_null() {
    let router = router();
    let caller = router.caller(CallerInfo::local("main"));
    // Member order decides between the single-pass and the two-pass read; both must agree.
    for (message, expected) in [
        (
            r#"{"jsonrpc":"2\u002e0","method":"subtract","params":[3,1],"id":1}"#,
            json!({"jsonrpc": "2.0", "result": 2, "id": 1}),
        ),
        (
            r#"{"params":[3,1],"method":"subtract","jsonrpc":"\u0032.0","id":1}"#,
            json!({"jsonrpc": "2.0", "result": 2, "id": 1}),
        ),
        (
            r#"{"jsonrpc":"2.0","method":"get_data","params":null,"id":1}"#,
            json!({"jsonrpc": "2.0", "error": {"code": -32600}, "id": 1}),
        ),
        (
            r#"{"params":null,"jsonrpc":"2.0","method":"get_data","id":1}"#,
            json!({"jsonrpc": "2.0", "error": {"code": -32600}, "id": 1}),
        ),
    ] {
        let reply = router
            .handle(&caller, message.as_bytes())
            .await
            .expect("a reply");
        let reply: Value = serde_json::from_slice(&reply).expect("JSON");
        assert_eq!(normalise(reply), expected, "{message}");
    }
}
