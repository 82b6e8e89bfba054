//! What the bench's core and its child exchange besides the timed calls: the job the core
//! hands the child (`bench.run`), the report the child answers with, and the request and reply
//! shapes both baselines write and read.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Set in the child's environment: which child to be (`client`, `blocking` or `baseline`).
pub(crate) const CHILD_MODE: &str = "GATEHOUSE_BENCH_STDIO_CHILD";
/// The size of the `echo` case's text.
pub(crate) const TEXT_LEN: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Case {
    Add,
    Echo,
    /// A call of `forbidden`, which must be refused (Gatehouse core only).
    Forbidden,
}

impl Case {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Case::Add => "add",
            Case::Echo => "echo64k",
            Case::Forbidden => "forbidden",
        }
    }
}

/// What the child is to do: `n` calls of `case`, `window` at a time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Job {
    pub(crate) case: Case,
    pub(crate) n: u64,
    pub(crate) window: usize,
    /// Time each call (one at a time only).
    pub(crate) samples: bool,
    /// Compare each echoed text in full (the timed runs compare its length).
    pub(crate) verify: bool,
}

impl Job {
    pub(crate) fn new(case: Case, n: u64, window: usize) -> Self {
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
pub(crate) struct Report {
    pub(crate) elapsed_ns: u64,
    pub(crate) samples_ns: Vec<u64>,
    /// CPU time of the threads the job started and that ended with it (the core cannot see
    /// them in `/proc` any more).
    #[serde(default)]
    pub(crate) ended_threads_cpu_ns: u64,
}

impl Report {
    /// With room for the job's samples, so that timing one call never grows the vector.
    pub(crate) fn for_job(job: &Job) -> Self {
        let room = if job.samples { job.n } else { 0 };
        Self {
            elapsed_ns: 0,
            samples_ns: Vec::with_capacity(usize::try_from(room).unwrap_or(0)),
            ended_threads_cpu_ns: 0,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct EchoArgs<'a> {
    pub(crate) text: &'a str,
}

/// A request, as both baselines write it: the same bytes as the Gatehouse client's.
#[derive(Serialize)]
pub(crate) struct RequestOut<'a, P> {
    pub(crate) jsonrpc: &'static str,
    pub(crate) id: u64,
    pub(crate) method: &'a str,
    pub(crate) params: P,
}

/// A reply as both baselines read it: a typed result in one pass.
#[derive(Deserialize)]
pub(crate) struct ReplyIn<'a, T> {
    #[serde(borrow)]
    pub(crate) jsonrpc: &'a str,
    pub(crate) id: u64,
    pub(crate) result: T,
}

/// 64 KiB of plain ASCII, without escapes.
pub(crate) fn text() -> String {
    "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(TEXT_LEN)
        .collect()
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The CPU time of the calling thread so far (`/proc/thread-self/schedstat`), in ns.
pub(crate) fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
