//! The WebSocket transport against jsonrpsee's WebSocket server and against the transport's
//! physical floor, all on loopback in this process, driven by one load generator in the same run.
//!
//! The three servers serve the same two commands, `add(a: i64, b: i64) -> i64` and
//! `echo(text: String) -> String` (called with a 64 KiB string), with named params:
//!
//! - **gatehouse**: `gatehouse::ws::Server` with default limits; every connection carries the
//!   window token of `main` and the server's own `Origin`, so each request goes through the
//!   whole path: frame, depth limit, in-flight permit, `Router::handle` (envelope, name lookup,
//!   ACL bit test for the label the token chose, arguments, call, reply), the outbound queue,
//!   the writer task;
//! - **jsonrpsee**: `jsonrpsee::server::Server` (WebSocket only, default settings) with an
//!   `RpcModule` whose methods parse the same params struct;
//! - **floor**: a hand-written tokio-tungstenite server (`support/ws_floor.rs`) that answers
//!   the same frames with serde_json and nothing else: no ACL, limits or events, one task per
//!   connection, the same WebSocket buffer sizes as Gatehouse. What Gatehouse costs above it is
//!   what Gatehouse does per request.
//!
//! The servers run on one multi-thread tokio runtime (the "server runtime"); the load
//! generator, a tokio-tungstenite client, runs on a second multi-thread runtime of its own. Each
//! connection sends the same bytes to every server: the same URL path and query
//! (`/gatehouse/ws?token=…`, which the others ignore) and the same `Origin` header.
//!
//! - **Throughput** (criterion, `iter_custom`, one iteration = one request): 1 and 64
//!   connections, each keeping [`WINDOW`] requests in flight (a reply read, another request
//!   written; writes are flushed once per burst of replies already received).
//! - **Latency** (a plain measured section, after criterion): one connection, one request at a
//!   time, every round trip timed; p50/p99 from the sorted samples.
//! - **CPU per request**: the run time of the server runtime's threads (from
//!   `/proc/self/task/<tid>/schedstat`) per request, beside the wall time per request, for each
//!   of criterion's measured samples: the median and the spread (min–max) of the samples. What
//!   each server costs, apart from the load generator that shares the machine.
//! - **Memory** (after the latency runs): each server alone in a child process (this binary,
//!   re-executed), 1 000 connections opened as a window opens them, each asking one `add`, then
//!   idle; the child's RSS gain per connection. Then Gatehouse holds 10 000 connections at once
//!   (both processes raise their soft limit on open files to the hard limit).
//!
//! Every reply is checked before timing (as JSON); during timing, each reply's kind and length.
//! See `BENCHMARKS.md`, "WebSocket transport".

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use futures_util::{FutureExt, SinkExt, StreamExt};
use gatehouse::ws::{Limits, Server};
use gatehouse::{command, commands, Acl, Capability, Router};
use jsonrpsee::server::{ServerConfig, ServerHandle as RpseeHandle};
use jsonrpsee::RpcModule;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[path = "support/latency.rs"]
mod latency;
#[path = "support/wire.rs"]
mod wire;
#[path = "support/ws_floor.rs"]
mod ws_floor;
#[path = "support/ws_memory.rs"]
mod ws_memory;
use wire::{AddParams, EchoParams};

/// Adds.
#[command]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Returns its argument.
#[command]
fn echo(text: String) -> String {
    text
}

/// Not granted to any window: shows that the ACL is in the path.
#[command]
fn forbidden() -> i64 {
    0
}

/// Requests in flight per connection in the throughput runs (Gatehouse's default
/// `max_in_flight` is 64).
const WINDOW: usize = 32;
/// Connection counts of the throughput runs.
const CONNECTIONS: [usize; 2] = [1, 64];
const TEXT_LEN: usize = 64 * 1024;
/// Round trips per latency run (after as many again / 10 unrecorded).
const LATENCY_SMALL: usize = 20_000;
const LATENCY_LARGE: usize = 2_000;
/// Threads of each runtime: this machine has 2 vCPUs; see `BENCHMARKS.md`. Overridable with
/// `WS_BENCH_SERVER_THREADS` / `WS_BENCH_CLIENT_THREADS`.
const SERVER_THREADS: usize = 2;
const CLIENT_THREADS: usize = 2;

