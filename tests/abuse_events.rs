//! Abuse of events from a window holding a real but small grant (`viewer`: read-only, plus
//! `core:event:allow-listen`), over WebSocket, beside an honest window (`main`) that reads,
//! writes (each write emits `note-changed`) and listens. Under each attack a connection's
//! listeners stay within `max_listeners`, the server's RSS grows by at most 64 MiB, no warning's
//! call site logs faster than the runtime's rate limit, and the honest p99s stay within 3× of
//! their unloaded values; a second after the attacker leaves, the honest caller is back to
//! normal. Loopback only, every loop bounded, one test at a time (`abuse_common::serial`).
//!
//! What a flood of frames costs by itself — reading, parsing and answering them — is the
//! engine's, and `tests/abuse.rs` bounds it. While listens flood in, these tests hold the honest
//! caller within 3× of its unloaded p99 or of its p99 under the same flood of plain reads,
//! measured in the same test, whichever is more: they tell what listening adds.

mod abuse_common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use abuse_common::*;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use gatehouse::ws::Limits;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// The code of a `listen` over the limit (`gatehouse_runtime::limits::TOO_MANY_LISTENERS`).
const TOO_MANY_LISTENERS: i64 = -32009;

/// How many listens a probe sends at most (see [`Flood::probe`]).
const PROBES: u64 = 300;

/// What an attacker's connections were answered: listeners granted, refusals by code.
#[derive(Debug, Default)]
struct Answers {
    granted: u64,
    refused: BTreeMap<i64, u64>,
    /// The most listeners one connection was granted.
    most: u64,
    /// The code of the last refusal read.
    last_code: Option<i64>,
}

impl Answers {
    fn add(&mut self, reply: &Value) {
        match reply {
            Value::Array(entries) => entries.iter().for_each(|e| self.add(e)),
            // Event messages (the honest window's writes) are not answers.
            reply if reply.get("id").is_none() => {}
            // A listener's id.
            reply if reply["result"].is_u64() => self.granted += 1,
            reply if reply.get("result").is_some() => {}
            reply => {
                let code = reply["error"]["code"].as_i64().unwrap_or(0);
                *self.refused.entry(code).or_default() += 1;
                self.last_code = Some(code);
            }
        }
    }

    /// How many requests `reply` answers.
    fn count(reply: &Value) -> u64 {
        match reply {
            Value::Array(entries) => entries.len() as u64,
            reply if reply.get("id").is_none() => 0,
            _ => 1,
        }
    }

    fn merge(&mut self, other: Answers) {
        self.granted += other.granted;
        self.most = self.most.max(other.granted);
        for (code, n) in other.refused {
            *self.refused.entry(code).or_default() += n;
        }
        self.last_code = other.last_code.or(self.last_code);
    }
}

type Sink = SplitSink<Ws, Message>;
type Stream = SplitStream<Ws>;

/// Reads replies on `rx` until `expected` (which may still change) came, or nothing came for
/// five seconds.
async fn read_answers(mut rx: Stream, expected: Arc<AtomicU64>) -> (Answers, Stream) {
    let mut answers = Answers::default();
    let mut read = 0;
    while read < expected.load(Ordering::SeqCst) {
        match tokio::time::timeout(Duration::from_secs(5), rx.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Ok(reply) = serde_json::from_str::<Value>(&text) {
                    read += Answers::count(&reply);
                    answers.add(&reply);
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) | Err(_) => break,
        }
    }
    (answers, rx)
}

/// A flood from one connection: `frame(n)` (its text and how many requests it holds) for
/// n = 0, 1, …: `min` frames, then more while the test measures, `max` at most.
#[derive(Clone, Copy)]
struct Flood {
    frame: fn(u64) -> (String, u64),
    min: u64,
    max: u64,
    /// After the flood, listens sent alone, each once the previous one was answered, until one
    /// is refused: the connection then holds exactly its limit, whatever refused the flood.
    probe: bool,
}

/// The defect's flood: 40 frames of 1 024 listens (and more while the test measures).
const BATCHES_OF_LISTENS: Flood = Flood {
    frame: listen_batch,
    min: 40,
    max: 2_000,
    probe: true,
};

/// The same frames, of reads.
const BATCHES_OF_READS: Flood = Flood {
    frame: read_batch,
    probe: false,
    ..BATCHES_OF_LISTENS
};

