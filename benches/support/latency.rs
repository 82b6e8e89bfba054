//! The latency tables of the transport benchmarks: nearest-rank percentiles of sorted samples.

use std::time::Duration;

/// Prints the table's header.
pub(crate) fn header(second: &str, width: usize) {
    println!(
        "{:<10} {second:<width$} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "case", "n", "min", "p10", "p50", "p90", "p99", "mean"
    );
}

/// Sorts `samples` and prints one row: min, p10, p50, p90, p99 and mean.
pub(crate) fn row(case: &str, who: &str, width: usize, samples: &mut [Duration]) {
    assert!(!samples.is_empty(), "no samples for {case} / {who}");
    samples.sort_unstable();
    let n = samples.len();
    let mean = samples.iter().sum::<Duration>() / u32::try_from(n).unwrap_or(u32::MAX);
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{case:<10} {who:<width$} {n:>7} {:>7.1} µs {:>7.1} µs {:>7.1} µs {:>7.1} µs {:>7.1} µs {:>7.1} µs",
        micros(samples[0]),
        micros(percentile(samples, 10.0)),
        micros(percentile(samples, 50.0)),
        micros(percentile(samples, 90.0)),
        micros(percentile(samples, 99.0)),
        micros(mean),
    );
}

/// The nearest-rank percentile of sorted samples.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
