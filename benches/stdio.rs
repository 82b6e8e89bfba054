//! The stdio transport against a hand-written baseline doing the same pipe I/O and serde work,
//! in the same run.
//!
//! The child is the caller, as in real plugins: it sends requests on its stdout and reads the
//! replies on its stdin. Two commands, with named params: `add(a: i64, b: i64) -> i64` and
//! `echo(text: String) -> String`, called with a 64 KiB ASCII string.
//!
//! - **gatehouse**: the core spawns the child with `gatehouse::process::Builder` (newline
//!   framing, default limits) on a multi-thread tokio runtime of [`CORE_THREADS`] workers; every
//!   request goes through the whole core path: framing, depth limit, in-flight permit,
//!   `Router::handle` (envelope, name lookup, ACL bit test for the child's label, arguments,
//!   call, reply), the outbound queue, the writer task. The child calls with
//!   `gatehouse::stdio::Client` (tokio, current-thread runtime, as `#[tokio::main(flavor =
//!   "current_thread")]` makes) or, in diagnostic rows, `BlockingClient`.
//! - **baseline**: the core spawns the same binary with `std::process::Command` and serves it on
//!   one thread: a `BufReader` over the child's stdout, `read_until(b'\n')`, a request struct
//!   with typed params deserialised by serde_json straight from the line (it serves one method
//!   per run and checks the name, as `benches/invoke.rs`'s baseline does), the call, the reply
//!   struct serialised into a `BufWriter` over the child's stdin, flushed when no further
//!   request is already buffered. The child writes its requests with serde_json into a
//!   `BufWriter` and reads the replies with `BufReader::read_until` and serde_json into a reply
//!   struct with a typed `result`, with plain std I/O on its stdin and stdout (64 KiB buffers,
//!   the size of the Gatehouse framing's reads).
//!
//! Both children serialise the same params and deserialise the same result type, and check
//! every result; both cores use newline framing; the payloads are the same bytes.
//!
//! The bench binary is its own child: with `GATEHOUSE_BENCH_STDIO_CHILD` set (to `client`,
//! `blocking` or `baseline`), `main` runs the child before criterion starts. The core hands the
//! child a job with a call of its method `bench.run` (a request line on its stdin, answered by a
//! reply line); the child runs the job and answers with what it timed. (A client registers its
//! handler once it runs, and answers "unknown method" before: the core first hands it empty
//! jobs until one is taken.) The wire is the same
//! JSON-RPC for every pair, so the Gatehouse core also serves the baseline child, and the
//! baseline core the Gatehouse client: two diagnostic pairs that tell the core's cost from the
//! client's.
//!
//! - **Throughput** (criterion, `iter_custom`, one iteration = one request): the child keeps
//!   [`WINDOW`] requests in flight (the async client with `buffer_unordered`; the baseline child
//!   with a writer thread that waits for a credit per reply read, since a single thread that
//!   blocks writing 64 KiB requests while the core blocks writing 64 KiB replies deadlocks) and
//!   reports how long the requests took.
//! - **CPU per request**: the CPU time (`/proc/<pid>/stat`) and the read and write system calls
//!   (`/proc/<pid>/io`) of the core process and of the child over every throughput iteration,
//!   warm-up included.
//! - **Latency** (a plain measured section, after criterion): one request at a time, every round
//!   trip timed in the child; p50/p99 from the sorted samples.
//!
//! See `BENCHMARKS.md`, "stdio transport".

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::fd::AsFd;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use futures_util::StreamExt;
use gatehouse::process::{Builder, CallError, Stderr};
use gatehouse::stdio::{BlockingClient, Client, ClientError};
use gatehouse::{command, commands, Acl, Capability, ErrorCode, Router, RpcError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::runtime::Runtime;

#[path = "support/latency.rs"]
mod latency;
#[path = "support/wire.rs"]
mod wire;
use wire::{AddParams, EchoParams, ReplyOut, RequestIn};

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

/// Not granted to the child: shows that the ACL is in the path.
#[command]
fn forbidden() -> i64 {
    0
}

/// Set in the child's environment: which child to be.
const CHILD_MODE: &str = "GATEHOUSE_BENCH_STDIO_CHILD";
/// The child's label.
const LABEL: &str = "plugin";
const TEXT_LEN: usize = 64 * 1024;
/// Requests in flight in the throughput runs (Gatehouse's default `max_in_flight` is 64).
const WINDOW: usize = 32;
/// Round trips per latency run (after as many again / 10 unrecorded).
const LATENCY_SMALL: u64 = 30_000;
const LATENCY_LARGE: u64 = 3_000;
/// Workers of the Gatehouse core's runtime: this machine has 2 vCPUs. Overridable with
/// `STDIO_BENCH_CORE_THREADS`.
const CORE_THREADS: usize = 2;
/// The baseline's read and write buffers (the Gatehouse framing reads 64 KiB at a time).
const IO_BUFFER: usize = 64 * 1024;

// ---- what the core and the child exchange besides the calls --------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Case {
    Add,
    Echo,
    /// A call of `forbidden`, which must be refused (Gatehouse core only).
    Forbidden,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Add => "add",
            Case::Echo => "echo64k",
            Case::Forbidden => "forbidden",
        }
    }
}