/// Listens one per frame: 5 000, and more while the test measures.
const SINGLE_LISTENS: Flood = Flood {
    frame: listen_one,
    min: 5_000,
    max: 50_000,
    probe: true,
};

/// The same frames, of reads.
const SINGLE_READS: Flood = Flood {
    frame: read_one,
    probe: false,
    ..SINGLE_LISTENS
};

/// A read of note `a`.
fn read(id: u64) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "read_note", "params": { "name": "a" } })
}

/// A batch of 1 024 listens of `note-changed`.
fn listen_batch(n: u64) -> (String, u64) {
    let batch: Vec<Value> = (0..1024)
        .map(|i| listen(n * 1024 + i, NOTE_CHANGED))
        .collect();
    (Value::Array(batch).to_string(), 1024)
}

/// A batch of 1 024 reads.
fn read_batch(n: u64) -> (String, u64) {
    let batch: Vec<Value> = (0..1024).map(|i| read(n * 1024 + i)).collect();
    (Value::Array(batch).to_string(), 1024)
}

/// One listen, of one of fifty events (so that no one event's list holds them all).
fn listen_one(id: u64) -> (String, u64) {
    (listen(id, &format!("e{}", id % 50)).to_string(), 1)
}

/// One listen of `note-changed`.
fn listen_changes(id: u64) -> (String, u64) {
    (listen(id, NOTE_CHANGED).to_string(), 1)
}

/// One read.
fn read_one(id: u64) -> (String, u64) {
    (read(id).to_string(), 1)
}

/// Where and as whom the attacker connects.
type Target = (std::net::SocketAddr, String, String);

/// Opens the attacker's connection and sends `flood`, reading the answers as they come.
/// Returns them once all came, with the connection, which nobody reads from then on.
async fn flood(target: Target, flood: Flood, sending: &AtomicBool) -> (Answers, Sink, Stream) {
    let (addr, origin, token) = target;
    let (mut tx, rx) = open_as(addr, &origin, &token).await.split();
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let reader = tokio::spawn(read_answers(rx, Arc::clone(&expected)));
    let mut sent = 0;
    for n in 0..flood.max {
        if n >= flood.min && !sending.load(Ordering::SeqCst) {
            break;
        }
        let (text, requests) = (flood.frame)(n);
        let write = tokio::time::timeout(Duration::from_secs(5), tx.send(Message::text(text)));
        if !matches!(write.await, Ok(Ok(()))) {
            break;
        }
        sent += requests;
    }
    expected.store(sent, Ordering::SeqCst);
    let (mut answers, mut rx) = reader.await.expect("reader");
    if flood.probe {
        for id in 0..PROBES {
            let text = listen(u64::MAX - id, NOTE_CHANGED).to_string();
            if tx.send(Message::text(text)).await.is_err() {
                break;
            }
            let (probed, rest) = read_answers(rx, Arc::new(AtomicU64::new(1))).await;
            rx = rest;
            answers.granted += probed.granted;
            answers.last_code = probed.last_code;
            if probed.granted == 0 {
                break;
            }
        }
    }
    answers.most = answers.granted;
    (answers, tx, rx)
}

