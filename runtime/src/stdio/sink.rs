//! Where channel messages and events from the core go: one receiver per channel id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::sync::mpsc;

use super::lock;
use crate::channel::CHANNEL_PREFIX;

/// The built-in command that registers an event listener.
pub(crate) const LISTEN: &str = "plugin:event|listen";

/// Messages a channel or event receiver holds before new ones are dropped.
pub(crate) const SINK_CAPACITY: usize = 1024;

/// Where a channel's messages go.
pub(crate) enum Sink {
    Async(mpsc::Sender<Value>),
    Blocking(std_mpsc::SyncSender<Value>),
}

struct Subscription {
    sink: Sink,
    /// Event listeners receive the event's payload; plain channels the whole message.
    payload_only: bool,
}

/// The open channels, by id.
#[derive(Default)]
pub(crate) struct Sinks {
    open: Mutex<Subscriptions>,
    next: AtomicU64,
}

#[derive(Default)]
struct Subscriptions {
    by_id: HashMap<u64, Subscription>,
    /// Once closed, nothing will arrive: new receivers end at once.
    closed: bool,
}

impl Sinks {
    /// A fresh channel, and its id written as a `Channel` argument is: `"__CHANNEL__:<id>"`.
    pub(crate) fn open(&self, sink: Sink, payload_only: bool) -> (u64, String) {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut open = lock(&self.open);
        if !open.closed {
            open.by_id.insert(id, Subscription { sink, payload_only });
        }
        (id, format!("{CHANNEL_PREFIX}{id}"))
    }

    pub(crate) fn remove(&self, id: u64) {
        lock(&self.open).by_id.remove(&id);
    }

    /// The connection is closed: every receiver ends.
    pub(crate) fn close(&self) {
        let mut open = lock(&self.open);
        open.closed = true;
        open.by_id.clear();
    }

    /// Delivers the `params` of a `gatehouse:channel` notification to its receiver, without
    /// waiting: a receiver that is full loses the message.
    pub(crate) fn deliver(&self, params: Option<&RawValue>) {
        #[derive(Deserialize)]
        struct ChannelParams {
            channel: u64,
            message: Value,
        }
        let Some(p) = params.and_then(|p| serde_json::from_str::<ChannelParams>(p.get()).ok())
        else {
            tracing::warn!("gatehouse: ignored a malformed channel message");
            return;
        };
        let mut open = lock(&self.open);
        let Some(subscription) = open.by_id.get(&p.channel) else {
            tracing::debug!(channel = p.channel, "gatehouse: a message for no channel");
            return;
        };
        let message = match (subscription.payload_only, p.message) {
            (true, Value::Object(mut event)) => event.remove("payload").unwrap_or(Value::Null),
            (_, message) => message,
        };
        let (full, gone) = match &subscription.sink {
            Sink::Async(tx) => match tx.try_send(message) {
                Ok(()) => (false, false),
                Err(mpsc::error::TrySendError::Full(_)) => (true, false),
                Err(mpsc::error::TrySendError::Closed(_)) => (false, true),
            },
            Sink::Blocking(tx) => match tx.try_send(message) {
                Ok(()) => (false, false),
                Err(std_mpsc::TrySendError::Full(_)) => (true, false),
                Err(std_mpsc::TrySendError::Disconnected(_)) => (false, true),
            },
        };
        if full {
            tracing::warn!(
                channel = p.channel,
                "gatehouse: dropped a channel message: its receiver is not reading"
            );
        } else if gone {
            open.by_id.remove(&p.channel);
        }
    }
}
