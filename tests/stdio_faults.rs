//! Faulty children over stdio: each fault is handled by the same limits as the ws transport,
//! and a well-behaved child running beside the faulty one loses nothing. Real child processes
//! (Python, standard library only); every wait bounded.

mod stdio_common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gatehouse::process::{CallError, ExitReason, Fault, Limits};
use gatehouse::stdio::Framing;
use serde_json::{json, Value};
use stdio_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_child_is_held_to_its_in_flight_limit() {
    let (router, counters) = router();
    let steady = Steady::spawn(&router, "limited-steady").await;
    const COUNT: u64 = 3000;
    let flooder = builder("full-flooder")
        .limits(Limits::default().max_in_flight(4))
        .stderr(gatehouse::process::Stderr::Capture)
        .spawn(
            &router,
            python("flooder.py", &[&COUNT.to_string()], Framing::Lines),
        )
        .expect("python3 starts");
    let report = stderr_report(&flooder).await;

    // Every request was answered exactly once: run, or refused with -32007.
    assert_eq!(report["missing"], 0, "{report}");
    assert_eq!(report["other"], json!([]), "{report}");
    let ok = report["ok"].as_u64().expect("a count");
    let refused = report["refused"].as_u64().expect("a count");
    assert_eq!(ok + refused, COUNT, "{report}");
    assert!(refused > 0, "the flood never hit the limit: {report}");
    // Refused requests never ran.
    assert_eq!(counters.ticks("full-flooder") as u64, ok);

    steady.finish(20).await;
    let exit = timeout(flooder.shutdown()).await;
    assert!(exit.success(), "{exit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_answered_and_the_connection_stays_usable() {
    let (router, _counters) = router();
    let steady = Steady::spawn(&router, "limited-steady").await;
    for framing in [Framing::Lines, Framing::LengthPrefixed] {
        let child = spawn_captured(&router, "full-garbage", "garbage.py", &["mixed"], framing);
        let report = stderr_report(&child).await;
        let mut replies: Vec<(Value, i64)> = report
            .as_array()
            .expect("a list of replies")
            .iter()
            .map(|r| (r["id"].clone(), r["error"]["code"].as_i64().unwrap_or(0)))
            .collect();
        replies.sort_by_key(|(id, code)| (id.as_i64().unwrap_or(-1), *code));
        assert_eq!(
            replies,
            vec![
                (Value::Null, -32700), // not JSON
                (Value::Null, -32700), // invalid UTF-8
                (Value::Null, -32600), // []
                (Value::Null, -32600), // 42
                (Value::Null, -32006), // 100 levels of nesting, no id to answer under
                (json!(5), -32600),    // {"id":5}: no method
                (json!(8), -32006),    // a request nested too deep
                (json!(9), 0),         // the good request (the unsolicited reply got nothing)
                (json!(10), -32601),   // unknown method
            ],
            "{report}"
        );
        let good = report
            .as_array()
            .and_then(|r| r.iter().find(|r| r["id"] == 9))
            .expect("the good reply");
        assert_eq!(good["result"], 3);
        let exit = timeout(child.shutdown()).await;
        assert!(exit.success(), "{exit}");
    }
    steady.finish(20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_over_the_limit_drops_the_child() {
    let (router, _counters) = router();
    let steady = Steady::spawn(&router, "limited-steady").await;
    let limits = Limits::default().max_message_bytes(64 * 1024);

    let child = builder("full-huge")
        .limits(limits.clone())
        .spawn(
            &router,
            python("garbage.py", &["huge-line"], Framing::Lines),
        )
        .expect("python3 starts");
    let exit = timeout(child.exited()).await;
    assert_eq!(
        exit.reason,
        ExitReason::Fault(Fault::MessageTooLarge { limit: 64 * 1024 }),
        "{exit}"
    );
    assert!(!exit.success());
    assert!(
        exit.to_string().contains("over the limit of 65536 bytes"),
        "{exit}"
    );

    // The same with a length prefix announcing almost 4 GiB: refused before any body is read.
    let child = builder("full-huge")
        .limits(limits)
        .framing(Framing::LengthPrefixed)
        .spawn(
            &router,
            python("garbage.py", &["huge-prefix"], Framing::LengthPrefixed),
        )
        .expect("python3 starts");
    let exit = timeout(child.exited()).await;
    assert_eq!(
        exit.reason,
        ExitReason::Fault(Fault::MessageTooLarge { limit: 64 * 1024 })
    );
    assert!(matches!(
        child.call::<Value>("echo", ()).await,
        Err(CallError::Exited)
    ));
    steady.finish(20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_line_runs_nothing_and_is_discarded_at_exit() {
    let (router, counters) = router();
    let steady = Steady::spawn(&router, "limited-steady").await;

    // It stops mid-line, then waits for stdin to close.
    let child = spawn(&router, "full-partial", "partial_line.py", &["wait"]);
    pause(300).await;
    assert_eq!(counters.ticks("full-partial"), 0);
    assert!(child.try_exited().is_none());
    let exit = timeout(child.shutdown()).await;
    assert_eq!(
        exit.reason,
        ExitReason::Shutdown { killed: false },
        "{exit}"
    );
    assert!(exit.success());
    // Nothing ran, nothing is left: the child's queue is closed.
    assert_eq!(counters.ticks("full-partial"), 0);
    assert!(child.caller().outbound().expect("connected").is_closed());

    // It stops mid-line and exits by itself.
    let child = spawn(&router, "full-partial", "partial_line.py", &["exit"]);
    let exit = timeout(child.exited()).await;
    assert_eq!(exit.reason, ExitReason::Exited, "{exit}");
    assert!(exit.success());
    assert_eq!(counters.ticks("full-partial"), 0);
    assert!(child.caller().outbound().expect("connected").is_closed());
    steady.finish(50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_never_reads_is_killed_and_stalls_nobody() {
    let (router, _counters) = router();
    let steady = Steady::spawn(&router, "limited-steady").await;
    let write_timeout = Duration::from_millis(500);
    let child = builder("full-deaf")
        .limits(Limits::default().write_timeout(write_timeout))
        .spawn(&router, python("never_reads.py", &[], Framing::Lines))
        .expect("python3 starts");
    // While its replies pile up, the core keeps serving others.
    let started = Instant::now();
    let exit = timeout(child.exited()).await;
    assert_eq!(
        exit.reason,
        ExitReason::Fault(Fault::WriteTimeout {
            timeout: write_timeout
        }),
        "{exit}"
    );
    assert!(started.elapsed() >= write_timeout);
    // A call to it now fails at once.
    assert!(matches!(
        child.call::<Value>("echo", ()).await,
        Err(CallError::Exited)
    ));
    steady.finish(50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_fails_pending_calls_and_cancels_running_requests() {
    let (router, counters) = router();
    let steady = Steady::spawn(&router, "limited-steady").await;
    let child = spawn(&router, "full-crasher", "crasher.py", &[]);
    // Its own request is running in the core when it crashes.
    eventually("the child's request to start", || {
        counters.slow_started.load(Ordering::SeqCst) == 1
    })
    .await;
    let called = timeout(child.call::<Value>("work", json!({}))).await;
    assert!(matches!(called, Err(CallError::Exited)), "{called:?}");
    let exit = timeout(child.exited()).await;
    assert_eq!(exit.reason, ExitReason::Exited);
    assert!(!exit.success(), "{exit}");
    #[cfg(unix)]
    assert_eq!(exit.signal(), Some(6), "SIGABRT: {exit}");
    // Its request is cancelled with its connection: it never finishes (it would after 500 ms).
    assert_eq!(counters.slow_finished.load(Ordering::SeqCst), 0);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(counters.slow_finished.load(Ordering::SeqCst), 0);
    assert!(child.caller().outbound().expect("connected").is_closed());
    steady.finish(50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_exit_is_reported_with_its_code() {
    let (router, _counters) = router();
    let steady = Steady::spawn(&router, "limited-steady").await;
    let child = spawn(&router, "full-echo", "echo.py", &[]);
    let answer: Value = timeout(child.call("exit", json!({"code": 7})))
        .await
        .expect("it answers before exiting");
    assert_eq!(answer, Value::Null);
    let exit = timeout(child.exited()).await;
    assert_eq!(exit.reason, ExitReason::Exited);
    assert_eq!(exit.code(), Some(7));
    assert!(matches!(
        child.call::<Value>("echo", ()).await,
        Err(CallError::Exited)
    ));
    assert!(matches!(child.notify("x", ()), Err(CallError::Exited)));
    // Shutting down an exited child just reports the exit.
    assert_eq!(timeout(child.shutdown()).await.code(), Some(7));
    steady.finish(20).await;
}
