//! A plugin flooding `log` costs the core a bounded amount of memory: the journal keeps the
//! newest entries and counts the rest.
//!
//! One test in its own binary, so that nothing else allocates in the process while the core's
//! memory (this process's resident set: the core runs in the test) is measured.

mod support;

use std::time::{Duration, Instant};

use plugin_host::journal::{MAX_BYTES, MAX_ENTRIES};
use plugin_host::{plugin, Host, PYTHON_PLUGIN};
use support::bounded;

/// How many messages the plugin sends: 80 MB of log text, which the journal of old kept whole
/// (more than the 64 MiB the core may grow by).
const MESSAGES: usize = 80_000;

/// How much the core may grow while it takes them.
const MAX_GROWTH: u64 = 64 << 20;

/// Sends `MESSAGES` `log` notifications of 1000 characters each, the last one `last`, then waits
/// for the core to close its stdin.
const FLOODER: &str = r#"
import sys
n = int(sys.argv[1])
line = ('{"jsonrpc":"2.0","method":"log","params":{"message":"' + 'x' * 1000 + '"}}\n').encode()
out = sys.stdout.buffer
sent = 0
while sent < n - 1:
    k = min(256, n - 1 - sent)
    out.write(line * k)
    sent += k
out.write(b'{"jsonrpc":"2.0","method":"log","params":{"message":"last"}}\n')
out.flush()
sys.stdin.buffer.read()
"#;

/// This process's resident set, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's second field");
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_flooding_log_keeps_the_core_bounded() {
    let host = Host::new().expect("host");
    let before = rss();
    let mut command = std::process::Command::new(plugin::python());
    command.arg("-c").arg(FLOODER).arg(MESSAGES.to_string());
    let child = host.spawn(PYTHON_PLUGIN, command).expect("python3 starts");

    let journal = host.journal();
    let started = Instant::now();
    let mut peak = before;
    bounded("the flood", async {
        while journal.count(PYTHON_PLUGIN, "log") < MESSAGES {
            peak = peak.max(rss());
            assert!(
                child.try_exited().is_none(),
                "the flooder exited early: {:?}",
                child.try_exited()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let took = started.elapsed();
    peak = peak.max(rss());

    // Every message ran and was counted; only the newest are kept.
    assert_eq!(journal.count(PYTHON_PLUGIN, "log"), MESSAGES);
    assert_eq!(journal.recorded(), MESSAGES as u64);
    assert!(journal.len() <= MAX_ENTRIES);
    assert_eq!(journal.dropped(), (MESSAGES - journal.len()) as u64);
    let entries = journal.entries();
    assert_eq!(entries.last().map(|e| e.detail.as_str()), Some("last"));
    let text: usize = entries.iter().map(|e| e.detail.len()).sum();
    assert!(text <= MAX_BYTES, "{text}");

    let growth = peak.saturating_sub(before);
    eprintln!(
        "{MESSAGES} log messages in {took:?}; resident set grew by {} KiB at most",
        growth / 1024
    );
    assert!(
        growth <= MAX_GROWTH,
        "the core grew by {} MiB taking {MESSAGES} log messages",
        growth >> 20
    );
    child.shutdown().await;
}
