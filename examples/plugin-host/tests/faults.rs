//! A faulty plugin running beside the well-behaved one costs the well-behaved one nothing: all
//! its requests are answered, each with its own answer, and the core's calls to it too. The
//! faulty one meets the fate its fault deserves.

mod support;

use std::sync::Arc;
use std::time::Duration;

use gatehouse::process::{CallError, Exit, ExitReason, Fault, Limits};
use plugin_host::protocol::WORDCOUNT;
use plugin_host::{Host, WordCount, PYTHON_PLUGIN, RUST_PLUGIN};
use serde_json::json;
use support::{bounded, faulty_plugin, rust_plugin, Stderr, LIMIT};

/// Write-then-read round trips the well-behaved plugin makes (32 at a time) and checks.
const ROUND_TRIPS: usize = 300;

/// Concurrent calls the core makes to the well-behaved plugin.
const CORE_CALLS: usize = 100;

/// The faulty plugin's limits: small enough that its faults meet them quickly.
const MAX_MESSAGE_BYTES: usize = 1 << 20;
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// How a faulty plugin ends.
enum Fate {
    /// It runs until the core shuts it down, and then exits by itself.
    RunsUntilShutdown,
    /// It ends by itself, before the core does anything about it.
    EndsByItself(fn(&Exit) -> bool),
    /// The core kills it for breaking a limit.
    KilledFor(Fault),
}

/// Runs `mode` (under the Python plugin's label and grants) beside the Rust plugin, checks
/// that the Rust plugin got everything it asked for, and that the faulty one met `fate`.
async fn well_behaved_beside(mode: &str, fate: Fate) {
    let host = Host::new().expect("host");
    let limits = Limits::default()
        .max_message_bytes(MAX_MESSAGE_BYTES)
        .write_timeout(WRITE_TIMEOUT);
    let oversize = (2 * MAX_MESSAGE_BYTES).to_string();
    let faulty = host
        .spawn_with(
            Host::builder(PYTHON_PLUGIN)
                .limits(limits)
                .shutdown_timeout(Duration::from_millis(500)),
            faulty_plugin(mode, &["--oversize", &oversize]),
        )
        .expect("the faulty plugin starts");
    let faulty_err = Stderr::collect(&faulty);
    let calls = ROUND_TRIPS.to_string();
    let good = host
        .spawn(RUST_PLUGIN, rust_plugin(&["--calls", &calls]))
        .expect("the Rust plugin starts");
    let good_err = Stderr::collect(&good);

    bounded(
        &format!("{mode}: the well-behaved plugin's round trips"),
        host.wait_ready(&good, LIMIT),
    )
    .await
    .unwrap_or_else(|e| panic!("{mode}: {e}\n{}", good_err.text()));
    // Every request ran once: the greeting and each round trip's write, each round trip's read.
    let journal = host.journal();
    assert_eq!(
        journal.count(RUST_PLUGIN, "kv_set"),
        ROUND_TRIPS + 1,
        "{mode}"
    );
    assert_eq!(journal.count(RUST_PLUGIN, "kv_get"), ROUND_TRIPS, "{mode}");
    // And each read back what it wrote: the plugin's own check (its stderr may arrive after
    // its `ready`).
    good_err.wait_for("concurrent round trips", &good).await;
    let verdict =
        format!("✓ {ROUND_TRIPS} concurrent round trips, {ROUND_TRIPS} answered correctly");
    assert!(
        good_err.text().contains(&verdict),
        "{mode}: {}",
        good_err.text()
    );

    // The core's calls to it, all at once, each answered with its own count.
    let good = Arc::new(good);
    let mut calls = tokio::task::JoinSet::new();
    for n in 1..=CORE_CALLS {
        let good = Arc::clone(&good);
        calls.spawn(async move {
            let text = vec!["w"; n].join(" ");
            let count: WordCount = good.call(WORDCOUNT, json!({ "text": text })).await?;
            Ok::<_, CallError>((n, count.words))
        });
    }
    bounded(&format!("{mode}: the core's calls"), async {
        while let Some(done) = calls.join_next().await {
            let (n, words) = done
                .expect("the task ran")
                .unwrap_or_else(|e| panic!("{mode}: a call failed: {e}"));
            assert_eq!(words, n, "{mode}");
        }
    })
    .await;

    // The faulty plugin's fate.
    let faulty_exit = match fate {
        Fate::RunsUntilShutdown => {
            assert!(faulty.try_exited().is_none(), "{mode}: it is still running");
            let exit = bounded(&format!("{mode}: shutdown"), faulty.shutdown()).await;
            assert_eq!(
                exit.reason,
                ExitReason::Shutdown { killed: false },
                "{mode}: {exit}"
            );
            exit
        }
        Fate::EndsByItself(check) => {
            let exit = bounded(&format!("{mode}: its end"), faulty.exited()).await;
            assert_eq!(exit.reason, ExitReason::Exited, "{mode}: {exit}");
            assert!(check(&exit), "{mode}: {exit}");
            exit
        }
        Fate::KilledFor(fault) => {
            let exit = bounded(&format!("{mode}: its end"), faulty.exited()).await;
            assert_eq!(exit.reason, ExitReason::Fault(fault), "{mode}: {exit}");
            exit
        }
    };

    let good_exit = bounded(&format!("{mode}: shutdown"), good.shutdown()).await;
    assert!(
        good_exit.success(),
        "{mode}: {good_exit}\n{}",
        good_err.text()
    );
    eprintln!(
        "{mode}: the faulty plugin {faulty_exit}; its stderr: {:?}",
        faulty_err.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flooding_plugin_costs_the_other_nothing() {
    well_behaved_beside("flood", Fate::RunsUntilShutdown).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plugin_writing_garbage_costs_the_other_nothing() {
    well_behaved_beside(
        "garbage",
        Fate::KilledFor(Fault::MessageTooLarge {
            limit: MAX_MESSAGE_BYTES,
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plugin_stuck_on_half_a_line_costs_the_other_nothing() {
    well_behaved_beside("partial-line", Fate::RunsUntilShutdown).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plugin_that_never_reads_costs_the_other_nothing() {
    well_behaved_beside(
        "never-read",
        Fate::KilledFor(Fault::WriteTimeout {
            timeout: WRITE_TIMEOUT,
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashing_plugin_costs_the_other_nothing() {
    well_behaved_beside("crash", Fate::EndsByItself(aborted)).await;
}

/// Whether it ended by SIGABRT (on Unix; elsewhere, by a failure).
fn aborted(exit: &Exit) -> bool {
    #[cfg(unix)]
    return exit.signal() == Some(6);
    #[cfg(not(unix))]
    return !exit.success();
}

/// A flood is served (as far as its grants go) while it lasts: the faulty plugin's requests
/// really were reaching the core during the other tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_is_served_while_it_lasts() {
    let host = Host::new().expect("host");
    let flood = host
        .spawn(PYTHON_PLUGIN, faulty_plugin("flood", &[]))
        .expect("starts");
    let served = host
        .journal()
        .wait_for(LIMIT, |e| {
            e.caller == PYTHON_PLUGIN && e.command == "kv_list"
        })
        .await;
    assert!(served.is_some());
    let exit = bounded("shutdown", flood.shutdown()).await;
    assert!(exit.success(), "{exit}");
    // `kv_set` is not among its grants: however many it sent, none ran.
    assert!(host.journal().count(PYTHON_PLUGIN, "kv_list") > 0);
    assert_eq!(host.journal().count_command("kv_set"), 0);
}
