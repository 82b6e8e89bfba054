//! What the core offers its plugins: a small key-value store, a log, and the start-up
//! handshake. Who may call which is decided by `capabilities/`, never here.
//!
//! Every command records itself in the [`Journal`] before doing anything else, so the journal
//! lists exactly the calls that ran.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gatehouse::{command, Caller, Emitter, ErrorCode, RpcError, State};
use serde::Serialize;

use crate::journal::Journal;
use crate::protocol::{HostInfo, KvChanged, Level, KV_CHANGED};

/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;

/// The largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The most keys the store holds.
pub const MAX_KEYS: usize = 10_000;

/// The longest log message kept, in characters; longer ones are cut.
pub const MAX_LOG_CHARS: usize = 1000;

/// Why the store refused a change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum StoreError {
    /// The key is empty or longer than [`MAX_KEY_BYTES`].
    #[error("a key is 1 to {max} bytes long, this one is {len}")]
    BadKey {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value is longer than [`MAX_VALUE_BYTES`].
    #[error("a value is at most {max} bytes long, this one is {len}")]
    ValueTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The store already holds [`MAX_KEYS`] keys.
    #[error("the store is full ({max} keys)")]
    Full {
        /// The limit.
        max: usize,
    },
}

impl From<StoreError> for RpcError {
    fn from(e: StoreError) -> Self {
        RpcError::new(ErrorCode::Command, e.to_string()).with_data(&e)
    }
}

/// The key-value store. Cheap to clone: clones share the same map.
#[derive(Clone, Debug, Default)]
pub struct Store {
    map: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.lock().get(key).cloned()
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    ///
    /// # Errors
    ///
    /// The key or the value is too long, or the store is full.
    pub fn set(&self, key: &str, value: &str) -> Result<Option<String>, StoreError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(StoreError::BadKey {
                len: key.len(),
                max: MAX_KEY_BYTES,
            });
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(StoreError::ValueTooLarge {
                len: value.len(),
                max: MAX_VALUE_BYTES,
            });
        }
        let mut map = self.lock();
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            return Err(StoreError::Full { max: MAX_KEYS });
        }
        Ok(map.insert(key.to_owned(), value.to_owned()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        // Every change is one `insert`: a panic elsewhere cannot leave the map half-changed.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Tells a plugin who it is (the label the core gave it) and what it may call.
#[command]
pub fn host_info(
    journal: State<'_, Journal>,
    caller: Caller,
    invocation: gatehouse::Invocation<'_>,
) -> HostInfo {
    journal.record(caller.label(), "host_info", "");
    let commands = invocation.allowed_commands().map(str::to_owned).collect();
    HostInfo {
        host: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        label: caller.label().to_owned(),
        commands,
    }
}

/// The value of `key`, or `null`.
#[command]
pub fn kv_get(
    store: State<'_, Store>,
    journal: State<'_, Journal>,
    caller: Caller,
    key: String,
) -> Option<String> {
    journal.record(caller.label(), "kv_get", key.as_str());
    store.get(&key)
}

/// Every key, in order.
#[command]
pub fn kv_list(
    store: State<'_, Store>,
    journal: State<'_, Journal>,
    caller: Caller,
) -> Vec<String> {
    journal.record(caller.label(), "kv_list", "");
    store.keys()
}

/// Sets `key` to `value`, returns the value it replaced, and announces the change to every
/// listener ([`KV_CHANGED`]).
///
/// # Errors
///
/// The key or the value is too long, or the store is full (`-32000`, with a [`StoreError`] as
/// `data`).
#[command]
pub fn kv_set(
    store: State<'_, Store>,
    journal: State<'_, Journal>,
    events: Emitter,
    caller: Caller,
    key: String,
    value: String,
) -> Result<Option<String>, RpcError> {
    journal.record(caller.label(), "kv_set", key.as_str());
    let previous = store.set(&key, &value)?;
    let change = KvChanged {
        key,
        by: caller.label().to_owned(),
    };
    // A listener that went away is not this caller's problem.
    if let Err(e) = events.emit(KV_CHANGED, &change) {
        tracing::warn!(error = %e, "cannot announce a change");
    }
    Ok(previous)
}

/// How many lines a plugin may write to the core's log per second; the rest are counted and
/// reported with the next line let through, so a flooding plugin cannot grow the log faster.
pub const LOG_LINES_PER_SECOND: u32 = 20;

/// Each plugin's log budget: the second it is in, lines written in it, lines suppressed since.
static LOG_BUDGET: Mutex<BTreeMap<String, (std::time::Instant, u32, u64)>> =
    Mutex::new(BTreeMap::new());

/// Whether `label` may log a line now; `Some(n)` with the lines suppressed before it.
fn admit_log(label: &str) -> Option<u64> {
    let mut budget = LOG_BUDGET.lock().unwrap_or_else(|e| e.into_inner());
    let now = std::time::Instant::now();
    let entry = budget.entry(label.to_owned()).or_insert((now, 0, 0));
    if now.duration_since(entry.0) >= std::time::Duration::from_secs(1) {
        entry.0 = now;
        entry.1 = 0;
    }
    if entry.1 >= LOG_LINES_PER_SECOND {
        entry.2 += 1;
        return None;
    }
    entry.1 += 1;
    Some(std::mem::take(&mut entry.2))
}

/// Writes `message` to the core's log, attributed to the calling plugin (at most
/// [`LOG_LINES_PER_SECOND`] lines a second; the journal keeps every line within its budget).
#[command]
pub fn log(journal: State<'_, Journal>, caller: Caller, level: Option<Level>, message: String) {
    let message: String = message.chars().take(MAX_LOG_CHARS).collect();
    let label = caller.label();
    if let Some(suppressed) = admit_log(label) {
        if suppressed > 0 {
            tracing::warn!(
                plugin = label,
                suppressed,
                "lines of this plugin's log suppressed"
            );
        }
        match level.unwrap_or_default() {
            Level::Debug => tracing::debug!(plugin = label, "{message}"),
            Level::Info => tracing::info!(plugin = label, "{message}"),
            Level::Warn => tracing::warn!(plugin = label, "{message}"),
            Level::Error => tracing::error!(plugin = label, "{message}"),
        }
    }
    journal.record(label, "log", message);
}

/// The start-up handshake: a plugin says it has finished setting up (its listeners, the
/// methods it exposes) and the core may now call it. Usually sent as a notification.
#[command]
pub fn ready(journal: State<'_, Journal>, caller: Caller) {
    tracing::debug!(plugin = caller.label(), "ready");
    journal.record(caller.label(), "ready", "");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_logs_at_a_bounded_rate() {
        let label = "log-rate-test";
        let admitted = (0..1000).filter(|_| admit_log(label).is_some()).count();
        assert_eq!(admitted, LOG_LINES_PER_SECOND as usize);
        assert!(admit_log("another-plugin").is_some());
    }

    #[test]
    fn the_store_checks_sizes() {
        let store = Store::new();
        assert_eq!(store.set("a", "1"), Ok(None));
        assert_eq!(store.set("a", "2"), Ok(Some("1".to_owned())));
        assert_eq!(store.get("a").as_deref(), Some("2"));
        assert!(matches!(store.set("", "x"), Err(StoreError::BadKey { .. })));
        assert!(matches!(
            store.set(&"k".repeat(MAX_KEY_BYTES + 1), "x"),
            Err(StoreError::BadKey { .. })
        ));
        assert!(matches!(
            store.set("b", &"v".repeat(MAX_VALUE_BYTES + 1)),
            Err(StoreError::ValueTooLarge { .. })
        ));
        assert_eq!(store.keys(), ["a"]);
    }
}
