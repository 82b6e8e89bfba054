//! Abuse of events from a child process holding a small grant (`plugin`: read-only, plus
//! `core:event:allow-listen`): it registers 20 000 listeners one per frame, then stops reading,
//! beside an honest caller of the core (`main`, connected in process: what it measures is the
//! core itself) that reads and writes (each write emits the event the child listens to).
//! Defect: such a child wrote 107 MB of log in 25 s and delayed the core's timers by 300–500 ms.
//! Loopback only (pipes), every loop bounded.

#[path = "abuse_common/warnings.rs"]
mod warnings;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::process::{self, Stderr};
use gatehouse::{
    command, commands, Acl, Caller, CallerInfo, Capability, Emitter, Outbound, Router, State,
};
use serde_json::{json, Value};
use warnings::Warnings;

const LISTEN: &str = "plugin:event|listen";
const NOTE_CHANGED: &str = "note-changed";
const LISTENS: u64 = 20_000;
const SAMPLES: usize = 200;
const WAIT: Duration = Duration::from_secs(20);

/// The unloaded p99 used as the baseline is at least this: an in-process call takes tens of
/// microseconds, but the two cores shared with other builds preempt a thread for milliseconds
/// now and then.
const NOISE_FLOOR: Duration = Duration::from_millis(2);

/// The notes.
#[derive(Default)]
struct Notes(std::sync::Mutex<std::collections::HashMap<String, String>>);

#[command]
fn read_note(notes: State<'_, Notes>, name: String) -> Option<String> {
    notes.0.lock().ok()?.get(&name).cloned()
}

#[command]
fn write_note(notes: State<'_, Notes>, events: Emitter, name: String, text: String) -> bool {
    let new = notes
        .0
        .lock()
        .map(|mut n| n.insert(name.clone(), text).is_none())
        .unwrap_or(false);
    let _ = events.emit(NOTE_CHANGED, &name);
    new
}

fn router() -> Arc<Router> {
    let acl = Acl::builder()
        .commands(["read_note", "write_note", LISTEN])
        .capability(Capability::builder("main").windows(["main"]).allow([
            "read_note",
            "write_note",
            LISTEN,
        ]))
        .capability(
            Capability::builder("plugin")
                .windows(["plugin"])
                .allow(["read_note", LISTEN]),
        )
        .build()
        .expect("valid ACL");
    let router = Router::builder(acl)
        .commands(commands![read_note, write_note])
        .manage(Notes::default())
        .build()
        .expect("valid router");
    Arc::new(router)
}

/// p99s of the honest caller's read and write.
#[derive(Debug, Clone, Copy)]
struct Latency {
    read: Duration,
    write: Duration,
}

async fn latency(router: &Router, main: &Caller) -> Latency {
    let mut reads = Vec::with_capacity(SAMPLES);
    let mut writes = Vec::with_capacity(SAMPLES);
    let read = br#"{"jsonrpc":"2.0","id":1,"method":"read_note","params":{"name":"a"}}"#;
    let write =
        br#"{"jsonrpc":"2.0","id":2,"method":"write_note","params":{"name":"b","text":"x"}}"#;
    for _ in 0..SAMPLES {
        for (request, times) in [(&read[..], &mut reads), (&write[..], &mut writes)] {
            let start = Instant::now();
            let reply = router.handle(main, request).await.expect("a reply");
            times.push(start.elapsed());
            let reply: Value = serde_json::from_slice(&reply).expect("JSON");
            assert!(reply.get("result").is_some(), "{reply}");
        }
    }
    let p99 = |mut times: Vec<Duration>| {
        times.sort();
        times[(times.len() * 99).div_ceil(100) - 1]
    };
    Latency {
        read: p99(reads),
        write: p99(writes),
    }
}

/// [`latency`] up to three times, until within 3× of `unloaded` (floored at [`NOISE_FLOOR`]):
/// other builds on the machine put a slow round in any run, an attack slows every round.
async fn latency_within(router: &Router, main: &Caller, unloaded: Latency) -> Latency {
    let mut best: Option<Latency> = None;
    for _ in 0..3 {
        let measured = latency(router, main).await;
        let best = best.get_or_insert(measured);
        best.read = best.read.min(measured.read);
        best.write = best.write.min(measured.write);
        if bounded(unloaded, *best) {
            break;
        }
    }
    best.expect("a round")
}