/// What the child is to do: `n` calls of `case`, `window` at a time.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Job {
    case: Case,
    n: u64,
    window: usize,
    /// Time each call (one at a time only).
    samples: bool,
    /// Compare each echoed text in full (the timed runs compare its length).
    verify: bool,
}

impl Job {
    fn new(case: Case, n: u64, window: usize) -> Self {
        Self {
            case,
            n,
            window,
            samples: false,
            verify: false,
        }
    }
}

/// What the child timed.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Report {
    elapsed_ns: u64,
    samples_ns: Vec<u64>,
}

impl Report {
    /// With room for the job's samples, so that timing one call never grows the vector.
    fn for_job(job: &Job) -> Self {
        let room = if job.samples { job.n } else { 0 };
        Self {
            elapsed_ns: 0,
            samples_ns: Vec::with_capacity(usize::try_from(room).unwrap_or(0)),
        }
    }
}

#[derive(Serialize)]
struct EchoArgs<'a> {
    text: &'a str,
}

/// A request, as both baselines write it: the same bytes as the Gatehouse client's.
#[derive(Serialize)]
struct RequestOut<'a, P> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: P,
}

/// A reply as both baselines read it: a typed result in one pass.
#[derive(Deserialize)]
struct ReplyIn<'a, T> {
    #[serde(borrow)]
    jsonrpc: &'a str,
    id: u64,
    result: T,
}

/// 64 KiB of plain ASCII, without escapes.
fn text() -> String {
    "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(TEXT_LEN)
        .collect()
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn main() -> ExitCode {
    if let Ok(mode) = std::env::var(CHILD_MODE) {
        return child_main(&mode);
    }
    let mut criterion = config();
    benches(&mut criterion);
    Criterion::default().configure_from_args().final_summary();
    ExitCode::SUCCESS
}

// ---- the children --------------------------------------------------------------------------

fn child_main(mode: &str) -> ExitCode {
    let result = match mode {
        "client" => client_child(),
        "blocking" => blocking_child(),
        "baseline" => baseline_child(),
        other => Err(format!("unknown mode `{other}`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stdio bench child ({mode}): {error}");
            ExitCode::FAILURE
        }
    }
}

fn job_error(error: String) -> RpcError {
    RpcError::new(ErrorCode::Internal, error)
}

fn read_job(params: Value) -> Result<Job, RpcError> {
    serde_json::from_value(params)
        .map_err(|e| RpcError::new(ErrorCode::InvalidParams, e.to_string()))
}

fn check_add(result: Result<i64, ClientError>) -> Result<(), String> {
    match result {
        Ok(3) => Ok(()),
        other => Err(format!("add: {other:?}")),
    }
}

fn check_echo(echoed: &str, text: &str, verify: bool) -> Result<(), String> {
    let same = if verify {
        echoed == text
    } else {
        echoed.len() == text.len()
    };
    if same {
        Ok(())
    } else {
        Err(format!("echo: {} bytes came back", echoed.len()))
    }
}

fn check_refused<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Result<(), String> {
    match result {
        Err(ClientError::Rpc { code: -32001, .. }) => Ok(()),
        other => Err(format!("forbidden: {other:?}")),
    }
}

/// `gatehouse::stdio::Client` on a current-thread runtime (what `#[tokio::main(flavor =
/// "current_thread")]` makes).
fn client_child() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = Client::stdio();
        let text: Arc<str> = text().into();
        let inner = client.clone();
        client.handle("bench.run", move |params: Value| {
            let client = inner.clone();
            let text = Arc::clone(&text);
            async move {
                let job = read_job(params)?;
                client_job(&client, &job, &text).await.map_err(job_error)
            }
        });
        client.closed().await;
    });
    Ok(())
}

