//! A small application whose commands count what runs, and helpers to spawn the Python children
//! of `tests/children/` against it. Every wait is bounded.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each stdio test file uses part of the support code; `pub` for the glob import"
)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse::process::{self, Child, Stderr};
use gatehouse::stdio::Framing;
use gatehouse::{command, commands, Acl, Caller, Capability, Channel, Origin, Router, State};
use serde_json::{json, Value};

/// How long any single wait in a test may take.
pub const WAIT: Duration = Duration::from_secs(20);

pub const LISTEN: &str = "plugin:event|listen";
pub const UNLISTEN: &str = "plugin:event|unlisten";
pub const EMIT: &str = "plugin:event|emit";
pub const EMIT_TO: &str = "plugin:event|emit_to";

/// What the commands saw.
#[derive(Default)]
pub struct Counters {
    /// Runs of `secret`, which only `plugin-a` may call.
    pub secret: AtomicUsize,
    /// Runs of `tick`, by caller label.
    pub ticks: Mutex<HashMap<String, usize>>,
    pub slow_started: AtomicUsize,
    pub slow_finished: AtomicUsize,
    /// What children sent to `report`, by label.
    pub reports: Mutex<Vec<(String, Value)>>,
}

impl Counters {
    pub fn ticks(&self, label: &str) -> usize {
        let ticks = self.ticks.lock().expect("not poisoned");
        ticks.get(label).copied().unwrap_or(0)
    }
}

type Shared<'a> = State<'a, Arc<Counters>>;

/// Adds.
#[command]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Who the core thinks is calling.
#[command]
fn whoami(caller: Caller) -> Value {
    let origin = match caller.origin() {
        Origin::Local => "local".to_owned(),
        Origin::Remote(url) => url.clone(),
    };
    json!({ "label": caller.label(), "origin": origin })
}

/// Granted to `plugin-a` (and `full-*`) only; counts its runs.
#[command]
fn secret(counters: Shared<'_>) -> &'static str {
    counters.secret.fetch_add(1, Ordering::SeqCst);
    "the secret"
}

/// Sleeps `ms` (default 0), then counts a run for its caller.
#[command]
async fn tick(counters: Shared<'_>, caller: Caller, ms: Option<u64>) -> usize {
    if let Some(ms) = ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut ticks = counters.ticks.lock().expect("not poisoned");
    let count = ticks.entry(caller.label().to_owned()).or_default();
    *count += 1;
    *count
}

/// Returns its argument.
#[command]
fn echo(value: Value) -> Value {
    value
}

/// Sleeps `ms`, counting starts and finishes.
#[command]
async fn slow(counters: Shared<'_>, ms: u64) -> u64 {
    counters.slow_started.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    counters.slow_finished.fetch_add(1, Ordering::SeqCst);
    ms
}

/// Streams 1..=n into `progress`, then returns n.
#[command]
async fn count_to(n: u32, progress: Channel<u32>) -> Result<u32, String> {
    for i in 1..=n {
        progress.send_async(i).await.map_err(|e| e.to_string())?;
    }
    Ok(n)
}

/// Keeps what a child reports.
#[command]
fn report(counters: Shared<'_>, caller: Caller, value: Value) {
    let mut reports = counters.reports.lock().expect("not poisoned");
    reports.push((caller.label().to_owned(), value));
}

/// `plugin-a` and `full-*` may call everything; `plugin-b` and `limited-*` may add, ask who
/// they are, echo, tick, listen and report, but not call `secret`; any other label nothing.
pub fn router() -> (Router, Arc<Counters>) {
    let all = [
        "add", "whoami", "secret", "tick", "echo", "slow", "count_to", "report", LISTEN, UNLISTEN,
        EMIT, EMIT_TO,
    ];
    let acl = Acl::builder()
        .commands(all)
        .capability(
            Capability::builder("full")
                .windows(["plugin-a", "full-*"])
                .allow(all),
        )
        .capability(
            Capability::builder("limited")
                .windows(["plugin-b", "limited-*"])
                .allow(["add", "whoami", "echo", "tick", "report", LISTEN]),
        )
        .build()
        .expect("valid ACL");
    let counters = Arc::new(Counters::default());
    let router = Router::builder(acl)
        .commands(commands![
            add, whoami, secret, tick, echo, slow, count_to, report
        ])
        .manage(Arc::clone(&counters))
        .build()
        .expect("valid router");
    (router, counters)
}

/// `python3 tests/children/<script> <args…>`, speaking `framing`.
pub fn python(script: &str, args: &[&str], framing: Framing) -> Command {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "children", script]
        .iter()
        .collect();
    let mut command = Command::new("python3");
    command
        .arg(path)
        .args(args)
        .env(
            "GATEHOUSE_FRAMING",
            match framing {
                Framing::LengthPrefixed => "prefixed",
                _ => "lines",
            },
        )
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// A builder for `label` with short timeouts, suitable for tests.
pub fn builder(label: &str) -> process::Builder {
    process::Builder::new(label)
        .call_timeout(WAIT)
        .shutdown_timeout(Duration::from_secs(5))
}

/// Spawns `script` under `label` with newline framing.
pub fn spawn(router: &Router, label: &str, script: &str, args: &[&str]) -> Child {
    builder(label)
        .spawn(router, python(script, args, Framing::Lines))
        .expect("python3 starts")
}

/// `fut`, or a panic after [`WAIT`].
pub async fn timeout<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(WAIT, fut)
        .await
        .expect("timed out waiting")
}

