//! The stdio transport against a hand-written baseline doing the same pipe I/O and serde work,
//! in the same run.
//!
//! The child is the caller, as in real plugins: it sends requests on its stdout and reads the
//! replies on its stdin. Two commands, with named params: `add(a: i64, b: i64) -> i64` and
//! `echo(text: String) -> String`, called with a 64 KiB ASCII string.
//!
//! - **gatehouse**: the core spawns the child with `gatehouse::process::Builder` (newline
//!   framing, default limits) on a multi-thread tokio runtime of 2 workers; every
//!   request goes through the whole core path: framing, depth limit, in-flight permit,
//!   `Router::handle` (envelope, name lookup, ACL bit test for the child's label, arguments,
//!   call, reply), the outbound queue, the writer task. The child calls with
//!   `gatehouse::stdio::Client` (tokio, current-thread runtime, as `#[tokio::main(flavor =
//!   "current_thread")]` makes) or, in the `*blocking` rows, `BlockingClient`.
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
//! `blocking` or `baseline`), `main` runs the child before anything else. The core hands the
//! child a job with a call of its method `bench.run` (a request line on its stdin, answered by a
//! reply line); the child runs the job and answers with what it timed. (A client registers its
//! handler once it runs, and answers "unknown method" before: the core first hands it empty
//! jobs until one is taken.) The wire is the same
//! JSON-RPC for every pair, so the Gatehouse core also serves the baseline child, and the
//! baseline core the Gatehouse client: two diagnostic pairs that tell the core's cost from the
//! client's.
//!
//! - **Rounds, interleaved**: every pair of a measurement is spawned once; each round runs the
//!   same job on every pair in turn (the order rotated each round), so that what the machine
//!   does meanwhile hits every pair alike. A figure is the median over the rounds, with its
//!   min–max; a ratio to the baseline is taken round by round (paired), then summarised alike.
//! - **Throughput**: the child keeps [`WINDOW`](rounds::WINDOW) requests in flight (the async
//!   client with `buffer_unordered`, the blocking client with as many threads, the baseline
//!   child with a writer thread that waits for a credit per reply read, since a single thread
//!   that blocks writing 64 KiB requests while the core blocks writing 64 KiB replies
//!   deadlocks) and reports how long the requests took.
//! - **Latency**: one request at a time, every round trip timed in the child; p50 and p99 per
//!   round, and over all rounds' samples.
//! - **CPU per request** beside each: the CPU time of the core process and of the child over
//!   the run (the sum of their threads' `/proc/<pid>/task/<tid>/schedstat`, in ns), and their
//!   read and write system calls (`/proc/<pid>/io`). On a loaded machine wall times move with
//!   the load; CPU time per request moves much less.
//!
//! Settings: `STDIO_BENCH_ROUNDS` (default 10), `STDIO_BENCH_SCALE` (requests per job, default
//! 1), `STDIO_BENCH_CORE_THREADS` (default 2); a positional argument keeps only the
//! measurements whose `<case>/<mode>/<pair>` contains it (the baseline always runs);
//! `--profile-time <s>` runs the selected throughput jobs for that long, for `perf record`.
//! `cargo bench -- --test` runs every pair once with a few requests.
//!
//! See `BENCHMARKS.md`, "stdio transport".

use std::process::ExitCode;

#[path = "stdio/children.rs"]
mod children;
#[path = "stdio/cores.rs"]
mod cores;
#[path = "stdio/job.rs"]
mod job;
#[allow(
    dead_code,
    reason = "the rounds print their own tables; they use the percentiles"
)]
#[path = "support/latency.rs"]
mod latency;
#[path = "stdio/rounds.rs"]
mod rounds;
#[path = "stdio/usage.rs"]
mod usage;
#[path = "support/wire.rs"]
mod wire;

fn main() -> ExitCode {
    if let Ok(mode) = std::env::var(job::CHILD_MODE) {
        return children::child_main(&mode);
    }
    let plan = rounds::Plan::from_args();
    let setup = cores::Setup::new();
    cores::preflight(&setup);
    rounds::run(&setup, &plan);
    ExitCode::SUCCESS
}
