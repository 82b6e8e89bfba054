//! The measurement: every pair runs the same job in turn, round after round, so that whatever
//! the machine does meanwhile hits every pair alike; each figure is reported as the median over
//! the rounds with its spread (min–max), beside the CPU time both processes used per request,
//! and each pair is compared with the baseline round by round.

use std::time::Duration;

use crate::cores::{pairs, Pair, Peer, Setup, BASELINE, GATEHOUSE};
use crate::job::{Case, Job};
use crate::latency::percentile;
use crate::usage::{usage, Usage};

/// Requests in flight in the throughput runs (Gatehouse's default `max_in_flight` is 64).
pub(crate) const WINDOW: usize = 32;

/// What to run, from the command line and the environment.
pub(crate) struct Plan {
    /// Rounds per measurement (`STDIO_BENCH_ROUNDS`, default 10; 1 in quick mode).
    rounds: usize,
    /// Scales the requests per job (`STDIO_BENCH_SCALE`, default 1).
    scale: f64,
    /// `cargo bench -- --test`, `cargo test --benches`: every pair once, a few requests.
    quick: bool,
    /// Only the measurements whose `<case>/<mode>/<pair>` contains this (the baseline of each
    /// measurement always runs, for the ratios).
    filter: Option<String>,
    /// `--profile-time <s>`: run the selected throughput measurements for that long each, and
    /// print nothing (for `perf record`).
    profile: Option<Duration>,
}

impl Plan {
    pub(crate) fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let env = |name: &str| std::env::var(name).ok();
        let quick = !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test");
        let profile = args
            .iter()
            .position(|a| a == "--profile-time")
            .and_then(|i| args.get(i + 1))
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs_f64);
        let mut skip_next = false;
        let filter = args.iter().find_map(|a| {
            let value = !skip_next && !a.starts_with('-');
            skip_next = a == "--profile-time";
            value.then(|| a.clone())
        });
        Plan {
            rounds: if quick {
                1
            } else {
                env("STDIO_BENCH_ROUNDS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(10)
                    .max(1)
            },
            scale: env("STDIO_BENCH_SCALE")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1.0),
            quick,
            filter,
            profile,
        }
    }

    /// Requests per job.
    fn requests(&self, case: Case, mode: Mode) -> u64 {
        if self.quick {
            return 40;
        }
        let base = match (case, mode) {
            (Case::Echo, Mode::Throughput) => 2_000.0,
            (Case::Echo, Mode::Latency) => 600.0,
            (_, Mode::Throughput) => 60_000.0,
            (_, Mode::Latency) => 4_000.0,
        };
        ((base * self.scale) as u64).max(10)
    }

    fn selects(&self, case: Case, mode: Mode, pair: Pair) -> bool {
        let name = format!("{}/{}/{}", case.name(), mode.name(), pair.name);
        pair.name == BASELINE.name || self.filter.as_ref().is_none_or(|f| name.contains(f))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// [`WINDOW`] requests in flight.
    Throughput,
    /// One request at a time, each timed.
    Latency,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Throughput => "throughput",
            Mode::Latency => "latency",
        }
    }
}

/// One job of one pair.
struct Run {
    requests: u64,
    /// As the child timed it.
    wall_ns: u64,
    /// Latency runs: the round trips, sorted.
    samples: Vec<Duration>,
    core: Usage,
    child: Usage,
}

impl Run {
    fn per_request(&self, n: u64) -> f64 {
        n as f64 / self.requests.max(1) as f64
    }

    fn wall(&self) -> f64 {
        self.per_request(self.wall_ns)
    }

    fn p(&self, p: f64) -> f64 {
        percentile(&self.samples, p).as_nanos() as f64
    }

    fn cpu(&self) -> f64 {
        self.per_request(self.core.cpu_ns + self.child.cpu_ns)
    }
}

/// Every measurement the plan selects.
pub(crate) fn run(setup: &Setup, plan: &Plan) {
    if let Some(time) = plan.profile {
        return profile(setup, plan, time);
    }
    println!(
        "stdio: {} round(s) per measurement, pairs interleaved; medians over the rounds \
         [min–max]; CPU time is the core process's and the child's, per request",
        plan.rounds
    );
    for mode in [Mode::Throughput, Mode::Latency] {
        for case in [Case::Add, Case::Echo] {
            let pairs: Vec<Pair> = pairs()
                .into_iter()
                .filter(|&pair| plan.selects(case, mode, pair))
                .collect();
            if pairs.len() < 2 && !plan.quick {
                continue;
            }
            let runs = measure(setup, plan, case, mode, &pairs);
            print(case, mode, &pairs, &runs);
        }
    }
}