async fn client_call(client: &Client, job: &Job, text: &str) -> Result<(), String> {
    match job.case {
        Case::Add => check_add(client.call("add", AddParams { a: 1, b: 2 }).await),
        Case::Echo => match client.call::<String>("echo", EchoArgs { text }).await {
            Ok(echoed) => check_echo(&echoed, text, job.verify),
            Err(error) => Err(format!("echo: {error}")),
        },
        Case::Forbidden => check_refused(client.call::<i64>("forbidden", ()).await),
    }
}

async fn client_job(client: &Client, job: &Job, text: &str) -> Result<Report, String> {
    let mut report = Report::for_job(job);
    let start = Instant::now();
    if job.window <= 1 {
        for _ in 0..job.n {
            let call = Instant::now();
            client_call(client, job, text).await?;
            if job.samples {
                report.samples_ns.push(nanos(call.elapsed()));
            }
        }
    } else {
        let mut calls = futures_util::stream::iter(0..job.n)
            .map(|_| client_call(client, job, text))
            .buffer_unordered(job.window);
        while let Some(result) = calls.next().await {
            result?;
        }
    }
    report.elapsed_ns = nanos(start.elapsed());
    Ok(report)
}

/// `gatehouse::stdio::BlockingClient`, one call at a time (its handlers run on a thread of the
/// client's, which calls the core from there).
fn blocking_child() -> Result<(), String> {
    let client = BlockingClient::stdio();
    let text = text();
    let inner = client.clone();
    client.handle("bench.run", move |params: Value| {
        let job = read_job(params)?;
        blocking_job(&inner, &job, &text).map_err(job_error)
    });
    client.closed();
    Ok(())
}

fn blocking_job(client: &BlockingClient, job: &Job, text: &str) -> Result<Report, String> {
    if job.window > 1 {
        return Err("the blocking child makes one call at a time".into());
    }
    let mut report = Report::for_job(job);
    let start = Instant::now();
    for _ in 0..job.n {
        let call = Instant::now();
        match job.case {
            Case::Add => check_add(client.call("add", AddParams { a: 1, b: 2 }))?,
            Case::Echo => match client.call::<String>("echo", EchoArgs { text }) {
                Ok(echoed) => check_echo(&echoed, text, job.verify)?,
                Err(error) => return Err(format!("echo: {error}")),
            },
            Case::Forbidden => check_refused(client.call::<i64>("forbidden", ()))?,
        }
        if job.samples {
            report.samples_ns.push(nanos(call.elapsed()));
        }
    }
    report.elapsed_ns = nanos(start.elapsed());
    Ok(report)
}

/// This process's stdin or stdout as a plain file (a duplicate of the descriptor), so the
/// baseline does its own buffering rather than going through std's `Stdout` line buffer.
fn own(fd: std::os::fd::BorrowedFd<'_>) -> Result<File, String> {
    fd.try_clone_to_owned()
        .map(File::from)
        .map_err(|e| e.to_string())
}

fn io(error: std::io::Error) -> String {
    error.to_string()
}

fn json(error: serde_json::Error) -> String {
    error.to_string()
}

