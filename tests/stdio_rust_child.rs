//! Rust children on the stdio transport: `gatehouse::stdio::BlockingClient` and
//! `gatehouse::stdio::Client`, each in both framings, against a real core over real pipes.
//!
//! The child is this very test binary. Cargo tells integration tests where the package's
//! binaries are (`CARGO_BIN_EXE_<name>`), but a test-only `[[bin]]` in the facade crate would be
//! built, installed and published with the library, and examples get no such variable. A test
//! with `harness = false` owns its `main`, so the one executable is the core (the tests below)
//! or, when `GATEHOUSE_TEST_CHILD` names a mode, the child — with nothing printed on its stdout
//! before the protocol starts (libtest would print "running N tests" there). It builds under
//! `cargo test --workspace` like any test, and needs nothing else.

mod stdio_common;

use std::process::{Command, ExitCode};
use std::time::Duration;

use gatehouse::process::{CallError, ExitReason};
use gatehouse::stdio::{BlockingClient, Client, ClientError, Framing};
use gatehouse::{ErrorCode, RpcError};
use serde::Serialize;
use serde_json::{json, Value};
use stdio_common::*;

const MODE: &str = "GATEHOUSE_TEST_CHILD";

fn main() -> ExitCode {
    match std::env::var(MODE) {
        Ok(mode) => child(&mode),
        Err(_) => core(),
    }
}

// ---- The child ----

/// What a call gave, for the report: `{"ok": result}`, `{"code": n}` or `{"error": "…"}`.
fn outcome<T: Serialize>(result: Result<T, ClientError>) -> Value {
    match result {
        Ok(value) => json!({ "ok": value }),
        Err(ClientError::Rpc { code, .. }) => json!({ "code": code }),
        Err(error) => json!({ "error": error.to_string() }),
    }
}

fn big() -> String {
    "x".repeat(1 << 20) + "\n\"" + &"y".repeat(100)
}

fn sum(params: &Value) -> i64 {
    params["a"].as_i64().unwrap_or(0) + params["b"].as_i64().unwrap_or(0)
}

fn child(mode: &str) -> ExitCode {
    let framing = if mode.ends_with("prefixed") {
        Framing::LengthPrefixed
    } else {
        Framing::Lines
    };
    let result = if mode.starts_with("blocking-stress") {
        blocking_stress(framing)
    } else if mode.starts_with("async-stress") {
        // Several workers, so that calls, flushes and replies cross threads.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build();
        match runtime {
            Ok(runtime) => runtime.block_on(async_stress(framing)),
            Err(error) => Err(ClientError::Rpc {
                code: 0,
                message: error.to_string(),
                data: None,
            }),
        }
    } else if mode.starts_with("blocking") {
        blocking_child(framing)
    } else {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(runtime) => runtime.block_on(async_child(framing)),
            Err(error) => Err(ClientError::Rpc {
                code: 0,
                message: error.to_string(),
                data: None,
            }),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rust child: {error}");
            ExitCode::FAILURE
        }
    }
}

fn blocking_child(framing: Framing) -> Result<(), ClientError> {
    let client = BlockingClient::builder().framing(framing).stdio_blocking();
    client.handle("plugin.add", |p: Value| Ok::<_, RpcError>(sum(&p)));
    client.handle("plugin.echo", Ok::<Value, RpcError>);
    client.handle("plugin.fail", |_| {
        Err::<(), _>(RpcError::new(ErrorCode::Other(-32050), "it fails"))
    });
    let inner = client.clone();
    client.handle("plugin.ask_core", move |p: Value| {
        inner
            .call::<i64>("add", p)
            .map_err(|e| RpcError::new(ErrorCode::Internal, e.to_string()))
    });

    let (channel, messages) = client.channel();
    let counted = client.call::<u32>("count_to", json!({"n": 5, "progress": channel}));
    // Sent before the reply, so already here when the call succeeded.
    let streamed: Vec<Value> = std::iter::from_fn(|| messages.try_recv()).collect();
    let counted = outcome(counted);
    let big = big();
    let echoed = client.call::<String>("echo", json!({ "value": big }));
    let report = json!({
        "add": outcome(client.call::<i64>("add", json!({"a": 1, "b": 2}))),
        "secret": outcome(client.call::<String>("secret", ())),
        "whoami": outcome(client.call::<Value>("whoami", json!({"caller": "plugin-a"}))),
        "whoami_plain": outcome(client.call::<Value>("whoami", ())),
        "count_to": counted,
        "streamed": streamed,
        "big": outcome(echoed.map(|e| e == big)),
        "wrong_type": outcome(client.call::<String>("add", json!({"a": 1, "b": 2}))),
    });
    let events = client.listen("note-changed");
    let listening = outcome(events.as_ref().map(|_| true).map_err(clone_error));
    client.notify(
        "report",
        json!({ "value": { "report": report, "listen": listening } }),
    )?;
    if let Ok(events) = events {
        if let Ok(payload) = events.recv_timeout(Duration::from_secs(20)) {
            client.call::<()>("report", json!({ "value": { "event": payload } }))?;
        }
    }
    client.closed();
    Ok(())
}