/// The load generator's read buffer (tungstenite's default is 128 KiB).
const CLIENT_READ_BUFFER: usize = 16 * 1024;
/// The floor server's WebSocket buffers: the sizes Gatehouse's server uses.
const FLOOR_READ_BUFFER: usize = 16 * 1024;
const FLOOR_WRITE_BUFFER: usize = 128 * 1024;
/// Idle connections of the memory run, and connections held at once.
const IDLE_CONNECTIONS: usize = 1_000;
const HELD_CONNECTIONS: usize = 10_000;
/// Criterion's measured samples per benchmark (the calls before them are its warm-up).
const SAMPLES: usize = 30;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

// ---- the two servers -----------------------------------------------------------------------

fn jsonrpsee_module() -> RpcModule<()> {
    let mut module = RpcModule::new(());
    module
        .register_method("add", |params, _, _| {
            params.parse::<AddParams>().map(|p| add(p.a, p.b))
        })
        .expect("registered");
    module
        .register_method("echo", |params, _, _| {
            params.parse::<EchoParams>().map(|p| echo(p.text))
        })
        .expect("registered");
    module
}

fn gatehouse_router() -> Router {
    let acl = Acl::builder()
        .commands(["add", "echo", "forbidden"])
        .capability(
            Capability::builder("main")
                .windows(["main"])
                .allow(["add", "echo"]),
        )
        .build()
        .expect("valid ACL");
    Router::builder(acl)
        .commands(commands![add, echo, forbidden])
        .build()
        .expect("valid router")
}

/// Where and how the load generator connects; the same for every server but the port.
#[derive(Clone)]
struct Target {
    name: &'static str,
    url: String,
    origin: String,
}

/// A running server of one kind, until dropped (or shut down).
enum Running {
    Gatehouse(gatehouse::ws::ServerHandle),
    Jsonrpsee(RpseeHandle),
    Floor(ws_floor::Floor),
}

impl Running {
    async fn shutdown(self) {
        match self {
            Running::Gatehouse(handle) => handle.shutdown().await,
            Running::Jsonrpsee(handle) => {
                let _ = handle.stop();
                handle.stopped().await;
            }
            Running::Floor(floor) => drop(floor),
        }
    }
}

/// The server kinds, in the order of every table.
const KINDS: [&str; 3] = ["gatehouse", "jsonrpsee", "floor"];

/// Starts the server `kind` on the current runtime. `many`: limits that let one window hold
/// [`HELD_CONNECTIONS`] connections.
async fn start(kind: &'static str, many: bool) -> (Target, Running) {
    match kind {
        "gatehouse" => {
            // The throughput runs open 64 connections of one window.
            let mut limits = Limits::default().max_connections_per_label(128);
            if many {
                limits = limits
                    .max_connections(HELD_CONNECTIONS + 100)
                    .max_connections_per_label(HELD_CONNECTIONS + 100);
            }
            let server = Server::builder(gatehouse_router())
                .limits(limits)
                .build()
                .await
                .expect("gatehouse server");
            let window = server.window("main");
            let url = format!(
                "ws://{}/gatehouse/ws?token={}",
                server.local_addr(),
                window.token()
            );
            let origin = server.origin().to_owned();
            let target = Target {
                name: kind,
                url,
                origin,
            };
            (target, Running::Gatehouse(server.spawn()))
        }
        "jsonrpsee" => {
            let mut config = ServerConfig::builder().ws_only();
            if many {
                config = config.max_connections(HELD_CONNECTIONS as u32 + 100);
            }
            let server = jsonrpsee::server::Server::builder()
                .set_config(config.build())
                .build("127.0.0.1:0")
                .await
                .expect("jsonrpsee server");
            let addr = server.local_addr().expect("bound");
            let target = Target {
                name: kind,
                url: format!("ws://{addr}/gatehouse/ws?token={}", "0".repeat(64)),
                origin: format!("http://{addr}"),
            };
            (target, Running::Jsonrpsee(server.start(jsonrpsee_module())))
        }
        "floor" => {
            let config = WebSocketConfig::default()
                .read_buffer_size(FLOOR_READ_BUFFER)
                .write_buffer_size(FLOOR_WRITE_BUFFER);
            let floor = ws_floor::start(config).await;
            let addr = floor.addr;
            let target = Target {
                name: kind,
                url: format!("ws://{addr}/gatehouse/ws?token={}", "0".repeat(64)),
                origin: format!("http://{addr}"),
            };
            (target, Running::Floor(floor))
        }
        other => panic!("unknown server kind `{other}`"),
    }
}