/// The hand-written child: std I/O and serde_json, nothing else.
fn baseline_child() -> Result<(), String> {
    let text = text();
    let mut input = BufReader::with_capacity(IO_BUFFER, own(std::io::stdin().as_fd())?);
    let stdout = own(std::io::stdout().as_fd())?;
    let mut line = Vec::new();
    let mut buf = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).map_err(io)? == 0 {
            return Ok(()); // the core closed stdin
        }
        let request: RequestIn<'_, Job> = serde_json::from_slice(&line).map_err(json)?;
        if request.method != "bench.run" {
            return Err(format!("unexpected request `{}`", request.method));
        }
        let report = baseline_job(&mut input, &mut buf, &stdout, &request.params, &text)?;
        let mut output = &stdout;
        let reply = ReplyOut {
            jsonrpc: "2.0",
            result: report,
            id: request.id,
        };
        let mut out = serde_json::to_vec(&reply).map_err(json)?;
        out.push(b'\n');
        output.write_all(&out).map_err(io)?;
    }
}

fn write_request(output: &mut impl Write, id: u64, job: &Job, text: &str) -> Result<(), String> {
    match job.case {
        Case::Add => serde_json::to_writer(
            &mut *output,
            &RequestOut {
                jsonrpc: "2.0",
                id,
                method: "add",
                params: AddParams { a: 1, b: 2 },
            },
        ),
        Case::Echo => serde_json::to_writer(
            &mut *output,
            &RequestOut {
                jsonrpc: "2.0",
                id,
                method: "echo",
                params: EchoArgs { text },
            },
        ),
        Case::Forbidden => serde_json::to_writer(
            &mut *output,
            &RequestOut {
                jsonrpc: "2.0",
                id,
                method: "forbidden",
                params: serde_json::Map::new(),
            },
        ),
    }
    .map_err(json)?;
    output.write_all(b"\n").map_err(io)
}

fn read_reply(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    job: &Job,
    text: &str,
) -> Result<(), String> {
    line.clear();
    if input.read_until(b'\n', line).map_err(io)? == 0 {
        return Err("the core closed the pipe".into());
    }
    let json = |e: serde_json::Error| format!("{e}: {:.300}", String::from_utf8_lossy(line));
    match job.case {
        Case::Add => {
            let reply: ReplyIn<'_, i64> = serde_json::from_slice(line).map_err(json)?;
            if reply.jsonrpc != "2.0" || reply.id == 0 {
                return Err("add: a malformed reply".into());
            }
            check_add(Ok(reply.result))
        }
        Case::Echo => {
            let reply: ReplyIn<'_, String> = serde_json::from_slice(line).map_err(json)?;
            if reply.jsonrpc != "2.0" || reply.id == 0 {
                return Err("echo: a malformed reply".into());
            }
            check_echo(&reply.result, text, job.verify)
        }
        Case::Forbidden => match refusal(line) {
            Some(-32001) => Ok(()),
            _ => Err(format!(
                "forbidden: {}",
                String::from_utf8_lossy(line).trim_end()
            )),
        },
    }
}

/// The code of an error reply.
fn refusal(line: &[u8]) -> Option<i32> {
    #[derive(Deserialize)]
    struct Refused {
        error: Code,
    }
    #[derive(Deserialize)]
    struct Code {
        code: i32,
    }
    serde_json::from_slice::<Refused>(line)
        .ok()
        .map(|r| r.error.code)
}

