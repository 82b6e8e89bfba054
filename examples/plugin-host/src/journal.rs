//! The core's record of the commands that ran, and for whom.
//!
//! Each host command writes one entry as its first act, so a refused call — which never reaches
//! the command — leaves no entry: the journal is how the example (and its tests) show that a
//! refusal really means "did not run".
//!
//! A plugin decides how often commands run, so the journal is bounded like everything else a
//! peer can fill: it keeps the newest [`MAX_ENTRIES`] entries within [`MAX_BYTES`] of text (a
//! detail longer than [`MAX_DETAIL_BYTES`] is cut), counts the ones it let go, and keeps exact
//! per-caller counts of every command that ran (at most [`MAX_COUNTERS`] caller and command
//! pairs). A plugin flooding `log` costs the core a fixed amount of memory, not one entry per
//! message.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

/// How many entries the journal keeps, at most (the newest).
pub const MAX_ENTRIES: usize = 4096;

/// How many bytes the kept entries may take in all, their text and a fixed cost per entry
/// ([`ENTRY_COST`]) counted.
pub const MAX_BYTES: usize = 2 << 20;

/// The longest detail kept, in bytes; a longer one is cut at a character boundary.
pub const MAX_DETAIL_BYTES: usize = 4096;

/// How many different caller and command pairs are counted; runs of further pairs are counted
/// together, in [`Journal::uncounted`].
pub const MAX_COUNTERS: usize = 1024;

/// What an entry costs beyond its text: the entry itself and its place in the journal.
pub const ENTRY_COST: usize = std::mem::size_of::<Entry>() + 16;

/// One command that ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The label of the caller, as the core resolved it (never what the plugin claimed).
    pub caller: String,
    /// The command's name.
    pub command: String,
    /// What it was asked (a key, a log message), for people reading the journal; at most
    /// [`MAX_DETAIL_BYTES`].
    pub detail: String,
}

impl Entry {
    fn cost(&self) -> usize {
        ENTRY_COST + self.caller.len() + self.command.len() + self.detail.len()
    }
}

/// The record of the commands that ran. Cheap to clone: clones share the same record.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    record: Mutex<Record>,
    /// Bumped on every new entry, so waiters wake up.
    version: watch::Sender<u64>,
}

#[derive(Default)]
struct Record {
    /// The newest entries, oldest first.
    entries: VecDeque<Entry>,
    /// What `entries` cost (see [`Entry::cost`]).
    bytes: usize,
    /// How many entries were ever recorded; the sequence number of the next one.
    recorded: u64,
    /// Runs per caller, then per command.
    counts: HashMap<String, HashMap<String, usize>>,
    /// How many pairs `counts` holds.
    pairs: usize,
    /// Runs of pairs that did not fit in `counts`.
    uncounted: u64,
}

impl Record {
    /// The sequence number of the oldest entry kept.
    fn first(&self) -> u64 {
        self.recorded - self.entries.len() as u64
    }

    fn count(&mut self, caller: &str, command: &str) {
        if let Some(n) = self
            .counts
            .get_mut(caller)
            .and_then(|commands| commands.get_mut(command))
        {
            *n = n.saturating_add(1);
        } else if self.pairs < MAX_COUNTERS {
            self.pairs += 1;
            self.counts
                .entry(caller.to_owned())
                .or_default()
                .insert(command.to_owned(), 1);
        } else {
            self.uncounted += 1;
        }
    }

    fn push(&mut self, entry: Entry) {
        self.bytes += entry.cost();
        self.entries.push_back(entry);
        self.recorded += 1;
        while self.entries.len() > MAX_ENTRIES || self.bytes > MAX_BYTES {
            match self.entries.pop_front() {
                Some(old) => self.bytes -= old.cost(),
                None => break,
            }
        }
    }
}

