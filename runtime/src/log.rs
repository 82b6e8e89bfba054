//! Logging what a peer can trigger, at a bounded rate.
//!
//! A warning that a caller can cause — its queue is full, it sent garbage, it asked for a file
//! outside the frontend — must not let that caller write to the core's log as fast as it can
//! send. Every such message goes through a [`RateLimit`] of its own call site: a token bucket
//! that lets [`BURST`] messages through at once, then [`PER_SECOND`] per second. Messages over
//! the rate are dropped and counted; the next one let through is preceded by a single line
//! "N similar messages suppressed" (with the count in the field `suppressed`), from the same
//! call site.
//!
//! So, per call site, the log grows by at most `2 × (BURST + PER_SECOND × seconds)` lines,
//! whatever the peers do.
//!
//! # Use
//!
//! The macros take exactly what `tracing`'s macros take:
//!
//! ```ignore
//! crate::log::warn_limited!(child = label, %error, "gatehouse: ignored a malformed message");
//! crate::log::error_limited!(command, "command panicked");
//! ```
//!
//! For another rate, keep a [`RateLimit`] in a `static` and ask it:
//!
//! ```ignore
//! static LIMIT: crate::log::RateLimit = crate::log::RateLimit::new(1, 5);
//! if let Some(suppressed) = LIMIT.admit() {
//!     tracing::warn!(suppressed, "…");
//! }
//! ```
//!
//! Use them for anything whose frequency a peer controls; keep plain `tracing` macros for what
//! only the core or its operator causes (a bind failure, a state managed twice).

use std::sync::Mutex;
use std::time::Instant;

/// How many messages a call site may log at once, after a quiet spell.
pub(crate) const BURST: u32 = 20;

/// How many messages per second a call site may log once its burst is spent.
pub(crate) const PER_SECOND: u32 = 5;

/// One token, in the bucket's fixed-point unit (a billionth of a message, so that a refill
/// computed from nanoseconds needs no division).
const TOKEN: u128 = 1_000_000_000;

/// A token bucket deciding which messages of one call site are logged; see the
/// [module docs](self). `const`-constructible, so it lives in a `static` next to the call.
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_second: u32,
    burst: u32,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens left, in units of [`TOKEN`]; `None` before the first message (a full bucket).
    tokens: Option<u128>,
    /// When `tokens` was last brought up to date.
    refilled: Option<Instant>,
    /// Messages dropped since the last one let through.
    suppressed: u64,
}

impl RateLimit {
    /// A limit of `burst` messages at once and `per_second` per second after that (`burst` at
    /// least 1).
    pub(crate) const fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second,
            burst: if burst == 0 { 1 } else { burst },
            bucket: Mutex::new(Bucket {
                tokens: None,
                refilled: None,
                suppressed: 0,
            }),
        }
    }

    /// Whether a message may be logged now: `Some(n)` when it may, `n` being how many were
    /// suppressed since the last one logged (say so when it is not 0); `None` when it may not
    /// (it is counted).
    pub(crate) fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    /// [`admit`](Self::admit) at the time `now` (tests give their own clock).
    pub(crate) fn admit_at(&self, now: Instant) -> Option<u64> {
        // The bucket is always left consistent; a panic elsewhere cannot poison it for good.
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let full = u128::from(self.burst) * TOKEN;
        let tokens = match (bucket.tokens, bucket.refilled) {
            (Some(tokens), Some(then)) => {
                let elapsed = now.saturating_duration_since(then).as_nanos();
                tokens.saturating_add(elapsed.saturating_mul(u128::from(self.per_second)))
            }
            _ => full,
        }
        .min(full);
        // A clock read before the last one (threads racing) must not move the bucket back.
        if bucket.refilled.is_none_or(|then| now > then) {
            bucket.refilled = Some(now);
        }
        if tokens >= TOKEN {
            bucket.tokens = Some(tokens - TOKEN);
            Some(std::mem::take(&mut bucket.suppressed))
        } else {
            bucket.tokens = Some(tokens);
            bucket.suppressed = bucket.suppressed.saturating_add(1);
            None
        }
    }
}

/// `tracing::event!` at `$level` behind a [`RateLimit`] of this call site; the macros below are
/// the way to use it.
macro_rules! event_limited {
    ($level:expr, $($arg:tt)+) => {{
        static LIMIT: $crate::log::RateLimit =
            $crate::log::RateLimit::new($crate::log::PER_SECOND, $crate::log::BURST);
        if ::tracing::enabled!($level) {
            if let ::core::option::Option::Some(suppressed) = LIMIT.admit() {
                if suppressed > 0 {
                    ::tracing::event!(
                        $level,
                        suppressed,
                        "{suppressed} similar messages suppressed"
                    );
                }
                ::tracing::event!($level, $($arg)+);
            }
        }
    }};
}

/// `tracing::warn!`, rate-limited per call site (see the [module docs](self)).
macro_rules! warn_limited {
    ($($arg:tt)+) => {
        $crate::log::event_limited!(::tracing::Level::WARN, $($arg)+)
    };
}