fn baseline_job(
    input: &mut BufReader<File>,
    line: &mut Vec<u8>,
    stdout: &File,
    job: &Job,
    text: &str,
) -> Result<Report, String> {
    let mut report = Report::for_job(job);
    let start = Instant::now();
    if job.window <= 1 {
        let mut output = BufWriter::with_capacity(IO_BUFFER, stdout);
        for id in 1..=job.n {
            let call = Instant::now();
            write_request(&mut output, id, job, text)?;
            output.flush().map_err(io)?;
            read_reply(input, line, job, text)?;
            if job.samples {
                report.samples_ns.push(nanos(call.elapsed()));
            }
        }
    } else {
        // A writer thread, paced by one credit per reply read: a single thread would block
        // writing requests while the core blocks writing replies to it.
        let (credits, credit) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let writer = s.spawn(move || -> Result<(), String> {
                let mut output = BufWriter::with_capacity(IO_BUFFER, stdout);
                for id in 1..=job.n {
                    if id > job.window as u64 && credit.try_recv().is_err() {
                        // Nothing more to send until a reply comes: out with what is buffered.
                        output.flush().map_err(io)?;
                        credit.recv().map_err(|_| "the reader stopped".to_owned())?;
                    }
                    write_request(&mut output, id, job, text)?;
                }
                output.flush().map_err(io)
            });
            let mut read = Ok(());
            for _ in 0..job.n {
                read = read_reply(input, line, job, text);
                if read.is_err() {
                    break;
                }
                let _ = credits.send(());
            }
            drop(credits);
            let written = writer
                .join()
                .unwrap_or_else(|_| Err("the writer panicked".into()));
            read.and(written)
        })?;
    }
    report.elapsed_ns = nanos(start.elapsed());
    Ok(report)
}

// ---- the cores -----------------------------------------------------------------------------

fn gatehouse_router() -> Router {
    let acl = Acl::builder()
        .commands(["add", "echo", "forbidden"])
        .capability(
            Capability::builder("plugins")
                .windows([LABEL])
                .allow(["add", "echo"]),
        )
        .build()
        .expect("valid ACL");
    Router::builder(acl)
        .commands(commands![add, echo, forbidden])
        .build()
        .expect("valid router")
}

/// The hand-written core: one thread, std I/O and serde_json.
struct BaselineCore {
    process: std::process::Child,
    input: BufReader<std::process::ChildStdout>,
    output: Option<BufWriter<std::process::ChildStdin>>,
    line: Vec<u8>,
    next_id: u64,
}

impl BaselineCore {
    fn spawn(mut command: Command) -> Self {
        let mut process = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the child starts");
        let input = BufReader::with_capacity(IO_BUFFER, process.stdout.take().expect("piped"));
        let output = BufWriter::with_capacity(IO_BUFFER, process.stdin.take().expect("piped"));
        Self {
            process,
            input,
            output: Some(output),
            line: Vec::new(),
            next_id: 0,
        }
    }

    /// Hands the child `job`, serves its `job.n` requests, reads its report.
    fn run(&mut self, job: &Job) -> Report {
        self.try_run(job)
            .expect("the child has registered its handler")
    }

    /// As `run`; `None` when the child answers that it has no handler (yet).
    fn try_run(&mut self, job: &Job) -> Option<Report> {
        let output = self.output.as_mut().expect("open");
        self.next_id += 1;
        serde_json::to_writer(
            &mut *output,
            &RequestOut {
                jsonrpc: "2.0",
                id: self.next_id,
                method: "bench.run",
                params: job,
            },
        )
        .expect("serialises");
        output.write_all(b"\n").expect("the child reads");
        output.flush().expect("the child reads");
        for _ in 0..job.n {
            self.line.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.line)
                .expect("the child writes");
            assert!(n > 0, "the child closed its output");
            match job.case {
                Case::Add => serve(&self.line, output, "add", |p: AddParams| add(p.a, p.b)),
                Case::Echo => serve(&self.line, output, "echo", |p: EchoParams| echo(p.text)),
                Case::Forbidden => panic!("the baseline core has no ACL"),
            }
            // One write for the replies to the requests already read.
            if !self.input.buffer().contains(&b'\n') {
                output.flush().expect("the child reads");
            }
        }
        output.flush().expect("the child reads");
        self.line.clear();
        self.input
            .read_until(b'\n', &mut self.line)
            .expect("the child reports");
        let reply: ReplyIn<'_, Report> = match serde_json::from_slice(&self.line) {
            Ok(reply) => reply,
            Err(_) if refusal(&self.line) == Some(ErrorCode::UnknownCommand.code()) => {
                return None;
            }
            Err(e) => panic!(
                "the child's report: {e}: {:.300}",
                String::from_utf8_lossy(&self.line)
            ),
        };
        assert_eq!(reply.id, self.next_id, "the report of this job");
        Some(reply.result)
    }

    fn close(mut self) {
        drop(self.output.take()); // EOF on the child's stdin: it exits
        let status = self.process.wait().expect("the child exits");
        assert!(status.success(), "the child failed: {status}");
    }
}

