//! Both directions over stdio, and a child's life: the core's calls with timeouts, events and
//! channels reaching a child, both framings with awkward and large payloads, graceful and
//! forced shutdown. Real child processes (Python, standard library only); every wait bounded.

mod stdio_common;

use std::time::{Duration, Instant};

use gatehouse::process::{self, CallError, ExitReason};
use gatehouse::stdio::Framing;
use serde_json::{json, Value};
use stdio_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_calls_a_child_with_a_timeout() {
    let (router, _counters) = router();
    let call_timeout = Duration::from_secs(1);
    let child = builder("plugin-a")
        .call_timeout(call_timeout)
        .spawn(&router, python("echo.py", &[], Framing::Lines))
        .expect("python3 starts");

    // Python may take longer than the call timeout to start on a busy machine.
    let deadline = Instant::now() + WAIT;
    let value: Value = loop {
        match child.call("echo", json!({"x": [1, 2]})).await {
            Err(CallError::Timeout(_)) if Instant::now() < deadline => continue,
            other => break other.expect("echoed"),
        }
    };
    assert_eq!(value, json!({"x": [1, 2]}));

    // No answer: the call times out, and the child is still fine.
    let started = Instant::now();
    let never = timeout(child.call::<Value>("never", ())).await;
    assert!(
        matches!(never, Err(CallError::Timeout(t)) if t == call_timeout),
        "{never:?}"
    );
    assert!(started.elapsed() >= call_timeout);

    // An answer after the timeout is dropped; it is not taken for the next call's.
    let late = timeout(child.call::<Value>("late", json!({"ms": 1500}))).await;
    assert!(matches!(late, Err(CallError::Timeout(_))), "{late:?}");
    pause(1000).await;
    let value: String = timeout(child.call("echo", "after")).await.expect("echoed");
    assert_eq!(value, "after");

    // The child's own errors, and results of the wrong type.
    let unknown = timeout(child.call::<Value>("no-such-method", ())).await;
    match unknown {
        Err(CallError::Rpc(error)) => assert_eq!(error.code().code(), -32601),
        other => panic!("{other:?}"),
    }
    let wrong = timeout(child.call::<u64>("echo", "text")).await;
    assert!(matches!(wrong, Err(CallError::Result(_))), "{wrong:?}");

    // Notifications from the core.
    child
        .notify("config-changed", json!({"theme": "dark"}))
        .expect("queued");
    let seen: Value = timeout(child.call("notifications", ()))
        .await
        .expect("answered");
    assert_eq!(
        seen,
        json!([{"method": "config-changed", "params": {"theme": "dark"}}])
    );
    assert!(timeout(child.shutdown()).await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_channels_reach_children() {
    let (router, _counters) = router();
    let a = spawn(&router, "plugin-a", "echo.py", &[]);
    let b = spawn(&router, "plugin-b", "echo.py", &[]);
    let mute = spawn(&router, "nobody", "echo.py", &[]);
    let listen = |channel: u64| json!({"event": "note-changed", "handler": format!("__CHANNEL__:{channel}")});
    let la = proxy(&a, LISTEN, listen(5)).await;
    let lb = proxy(&b, LISTEN, listen(6)).await;
    assert!(la["result"].is_u64() && lb["result"].is_u64(), "{la} {lb}");
    let refused = proxy(&mute, LISTEN, listen(7)).await;
    assert_eq!(code(&refused), -32001, "{refused}");

    let delivered = router
        .emit("note-changed", &json!({"name": "groceries"}))
        .expect("emits");
    assert_eq!(delivered, 2);
    let delivered = router
        .emit_to("plugin-b", "note-changed", &json!("only b"))
        .expect("emits");
    assert_eq!(delivered, 1);

    let received = |child| async move {
        let deadline = Instant::now() + WAIT;
        loop {
            let seen: Value = timeout(child_call(child)).await;
            if seen.as_array().is_some_and(|s| !s.is_empty()) || Instant::now() > deadline {
                return seen;
            }
            pause(20).await;
        }
    };
    async fn child_call(child: &gatehouse::process::Child) -> Value {
        child.call("received", ()).await.expect("answered")
    }
    let seen_a = received(&a).await;
    assert_eq!(
        seen_a,
        json!([{"channel": 5, "message": {"event": "note-changed", "id": la["result"], "payload": {"name": "groceries"}}}])
    );
    let mut seen_b = received(&b).await;
    for _ in 0..100 {
        if seen_b.as_array().map(Vec::len) == Some(2) {
            break;
        }
        pause(20).await;
        seen_b = child_call(&b).await;
    }
    let payloads: Vec<&Value> = seen_b
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| &m["message"]["payload"])
        .collect();
    assert_eq!(payloads, [&json!({"name": "groceries"}), &json!("only b")]);
    assert_eq!(child_call(&mute).await, json!([]));

    // A channel: every message, in order, before the command's reply.
    let reply = proxy(
        &a,
        "count_to",
        json!({"n": 200, "progress": "__CHANNEL__:9"}),
    )
    .await;
    assert_eq!(reply["result"], 200);
    let seen: Value = child_call(&a).await;
    let counted: Vec<u64> = seen
        .as_array()
        .expect("a list")
        .iter()
        .filter(|m| m["channel"] == 9)
        .filter_map(|m| m["message"].as_u64())
        .collect();
    assert_eq!(counted, (1..=200).collect::<Vec<u64>>());

    // Once a child is gone, its listener goes too.
    assert!(timeout(a.shutdown()).await.success());
    let delivered = router.emit("note-changed", &json!(null)).expect("emits");
    assert_eq!(delivered, 1);
    for child in [&b, &mute] {
        assert!(timeout(child.shutdown()).await.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_framings_carry_newlines_and_a_mebibyte() {
    let (router, _counters) = router();
    let awkward = "line one\nline two\r\n\"quoted\" \\ back\u{2028}\u{0}\ttab é 🦀";
    let big = "x".repeat(1 << 20) + "\n" + &"y".repeat(1000);
    let payload = json!({ "text": awkward, "big": big, "nested": [[{"a": "\n"}]] });
    for framing in [Framing::Lines, Framing::LengthPrefixed] {
        let child = builder("plugin-a")
            .framing(framing)
            .spawn(&router, python("echo.py", &[], framing))
            .expect("python3 starts");
        // Core → child → core.
        let back: Value = timeout(child.call("echo", &payload)).await.expect("echoed");
        assert_eq!(back, payload, "{framing:?}");
        // Child → core → child.
        let reply = proxy(&child, "echo", json!({ "value": payload })).await;
        assert_eq!(reply["result"], payload, "{framing:?}");
        assert!(timeout(child.shutdown()).await.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_newlines_between_tokens_never_split_a_line() {
    // A length-prefixed child may send JSON with raw newlines between its tokens; when the core
    // passes that payload on to a child speaking lines, it still arrives as one line.
    let (router, _counters) = router();
    let listener = spawn(&router, "plugin-b", "echo.py", &[]);
    let listen = json!({"event": "spaced", "handler": "__CHANNEL__:1"});
    let reply = proxy(&listener, LISTEN, listen).await;
    assert!(reply["result"].is_u64(), "{reply}");
    let emitter = builder("plugin-a")
        .framing(Framing::LengthPrefixed)
        .spawn(&router, python("echo.py", &[], Framing::LengthPrefixed))
        .expect("python3 starts");
    let spaced = "{\"jsonrpc\":\"2.0\",\n\"id\":1,\n\"method\":\"plugin:event|emit\",\r\n\"params\":{\"event\":\"spaced\",\"payload\":{\"a\":\n[1,\n2]}}}";
    let reply = raw(&emitter, spaced).await;
    assert_eq!(reply["result"], Value::Null, "{reply}");
    let deadline = Instant::now() + WAIT;
    let seen = loop {
        let seen: Value = timeout(listener.call("received", ()))
            .await
            .expect("answered");
        if seen.as_array().is_some_and(|s| !s.is_empty()) {
            break seen;
        }
        assert!(Instant::now() < deadline, "no event arrived");
        pause(20).await;
    };
    assert_eq!(
        seen[0]["message"]["payload"],
        json!({"a": [1, 2]}),
        "{seen}"
    );
    for child in [&listener, &emitter] {
        assert!(timeout(child.shutdown()).await.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_kills_a_child_that_ignores_it() {
    let (router, _counters) = router();
    let grace = Duration::from_millis(300);
    let child = builder("plugin-a")
        .shutdown_timeout(grace)
        .spawn(&router, python("sleeper.py", &[], Framing::Lines))
        .expect("python3 starts");
    pause(200).await; // Python is up and ignores SIGTERM.
    let started = Instant::now();
    let exit = timeout(child.shutdown()).await;
    let took = started.elapsed();
    assert_eq!(exit.reason, ExitReason::Shutdown { killed: true }, "{exit}");
    #[cfg(unix)]
    assert_eq!(exit.signal(), Some(9), "{exit}");
    assert!(took >= grace, "{took:?}");
    assert!(took < grace + Duration::from_secs(3), "{took:?}");
    assert!(exit.to_string().contains("did not exit in time"), "{exit}");

    // A child that exits when stdin closes ends gracefully.
    let child = spawn(&router, "plugin-a", "echo.py", &[]);
    let exit = timeout(child.shutdown()).await;
    assert_eq!(exit.reason, ExitReason::Shutdown { killed: false });
    assert!(exit.success());
    assert_eq!(child.try_exited().map(|e| e.reason), Some(exit.reason));
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_child_kills_it() {
    /// Whether `pid` still runs (a zombie waiting to be reaped does not).
    fn running(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    }
    let (router, _counters) = router();
    let child = spawn(&router, "plugin-a", "sleeper.py", &[]);
    let pid = child.id();
    assert!(running(pid));
    drop(child);
    eventually("the dropped child to die", || !running(pid)).await;

    // Unless asked not to: then it runs on, and is still served.
    let child = process::Builder::new("plugin-a")
        .kill_on_drop(false)
        .spawn(
            &router,
            python("partial_line.py", &["exit"], Framing::Lines),
        )
        .expect("python3 starts");
    let pid = child.id();
    drop(child);
    pause(100).await;
    assert!(running(pid));
    eventually("the child to exit by itself", || !running(pid)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_cannot_start_is_an_error() {
    let (router, _counters) = router();
    let error = process::spawn(
        &router,
        "plugin-a",
        std::process::Command::new("/nonexistent/gatehouse-test-program"),
    )
    .expect_err("no such program");
    let text = error.to_string();
    assert!(
        text.contains("/nonexistent/gatehouse-test-program"),
        "{text}"
    );
    assert!(text.contains("plugin-a"), "{text}");
}

#[test]
fn spawning_outside_a_runtime_is_an_error() {
    let (router, _counters) = router();
    let error = process::spawn(&router, "plugin-a", std::process::Command::new("true"))
        .expect_err("no runtime");
    assert!(matches!(error, process::Error::NoRuntime), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_is_captured_line_by_line_or_discarded() {
    let (router, _counters) = router();
    let script = r#"
import sys
err = sys.stderr.buffer
err.write(b"first\r\n" + b"x" * 100000 + b"\n" + b"bad \xff utf-8\n")
for i in range(2000):
    err.write(b"line %d\n" % i)
err.write(b"no newline at the end")
"#;
    let mut command = std::process::Command::new("python3");
    command.args(["-c", script]);
    let child = builder("plugin-a")
        .stderr(process::Stderr::Capture)
        .spawn(&router, command)
        .expect("python3 starts");
    let exit = timeout(child.exited()).await;
    assert!(exit.success(), "{exit}");
    // Let the core finish reading what the child wrote before anything is taken.
    pause(500).await;
    let mut lines = child.take_stderr().expect("captured");
    assert!(child.take_stderr().is_none(), "taken once");
    let mut all = Vec::new();
    while let Some(line) = timeout(lines.next_line()).await {
        all.push(line);
    }
    // Long lines are split at 64 KiB; invalid UTF-8 is replaced; once 1024 lines wait unread,
    // newer ones are dropped (the child never blocks on its stderr).
    assert_eq!(all.len(), 1024);
    assert_eq!(all[0], "first");
    assert_eq!(all[1].len(), 64 * 1024);
    assert_eq!(all[2].len(), 100_000 - 64 * 1024);
    assert_eq!(all[3], "bad \u{fffd} utf-8");
    assert_eq!(all[4], "line 0");
    assert_eq!(all[1023], "line 1019");

    for stderr in [process::Stderr::Null, process::Stderr::Inherit] {
        let mut command = std::process::Command::new("python3");
        command.args(["-c", "import sys; sys.stderr.write('quiet, please\\n')"]);
        let child = builder("plugin-a")
            .stderr(stderr)
            .spawn(&router, command)
            .expect("python3 starts");
        assert!(child.take_stderr().is_none());
        assert!(timeout(child.exited()).await.success());
    }
}
