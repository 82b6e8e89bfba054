//! The core's record of every command that ran, and for whom.
//!
//! Each host command writes one entry as its first act, so a refused call — which never reaches
//! the command — leaves no entry: the journal is how the example (and its tests) show that a
//! refusal really means "did not run".

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

/// One command that ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The label of the caller, as the core resolved it (never what the plugin claimed).
    pub caller: String,
    /// The command's name.
    pub command: String,
    /// What it was asked (a key, a log message), for people reading the journal.
    pub detail: String,
}

/// The record of every command that ran. Cheap to clone: clones share the same record.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    entries: Mutex<Vec<Entry>>,
    /// Bumped on every new entry, so waiters wake up.
    version: watch::Sender<u64>,
}

impl Default for Journal {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: Mutex::new(Vec::new()),
                version: watch::Sender::new(0),
            }),
        }
    }
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `command` ran for `caller`.
    pub fn record(&self, caller: &str, command: &str, detail: impl Into<String>) {
        let entry = Entry {
            caller: caller.to_owned(),
            command: command.to_owned(),
            detail: detail.into(),
        };
        tracing::debug!(caller, command, detail = %entry.detail, "ran");
        self.lock().push(entry);
        self.inner.version.send_modify(|v| *v += 1);
    }

    /// Every entry so far, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().clone()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing has run yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times `command` ran for `caller`.
    pub fn count(&self, caller: &str, command: &str) -> usize {
        self.lock()
            .iter()
            .filter(|e| e.caller == caller && e.command == command)
            .count()
    }

    /// How many times `command` ran, for anyone.
    pub fn count_command(&self, command: &str) -> usize {
        self.lock().iter().filter(|e| e.command == command).count()
    }

    /// Waits until an entry matching `wanted` exists (one recorded before the call counts), and
    /// returns it; `None` if none came within `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        wanted: impl Fn(&Entry) -> bool,
    ) -> Option<Entry> {
        let mut version = self.inner.version.subscribe();
        let search = async {
            // Entries are only ever appended: each look starts where the last one ended, so a
            // plugin flooding the journal does not make waiting quadratic.
            let mut looked = 0;
            loop {
                // Marks the current version seen before looking, so an entry recorded after the
                // look wakes `changed` below.
                version.borrow_and_update();
                {
                    let entries = self.lock();
                    if let Some(found) = entries[looked..].iter().find(|e| wanted(e)) {
                        return Some(found.clone());
                    }
                    looked = entries.len();
                }
                if version.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, search).await.ok().flatten()
    }

    /// Waits until the plugin `label` has said it is ready (the `ready` notification).
    pub async fn wait_ready(&self, label: &str, timeout: Duration) -> bool {
        self.wait_for(timeout, |e| e.caller == label && e.command == "ready")
            .await
            .is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // An entry is pushed whole; a panic elsewhere cannot leave the list half-written.
        self.inner.entries.lock().unwrap_or_else(|e| e.into_inner())
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
}