/// Reads one request for `method`, calls, writes the reply line.
fn serve<'a, P: Deserialize<'a>, T: Serialize>(
    line: &'a [u8],
    output: &mut impl Write,
    method: &str,
    call: impl FnOnce(P) -> T,
) {
    let request: RequestIn<'a, P> = serde_json::from_slice(line).unwrap_or_else(|e| {
        panic!(
            "not a `{method}` request: {e}: {:.300}",
            String::from_utf8_lossy(line)
        )
    });
    assert!(request.jsonrpc == "2.0" && request.method == method);
    let reply = ReplyOut {
        jsonrpc: "2.0",
        result: call(request.params),
        id: request.id,
    };
    serde_json::to_writer(&mut *output, &reply).expect("the child reads");
    output.write_all(b"\n").expect("the child reads");
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CoreKind {
    Gatehouse,
    Baseline,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ChildKind {
    Client,
    Blocking,
    Baseline,
}

impl ChildKind {
    fn mode(self) -> &'static str {
        match self {
            ChildKind::Client => "client",
            ChildKind::Blocking => "blocking",
            ChildKind::Baseline => "baseline",
        }
    }
}

/// A core and a child.
#[derive(Clone, Copy)]
struct Pair {
    name: &'static str,
    core: CoreKind,
    child: ChildKind,
}

const GATEHOUSE: Pair = Pair {
    name: "gatehouse",
    core: CoreKind::Gatehouse,
    child: ChildKind::Client,
};
const BASELINE: Pair = Pair {
    name: "baseline",
    core: CoreKind::Baseline,
    child: ChildKind::Baseline,
};
/// Diagnostics: the Gatehouse core with the baseline child, and the other way round.
const GH_CORE: Pair = Pair {
    name: "gh_core+base_child",
    core: CoreKind::Gatehouse,
    child: ChildKind::Baseline,
};
const GH_CLIENT: Pair = Pair {
    name: "base_core+gh_client",
    core: CoreKind::Baseline,
    child: ChildKind::Client,
};
const GH_BLOCKING: Pair = Pair {
    name: "gatehouse_blocking",
    core: CoreKind::Gatehouse,
    child: ChildKind::Blocking,
};
const BLOCKING_CLIENT: Pair = Pair {
    name: "base_core+gh_blocking",
    core: CoreKind::Baseline,
    child: ChildKind::Blocking,
};

const THROUGHPUT_PAIRS: [Pair; 4] = [GATEHOUSE, BASELINE, GH_CORE, GH_CLIENT];
const LATENCY_PAIRS: [Pair; 6] = [
    GATEHOUSE,
    BASELINE,
    GH_CORE,
    GH_CLIENT,
    GH_BLOCKING,
    BLOCKING_CLIENT,
];

enum Core {
    Gatehouse(gatehouse::process::Child),
    Baseline(BaselineCore),
}

/// A running child and the core serving it.
struct Peer {
    core: Core,
    pid: u32,
}

impl Peer {
    fn spawn(setup: &Setup, pair: Pair) -> Self {
        let mut command = Command::new(std::env::current_exe().expect("the bench's own path"));
        command.env(CHILD_MODE, pair.child.mode());
        let mut peer = match pair.core {
            CoreKind::Gatehouse => {
                let _entered = setup.runtime.enter();
                let child = Builder::new(LABEL)
                    .stderr(Stderr::Inherit)
                    .call_timeout(Duration::from_secs(600))
                    .spawn(&setup.router, command)
                    .expect("the child starts");
                Peer {
                    pid: child.id(),
                    core: Core::Gatehouse(child),
                }
            }
            CoreKind::Baseline => {
                let core = BaselineCore::spawn(command);
                Peer {
                    pid: core.process.id(),
                    core: Core::Baseline(core),
                }
            }
        };
        peer.wait_ready(setup);
        peer
    }