/// An attacker on a thread and runtime of its own (as another process would be).
struct Attacker {
    sending: Arc<AtomicBool>,
    report: mpsc::Receiver<Answers>,
    leave: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Attacker {
    /// Runs `attack` (which goes on while its flag is set), reports its answers, then holds its
    /// connections open, reading nothing, until told to leave (at most 25 s).
    fn spawn<F, Fut>(attack: F) -> Attacker
    where
        F: FnOnce(Arc<AtomicBool>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = (Answers, Vec<Box<dyn Send>>)>,
    {
        let sending = Arc::new(AtomicBool::new(true));
        let (report_tx, report) = mpsc::channel();
        let (leave, stay) = mpsc::channel::<()>();
        let flag = Arc::clone(&sending);
        let thread = std::thread::spawn(move || {
            let runtime = attacker_runtime();
            let (answers, connections) = runtime.block_on(attack(flag));
            let _ = report_tx.send(answers);
            let _ = stay.recv_timeout(Duration::from_secs(25));
            drop(connections);
            drop(runtime);
        });
        Attacker {
            sending,
            report,
            leave,
            thread,
        }
    }

    /// Stops sending and waits (without blocking the test's runtime) for the answers.
    async fn answers(&self) -> Answers {
        self.sending.store(false, Ordering::SeqCst);
        let deadline = Instant::now() + WAIT;
        loop {
            match self.report.try_recv() {
                Ok(answers) => return answers,
                Err(mpsc::TryRecvError::Empty) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => panic!("no report from the attacker: {e}"),
            }
        }
    }

    /// Closes the attacker's connections.
    fn leave(self) {
        drop(self.leave);
        self.thread.join().expect("attacker thread");
    }
}

fn target(app: &App) -> Target {
    (
        app.server.local_addr(),
        app.server.origin().to_owned(),
        app.viewer.token().to_owned(),
    )
}

/// The honest window, listening to `note-changed`, with a note to read.
async fn honest(app: &App) -> Ws {
    let mut main = app.open(&app.main).await;
    let listening = json!({ "event": NOTE_CHANGED, "handler": "__CHANNEL__:1" });
    let reply = call(&mut main, 1, LISTEN, listening).await;
    assert!(reply["result"].is_u64(), "{reply}");
    let note = json!({ "name": "a", "text": "hello" });
    let reply = call(&mut main, 2, "write_note", note).await;
    assert!(reply.get("result").is_some(), "{reply}");
    main
}

/// The honest caller's latency while `what` floods in from `viewer`; the attacker's answers;
/// the attacker, still connected, reading nothing.
async fn under_flood(
    app: &App,
    main: &mut Ws,
    first: u64,
    unloaded: Latency,
    what: Flood,
) -> (Latency, Answers, Attacker) {
    let target = target(app);
    let attacker = Attacker::spawn(move |sending| async move {
        let (answers, tx, rx) = flood(target, what, &sending).await;
        (answers, vec![Box::new(tx) as Box<dyn Send>, Box::new(rx)])
    });
    // Let the flood start.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let loaded = latency_within(main, first, unloaded).await;
    let answers = attacker.answers().await;
    (loaded, answers, attacker)
}

/// The control flood, then the attack beside the honest window, with everything asserted that
/// does not depend on the kind of flood; returns the honest p99s (unloaded, under the flood,
/// while the attacker holds its listeners) and the attacker's answers.
async fn flood_beside_honest(
    control: Flood,
    attack: Flood,
) -> (Latency, Latency, Latency, Answers) {
    let warnings = Warnings::installed();
    let limits = Limits::default();
    let max = limits.max_listeners as u64;
    let app = App::start(limits).await;
    let mut main = honest(&app).await;
    let unloaded = latency(&mut main, 1_000).await;

    let (like, _, attacker) = under_flood(&app, &mut main, 10_000, unloaded, control).await;
    attacker.leave();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let before = rss();
    let logged = warnings.snapshot();
    let started = Instant::now();
    let (loaded, answers, attacker) = under_flood(&app, &mut main, 20_000, unloaded, attack).await;
    let mut peak = rss();
    // The attacker holds its listeners and reads nothing; every write emits to them.
    let holding = latency_within(&mut main, 30_000, unloaded).await;
    peak = peak.max(rss());
    let elapsed = started.elapsed();
    attacker.leave();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = latency_within(&mut main, 40_000, unloaded).await;
    let since = logged;
    let logged = warnings.since(&since);
    eprintln!(
        "unloaded {unloaded:?}; the same flood of reads {like:?}; the flood of listens \
         {loaded:?}; holding {holding:?}; after {after:?}; RSS +{} KiB; {logged} warnings in \
         {elapsed:?}; the listens were answered {answers:?}",
        peak.saturating_sub(before) >> 10
    );

    warnings.assert_rate_limited(&since, elapsed);
    assert_eq!(
        answers.granted, max,
        "one connection's listeners: {answers:?}"
    );
    assert_eq!(
        answers.last_code,
        Some(TOO_MANY_LISTENERS),
        "a listen over the limit, sent alone: {answers:?}"
    );
    assert_latency_bounded_or_like("while the attacker floods listens", unloaded, like, loaded);
    assert_latency_bounded("while the attacker holds its listeners", unloaded, holding);
    assert_memory_bounded("under the listen flood", before, peak);
    assert_latency_bounded("a second after the attacker left", unloaded, after);
    // The honest listener still hears its writes.
    assert!(app.router.emit(NOTE_CHANGED, "a").expect("emits") >= 1);
    (unloaded, loaded, holding, answers)
}

/// Defect: registering ran a `retain` over all listeners under the hub's lock, `emit` held the
/// lock across every listener and logged a warning per full queue: 40 frames of 1 024 listens
/// from `viewer` made `main`'s writes ~200× slower and wrote 13 MB of log per 3 saves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_by_the_thousand_in_batches_from_a_read_only_window() {
    let _serial = serial().await;
    flood_beside_honest(BATCHES_OF_READS, BATCHES_OF_LISTENS).await;
}

/// The limit holds however the listens arrive: one per frame, thousands of frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_one_at_a_time_in_many_frames() {
    let _serial = serial().await;
    let (_, _, _, answers) = flood_beside_honest(SINGLE_READS, SINGLE_LISTENS).await;
    let refused = answers.refused.get(&TOO_MANY_LISTENERS).copied();
    assert!(
        refused >= Some(SINGLE_LISTENS.min - Limits::default().max_listeners as u64),
        "{answers:?}"
    );
}