impl Default for Journal {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                record: Mutex::new(Record::default()),
                version: watch::Sender::new(0),
            }),
        }
    }
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let record = self.lock();
        f.debug_struct("Journal")
            .field("entries", &record.entries.len())
            .field("recorded", &record.recorded)
            .finish_non_exhaustive()
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `command` ran for `caller`.
    pub fn record(&self, caller: &str, command: &str, detail: impl Into<String>) {
        let detail = truncate(detail.into(), MAX_DETAIL_BYTES);
        tracing::debug!(caller, command, detail = %detail, "ran");
        let entry = Entry {
            caller: caller.to_owned(),
            command: command.to_owned(),
            detail,
        };
        {
            let mut record = self.lock();
            record.count(caller, command);
            record.push(entry);
        }
        self.inner.version.send_modify(|v| *v += 1);
    }

    /// The entries kept, oldest first: the newest [`MAX_ENTRIES`] at most.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing has run yet.
    pub fn is_empty(&self) -> bool {
        self.recorded() == 0
    }

    /// How many entries were ever recorded, kept or not.
    pub fn recorded(&self) -> u64 {
        self.lock().recorded
    }

    /// How many entries were let go to keep the journal within its bounds.
    pub fn dropped(&self) -> u64 {
        let record = self.lock();
        record.first()
    }

    /// How many runs went uncounted because [`MAX_COUNTERS`] pairs were counted already.
    pub fn uncounted(&self) -> u64 {
        self.lock().uncounted
    }

    /// How many times `command` ran for `caller` (entries let go included).
    pub fn count(&self, caller: &str, command: &str) -> usize {
        self.lock()
            .counts
            .get(caller)
            .and_then(|commands| commands.get(command))
            .copied()
            .unwrap_or(0)
    }

    /// How many times `command` ran, for anyone (entries let go included).
    pub fn count_command(&self, command: &str) -> usize {
        self.lock()
            .counts
            .values()
            .filter_map(|commands| commands.get(command))
            .sum()
    }

    /// Waits until an entry matching `wanted` is kept (one recorded before the call counts),
    /// and returns it; `None` if none came within `timeout`. An entry let go before this looked
    /// at it is not seen: to learn whether something ran at all, use [`count`](Self::count).
    pub async fn wait_for(
        &self,
        timeout: Duration,
        wanted: impl Fn(&Entry) -> bool,
    ) -> Option<Entry> {
        let mut version = self.inner.version.subscribe();
        let search = async {
            // Each look starts where the last one ended (by sequence number), so a plugin
            // flooding the journal does not make waiting quadratic.
            let mut looked: u64 = 0;
            loop {
                // Marks the current version seen before looking, so an entry recorded after the
                // look wakes `changed` below.
                version.borrow_and_update();
                {
                    let record = self.lock();
                    let skip = looked.saturating_sub(record.first());
                    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
                    let unseen = record.entries.range(skip.min(record.entries.len())..);
                    if let Some(found) = unseen.into_iter().find(|e| wanted(e)) {
                        return Some(found.clone());
                    }
                    looked = record.recorded;
                }
                if version.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, search).await.ok().flatten()
    }

    /// Waits until the plugin `label` has said it is ready (the `ready` notification), however
    /// many entries came after it.
    pub async fn wait_ready(&self, label: &str, timeout: Duration) -> bool {
        let mut version = self.inner.version.subscribe();
        let ready = async {
            loop {
                version.borrow_and_update();
                if self.count(label, "ready") > 0 {
                    return true;
                }
                if version.changed().await.is_err() {
                    return false;
                }
            }
        };
        tokio::time::timeout(timeout, ready).await.unwrap_or(false)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        // The record is changed in steps that cannot panic; a panic elsewhere cannot leave it
        // half-written.
        self.inner.record.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_see_entries_recorded_before_and_after() {
        let journal = Journal::new();
        journal.record("a", "ready", "");
        assert!(journal.wait_ready("a", Duration::from_millis(10)).await);
        assert!(!journal.wait_ready("b", Duration::from_millis(10)).await);
        let later = journal.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            later.record("b", "ready", "");
        });
        assert!(journal.wait_ready("b", Duration::from_secs(5)).await);
        task.await.expect("the task ran");
        assert_eq!(journal.count("b", "ready"), 1);
        assert_eq!(journal.count_command("ready"), 2);
    }

    #[test]
    fn the_newest_entries_are_kept_and_every_run_is_counted() {
        let journal = Journal::new();
        let n = MAX_ENTRIES + 100;
        for i in 0..n {
            journal.record("p", "log", i.to_string());
        }
        assert_eq!(journal.len(), MAX_ENTRIES);
        assert_eq!(journal.recorded(), n as u64);
        assert_eq!(journal.dropped(), 100);
        assert_eq!(journal.count("p", "log"), n);
        let entries = journal.entries();
        assert_eq!(entries[0].detail, "100");
        assert_eq!(entries[MAX_ENTRIES - 1].detail, (n - 1).to_string());
    }

    #[test]
    fn long_details_are_cut_and_bytes_are_bounded() {
        let journal = Journal::new();
        // Two-byte characters, so that the cut falls inside one.
        let long = "é".repeat(MAX_DETAIL_BYTES);
        for _ in 0..4 * MAX_BYTES / MAX_DETAIL_BYTES {
            journal.record("p", "log", long.clone());
        }
        let entries = journal.entries();
        assert!(entries.iter().all(|e| e.detail.len() <= MAX_DETAIL_BYTES));
        assert!(entries[0].detail.starts_with('é'));
        let bytes: usize = entries.iter().map(Entry::cost).sum();
        assert!(bytes <= MAX_BYTES, "{bytes}");
        assert!(journal.dropped() > 0);
    }

    #[test]
    fn counters_are_bounded_too() {
        let journal = Journal::new();
        for i in 0..MAX_COUNTERS + 10 {
            journal.record(&format!("caller{i}"), "log", "");
        }
        journal.record("caller0", "log", "");
        assert_eq!(journal.count("caller0", "log"), 2);
        assert_eq!(journal.count(&format!("caller{MAX_COUNTERS}"), "log"), 0);
        assert_eq!(journal.uncounted(), 10);
    }

    #[tokio::test]
    async fn a_waiter_looks_past_entries_that_were_let_go() {
        let journal = Journal::new();
        for i in 0..2 * MAX_ENTRIES {
            journal.record("p", "log", i.to_string());
        }
        journal.record("p", "kv_get", "wanted");
        let found = journal
            .wait_for(Duration::from_secs(5), |e| e.command == "kv_get")
            .await;
        assert_eq!(found.map(|e| e.detail), Some("wanted".to_owned()));
        // Gone from the journal, `ready` is still known from the counts.
        journal.record("p", "ready", "");
        for i in 0..MAX_ENTRIES {
            journal.record("p", "log", i.to_string());
        }
        assert!(journal.wait_ready("p", Duration::from_millis(10)).await);
    }
}