struct Servers {
    targets: Vec<Target>,
    running: Vec<Running>,
}

/// Starts every server on `rt`.
fn start_servers(rt: &Runtime) -> Servers {
    rt.block_on(async {
        let mut servers = Servers {
            targets: Vec::new(),
            running: Vec::new(),
        };
        for kind in KINDS {
            let (target, running) = start(kind, false).await;
            servers.targets.push(target);
            servers.running.push(running);
        }
        servers
    })
}

// ---- the load generator --------------------------------------------------------------------

async fn connect(target: &Target) -> Ws {
    let mut request = target
        .url
        .as_str()
        .into_client_request()
        .expect("a WebSocket URL");
    request.headers_mut().insert(
        "Origin",
        HeaderValue::from_str(&target.origin).expect("an ASCII origin"),
    );
    // tungstenite zero-fills its read buffer up to `read_buffer_size` (128 KiB by default)
    // before every read; a smaller one keeps the generator's own cost down, the same for both.
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .unwrap_or_else(|e| panic!("{}: cannot connect: {e}", target.name));
    ws
}

/// One request kind: the frame to send and what must come back.
#[derive(Clone)]
struct Case {
    name: &'static str,
    request: Message,
    expected: Value,
    /// Both servers' replies have this length (they order the members differently).
    reply_len: usize,
}

fn cases() -> [Case; 2] {
    let text: String = "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(TEXT_LEN)
        .collect();
    let add = json!({"jsonrpc": "2.0", "id": 1, "method": "add", "params": {"a": 1, "b": 2}});
    let echo = json!({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"text": text}});
    let case = |name, request: Value, result: Value| {
        let expected = json!({"jsonrpc": "2.0", "id": 1, "result": result});
        Case {
            name,
            request: Message::text(request.to_string()),
            reply_len: expected.to_string().len(),
            expected,
        }
    };
    [
        case("add", add, json!(3)),
        case("echo64k", echo, Value::String(text)),
    ]
}

/// Reads one reply and checks its kind and length (cheap enough not to weigh on the run).
async fn reply(ws: &mut Ws, case: &Case) {
    let message = ws
        .next()
        .await
        .expect("the connection stays open")
        .expect("a frame");
    check_len(&message, case);
}

fn check_len(message: &Message, case: &Case) {
    match message {
        Message::Text(text) if text.len() == case.reply_len => {}
        other => panic!("{}: unexpected reply {:.200}", case.name, other.to_string()),
    }
}

/// Sends `count` requests keeping [`WINDOW`] in flight; returns once every reply is in.
async fn pipeline(ws: &mut Ws, case: &Case, count: usize) {
    let first = count.min(WINDOW);
    for _ in 0..first {
        ws.feed(case.request.clone()).await.expect("sent");
    }
    ws.flush().await.expect("flushed");
    let mut sent = first;
    let mut received = 0;
    while received < count {
        reply(ws, case).await;
        received += 1;
        // Replies already read off the socket are taken without waiting, so one flush covers
        // the requests that replace them all.
        let mut replaced = 0;
        loop {
            if sent < count {
                ws.feed(case.request.clone()).await.expect("sent");
                sent += 1;
                replaced += 1;
            }
            if received == count {
                break;
            }
            match ws.next().now_or_never() {
                Some(message) => {
                    let message = message.expect("open").expect("a frame");
                    check_len(&message, case);
                    received += 1;
                }
                None => break,
            }
        }
        if replaced > 0 {
            ws.flush().await.expect("flushed");
        }
    }
}