fn bounded(unloaded: Latency, loaded: Latency) -> bool {
    loaded.read <= unloaded.read.max(NOISE_FLOOR) * 3
        && loaded.write <= unloaded.write.max(NOISE_FLOOR) * 3
}

fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(0)
        * 4096
}

/// How late a 5 ms timer fires, at worst, over `during`.
async fn timer_lateness(during: Duration) -> Duration {
    let end = Instant::now() + during;
    let mut worst = Duration::ZERO;
    while Instant::now() < end {
        let start = Instant::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        worst = worst.max(start.elapsed().saturating_sub(Duration::from_millis(5)));
    }
    worst
}

fn flooder() -> Command {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "children",
        "listener_flood.py",
    ]
    .iter()
    .collect();
    let mut command = Command::new("python3");
    command
        .arg(path)
        .arg(LISTENS.to_string())
        .arg(NOTE_CHANGED)
        .arg("20")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_registering_twenty_thousand_listeners() {
    let warnings = Warnings::installed();
    let router = router();
    let (outbound, mut events) = Outbound::channel(1024);
    let main = router.connect(CallerInfo::local("main"), outbound);
    // The honest caller reads its events.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let listening = json!({"jsonrpc": "2.0", "id": 1, "method": LISTEN,
        "params": {"event": NOTE_CHANGED, "handler": "__CHANNEL__:1"}});
    router
        .handle(&main, listening.to_string().as_bytes())
        .await
        .expect("a reply");
    let unloaded = latency(&router, &main).await;
    let unloaded_timer = timer_lateness(Duration::from_millis(200)).await;
    let before = rss();
    let logged = warnings.snapshot();
    let started = Instant::now();

    let child = process::Builder::new("plugin")
        .stderr(Stderr::Capture)
        .shutdown_timeout(Duration::from_millis(100))
        .spawn(&router, flooder())
        .expect("python3 starts");
    let mut stderr = child.take_stderr().expect("captured");
    let (flooding, late) = tokio::join!(
        latency_within(&router, &main, unloaded),
        timer_lateness(Duration::from_millis(500))
    );
    let report: Value = loop {
        let line = tokio::time::timeout(WAIT, stderr.next_line())
            .await
            .expect("the child reports in time")
            .expect("the child reports before its stderr ends");
        if let Some(json) = line.strip_prefix("REPORT ") {
            break serde_json::from_str(json).expect("JSON");
        }
    };
    // The child holds its listeners and reads nothing; every write emits to them.
    let (holding, late_holding) = tokio::join!(
        latency_within(&router, &main, unloaded),
        timer_lateness(Duration::from_millis(500))
    );
    let peak = rss();
    let elapsed = started.elapsed();
    child.shutdown().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = latency_within(&router, &main, unloaded).await;
    let since = logged;
    let logged = warnings.since(&since);
    eprintln!(
        "unloaded {unloaded:?} (timers {unloaded_timer:?} late); flooding {flooding:?} (timers \
         {late:?} late); holding {holding:?} (timers {late_holding:?} late); after {after:?}; \
         RSS +{} KiB; {logged} warnings in {elapsed:?}; the child's listens were answered {report}",
        peak.saturating_sub(before) >> 10
    );

    warnings.assert_rate_limited(&since, elapsed);
    assert_eq!(report["granted"], 256, "{report}");
    assert_eq!(report["last"], -32009, "{report}");
    assert_eq!(
        report["answered"], LISTENS,
        "every listen was answered: {report}"
    );
    for (what, loaded) in [
        ("while the child registers listeners", flooding),
        ("while the child holds its listeners", holding),
        ("a second after the child left", after),
    ] {
        assert!(
            bounded(unloaded, loaded),
            "{what}: {loaded:?} against {unloaded:?} unloaded"
        );
    }
    // Floored at 50 ms: other builds on the machine delay a timer by tens of milliseconds now
    // and then; the defect delayed them by 300–500 ms.
    let timers = unloaded_timer.max(Duration::from_millis(50)) * 3;
    assert!(
        late.max(late_holding) <= timers,
        "timers fired {:?} late (bound {timers:?})",
        late.max(late_holding)
    );
    assert!(
        peak.saturating_sub(before) <= 64 << 20,
        "the core grew by {} MiB",
        peak.saturating_sub(before) >> 20
    );
}