/// `tracing::error!`, rate-limited per call site (see the [module docs](self)).
macro_rules! error_limited {
    ($($arg:tt)+) => {
        $crate::log::event_limited!(::tracing::Level::ERROR, $($arg)+)
    };
}

pub(crate) use error_limited;
pub(crate) use event_limited;
pub(crate) use warn_limited;

/// A `tracing` subscriber for tests that counts what is logged.
#[cfg(test)]
pub(crate) mod testing {
    /// Counts the events it sees, with the `suppressed` counts they carry.
    #[derive(Default)]
    pub(crate) struct Counter {
        pub(crate) events: std::sync::atomic::AtomicU64,
        pub(crate) suppressed: std::sync::atomic::AtomicU64,
    }

    impl tracing::Subscriber for Counter {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            struct Suppressed<'a>(&'a std::sync::atomic::AtomicU64);
            impl tracing::field::Visit for Suppressed<'_> {
                fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                    if field.name() == "suppressed" {
                        self.0
                            .fetch_add(value, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
            }
            self.events
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            event.record(&mut Suppressed(&self.suppressed));
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Counter;
    use super::*;
    use std::time::Duration;

    /// Runs `n` messages through `limit` at `at`, returning how many were let through and the
    /// suppressed counts they reported.
    fn burst(limit: &RateLimit, at: Instant, n: usize) -> (usize, u64) {
        let mut passed = 0;
        let mut reported = 0;
        for _ in 0..n {
            if let Some(suppressed) = limit.admit_at(at) {
                passed += 1;
                reported += suppressed;
            }
        }
        (passed, reported)
    }

    #[test]
    fn a_burst_then_the_rate() {
        let limit = RateLimit::new(5, 20);
        let t0 = Instant::now();
        assert_eq!(burst(&limit, t0, 100), (20, 0));
        // A fifth of a second later: one more, which reports the 80 dropped.
        let t1 = t0 + Duration::from_millis(200);
        assert_eq!(burst(&limit, t1, 100), (1, 80));
        // Half of a token's time: nothing.
        let t2 = t1 + Duration::from_millis(100);
        assert_eq!(burst(&limit, t2, 10), (0, 0));
        let t3 = t2 + Duration::from_millis(100);
        assert_eq!(burst(&limit, t3, 10), (1, 99 + 10));
    }

    #[test]
    fn the_bucket_refills_to_the_burst_and_no_further() {
        let limit = RateLimit::new(5, 20);
        let t0 = Instant::now();
        assert_eq!(burst(&limit, t0, 20).0, 20);
        let much_later = t0 + Duration::from_secs(3600 * 24 * 365);
        assert_eq!(burst(&limit, much_later, 50), (20, 0));
    }

    #[test]
    fn a_flood_is_held_to_the_rate_over_time() {
        let limit = RateLimit::new(5, 20);
        let t0 = Instant::now();
        let mut passed = 0;
        let mut dropped = 0;
        // Ten seconds of a message every 100 µs.
        for i in 0..100_000u64 {
            if let Some(suppressed) = limit.admit_at(t0 + Duration::from_micros(100 * i)) {
                passed += 1;
                dropped += suppressed;
            }
        }
        assert!((20 + 49..=20 + 50).contains(&passed), "{passed}");
        // Every dropped message is reported, except those after the last one let through.
        assert!(dropped + passed <= 100_000 && dropped + passed > 100_000 - 2_100);
    }

    #[test]
    fn a_clock_going_back_does_not_refill() {
        let limit = RateLimit::new(1, 1);
        let t0 = Instant::now() + Duration::from_secs(10);
        assert_eq!(limit.admit_at(t0), Some(0));
        assert_eq!(limit.admit_at(t0 - Duration::from_secs(5)), None);
        assert_eq!(limit.admit_at(t0 + Duration::from_millis(999)), None);
        assert_eq!(limit.admit_at(t0 + Duration::from_secs(1)), Some(2));
    }

    #[test]
    fn the_macro_limits_its_call_site() {
        use std::sync::atomic::Ordering::Relaxed;
        let counter = std::sync::Arc::new(Counter::default());
        tracing::subscriber::with_default(counter.clone(), || {
            for i in 0..1000 {
                warn_limited!(i, "flooded");
            }
        });
        // The burst (and perhaps one more token, if the loop took over 200 ms).
        let logged = counter.events.load(Relaxed);
        assert!((20..=22).contains(&logged), "{logged}");
        assert_eq!(counter.suppressed.load(Relaxed), 0);
        // A second call site has its own bucket.
        tracing::subscriber::with_default(counter.clone(), || error_limited!("elsewhere"));
        assert_eq!(counter.events.load(Relaxed), logged + 1);
    }

    #[test]
    fn a_zero_burst_still_lets_one_through() {
        let limit = RateLimit::new(0, 0);
        let t0 = Instant::now();
        assert_eq!(burst(&limit, t0, 5), (1, 0));
        assert_eq!(burst(&limit, t0 + Duration::from_secs(100), 5), (0, 0));
    }
}