/// A request count for a connection's driver, and where to say it is done.
type Job = (usize, oneshot::Sender<()>);

/// Connections to one server, each owned by a task on the client runtime that runs jobs.
struct Load {
    jobs: Vec<mpsc::UnboundedSender<Job>>,
}

impl Load {
    fn open(client: &Runtime, target: &Target, case: &Case, connections: usize) -> Self {
        let jobs = client.block_on(async {
            let mut jobs = Vec::with_capacity(connections);
            for _ in 0..connections {
                let mut ws = connect(target).await;
                let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
                let case = case.clone();
                tokio::spawn(async move {
                    while let Some((count, done)) = rx.recv().await {
                        pipeline(&mut ws, &case, count).await;
                        let _ = done.send(());
                    }
                    let _ = ws.close(None).await;
                });
                jobs.push(tx);
            }
            jobs
        });
        Self { jobs }
    }

    /// Runs `total` requests spread over the connections; the wall time.
    fn run(&self, client: &Runtime, total: u64) -> Duration {
        let n = self.jobs.len();
        let total = usize::try_from(total).expect("a count that fits");
        client.block_on(async {
            let start = Instant::now();
            let mut done = Vec::with_capacity(n);
            for (i, jobs) in self.jobs.iter().enumerate() {
                let count = total / n + usize::from(i < total % n);
                if count > 0 {
                    let (tx, rx) = oneshot::channel();
                    jobs.send((count, tx)).expect("the driver runs");
                    done.push(rx);
                }
            }
            for rx in done {
                rx.await.expect("the driver finished");
            }
            start.elapsed()
        })
    }
}

// ---- CPU time of a runtime's threads --------------------------------------------------------

/// The thread ids of one runtime's workers, to read their CPU time from `/proc`.
#[derive(Clone, Default)]
struct Threads(Arc<Mutex<Vec<String>>>);

impl Threads {
    fn runtime(&self, name: &str, workers: usize) -> Runtime {
        let threads = self.clone();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(name)
            .enable_all()
            .on_thread_start(move || {
                // `/proc/thread-self` links to `<pid>/task/<tid>`.
                if let Ok(link) = std::fs::read_link("/proc/thread-self") {
                    threads
                        .0
                        .lock()
                        .expect("not poisoned")
                        .push(link.display().to_string());
                }
            })
            .build()
            .expect("a tokio runtime")
    }

