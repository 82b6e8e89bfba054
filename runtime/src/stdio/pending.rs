//! Calls waiting for their reply, by id, on either side of the pipe.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

/// Hashes the ids of calls (sequential integers this side chose, never input from the other
/// side) with one multiplication instead of SipHash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        // Fibonacci hashing: the high bits, which the table uses too, depend on every bit.
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The waiters of calls in flight. Once closed (the other side is gone), nothing can be added
/// and the waiters are dropped, which their callers see as "closed".
pub(crate) struct Pending<W> {
    inner: Mutex<Inner<W>>,
}

struct Inner<W> {
    next: u64,
    waiters: HashMap<u64, W, BuildHasherDefault<IdHasher>>,
    closed: bool,
}

impl<W> Default for Pending<W> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                next: 0,
                waiters: HashMap::default(),
                closed: false,
            }),
        }
    }
}

impl<W> Pending<W> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<W>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a waiter under a fresh id; `None` when closed.
    pub(crate) fn register(&self, waiter: W) -> Option<u64> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        inner.next += 1;
        let id = inner.next;
        inner.waiters.insert(id, waiter);
        Some(id)
    }

    /// Takes the waiter of `id`, if it still waits.
    pub(crate) fn take(&self, id: u64) -> Option<W> {
        self.lock().waiters.remove(&id)
    }

    /// Closes for good; returns the waiters (drop them to tell their callers).
    pub(crate) fn close(&self) -> Vec<W> {
        let mut inner = self.lock();
        inner.closed = true;
        inner.waiters.drain().map(|(_, w)| w).collect()
    }

    /// Whether [`close`](Self::close) was called.
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// How many calls wait.
    pub(crate) fn len(&self) -> usize {
        self.lock().waiters.len()
    }
}

/// Removes a call's waiter when the call is abandoned (timed out or dropped).
pub(crate) struct Registration<'a, W> {
    pub(crate) pending: &'a Pending<W>,
    pub(crate) id: u64,
}

impl<W> Registration<'_, W> {
    /// The waiter was taken (its reply arrived): nothing to remove.
    pub(crate) fn disarm(self) {
        std::mem::forget(self);
    }
}

impl<W> Drop for Registration<'_, W> {
    fn drop(&mut self) {
        self.pending.take(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fresh_and_close_refuses_more() {
        let pending = Pending::default();
        let a = pending.register("a").expect("open");
        let b = pending.register("b").expect("open");
        assert_ne!(a, b);
        assert_eq!(pending.take(a), Some("a"));
        assert_eq!(pending.take(a), None);
        {
            let _gone = Registration {
                pending: &pending,
                id: b,
            };
        }
        assert_eq!(pending.len(), 0);
        pending.register("c").expect("open");
        assert_eq!(pending.close(), vec!["c"]);
        assert!(pending.is_closed());
        assert_eq!(pending.register("d"), None);
    }
}
