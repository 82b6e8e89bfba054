//! The core calls methods its plugins expose: answered by id, bounded by a timeout, failing
//! cleanly when the plugin does not answer or is gone.

mod support;

use std::time::{Duration, Instant};

use gatehouse::process::CallError;
use plugin_host::protocol::WORDCOUNT;
use plugin_host::{Host, WordCount, RUST_PLUGIN};
use serde_json::{json, Value};
use support::{bounded, faulty_plugin, rust_plugin, Stderr, LIMIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_calls_the_rust_plugin() {
    let host = Host::new().expect("host");
    let rust = host
        .spawn(RUST_PLUGIN, rust_plugin(&[]))
        .expect("the Rust plugin starts");
    let stderr = Stderr::collect(&rust);
    bounded("ready", host.wait_ready(&rust, LIMIT))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", stderr.text()));

    let count: WordCount = tokio::time::timeout(
        Duration::from_secs(5),
        rust.call(WORDCOUNT, json!({"text": "one two three\nfour"})),
    )
    .await
    .expect("answered within 5 s")
    .expect("the plugin counts");
    assert_eq!(
        count,
        WordCount {
            words: 4,
            lines: 2,
            chars: 18
        }
    );

    // Many calls at once: each answer is the one for its own request.
    let calls = (1..=200).map(|n| {
        let rust = &rust;
        async move {
            let text = vec!["word"; n].join(" ");
            let count: WordCount = rust.call(WORDCOUNT, json!({ "text": text })).await?;
            Ok::<_, CallError>((n, count.words))
        }
    });
    let answers = bounded("200 calls", join_all(calls)).await;
    for answer in answers {
        let (n, words) = answer.expect("answered");
        assert_eq!(words, n);
    }

    // The plugin's own errors come back as errors.
    match rust.call::<Value>(WORDCOUNT, json!({"txt": "typo"})).await {
        Err(CallError::Rpc(e)) => assert_eq!(e.code().code(), -32602),
        other => panic!("expected -32602, got {other:?}"),
    }
    match rust.call::<Value>("plugin.nothing", json!({})).await {
        Err(CallError::Rpc(e)) => assert_eq!(e.code().code(), -32601),
        other => panic!("expected -32601, got {other:?}"),
    }

    let exit = bounded("shutdown", rust.shutdown()).await;
    assert!(exit.success(), "{exit}\n{}", stderr.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_the_plugin_never_answers_times_out() {
    let host = Host::new().expect("host");
    let timeout = Duration::from_millis(300);
    // It reads everything the core sends and answers nothing.
    let silent = host
        .spawn_with(
            Host::builder(RUST_PLUGIN).call_timeout(timeout),
            faulty_plugin("partial-line", &[]),
        )
        .expect("starts");
    let started = Instant::now();
    match bounded(
        "call",
        silent.call::<Value>(WORDCOUNT, json!({"text": "a"})),
    )
    .await
    {
        Err(CallError::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    let took = started.elapsed();
    assert!(
        took >= timeout && took < Duration::from_secs(5),
        "took {took:?}"
    );
    // Closing its stdin ends it (it exits when stdin closes).
    let exit = bounded("shutdown", silent.shutdown()).await;
    assert!(exit.success(), "{exit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_to_a_plugin_that_is_gone_fail_at_once() {
    let host = Host::new().expect("host");
    let crashing = host
        .spawn(RUST_PLUGIN, faulty_plugin("crash", &[]))
        .expect("starts");
    let exit = bounded("the crash", crashing.exited()).await;
    assert!(!exit.success(), "{exit}");
    match bounded(
        "call",
        crashing.call::<Value>(WORDCOUNT, json!({"text": "a"})),
    )
    .await
    {
        Err(CallError::Exited) => {}
        other => panic!("expected Exited, got {other:?}"),
    }
}

/// Runs the futures together and returns their outputs in order (a small `join_all`, to need no
/// futures crate).
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
