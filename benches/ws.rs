//! The WebSocket transport against jsonrpsee's WebSocket server, both on loopback in this
//! process, driven by one load generator in the same run.
//!
//! Both servers serve the same two commands, `add(a: i64, b: i64) -> i64` and
//! `echo(text: String) -> String` (called with a 64 KiB string), with named params:
//!
//! - **gatehouse**: `gatehouse::ws::Server` with default limits; every connection carries the
//!   window token of `main` and the server's own `Origin`, so each request goes through the
//!   whole path: frame, depth limit, in-flight permit, `Router::handle` (envelope, name lookup,
//!   ACL bit test for the label the token chose, arguments, call, reply), the outbound queue,
//!   the writer task;
//! - **jsonrpsee**: `jsonrpsee::server::Server` (WebSocket only, default settings) with an
//!   `RpcModule` whose methods parse the same params struct.
//!
//! Both servers run on one multi-thread tokio runtime (the "server runtime"); the load
//! generator, a tokio-tungstenite client, runs on a second multi-thread runtime of its own. Each
//! connection sends the same bytes to either server: the same URL path and query
//! (`/gatehouse/ws?token=…`, which jsonrpsee ignores) and the same `Origin` header.
//!
//! - **Throughput** (criterion, `iter_custom`, one iteration = one request): 1 and 64
//!   connections, each keeping [`WINDOW`] requests in flight (a reply read, another request
//!   written; writes are flushed once per burst of replies already received).
//! - **Latency** (a plain measured section, after criterion): one connection, one request at a
//!   time, every round trip timed; p50/p99 from the sorted samples.
//! - **CPU per request**: the run time of the server runtime's threads (from
//!   `/proc/self/task/<tid>/schedstat`) over every throughput request, warm-up included: what
//!   each server costs, apart from the load generator that shares the machine.
//!
//! Every reply is checked before timing (as JSON); during timing, each reply's kind and length.
//! See `BENCHMARKS.md`, "WebSocket transport".

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::{FutureExt, SinkExt, StreamExt};
use gatehouse::ws::Server;
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

/// Where and how the load generator connects; the same for both servers but the port.
#[derive(Clone)]
struct Target {
    name: &'static str,
    url: String,
    origin: String,
}

struct Servers {
    gatehouse: Target,
    jsonrpsee: Target,
    gatehouse_handle: gatehouse::ws::ServerHandle,
    jsonrpsee_handle: RpseeHandle,
}

/// Starts both servers on `rt`.
fn start_servers(rt: &Runtime) -> Servers {
    rt.block_on(async {
        let server = Server::builder(gatehouse_router())
            .build()
            .await
            .expect("gatehouse server");
        let window = server.window("main");
        let token = window.token().to_owned();
        let gatehouse_origin = server.origin().to_owned();
        let gatehouse_addr = server.local_addr();
        let gatehouse_handle = server.spawn();

        let server = jsonrpsee::server::Server::builder()
            .set_config(ServerConfig::builder().ws_only().build())
            .build("127.0.0.1:0")
            .await
            .expect("jsonrpsee server");
        let jsonrpsee_addr = server.local_addr().expect("bound");
        let jsonrpsee_handle = server.start(jsonrpsee_module());

        Servers {
            gatehouse: Target {
                name: "gatehouse",
                url: format!("ws://{gatehouse_addr}/gatehouse/ws?token={token}"),
                origin: gatehouse_origin,
            },
            jsonrpsee: Target {
                name: "jsonrpsee",
                url: format!("ws://{jsonrpsee_addr}/gatehouse/ws?token={token}"),
                origin: format!("http://{jsonrpsee_addr}"),
            },
            gatehouse_handle,
            jsonrpsee_handle,
        }
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

/// Server CPU time and requests per (case, connections, server), over every timed iteration.
#[derive(Default)]
struct CpuTally(BTreeMap<(String, usize, &'static str), (u64, u64)>);

// ---- the benchmarks ------------------------------------------------------------------------

fn env_threads(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `cargo bench` passes `--bench`; without it (`cargo test --benches`) or with `--test`,
/// criterion runs each benchmark once, and the latency runs are cut short too.
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
    for target in [&servers.gatehouse, &servers.jsonrpsee] {
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
    let mut ws = connect(&servers.gatehouse).await;
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

fn throughput(c: &mut Criterion) {
    let setup = setup();
    let tally = Mutex::new(CpuTally::default());
    for case in &setup.cases {
        for connections in CONNECTIONS {
            let mut g = c.benchmark_group(format!("ws_{}_{connections}conn", case.name));
            g.throughput(Throughput::Elements(1));
            for target in [&setup.servers.gatehouse, &setup.servers.jsonrpsee] {
                let load = Load::open(&setup.client, target, case, connections);
                g.bench_function(target.name, |b| {
                    b.iter_custom(|iters| {
                        let cpu = setup.server_threads.cpu_ns();
                        let elapsed = load.run(&setup.client, black_box(iters));
                        let cpu = setup.server_threads.cpu_ns().saturating_sub(cpu);
                        let mut tally = tally.lock().expect("not poisoned");
                        let entry = tally
                            .0
                            .entry((case.name.to_owned(), connections, target.name))
                            .or_default();
                        entry.0 += cpu;
                        entry.1 += iters;
                        elapsed
                    });
                });
                drop(load);
            }
            g.finish();
        }
    }
    print_cpu(&tally.lock().expect("not poisoned"));
    // `--profile-time` (under `perf record`) profiles the filtered throughput runs alone.
    if !std::env::args().any(|a| a == "--profile-time") {
        latency(&setup);
    }
    let Setup {
        server,
        servers,
        client,
        ..
    } = setup;
    drop(client);
    server.block_on(async {
        servers.gatehouse_handle.shutdown().await;
        let _ = servers.jsonrpsee_handle.stop();
        servers.jsonrpsee_handle.stopped().await;
    });
}

fn print_cpu(tally: &CpuTally) {
    println!("\nServer CPU time per request (server runtime threads, every throughput iteration):");
    println!(
        "{:<10} {:>5}  {:>22} {:>22} {:>12}",
        "case", "conns", "gatehouse (requests)", "jsonrpsee (requests)", "jsonrpsee/gh"
    );
    let mut rows: Vec<(&String, usize)> = tally.0.keys().map(|(c, n, _)| (c, *n)).collect();
    rows.dedup();
    for (case, conns) in rows {
        let per = |name| {
            tally
                .0
                .get(&(case.clone(), conns, name))
                .filter(|(_, n)| *n > 0)
                .map(|(ns, n)| (*ns as f64 / *n as f64, *n))
        };
        let cell = |per: Option<(f64, u64)>| match per {
            Some((ns, n)) => format!("{:.2} µs ({n})", ns / 1e3),
            None => "-".to_owned(),
        };
        let (g, j) = (per("gatehouse"), per("jsonrpsee"));
        let ratio = match (g, j) {
            (Some((g, _)), Some((j, _))) => format!("{:.2}×", j / g),
            _ => "-".to_owned(),
        };
        println!(
            "{case:<10} {conns:>5}  {:>22} {:>22} {ratio:>12}",
            cell(g),
            cell(j)
        );
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
        for target in [&setup.servers.gatehouse, &setup.servers.jsonrpsee] {
            // On a worker of the client runtime, like the throughput drivers: `block_on`'s own
            // thread would add a hand-off from the runtime's I/O driver to every reply.
            let (to, kind) = ((*target).clone(), case.clone());
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

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(30)
        .configure_from_args()
}

criterion_group! {
    name = ws;
    config = config();
    targets = throughput
}
criterion_main!(ws);