async fn async_child(framing: Framing) -> Result<(), ClientError> {
    let client = Client::builder().framing(framing).stdio();
    client.handle("plugin.add", |p: Value| async move {
        Ok::<_, RpcError>(sum(&p))
    });
    client.handle(
        "plugin.echo",
        |p: Value| async move { Ok::<_, RpcError>(p) },
    );
    client.handle("plugin.fail", |_| async {
        Err::<(), _>(RpcError::new(ErrorCode::Other(-32050), "it fails"))
    });
    let inner = client.clone();
    client.handle("plugin.ask_core", move |p: Value| {
        let inner = inner.clone();
        async move {
            inner
                .call::<i64>("add", p)
                .await
                .map_err(|e| RpcError::new(ErrorCode::Internal, e.to_string()))
        }
    });

    let (channel, mut messages) = client.channel();
    let counted = outcome(
        client
            .call::<u32>("count_to", json!({"n": 5, "progress": channel}))
            .await,
    );
    // Sent before the reply, so already here when the call succeeded.
    let streamed: Vec<Value> = std::iter::from_fn(|| messages.try_recv()).collect();
    let big = big();
    let echoed = client.call::<String>("echo", json!({ "value": big })).await;
    let report = json!({
        "add": outcome(client.call::<i64>("add", json!({"a": 1, "b": 2})).await),
        "secret": outcome(client.call::<String>("secret", ()).await),
        "whoami": outcome(client.call::<Value>("whoami", json!({"caller": "plugin-a"})).await),
        "whoami_plain": outcome(client.call::<Value>("whoami", ()).await),
        "count_to": counted,
        "streamed": streamed,
        "big": outcome(echoed.map(|e| e == big)),
        "wrong_type": outcome(client.call::<String>("add", json!({"a": 1, "b": 2})).await),
    });
    let events = client.listen("note-changed").await;
    let listening = outcome(events.as_ref().map(|_| true).map_err(clone_error));
    client
        .notify(
            "report",
            json!({ "value": { "report": report, "listen": listening } }),
        )
        .await?;
    if let Ok(mut events) = events {
        if let Ok(Some(payload)) =
            tokio::time::timeout(Duration::from_secs(20), events.recv()).await
        {
            client
                .call::<()>("report", json!({ "value": { "event": payload } }))
                .await?;
        }
    }
    client.closed().await;
    Ok(())
}

// ---- Many callers at once (the `*-stress` modes) ----

/// Threads (blocking) or tasks (async) calling at once, and the calls each makes.
const STRESS_CALLERS: i64 = 8;
const STRESS_CALLS: i64 = 1_000;
/// Events the core emits while the calls run, then the one that says it is done.
const STRESS_EVENTS: i64 = 200;

/// What the events a stressed child received look like: how many, and whether in order.
fn tally_events(payloads: impl Iterator<Item = Value>) -> Value {
    let mut received = 0;
    let mut in_order = true;
    for payload in payloads {
        let n = payload["n"].as_i64().unwrap_or(-2);
        if n == -1 {
            break;
        }
        in_order &= n == received;
        received += 1;
    }
    json!({ "received": received, "in_order": in_order })
}

/// One caller's calls: `add(a, 1)` for its own `a`s, each result checked.
fn stress_args(caller: i64, i: i64) -> (Value, i64) {
    let a = caller * STRESS_CALLS + i;
    (json!({"a": a, "b": 1}), a + 1)
}

fn blocking_stress(framing: Framing) -> Result<(), ClientError> {
    let client = BlockingClient::builder().framing(framing).stdio_blocking();
    client.handle("plugin.add", |p: Value| Ok::<_, RpcError>(sum(&p)));
    let events = client.listen("note-changed")?;
    client.call::<()>("report", json!({ "value": "ready" }))?;
    let counting = std::thread::spawn(move || {
        tally_events(std::iter::from_fn(|| {
            events.recv_timeout(Duration::from_secs(20)).ok()
        }))
    });
    let callers: Vec<_> = (0..STRESS_CALLERS)
        .map(|caller| {
            let client = client.clone();
            std::thread::spawn(move || {
                (0..STRESS_CALLS)
                    .filter(|&i| {
                        let (args, expected) = stress_args(caller, i);
                        client.call::<i64>("add", args).ok() == Some(expected)
                    })
                    .count()
            })
        })
        .collect();
    let right: usize = callers.into_iter().map(|c| c.join().unwrap_or(0)).sum();
    let events = counting.join().unwrap_or(Value::Null);
    client.call::<()>(
        "report",
        json!({ "value": { "right": right, "events": events } }),
    )?;
    client.closed();
    Ok(())
}

