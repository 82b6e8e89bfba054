//! A child killed for a fault is reported as killed for that fault, even when it exits on its
//! own a moment before the kill (its writes fail once the core stops reading). This was a race
//! in the transport's supervisor, which picked at random between the child's exit and the
//! reader's `Kill` when both were ready; it now takes the `Kill` first. The test makes "both
//! ready" likely by running many such children at once beside busy threads (it failed about
//! one run in two before the fix).

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gatehouse::process::{ExitReason, Fault, Limits};
use plugin_host::{Host, PYTHON_PLUGIN};
use support::{bounded, faulty_plugin};

const LIMIT_BYTES: usize = 64 * 1024;

/// How many children break the limit at once, and how many times.
const CHILDREN: usize = 100;
const ROUNDS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_killed_for_a_fault_is_reported_as_killed_for_it() {
    let host = Host::new().expect("host");
    // Busy threads beside the runtime's: the reader's `Kill` and the child's own exit then
    // tend to be both ready by the time the supervisor is next polled.
    let stop = Arc::new(AtomicBool::new(false));
    let hogs: Vec<_> = (0..4)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let mut reasons = Vec::new();
    for _ in 0..ROUNDS {
        let mut children = Vec::new();
        for _ in 0..CHILDREN {
            children.push(
                host.spawn_with(
                    Host::builder(PYTHON_PLUGIN)
                        .limits(Limits::default().max_message_bytes(LIMIT_BYTES)),
                    faulty_plugin("oversize", &["--oversize", &(4 * LIMIT_BYTES).to_string()]),
                )
                .expect("starts"),
            );
        }
        for child in &children {
            reasons.push(bounded("the fault", child.exited()).await.reason);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for hog in hogs {
        let _ = hog.join();
    }
    let expected = ExitReason::Fault(Fault::MessageTooLarge { limit: LIMIT_BYTES });
    let wrong: Vec<_> = reasons.iter().filter(|r| **r != expected).collect();
    assert!(
        wrong.is_empty(),
        "{} of {} exits misreported: {wrong:?}",
        wrong.len(),
        reasons.len()
    );
}
