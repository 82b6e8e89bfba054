//! Abuse over stdio from a child holding a small grant: a reply nested too deep, and a batch of
//! blocking work. The children are short Python programs given inline (standard library only).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::process::{self, CallError, Stderr};
use gatehouse::{command, commands, Acl, Capability, Router, State};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

/// Counts what runs.
#[derive(Default)]
struct Work {
    running: AtomicUsize,
    most_running: AtomicUsize,
    started: AtomicUsize,
}

/// Blocking work of about two milliseconds.
#[command(blocking)]
fn list_notes(work: State<'_, Arc<Work>>) -> u32 {
    let now = work.running.fetch_add(1, Ordering::SeqCst) + 1;
    work.started.fetch_add(1, Ordering::SeqCst);
    work.most_running.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(2));
    work.running.fetch_sub(1, Ordering::SeqCst);
    7
}

fn router() -> (Router, Arc<Work>) {
    let work = Arc::new(Work::default());
    let acl = Acl::builder()
        .commands(["list_notes"])
        .capability(
            Capability::builder("reader")
                .windows(["reader"])
                .allow(["list_notes"]),
        )
        .build()
        .expect("valid ACL");
    let router = Router::builder(acl)
        .commands(commands![list_notes])
        .manage(Arc::clone(&work))
        .build()
        .expect("valid router");
    (router, work)
}

fn python(script: &str, args: &[&str]) -> Command {
    let mut command = Command::new("python3");
    command
        .arg("-c")
        .arg(script)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// Answers the core's first call with a result nested 100 deep, then writes every further line
/// it receives to the file named by its argument, for a second.
const DEEP_REPLIER: &str = r#"
import json, sys, select, time
request = json.loads(sys.stdin.readline())
deep = "[" * 100 + "]" * 100
sys.stdout.write('{"jsonrpc":"2.0","id":%d,"result":%s}\n' % (request["id"], deep))
sys.stdout.flush()
seen = open(sys.argv[1], "w")
end = time.time() + 1.0
while time.time() < end:
    ready, _, _ = select.select([sys.stdin], [], [], 0.05)
    if ready:
        line = sys.stdin.readline()
        if not line:
            break
        seen.write(line)
        seen.flush()
"#;

/// Defect: a child's reply deeper than `max_depth` was dropped and then *answered* with a
/// `-32006` error under the reply's id (a response must never be answered), and the core's call
/// waited for its whole timeout.
#[tokio::test]
async fn a_reply_nested_too_deep_fails_its_call_at_once_and_is_not_answered() {
    let (router, _work) = router();
    let seen = std::env::temp_dir().join(format!("gatehouse-deep-reply-{}", std::process::id()));
    let seen_arg = seen.to_string_lossy().into_owned();
    let child = process::Builder::new("reader")
        .call_timeout(Duration::from_secs(30))
        .stderr(Stderr::Inherit)
        .spawn(&router, python(DEEP_REPLIER, &[&seen_arg]))
        .expect("python3 starts");
    let start = Instant::now();
    let outcome = tokio::time::timeout(WAIT, child.call::<Value>("ping", ()))
        .await
        .expect("the call ends before the test's timeout");
    let took = start.elapsed();
    match outcome {
        Err(CallError::Limit(error)) => {
            assert_eq!(error.code().code(), gatehouse::limits::NESTING_TOO_DEEP);
        }
        other => panic!("expected the call to fail on the depth limit, got {other:?}"),
    }
    assert!(
        took < Duration::from_secs(10),
        "the call waited {took:?}, as for its timeout"
    );
    let exit = tokio::time::timeout(WAIT, child.exited())
        .await
        .expect("exits");
    assert!(exit.success(), "{exit}");
    let written = std::fs::read_to_string(&seen).unwrap_or_default();
    let _ = std::fs::remove_file(&seen);
    assert_eq!(
        written, "",
        "the core answered the child's reply: {written}"
    );
}

/// Sends one batch of 200 blocking calls, prints the reply's outcome counts as JSON on stderr.
const BATCH_SENDER: &str = r#"
import json, sys
batch = [{"jsonrpc": "2.0", "id": i, "method": "list_notes"} for i in range(200)]
sys.stdout.write(json.dumps(batch) + "\n")
sys.stdout.flush()
reply = json.loads(sys.stdin.readline())
codes = {}
for entry in reply:
    key = str(entry["error"]["code"]) if "error" in entry else "result"
    codes[key] = codes.get(key, 0) + 1
sys.stderr.write("REPORT " + json.dumps(codes) + "\n")
"#;

/// Defect: 200 blocking entries of one batch all ran at once over stdio.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_blocking_work_takes_turns() {
    let (router, work) = router();
    let limits = process::Limits::default();
    let child = process::Builder::new("reader")
        .stderr(Stderr::Capture)
        .limits(limits.clone())
        .spawn(&router, python(BATCH_SENDER, &[]))
        .expect("python3 starts");
    let mut lines = child.take_stderr().expect("captured");
    let report: Value = loop {
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("a report in time")
            .expect("a report before stderr ends");
        if let Some(json) = line.strip_prefix("REPORT ") {
            break serde_json::from_str(json).expect("JSON");
        }
    };
    assert_eq!(report["result"], 64, "{report}");
    assert_eq!(report["-32007"], 136, "{report}");
    assert_eq!(work.started.load(Ordering::SeqCst), 64);
    let most = work.most_running.load(Ordering::SeqCst);
    assert!(
        most <= limits.max_blocking,
        "{most} blocking bodies ran at once (limit {})",
        limits.max_blocking
    );
    let _ = tokio::time::timeout(WAIT, child.exited()).await;
}