    /// Hands the child empty jobs until it takes one: a Gatehouse client registers its handler
    /// after it has started reading, and answers a call that comes before "unknown method".
    fn wait_ready(&mut self, setup: &Setup) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let job = Job::new(Case::Add, 0, 1);
        loop {
            let ready = match &mut self.core {
                Core::Gatehouse(child) => {
                    match setup
                        .runtime
                        .block_on(child.call::<Report>("bench.run", &job))
                    {
                        Ok(_) => true,
                        Err(CallError::Rpc(e))
                            if e.code().code() == ErrorCode::UnknownCommand.code() =>
                        {
                            false
                        }
                        Err(e) => panic!("the child's first job: {e}"),
                    }
                }
                Core::Baseline(core) => core.try_run(&job).is_some(),
            };
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "the child never took a job");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn run(&mut self, setup: &Setup, job: &Job) -> Report {
        match &mut self.core {
            Core::Gatehouse(child) => setup
                .runtime
                .block_on(child.call::<Report>("bench.run", job))
                .unwrap_or_else(|e| panic!("the child's job {job:?}: {e}")),
            Core::Baseline(core) => core.run(job),
        }
    }

    fn close(self, setup: &Setup) {
        match self.core {
            Core::Gatehouse(child) => {
                let exit = setup.runtime.block_on(child.shutdown());
                assert!(exit.success(), "the child failed: {exit}");
            }
            Core::Baseline(core) => core.close(),
        }
    }
}

// ---- CPU time -------------------------------------------------------------------------------

/// User + system CPU time of process `pid` (all its threads, past and present), in ns.
fn cpu_ns(pid: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // USER_HZ is 100 on Linux.
    (ticks(11) + ticks(12)) * 10_000_000
}

/// Read and write system calls of process `pid` so far (`syscr`, `syscw` of `/proc/<pid>/io`).
fn syscalls(pid: &str) -> [u64; 2] {
    let Ok(io) = std::fs::read_to_string(format!("/proc/{pid}/io")) else {
        return [0; 2];
    };
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    [field("syscr:"), field("syscw:")]
}

/// What one process used: CPU time (ns), read and write system calls.
fn usage(pid: &str) -> [u64; 3] {
    let [reads, writes] = syscalls(pid);
    [cpu_ns(pid), reads, writes]
}

/// Summed over the throughput iterations of one case and pair.
#[derive(Default)]
struct Tally {
    requests: u64,
    wall_ns: u64,
    /// The [`usage`] of the core process.
    core: [u64; 3],
    /// The [`usage`] of the child.
    child: [u64; 3],
}

/// Per (case, pair).
#[derive(Default)]
struct CpuTally(BTreeMap<(&'static str, &'static str), Tally>);

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
    runtime: Runtime,
    router: Router,
}

/// Every pair answers each case correctly (the child compares the whole echoed text), and the
/// Gatehouse core refuses what the child is not granted.
fn preflight(setup: &Setup) {
    for pair in LATENCY_PAIRS {
        let mut peer = Peer::spawn(setup, pair);
        for case in [Case::Add, Case::Echo] {
            let mut job = Job::new(case, 3, 1);
            job.verify = true;
            peer.run(setup, &job);
            if pair.child != ChildKind::Blocking {
                job.window = 2;
                peer.run(setup, &job);
            }
        }
        if pair.core == CoreKind::Gatehouse {
            peer.run(setup, &Job::new(Case::Forbidden, 1, 1));
        }
        peer.close(setup);
    }
}

