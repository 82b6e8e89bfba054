//! The bench's cores: Gatehouse's (`gatehouse::process`, on a tokio runtime) and the
//! hand-written one (one thread, std I/O and serde_json), the pairs of a core and a child that
//! are measured, and a running pair ([`Peer`]).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse::process::{Builder, CallError, Stderr};
use gatehouse::{command, commands, Acl, Capability, ErrorCode, Router};
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;

use crate::children::{refusal, IO_BUFFER};
use crate::job::{Case, Job, ReplyIn, Report, RequestOut, CHILD_MODE};
use crate::wire::{AddParams, EchoParams, ReplyOut, RequestIn};

/// The child's label.
const LABEL: &str = "plugin";

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
pub(crate) enum CoreKind {
    Gatehouse,
    Baseline,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildKind {
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
pub(crate) struct Pair {
    pub(crate) name: &'static str,
    pub(crate) core: CoreKind,
    pub(crate) child: ChildKind,
    /// The child is the build named by `STDIO_BENCH_BEFORE` (an earlier build of this bench),
    /// to compare an earlier client with this one in the same run.
    pub(crate) before: bool,
}

const fn pair(name: &'static str, core: CoreKind, child: ChildKind) -> Pair {
    Pair {
        name,
        core,
        child,
        before: false,
    }
}

const fn before(name: &'static str, core: CoreKind, child: ChildKind) -> Pair {
    Pair {
        name,
        core,
        child,
        before: true,
    }
}

pub(crate) const GATEHOUSE: Pair = pair("gatehouse", CoreKind::Gatehouse, ChildKind::Client);
pub(crate) const BASELINE: Pair = pair("baseline", CoreKind::Baseline, ChildKind::Baseline);

/// Every pair, in the order the tables list them: the two contenders, the blocking client, then
/// diagnostics (the Gatehouse core with the baseline child, and the other way round).
pub(crate) const PAIRS: [Pair; 6] = [
    GATEHOUSE,
    BASELINE,
    pair(
        "gatehouse_blocking",
        CoreKind::Gatehouse,
        ChildKind::Blocking,
    ),
    pair(
        "gh_core+base_child",
        CoreKind::Gatehouse,
        ChildKind::Baseline,
    ),
    pair("base_core+gh_client", CoreKind::Baseline, ChildKind::Client),
    pair(
        "base_core+gh_blocking",
        CoreKind::Baseline,
        ChildKind::Blocking,
    ),
];

/// With `STDIO_BENCH_BEFORE`: the earlier build's clients, with either core.
const BEFORE_PAIRS: [Pair; 4] = [
    before("before:gatehouse", CoreKind::Gatehouse, ChildKind::Client),
    before(
        "before:gatehouse_blocking",
        CoreKind::Gatehouse,
        ChildKind::Blocking,
    ),
    before(
        "before:base_core+gh_client",
        CoreKind::Baseline,
        ChildKind::Client,
    ),
    before(
        "before:base_core+gh_blocking",
        CoreKind::Baseline,
        ChildKind::Blocking,
    ),
];

/// The pairs to measure.
pub(crate) fn pairs() -> Vec<Pair> {
    let mut pairs = PAIRS.to_vec();
    if std::env::var_os(BEFORE).is_some() {
        pairs.extend(BEFORE_PAIRS);
    }
    pairs
}

/// Names an earlier build of this bench whose clients are measured beside this one's.
const BEFORE: &str = "STDIO_BENCH_BEFORE";

enum Core {
    Gatehouse(gatehouse::process::Child),
    Baseline(BaselineCore),
}

/// A running child and the core serving it.
pub(crate) struct Peer {
    core: Core,
    pub(crate) pid: u32,
}

impl Peer {
    pub(crate) fn spawn(setup: &Setup, pair: Pair) -> Self {
        let exe = match std::env::var_os(BEFORE) {
            Some(path) if pair.before => path.into(),
            _ => std::env::current_exe().expect("the bench's own path"),
        };
        let mut command = Command::new(exe);
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

    pub(crate) fn run(&mut self, setup: &Setup, job: &Job) -> Report {
        match &mut self.core {
            Core::Gatehouse(child) => setup
                .runtime
                .block_on(child.call::<Report>("bench.run", job))
                .unwrap_or_else(|e| panic!("the child's job {job:?}: {e}")),
            Core::Baseline(core) => core.run(job),
        }
    }

    pub(crate) fn close(self, setup: &Setup) {
        match self.core {
            Core::Gatehouse(child) => {
                let exit = setup.runtime.block_on(child.shutdown());
                assert!(exit.success(), "the child failed: {exit}");
            }
            Core::Baseline(core) => core.close(),
        }
    }
}

/// Workers of the Gatehouse core's runtime: this machine has 2 vCPUs. Overridable with
/// `STDIO_BENCH_CORE_THREADS`.
const CORE_THREADS: usize = 2;

/// The Gatehouse core: a router and the runtime its children are served on.
pub(crate) struct Setup {
    pub(crate) runtime: Runtime,
    pub(crate) router: Router,
}

impl Setup {
    pub(crate) fn new() -> Self {
        let threads = std::env::var("STDIO_BENCH_CORE_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(CORE_THREADS);
        Setup {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()
                .expect("a tokio runtime"),
            router: gatehouse_router(),
        }
    }
}

/// Every pair answers each case correctly (the child compares the whole echoed text), and the
/// Gatehouse core refuses what the child is not granted.
pub(crate) fn preflight(setup: &Setup) {
    for pair in pairs() {
        let mut peer = Peer::spawn(setup, pair);
        for case in [Case::Add, Case::Echo] {
            let mut job = Job::new(case, 3, 1);
            job.verify = true;
            peer.run(setup, &job);
            job.window = 2;
            peer.run(setup, &job);
        }
        if pair.core == CoreKind::Gatehouse {
            peer.run(setup, &Job::new(Case::Forbidden, 1, 1));
        }
        peer.close(setup);
    }
}