async fn async_stress(framing: Framing) -> Result<(), ClientError> {
    let client = Client::builder().framing(framing).stdio();
    client.handle("plugin.add", |p: Value| async move {
        Ok::<_, RpcError>(sum(&p))
    });
    let mut events = client.listen("note-changed").await?;
    client
        .call::<()>("report", json!({ "value": "ready" }))
        .await?;
    let counting = tokio::spawn(async move {
        let mut payloads = Vec::new();
        while let Ok(Some(payload)) =
            tokio::time::timeout(Duration::from_secs(20), events.recv()).await
        {
            let done = payload["n"] == -1;
            payloads.push(payload);
            if done {
                break;
            }
        }
        tally_events(payloads.into_iter())
    });
    let callers: Vec<_> = (0..STRESS_CALLERS)
        .map(|caller| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut right = 0;
                // Four calls in flight per task, each on a task of its own.
                for i in (0..STRESS_CALLS).step_by(4) {
                    let calls: Vec<_> = (i..i + 4)
                        .map(|i| {
                            let client = client.clone();
                            tokio::spawn(async move {
                                let (args, expected) = stress_args(caller, i);
                                client.call::<i64>("add", args).await.ok() == Some(expected)
                            })
                        })
                        .collect();
                    for call in calls {
                        right += usize::from(call.await.unwrap_or(false));
                    }
                }
                right
            })
        })
        .collect();
    let mut right = 0;
    for caller in callers {
        right += caller.await.unwrap_or(0);
    }
    let events = counting.await.unwrap_or(Value::Null);
    client
        .call::<()>(
            "report",
            json!({ "value": { "right": right, "events": events } }),
        )
        .await?;
    client.closed().await;
    Ok(())
}

fn clone_error(error: &ClientError) -> ClientError {
    match error {
        ClientError::Rpc {
            code,
            message,
            data,
        } => ClientError::Rpc {
            code: *code,
            message: message.clone(),
            data: data.clone(),
        },
        _ => ClientError::Closed,
    }
}

// ---- The core ----