/// Spawns every pair, warms each up, then runs `plan.rounds` rounds of one job per pair, the
/// order of the pairs rotated each round. `runs[pair][round]`.
fn measure(setup: &Setup, plan: &Plan, case: Case, mode: Mode, pairs: &[Pair]) -> Vec<Vec<Run>> {
    let n = plan.requests(case, mode);
    let job = match mode {
        Mode::Throughput => Job::new(case, n, WINDOW),
        Mode::Latency => {
            let mut job = Job::new(case, n, 1);
            job.samples = true;
            job
        }
    };
    let mut peers: Vec<Peer> = pairs.iter().map(|&p| Peer::spawn(setup, p)).collect();
    if !plan.quick {
        let mut warm_up = job.clone();
        warm_up.n = (n / 5).max(1);
        warm_up.samples = false;
        for peer in &mut peers {
            peer.run(setup, &warm_up);
        }
    }
    let mut runs: Vec<Vec<Run>> = pairs.iter().map(|_| Vec::new()).collect();
    for round in 0..plan.rounds {
        for k in 0..peers.len() {
            let i = (round + k) % peers.len();
            let peer = &mut peers[i];
            let child = peer.pid.to_string();
            let (core_before, child_before) = (usage("self"), usage(&child));
            let report = peer.run(setup, &job);
            let (core_after, child_after) = (usage("self"), usage(&child));
            let mut samples: Vec<Duration> = report
                .samples_ns
                .iter()
                .map(|&ns| Duration::from_nanos(ns))
                .collect();
            samples.sort_unstable();
            if std::env::var_os("STDIO_BENCH_VERBOSE").is_some() {
                let p50 = (!samples.is_empty()).then(|| percentile(&samples, 50.0));
                eprintln!(
                    "round {round} {:<28} wall {:>10.2} µs/req  p50 {:?}  child CPU {:.2} µs/req",
                    pairs[i].name,
                    report.elapsed_ns as f64 / n as f64 / 1e3,
                    p50,
                    (child_after - child_before).cpu_ns as f64 / n as f64 / 1e3,
                );
            }
            runs[i].push(Run {
                requests: n,
                wall_ns: report.elapsed_ns,
                samples,
                core: core_after - core_before,
                child: Usage {
                    cpu_ns: report.ended_threads_cpu_ns,
                    ..Usage::default()
                } + (child_after - child_before),
            });
        }
    }
    for peer in peers {
        peer.close(setup);
    }
    runs
}

/// Median, min and max.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => values[n / 2],
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        Spread {
            median,
            min: values.first().copied().unwrap_or(f64::NAN),
            max: values.last().copied().unwrap_or(f64::NAN),
        }
    }

    /// `µs` from ns: "3.52 [3.40–3.71]".
    fn micros(&self) -> String {
        format!(
            "{:.2} [{:.2}–{:.2}]",
            self.median / 1e3,
            self.min / 1e3,
            self.max / 1e3
        )
    }

    fn ratio(&self) -> String {
        format!("{:.2}× [{:.2}–{:.2}]", self.median, self.min, self.max)
    }
}