/// Connections of the window (half of the 16 it may open) each hold their limit of listeners,
/// none reading: each honest write emits to thousands of listeners whose queues are full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_holding_listeners_that_never_read() {
    const CONNECTIONS: u64 = 8;
    let _serial = serial().await;
    let warnings = Warnings::installed();
    let limits = Limits::default();
    let max = limits.max_listeners as u64;
    let app = App::start(limits).await;
    let mut main = honest(&app).await;
    let unloaded = latency(&mut main, 1_000).await;
    let before = rss();

    let target = target(&app);
    let attacker = Attacker::spawn(move |sending| async move {
        let each = Flood {
            frame: listen_changes,
            min: max,
            max,
            probe: true,
        };
        let mut all = Answers::default();
        let mut held: Vec<Box<dyn Send>> = Vec::new();
        for _ in 0..CONNECTIONS {
            let (answers, tx, rx) = flood(target.clone(), each, &sending).await;
            all.merge(answers);
            held.push(Box::new(tx));
            held.push(Box::new(rx));
        }
        (all, held)
    });
    let answers = attacker.answers().await;
    let logged = warnings.snapshot();
    let started = Instant::now();
    // While the attacker's queues still take frames, each emit delivers to all of its
    // listeners: the amplification of a window holding `max_connections_per_label ×
    // max_listeners` listeners, measured here, not bounded. Emit until the queues are full.
    let mut filling = Vec::new();
    for _ in 0..2_000 {
        let start = Instant::now();
        let delivered = app.router.emit(NOTE_CHANGED, "a").expect("emits");
        filling.push((start.elapsed(), delivered));
        if delivered <= 1 {
            break;
        }
    }
    // Now every write emits to listeners whose queues are full.
    let holding = latency_within(&mut main, 10_000, unloaded).await;
    let start = Instant::now();
    for _ in 0..100 {
        app.router.emit(NOTE_CHANGED, "a").expect("emits");
    }
    let full = start.elapsed() / 100;
    let peak = rss();
    let elapsed = started.elapsed();
    attacker.leave();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = latency_within(&mut main, 30_000, unloaded).await;
    let since = logged;
    let logged = warnings.since(&since);
    let (took, delivered) = filling.first().copied().unwrap_or_default();
    eprintln!(
        "unloaded {unloaded:?}, holding {holding:?}, after {after:?}; {} emits until the \
         attacker's queues were full, the first {took:?} for {delivered} listeners; an emit to \
         {} listeners with full queues {full:?}; RSS +{} KiB; {logged} warnings in {elapsed:?}; \
         the listens were answered {answers:?}",
        filling.len(),
        answers.granted,
        peak.saturating_sub(before) >> 10
    );

    warnings.assert_rate_limited(&since, elapsed);
    assert_eq!(answers.most, max, "{answers:?}");
    assert_eq!(answers.granted, CONNECTIONS * max, "{answers:?}");
    assert!(
        filling.last().is_some_and(|&(_, d)| d <= 1),
        "the attacker's queues never filled: {:?}",
        filling.last()
    );
    assert_latency_bounded(
        "while listeners that never read are held",
        unloaded,
        holding,
    );
    assert_memory_bounded("while listeners that never read are held", before, peak);
    assert_latency_bounded("a second after the attacker left", unloaded, after);
}
