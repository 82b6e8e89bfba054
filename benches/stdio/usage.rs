//! What a process used, read from `/proc`: CPU time in nanoseconds (the sum of its threads'
//! `schedstat`, not the 10 ms ticks of `stat`) and its read and write system calls.

use std::ops::{Add, Sub};

/// CPU time and system calls of one process, so far.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    pub(crate) cpu_ns: u64,
    pub(crate) reads: u64,
    pub(crate) writes: u64,
}

impl Sub for Usage {
    type Output = Usage;

    fn sub(self, before: Usage) -> Usage {
        Usage {
            cpu_ns: self.cpu_ns.saturating_sub(before.cpu_ns),
            reads: self.reads.saturating_sub(before.reads),
            writes: self.writes.saturating_sub(before.writes),
        }
    }
}

impl Add for Usage {
    type Output = Usage;

    fn add(self, other: Usage) -> Usage {
        Usage {
            cpu_ns: self.cpu_ns + other.cpu_ns,
            reads: self.reads + other.reads,
            writes: self.writes + other.writes,
        }
    }
}

/// The usage of process `pid` (`"self"` for this one). Threads that have exited are not
/// counted: the cores' and children's threads live as long as their process.
pub(crate) fn usage(pid: &str) -> Usage {
    let [reads, writes] = syscalls(pid);
    Usage {
        cpu_ns: cpu_ns(pid),
        reads,
        writes,
    }
}

/// The time on a CPU of every live thread of `pid`: the first field of each
/// `/proc/<pid>/task/<tid>/schedstat`.
fn cpu_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
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