    /// Nanoseconds on a CPU so far, summed over the threads (0 where `/proc` cannot tell).
    fn cpu_ns(&self) -> u64 {
        let threads = self.0.lock().expect("not poisoned");
        threads
            .iter()
            .filter_map(|task| std::fs::read_to_string(format!("/proc/{task}/schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }
}

/// Per (case, connections, server): for each criterion call, the server CPU time and the wall
/// time per request, in nanoseconds.
#[derive(Default)]
struct Samples(BTreeMap<SampleKey, Vec<(f64, f64)>>);

/// A throughput benchmark: case, connections, server.
type SampleKey = (String, usize, &'static str);

/// The median and the spread (min, max) of the last [`SAMPLES`] values: criterion's measured
/// samples, after its warm-up calls.
fn spread(values: impl Iterator<Item = f64>) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.collect();
    let keep = v.len().min(SAMPLES);
    let mut v = v.split_off(v.len() - keep);
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some((v[v.len() / 2], v[0], v[v.len() - 1]))
}

// ---- the benchmarks ------------------------------------------------------------------------

fn env_threads(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `cargo bench` passes `--bench`; without it (`cargo test --benches`) or with `--test`,
/// criterion runs each benchmark once, and the latency and memory runs are cut short too.
fn quick() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test")
}

struct Setup {
    server_threads: Threads,
    server: Runtime,
    client: Runtime,
    servers: Servers,
    cases: [Case; 2],
}

fn setup() -> Setup {
    let server_threads = Threads::default();
    let server = server_threads.runtime(
        "server",
        env_threads("WS_BENCH_SERVER_THREADS", SERVER_THREADS),
    );
    let client = Threads::default().runtime(
        "client",
        env_threads("WS_BENCH_CLIENT_THREADS", CLIENT_THREADS),
    );
    let servers = start_servers(&server);
    let cases = cases();
    client.block_on(preflight(&servers, &cases));
    Setup {
        server_threads,
        server,
        client,
        servers,
        cases,
    }
}

/// Each server answers each case correctly, and Gatehouse refuses what `main` is not granted.
async fn preflight(servers: &Servers, cases: &[Case]) {
    for target in &servers.targets {
        let mut ws = connect(target).await;
        for case in cases {
            ws.send(case.request.clone()).await.expect("sent");
            let message = ws.next().await.expect("open").expect("a frame");
            let text = message.into_text().expect("a text frame");
            assert_eq!(text.len(), case.reply_len, "{} {}", target.name, case.name);
            let got: Value = serde_json::from_str(&text).expect("a JSON reply");
            assert_eq!(got, case.expected, "{} {}", target.name, case.name);
        }
        ws.close(None).await.expect("closed");
    }
    let mut ws = connect(&servers.targets[0]).await;
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","id":7,"method":"forbidden"}"#,
    ))
    .await
    .expect("sent");
    let text = ws
        .next()
        .await
        .expect("open")
        .expect("a frame")
        .into_text()
        .expect("text");
    assert!(
        text.contains(r#""code":-32001"#),
        "a command `main` is not granted must be refused: {text}"
    );
    ws.close(None).await.expect("closed");
}

fn throughput(c: &mut Criterion, setup: &Setup) {
    let samples = Mutex::new(Samples::default());
    for case in &setup.cases {
        for connections in CONNECTIONS {
            let mut g = c.benchmark_group(format!("ws_{}_{connections}conn", case.name));
            g.throughput(Throughput::Elements(1));
            for target in &setup.servers.targets {
                let load = Load::open(&setup.client, target, case, connections);
                g.bench_function(target.name, |b| {
                    b.iter_custom(|iters| {
                        let cpu = setup.server_threads.cpu_ns();
                        let elapsed = load.run(&setup.client, black_box(iters));
                        let cpu = setup.server_threads.cpu_ns().saturating_sub(cpu);
                        let n = iters.max(1) as f64;
                        samples
                            .lock()
                            .expect("not poisoned")
                            .0
                            .entry((case.name.to_owned(), connections, target.name))
                            .or_default()
                            .push((cpu as f64 / n, elapsed.as_nanos() as f64 / n));
                        elapsed
                    });
                });
                drop(load);
            }
            g.finish();
        }
    }
    print_cpu(&samples.lock().expect("not poisoned"));
}

fn print_cpu(samples: &Samples) {
    println!(
        "\nPer request, median [min–max] of the last {SAMPLES} criterion samples: server CPU \
         (server runtime threads) and wall time:"
    );
    println!(
        "{:<9} {:>5} {:<10} {:>26} {:>26} {:>9} {:>9}",
        "case", "conns", "server", "CPU µs", "wall µs", "CPU/floor", "wall/gh"
    );
    let mut rows: Vec<(&String, usize)> = samples.0.keys().map(|(c, n, _)| (c, *n)).collect();
    rows.dedup();
    for (case, conns) in rows {
        let stats = |name| {
            let v = samples.0.get(&(case.clone(), conns, name))?;
            Some((
                spread(v.iter().map(|s| s.0))?,
                spread(v.iter().map(|s| s.1))?,
            ))
        };
        let floor = stats("floor");
        let gatehouse = stats("gatehouse");
        for name in KINDS {
            let Some((cpu, wall)) = stats(name) else {
                continue;
            };
            let cell = |(m, lo, hi): (f64, f64, f64)| {
                format!("{:.2} [{:.2}–{:.2}]", m / 1e3, lo / 1e3, hi / 1e3)
            };
            let vs_floor = floor.map_or("-".into(), |f| format!("{:.2}×", cpu.0 / f.0 .0));
            let vs_gh = gatehouse.map_or("-".into(), |g| format!("{:.2}×", wall.0 / g.1 .0));
            println!(
                "{case:<9} {conns:>5} {name:<10} {:>26} {:>26} {vs_floor:>9} {vs_gh:>9}",
                cell(cpu),
                cell(wall)
            );
        }
    }
}

/// One connection, one request at a time: every round trip timed.
fn latency(setup: &Setup) {
    let quick = quick();
    println!("\nRound-trip latency, one connection, one request at a time:");
    latency::header("server", 10);
    for case in &setup.cases {
        let n = match (quick, case.name) {
            (true, _) => 100,
            (false, "add") => LATENCY_SMALL,
            (false, _) => LATENCY_LARGE,
        };
        for target in &setup.servers.targets {
            // On a worker of the client runtime, like the throughput drivers: `block_on`'s own
            // thread would add a hand-off from the runtime's I/O driver to every reply.
            let (to, kind) = (target.clone(), case.clone());
            let mut samples = setup
                .client
                .block_on(setup.client.spawn(async move {
                    let mut ws = connect(&to).await;
                    for _ in 0..n / 10 {
                        ws.send(kind.request.clone()).await.expect("sent");
                        reply(&mut ws, &kind).await;
                    }
                    let mut samples = Vec::with_capacity(n);
                    for _ in 0..n {
                        let start = Instant::now();
                        ws.send(kind.request.clone()).await.expect("sent");
                        reply(&mut ws, &kind).await;
                        samples.push(start.elapsed());
                    }
                    ws.close(None).await.expect("closed");
                    samples
                }))
                .expect("the latency run");
            latency::row(case.name, target.name, 10, &mut samples);
        }
    }
}

/// Memory per idle connection of each server, then Gatehouse holding many connections.
fn memory(client: &Runtime) {
    let (idle, held) = if quick() {
        (100, 1_000)
    } else {
        (IDLE_CONNECTIONS, HELD_CONNECTIONS)
    };
    let files = ws_memory::raise_fd_limit();
    println!(
        "\nServer RSS per idle connection ({idle} connections, each after one `add`; server \
         alone in a child process):"
    );
    for kind in KINDS {
        let server = ws_memory::ChildServer::spawn(kind);
        let (per, total) = client.block_on(ws_memory::per_connection(&server, idle));
        println!(
            "{kind:<10} {:>8.1} KiB per connection   (RSS {:.1} MiB with them open)",
            per / 1024.0,
            total as f64 / (1 << 20) as f64
        );
    }
    println!("\nGatehouse holding {held} connections at once (open-file limit {files}):");
    let server = ws_memory::ChildServer::spawn("gatehouse");
    let (per, total) = client.block_on(ws_memory::per_connection(&server, held));
    println!(
        "gatehouse  {:>8.1} KiB per connection   (RSS {:.1} MiB with {held} open, every \
         hundredth answered while all were open)",
        per / 1024.0,
        total as f64 / (1 << 20) as f64
    );
}

/// In the child process of the memory runs: one server, with limits for many connections,
/// until the parent closes stdin.
fn child(kind: &str) {
    ws_memory::raise_fd_limit();
    let kind = KINDS
        .into_iter()
        .find(|k| *k == kind)
        .unwrap_or_else(|| panic!("unknown server kind `{kind}`"));
    let rt = Threads::default().runtime(
        "server",
        env_threads("WS_BENCH_SERVER_THREADS", SERVER_THREADS),
    );
    let (target, running) = rt.block_on(start(kind, true));
    println!("{} {}", target.url, target.origin);
    ws_memory::wait_for_parent();
    rt.block_on(running.shutdown());
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(SAMPLES)
        .configure_from_args()
}

fn main() {
    if let Ok(kind) = std::env::var(ws_memory::CHILD_ENV) {
        child(&kind);
        return;
    }
    let mut c = config();
    let setup = setup();
    throughput(&mut c, &setup);
    // `--profile-time` (under `perf record`) profiles the filtered throughput runs alone.
    let profiling = std::env::args().any(|a| a == "--profile-time");
    if !profiling {
        latency(&setup);
    }
    let Setup {
        server,
        servers,
        client,
        ..
    } = setup;
    server.block_on(async {
        for running in servers.running {
            running.shutdown().await;
        }
    });
    if !profiling {
        memory(&client);
    }
    drop(client);
    c.final_summary();
}