fn print(case: Case, mode: Mode, pairs: &[Pair], runs: &[Vec<Run>]) {
    let base = pairs.iter().position(|p| p.name == BASELINE.name);
    let ratio = |i: usize, f: &dyn Fn(&Run) -> f64| {
        base.filter(|&b| b != i).map(|b| {
            let paired = runs[i].iter().zip(&runs[b]).map(|(r, b)| f(r) / f(b));
            Spread::of(paired.collect())
        })
    };
    let spread = |i: usize, f: &dyn Fn(&Run) -> f64| Spread::of(runs[i].iter().map(f).collect());
    let total = |i: usize, f: &dyn Fn(&Run) -> u64| {
        let requests: u64 = runs[i].iter().map(|r| r.requests).sum();
        runs[i].iter().map(f).sum::<u64>() as f64 / requests.max(1) as f64
    };
    println!();
    match mode {
        Mode::Throughput => {
            println!(
                "{} throughput, {WINDOW} in flight, {} requests per run, µs per request:",
                case.name(),
                runs[0].first().map_or(0, |r| r.requests)
            );
            println!(
                "{:<28} {:>22} {:>9} {:>22} {:>22} {:>11} {:>11} {:>15} {:>15}",
                "pair",
                "wall",
                "req/s",
                "core CPU",
                "child CPU",
                "core rd/wr",
                "child rd/wr",
                "wall ÷ base",
                "CPU ÷ base"
            );
            for (i, pair) in pairs.iter().enumerate() {
                let wall = spread(i, &Run::wall);
                println!(
                    "{:<28} {:>22} {:>9.0} {:>22} {:>22} {:>5.2}/{:<5.2} {:>5.2}/{:<5.2} {:>15} {:>15}",
                    pair.name,
                    wall.micros(),
                    1e9 / wall.median,
                    spread(i, &|r| r.per_request(r.core.cpu_ns)).micros(),
                    spread(i, &|r| r.per_request(r.child.cpu_ns)).micros(),
                    total(i, &|r| r.core.reads),
                    total(i, &|r| r.core.writes),
                    total(i, &|r| r.child.reads),
                    total(i, &|r| r.child.writes),
                    ratio(i, &Run::wall).map_or("".into(), |s| s.ratio()),
                    ratio(i, &Run::cpu).map_or("".into(), |s| s.ratio()),
                );
            }
        }
        Mode::Latency => {
            println!(
                "{} round-trip latency, one request at a time, {} per run, µs:",
                case.name(),
                runs[0].first().map_or(0, |r| r.requests)
            );
            println!(
                "{:<28} {:>22} {:>22} {:>8} {:>8} {:>22} {:>22} {:>15} {:>15}",
                "pair",
                "p50",
                "p99",
                "all p50",
                "all p99",
                "core CPU",
                "child CPU",
                "p50 ÷ base",
                "CPU ÷ base"
            );
            for (i, pair) in pairs.iter().enumerate() {
                let mut all: Vec<Duration> =
                    runs[i].iter().flat_map(|r| r.samples.clone()).collect();
                all.sort_unstable();
                let pooled = |p: f64| {
                    if all.is_empty() {
                        f64::NAN
                    } else {
                        percentile(&all, p).as_secs_f64() * 1e6
                    }
                };
                println!(
                    "{:<28} {:>22} {:>22} {:>8.1} {:>8.1} {:>22} {:>22} {:>15} {:>15}",
                    pair.name,
                    spread(i, &|r| r.p(50.0)).micros(),
                    spread(i, &|r| r.p(99.0)).micros(),
                    pooled(50.0),
                    pooled(99.0),
                    spread(i, &|r| r.per_request(r.core.cpu_ns)).micros(),
                    spread(i, &|r| r.per_request(r.child.cpu_ns)).micros(),
                    ratio(i, &|r| r.p(50.0)).map_or("".into(), |s| s.ratio()),
                    ratio(i, &Run::cpu).map_or("".into(), |s| s.ratio()),
                );
            }
        }
    }
    if let (Some(g), Some(_)) = (pairs.iter().position(|p| p.name == GATEHOUSE.name), base) {
        let measure = match mode {
            Mode::Throughput => ratio(g, &Run::wall),
            Mode::Latency => ratio(g, &|r| r.p(50.0)),
        };
        if let Some(r) = measure {
            println!(
                "=> {} {}: gatehouse ÷ baseline {} (target ≤ 1.30×)",
                case.name(),
                mode.name(),
                r.ratio()
            );
        }
    }
}

/// Runs the selected throughput jobs back to back for `time` each, for a profiler.
fn profile(setup: &Setup, plan: &Plan, time: Duration) {
    for case in [Case::Add, Case::Echo] {
        for pair in pairs() {
            let name = format!("{}/{}/{}", case.name(), Mode::Throughput.name(), pair.name);
            if plan.filter.as_ref().is_some_and(|f| !name.contains(f)) {
                continue;
            }
            let mut peer = Peer::spawn(setup, pair);
            let job = Job::new(case, plan.requests(case, Mode::Throughput), WINDOW);
            let start = std::time::Instant::now();
            while start.elapsed() < time {
                peer.run(setup, &job);
            }
            peer.close(setup);
        }
    }
}