fn benches(c: &mut Criterion) {
    let router = gatehouse_router();
    let setup = Setup {
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(env_threads("STDIO_BENCH_CORE_THREADS", CORE_THREADS))
            .enable_all()
            .build()
            .expect("a tokio runtime"),
        router,
    };
    preflight(&setup);
    let only_latency = std::env::var_os("STDIO_BENCH_LATENCY_ONLY").is_some();
    if !only_latency {
        throughput(c, &setup);
    }
    // `--profile-time` (under `perf record`) profiles the filtered throughput runs alone.
    if !std::env::args().any(|a| a == "--profile-time") {
        latency(&setup);
    }
}

fn throughput(c: &mut Criterion, setup: &Setup) {
    let mut tally = CpuTally::default();
    let me = std::process::id().to_string();
    for case in [Case::Add, Case::Echo] {
        let mut g = c.benchmark_group(format!("stdio_{}_w{WINDOW}", case.name()));
        g.throughput(Throughput::Elements(1));
        for pair in THROUGHPUT_PAIRS {
            let mut peer = Peer::spawn(setup, pair);
            let pid = peer.pid.to_string();
            g.bench_function(pair.name, |b| {
                b.iter_custom(|iters| {
                    let (core, child, wall) = (usage(&me), usage(&pid), Instant::now());
                    let report = peer.run(setup, &Job::new(case, iters, WINDOW));
                    let wall = nanos(wall.elapsed());
                    let (core_after, child_after) = (usage(&me), usage(&pid));
                    let entry = tally.0.entry((case.name(), pair.name)).or_default();
                    entry.requests += iters;
                    entry.wall_ns += wall;
                    for i in 0..3 {
                        entry.core[i] += core_after[i].saturating_sub(core[i]);
                        entry.child[i] += child_after[i].saturating_sub(child[i]);
                    }
                    Duration::from_nanos(report.elapsed_ns)
                });
            });
            peer.close(setup);
        }
        g.finish();
    }
    print_cpu(&tally);
}

fn print_cpu(tally: &CpuTally) {
    println!(
        "\nPer request over every throughput iteration, warm-up included: wall time; CPU time \
         (10 ms ticks, summed) and read / write system calls of the core process and the child:"
    );
    println!(
        "{:<10} {:<22} {:>10} {:>10} {:>10} {:>10} {:>6} {:>6} {:>6} {:>6}",
        "case",
        "pair",
        "requests",
        "wall",
        "core CPU",
        "child CPU",
        "c.rd",
        "c.wr",
        "ch.rd",
        "ch.wr"
    );
    for ((case, pair), t) in &tally.0 {
        let per = |n: u64| n as f64 / t.requests.max(1) as f64;
        println!(
            "{case:<10} {pair:<22} {:>10} {:>7.2} µs {:>7.2} µs {:>7.2} µs {:>6.2} {:>6.2} {:>6.2} {:>6.2}",
            t.requests,
            per(t.wall_ns) / 1e3,
            per(t.core[0]) / 1e3,
            per(t.child[0]) / 1e3,
            per(t.core[1]),
            per(t.core[2]),
            per(t.child[1]),
            per(t.child[2]),
        );
    }
}

/// One request at a time, every round trip timed by the child.
fn latency(setup: &Setup) {
    let quick = quick();
    println!("\nRound-trip latency, one request at a time, timed in the child:");
    latency::header("pair", 22);
    for case in [Case::Add, Case::Echo] {
        let n = match (quick, case) {
            (true, _) => 100,
            (false, Case::Add) => LATENCY_SMALL,
            (false, _) => LATENCY_LARGE,
        };
        for pair in LATENCY_PAIRS {
            let mut peer = Peer::spawn(setup, pair);
            peer.run(setup, &Job::new(case, n / 10, 1));
            let mut job = Job::new(case, n, 1);
            job.samples = true;
            let report = peer.run(setup, &job);
            peer.close(setup);
            assert_eq!(report.samples_ns.len() as u64, n, "a sample per call");
            let mut samples: Vec<Duration> = report
                .samples_ns
                .iter()
                .map(|&ns| Duration::from_nanos(ns))
                .collect();
            latency::row(case.name(), pair.name, 22, &mut samples);
        }
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args()
}