fn core() -> ExitCode {
    let cases = [
        ("blocking-lines", "plugin-a"),
        ("blocking-prefixed", "plugin-a"),
        ("async-lines", "plugin-a"),
        ("async-prefixed", "plugin-a"),
        ("blocking-lines", "plugin-b"),
        ("async-prefixed", "plugin-b"),
        ("blocking-stress-lines", "plugin-b"),
        ("async-stress-prefixed", "plugin-b"),
    ];
    let name = |(mode, label): (&str, &str)| format!("rust_child_{mode}_as_{label}");
    // Enough of libtest's command line for `cargo test` filters and `--list`.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exact = args.iter().any(|a| a == "--exact");
    let filter = args.iter().find(|a| !a.starts_with('-'));
    let selected: Vec<_> = cases
        .into_iter()
        .filter(|&case| {
            filter.is_none_or(|f| {
                if exact {
                    name(case) == *f
                } else {
                    name(case).contains(f.as_str())
                }
            })
        })
        .collect();
    if args.iter().any(|a| a == "--list") {
        for &case in &selected {
            println!("{}: test", name(case));
        }
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    println!("\nrunning {} tests", selected.len());
    for &(mode, label) in &selected {
        runtime.block_on(async {
            let case = async {
                if mode.contains("stress") {
                    stressed_child(mode, label).await;
                } else {
                    rust_child(mode, label).await;
                }
            };
            tokio::time::timeout(Duration::from_secs(60), case)
                .await
                .unwrap_or_else(|_| panic!("{mode} as {label} timed out"))
        });
        println!("test {} ... ok", name((mode, label)));
    }
    println!("\ntest result: ok. {} passed\n", selected.len());
    ExitCode::SUCCESS
}

/// The reports `label` has sent so far.
fn reports(counters: &Counters, label: &str) -> Vec<Value> {
    let reports = counters.reports.lock().expect("not poisoned");
    reports
        .iter()
        .filter(|(l, _)| l == label)
        .map(|(_, v)| v.clone())
        .collect()
}

async fn rust_child(mode: &str, label: &str) {
    let (router, counters) = router();
    let framing = if mode.ends_with("prefixed") {
        Framing::LengthPrefixed
    } else {
        Framing::Lines
    };
    let mut command = Command::new(std::env::current_exe().expect("the test's own path"));
    command.env(MODE, mode);
    let child = builder(label)
        .framing(framing)
        .spawn(&router, command)
        .expect("the child starts");

    eventually("the child's report", || {
        !reports(&counters, label).is_empty()
    })
    .await;
    let first = &reports(&counters, label)[0];
    let report = &first["report"];
    let full = label == "plugin-a";
    assert_eq!(report["add"], json!({"ok": 3}), "{mode}: {report}");
    assert_eq!(
        report["whoami_plain"],
        json!({"ok": {"label": label, "origin": "local"}})
    );
    // An argument naming another caller is just an unknown argument.
    assert_eq!(report["whoami"], json!({"code": -32602}), "{report}");
    assert_eq!(
        report["big"],
        json!({"ok": true}),
        "1 MiB with a newline and a quote"
    );
    assert!(report["wrong_type"]["error"]
        .as_str()
        .is_some_and(|e| e.contains("expected type")));
    if full {
        assert_eq!(report["secret"], json!({"ok": "the secret"}));
        assert_eq!(report["count_to"], json!({"ok": 5}));
        assert_eq!(report["streamed"], json!([1, 2, 3, 4, 5]));
    } else {
        assert_eq!(report["secret"], json!({"code": -32001}));
        assert_eq!(report["count_to"], json!({"code": -32001}));
        assert_eq!(report["streamed"], json!([]));
    }
    assert_eq!(first["listen"], json!({"ok": true}));
    let refused_secret = if full { 1 } else { 0 };
    assert_eq!(
        counters.secret.load(std::sync::atomic::Ordering::SeqCst),
        refused_secret
    );

    // An event reaches it.
    let delivered = router
        .emit("note-changed", &json!({"name": "groceries"}))
        .expect("emits");
    assert_eq!(delivered, 1);
    eventually("the event's report", || {
        reports(&counters, label).len() == 2
    })
    .await;
    assert_eq!(
        reports(&counters, label)[1],
        json!({"event": {"name": "groceries"}})
    );

    // The core calls the child's handlers.
    let sum: i64 = timeout(child.call("plugin.add", json!({"a": 2, "b": 3})))
        .await
        .expect("added");
    assert_eq!(sum, 5);
    let payload = json!({ "text": "a\nb\r\n\"c\"", "big": big() });
    let back: Value = timeout(child.call("plugin.echo", &payload))
        .await
        .expect("echoed");
    assert_eq!(back, payload);
    match timeout(child.call::<Value>("plugin.fail", ())).await {
        Err(CallError::Rpc(error)) => {
            assert_eq!(error.code().code(), -32050);
            assert_eq!(error.message(), "it fails");
        }
        other => panic!("{other:?}"),
    }
    match timeout(child.call::<Value>("plugin.nothing", ())).await {
        Err(CallError::Rpc(error)) => assert_eq!(error.code().code(), -32601),
        other => panic!("{other:?}"),
    }
    // A handler may call the core while the core waits for it.
    let sum: i64 = timeout(child.call("plugin.ask_core", json!({"a": 4, "b": 5})))
        .await
        .expect("asked");
    assert_eq!(sum, 9);

    // It ends when the core closes its input.
    let exit = timeout(child.shutdown()).await;
    assert_eq!(
        exit.reason,
        ExitReason::Shutdown { killed: false },
        "{exit}"
    );
    assert!(exit.success(), "{exit}");
}

/// A child calling from many threads (or tasks) at once while the core emits events and calls
/// the child: every call gets its own reply, every event arrives, in order.
async fn stressed_child(mode: &str, label: &str) {
    let (router, counters) = router();
    let framing = if mode.ends_with("prefixed") {
        Framing::LengthPrefixed
    } else {
        Framing::Lines
    };
    let mut command = Command::new(std::env::current_exe().expect("the test's own path"));
    command.env(MODE, mode);
    let child = builder(label)
        .framing(framing)
        .spawn(&router, command)
        .expect("the child starts");
    eventually("the child listens", || {
        reports(&counters, label) == [json!("ready")]
    })
    .await;
    // Events and calls of the child's handler, while its own calls run.
    for n in 0..STRESS_EVENTS {
        let delivered = router
            .emit("note-changed", &json!({ "n": n }))
            .expect("emits");
        assert_eq!(delivered, 1);
        if n % 20 == 0 {
            let sum: i64 = timeout(child.call("plugin.add", json!({"a": n, "b": 1})))
                .await
                .expect("the child answers while it calls");
            assert_eq!(sum, n + 1);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    router
        .emit("note-changed", &json!({ "n": -1 }))
        .expect("emits");
    eventually("the child's report", || {
        reports(&counters, label).len() == 2
    })
    .await;
    let report = &reports(&counters, label)[1];
    assert_eq!(
        report["right"],
        json!(STRESS_CALLERS * STRESS_CALLS),
        "every call got its own reply: {report}"
    );
    assert_eq!(
        report["events"],
        json!({ "received": STRESS_EVENTS, "in_order": true }),
        "{report}"
    );
    let exit = timeout(child.shutdown()).await;
    assert!(exit.success(), "{exit}");
}
