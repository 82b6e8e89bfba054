//! Identity over stdio: a child is the caller the core spawned it as, whatever it writes.
//! Real child processes (Python, standard library only); every wait bounded.

mod stdio_common;

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use stdio_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_cannot_claim_another_label() {
    let (router, counters) = router();
    let b = spawn(&router, "plugin-b", "echo.py", &[]);
    assert_eq!(b.label(), "plugin-b");
    assert_eq!(b.caller().label(), "plugin-b");

    // Members that name another caller are ignored: the request is plugin-b's.
    let reply = raw(
        &b,
        r#"{"jsonrpc":"2.0","id":1,"method":"whoami","caller":"plugin-a","window":"plugin-a","label":"plugin-a","webview":"plugin-a","origin":"https://evil.test"}"#,
    )
    .await;
    assert_eq!(reply["id"], 1);
    assert_eq!(
        reply["result"],
        json!({"label": "plugin-b", "origin": "local"})
    );

    // … and they grant nothing: `secret` is plugin-a's.
    let reply = raw(
        &b,
        r#"{"jsonrpc":"2.0","id":2,"method":"secret","caller":"plugin-a","label":"plugin-a","params":{}}"#,
    )
    .await;
    assert_eq!((code(&reply), &reply["id"]), (-32001, &json!(2)), "{reply}");

    // A method name written with escapes is the same command, and still refused.
    let reply = raw(&b, r#"{"jsonrpc":"2.0","id":3,"method":"s\u0065cret"}"#).await;
    assert_eq!(code(&reply), -32001, "{reply}");

    // A batch: each request checked on its own.
    let reply = raw(
        &b,
        r#"[{"jsonrpc":"2.0","id":4,"method":"secret"},{"jsonrpc":"2.0","id":5,"method":"whoami","caller":"plugin-a"}]"#,
    )
    .await;
    let replies = reply.as_array().expect("a batch reply");
    assert_eq!(replies.len(), 2, "{reply}");
    for reply in replies {
        match reply["id"].as_u64() {
            Some(4) => assert_eq!(code(reply), -32001, "{reply}"),
            Some(5) => assert_eq!(reply["result"]["label"], "plugin-b", "{reply}"),
            _ => panic!("unexpected reply {reply}"),
        }
    }

    // A notification of a refused command: no reply, and it does not run either.
    let reply: Value = timeout(b.call(
        "raw",
        json!({ "text": r#"{"jsonrpc":"2.0","method":"secret"}"#, "reply": false }),
    ))
    .await
    .expect("the child answers");
    assert_eq!(reply, Value::Null);
    // A reply to one of the core's own ids cannot reach another child's calls either: it is
    // only ever matched against calls made to this child.
    let reply = proxy(&b, "whoami", json!({})).await;
    assert_eq!(reply["result"]["label"], "plugin-b");

    // Refused calls never ran.
    assert_eq!(counters.secret.load(Ordering::SeqCst), 0);
    let exit = timeout(b.shutdown()).await;
    assert!(exit.success(), "{exit}");
    assert_eq!(counters.secret.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_children_under_different_labels_have_different_grants() {
    let (router, counters) = router();
    let a = spawn(&router, "plugin-a", "echo.py", &[]);
    let b = spawn(&router, "plugin-b", "echo.py", &[]);
    let nobody = spawn(&router, "nobody", "echo.py", &[]);
    assert_ne!(a.caller().grants(), b.caller().grants());
    assert!(router.check(a.caller(), "secret"));
    assert!(!router.check(b.caller(), "secret"));

    let (ra, rb, rn) = tokio::join!(
        proxy(&a, "secret", json!({})),
        proxy(&b, "secret", json!({})),
        proxy(&nobody, "add", json!({"a": 1, "b": 2})),
    );
    assert_eq!(ra["result"], "the secret", "{ra}");
    assert_eq!(code(&rb), -32001, "{rb}");
    assert_eq!(code(&rn), -32001, "{rn}");
    // Only plugin-a's call ran.
    assert_eq!(counters.secret.load(Ordering::SeqCst), 1);

    for (child, label) in [(&a, "plugin-a"), (&b, "plugin-b")] {
        let reply = proxy(child, "whoami", json!({})).await;
        assert_eq!(reply["result"]["label"], label, "{reply}");
        let reply = proxy(child, "add", json!({"a": 20, "b": 22})).await;
        assert_eq!(reply["result"], 42, "{reply}");
    }
    for child in [&a, &b, &nobody] {
        assert!(timeout(child.shutdown()).await.success());
    }
    assert_eq!(counters.secret.load(Ordering::SeqCst), 1);
}
