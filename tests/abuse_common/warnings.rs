//! A `tracing` subscriber that counts warnings per call site, for the abuse tests.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each abuse test file uses part of the support code"
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The rate the runtime holds each warning's call site to (`runtime/src/log.rs`): a burst of
/// 20, then 5 a second; each message let through after a suppressed spell comes with one
/// summary line.
pub const LOG_BURST: u64 = 20;
pub const LOG_PER_SECOND: u64 = 5;

/// Counts `WARN` and `ERROR` events per call site (`file:line`), for the whole process.
#[derive(Default)]
pub struct Warnings {
    by_site: Mutex<HashMap<String, u64>>,
}

impl Warnings {
    /// The process's counter, installed as the global subscriber on first use.
    pub fn installed() -> &'static Arc<Warnings> {
        static WARNINGS: OnceLock<Arc<Warnings>> = OnceLock::new();
        WARNINGS.get_or_init(|| {
            let warnings = Arc::new(Warnings::default());
            tracing::subscriber::set_global_default(Arc::clone(&warnings))
                .expect("no other global subscriber");
            warnings
        })
    }

    /// The counts so far, by call site.
    pub fn snapshot(&self) -> HashMap<String, u64> {
        self.by_site
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many warnings were logged since `before`, in all.
    pub fn since(&self, before: &HashMap<String, u64>) -> u64 {
        self.snapshot()
            .iter()
            .map(|(site, &n)| n - before.get(site).copied().unwrap_or(0))
            .sum()
    }

    /// Asserts that no call site logged more since `before` than the rate limit allows over
    /// `elapsed`, and returns the total logged since `before`.
    pub fn assert_rate_limited(&self, before: &HashMap<String, u64>, elapsed: Duration) -> u64 {
        let allowed = 2 * (LOG_BURST + LOG_PER_SECOND * (elapsed.as_secs() + 1));
        let now = self.snapshot();
        let mut total = 0;
        for (site, &n) in &now {
            let grown = n - before.get(site).copied().unwrap_or(0);
            total += grown;
            assert!(
                grown <= allowed,
                "{site} logged {grown} warnings in {elapsed:?} (rate limit: {allowed})"
            );
        }
        total
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::WARN)
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        let site = format!(
            "{}:{}",
            meta.file().unwrap_or("?"),
            meta.line().unwrap_or(0)
        );
        *self
            .by_site
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(site)
            .or_default() += 1;
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