/// Polls `check` every 10 ms until it holds, or panics after [`WAIT`].
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The first `REPORT {json}` line on a child's captured stderr.
pub async fn stderr_report(child: &Child) -> Value {
    let mut lines = child.take_stderr().expect("stderr is captured");
    loop {
        let line = timeout(lines.next_line())
            .await
            .expect("the child reports before its stderr ends");
        if let Some(json) = line.strip_prefix("REPORT ") {
            return serde_json::from_str(json).expect("the report is JSON");
        }
        eprintln!("child stderr: {line}");
    }
}

/// Asks a child running `echo.py` to call the core's `method` and returns the core's reply to
/// it (the whole JSON-RPC reply object).
pub async fn proxy(child: &Child, method: &str, params: Value) -> Value {
    timeout(child.call("proxy", json!({ "method": method, "params": params })))
        .await
        .expect("the child answers")
}

/// Asks a child running `echo.py` to write `text` as one frame; returns the core's reply.
pub async fn raw(child: &Child, text: &str) -> Value {
    timeout(child.call("raw", json!({ "text": text })))
        .await
        .expect("the child answers")
}

/// The JSON-RPC error code of a reply.
pub fn code(reply: &Value) -> i64 {
    reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error reply: {reply}"))
}

/// A `steady.py` child under `label`: the well-behaved neighbour of a faulty child.
pub struct Steady {
    pub child: Child,
    /// How many calls it had made when last asked.
    seen: u64,
}

impl Steady {
    /// Spawns it and waits until it is busy calling the core.
    pub async fn spawn(router: &Router, label: &str) -> Steady {
        let mut steady = Steady {
            child: spawn(router, label, "steady.py", &[]),
            seen: 0,
        };
        steady.progress(10).await;
        steady
    }

    /// Waits until it has made `more` calls since last asked.
    pub async fn progress(&mut self, more: u64) {
        let target = self.seen + more;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let sent: u64 = timeout(self.child.call("progress", ()))
                .await
                .expect("the steady child answers");
            self.seen = sent;
            if sent >= target {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the steady child is stuck at {sent} calls"
            );
            pause(10).await;
        }
    }

    /// Checks that it is still served (`more` calls after the fault) and lost nothing: every
    /// request answered, ids and results matched. Then shuts it down.
    pub async fn finish(mut self, more: u64) {
        self.progress(more).await;
        let seen: Value = timeout(self.child.call("stop", ()))
            .await
            .expect("the steady child answers");
        assert_eq!(seen["bad"], json!([]), "{seen}");
        assert_eq!(seen["sent"], seen["answered"], "{seen}");
        let exit = timeout(self.child.shutdown()).await;
        assert!(exit.success(), "{exit}");
    }
}

/// Lets the steady child work for a moment.
pub async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Spawns with stderr captured.
pub fn spawn_captured(
    router: &Router,
    label: &str,
    script: &str,
    args: &[&str],
    framing: Framing,
) -> Child {
    builder(label)
        .framing(framing)
        .stderr(Stderr::Capture)
        .spawn(router, python(script, args, framing))
        .expect("python3 starts")
}
