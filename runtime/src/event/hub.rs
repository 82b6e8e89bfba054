//! Who listens to what: the listeners of every connection, by event, and the way an event
//! reaches them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use crate::error::RpcError;
use crate::outbound::{Outbound, SendError, CHANNEL_METHOD};

/// Who listens to what, for one router.
///
/// Each connection may hold [`Outbound::max_listeners`] listeners; `listen`, `unlisten` and
/// dropping a connection's listeners cost the same however many listeners there are. An emit
/// holds the lock only to take the event's list (shared, copied by the next change while an
/// emit still reads it), so sending to many listeners never makes a `listen` or another
/// event's emit wait.
#[derive(Default)]
pub(crate) struct EventHub {
    next_id: AtomicU64,
    /// Numbers the emits, for [`Link::full_at`].
    emits: AtomicU64,
    registry: Mutex<Registry>,
}

struct Listener {
    id: u64,
    label: Arc<str>,
    channel: u64,
    link: Arc<Link>,
}

/// What the listeners of one connection share: its queue, and what emits learnt of it.
struct Link {
    outbound: Outbound,
    /// The emit that last found the queue full: its other listeners are skipped by that emit
    /// (a queue full a moment ago is not worth building another frame for).
    full_at: AtomicU64,
    /// Whether an emit found the connection gone.
    closed: AtomicBool,
}

/// The listeners of one event, shared with the emits reading them.
type List = Arc<Vec<Arc<Listener>>>;

#[derive(Default)]
struct Registry {
    /// The listeners of each event, in no particular order.
    events: HashMap<Arc<str>, List>,
    /// Where each listener is: its event, and its index in that event's list.
    places: HashMap<u64, Place>,
    /// The listeners of each connection, by [`Outbound::key`].
    connections: HashMap<usize, Connection>,
    /// How many connections to hold before looking for those that are gone (see
    /// [`Registry::sweep`]).
    sweep_at: usize,
}

struct Place {
    event: Arc<str>,
    index: usize,
}

struct Connection {
    link: Arc<Link>,
    label: Arc<str>,
    listeners: HashSet<u64>,
}

/// Connections below this many are never swept.
const SWEEP_FLOOR: usize = 16;

impl Registry {
    /// Adds listener `id` of `event` for `outbound`'s connection, within its limit.
    fn add(
        &mut self,
        id: u64,
        event: &str,
        label: &str,
        channel: u64,
        outbound: &Outbound,
    ) -> Result<(), RpcError> {
        let key = outbound.key();
        let limit = outbound.max_listeners();
        let held = self.connections.get(&key).map_or(0, |c| c.listeners.len());
        if held >= limit {
            return Err(crate::limits::too_many_listeners(limit));
        }
        if held == 0 {
            self.sweep();
        }
        let connection = self.connections.entry(key).or_insert_with(|| Connection {
            link: Arc::new(Link {
                outbound: outbound.clone(),
                full_at: AtomicU64::new(0),
                closed: AtomicBool::new(false),
            }),
            label: Arc::from(label),
            listeners: HashSet::new(),
        });
        connection.listeners.insert(id);
        let listener = Listener {
            id,
            // A connection is one caller, so one label; share it unless told otherwise.
            label: if *connection.label == *label {
                Arc::clone(&connection.label)
            } else {
                Arc::from(label)
            },
            channel,
            link: Arc::clone(&connection.link),
        };
        let name = match self.events.get_key_value(event) {
            Some((name, _)) => Arc::clone(name),
            None => Arc::from(event),
        };
        let list = Arc::make_mut(self.events.entry(Arc::clone(&name)).or_default());
        self.places.insert(
            id,
            Place {
                event: name,
                index: list.len(),
            },
        );
        list.push(Arc::new(listener));
        Ok(())
    }

    /// The listener `id` of `event`, if there is one.
    fn get(&self, event: &str, id: u64) -> Option<&Arc<Listener>> {
        let place = self.places.get(&id)?;
        if &*place.event != event {
            return None;
        }
        self.events.get(event)?.get(place.index)
    }

    /// Removes listener `id`.
    fn remove(&mut self, id: u64) {
        let Some(place) = self.places.remove(&id) else {
            return;
        };
        let Some(shared) = self.events.get_mut(&place.event) else {
            return;
        };
        let list = Arc::make_mut(shared);
        if place.index >= list.len() {
            return;
        }
        let removed = list.swap_remove(place.index);
        if let Some(moved) = list.get(place.index) {
            if let Some(moved) = self.places.get_mut(&moved.id) {
                moved.index = place.index;
            }
        }
        if list.is_empty() {
            self.events.remove(&place.event);
        }
        let key = removed.link.outbound.key();
        if let Some(connection) = self.connections.get_mut(&key) {
            connection.listeners.remove(&id);
            if connection.listeners.is_empty() {
                self.connections.remove(&key);
            }
        }
    }

    /// Removes every listener of the connection `key`.
    fn disconnect(&mut self, key: usize) {
        if let Some(connection) = self.connections.remove(&key) {
            for id in connection.listeners {
                self.remove(id);
            }
        }
    }

    /// Drops the listeners of connections that are gone, once the number of connections has
    /// doubled since the last sweep: the transports drop them as connections close
    /// ([`EventHub::disconnect`]) and emits as they find them closed, this is the backstop for
    /// events nobody emits. Amortised, it costs a constant per new connection.
    fn sweep(&mut self) {
        if self.connections.len() < self.sweep_at.max(SWEEP_FLOOR) {
            return;
        }
        let gone: Vec<usize> = self
            .connections
            .iter()
            .filter(|(_, c)| c.link.outbound.is_closed())
            .map(|(&key, _)| key)
            .collect();
        for key in gone {
            self.disconnect(key);
        }
        self.sweep_at = self.connections.len() * 2;
    }
}

impl EventHub {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Every change leaves the registry consistent before anything can panic.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a listener of `event` for the connection of `outbound`, sending to its `channel`.
    ///
    /// # Errors
    ///
    /// `-32009` when the connection already holds [`Outbound::max_listeners`].
    pub(super) fn listen(
        &self,
        event: &str,
        label: &str,
        channel: u64,
        outbound: &Outbound,
    ) -> Result<u64, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        self.registry().add(id, event, label, channel, outbound)?;
        Ok(id)
    }

    /// Removes listener `id` of `event` if it belongs to the connection `outbound`.
    pub(super) fn unlisten(&self, event: &str, id: u64, outbound: &Outbound) -> bool {
        let mut registry = self.registry();
        let owned = registry
            .get(event, id)
            .is_some_and(|l| l.link.outbound.same_queue(outbound));
        if owned {
            registry.remove(id);
        }
        owned
    }

    /// Drops every listener of the connection `outbound` (the engine calls it when a
    /// connection closes).
    pub(crate) fn disconnect(&self, outbound: &Outbound) {
        self.registry().disconnect(outbound.key());
    }

    /// Sends `payload` (JSON text) to the listeners of `event`, all of them or those of the
    /// window `target`. Returns how many received it.
    pub(super) fn emit_json(&self, target: Option<&str>, event: &str, payload: &str) -> usize {
        let Some(list) = self.registry().events.get(event).cloned() else {
            return 0;
        };
        let this = self.emits.fetch_add(1, Ordering::Relaxed) + 1;
        let frame = EventFrame::new(event, payload);
        let mut delivered = 0;
        let mut full = 0;
        let mut full_queues = 0;
        let mut closed: Vec<usize> = Vec::new();
        for l in list.iter() {
            if target.is_some_and(|t| t != &*l.label) {
                continue;
            }
            let link = &*l.link;
            if link.full_at.load(Ordering::Relaxed) == this {
                full += 1;
                continue;
            }
            if link.closed.load(Ordering::Relaxed) {
                continue;
            }
            match link.outbound.send(frame.to(l.channel, l.id)) {
                Ok(()) => delivered += 1,
                Err(SendError::Full) => {
                    full += 1;
                    full_queues += 1;
                    link.full_at.store(this, Ordering::Relaxed);
                }
                Err(SendError::Closed) => {
                    if !link.closed.swap(true, Ordering::Relaxed) {
                        closed.push(link.outbound.key());
                    }
                }
            }
        }
        if full > 0 {
            crate::log::warn_limited!(
                event,
                listeners = full,
                connections = full_queues,
                "event not delivered: listeners are not reading their messages"
            );
        }
        if !closed.is_empty() {
            // `list` still holds these connections' queues, so their keys cannot have been
            // reused by new connections.
            let mut registry = self.registry();
            for key in closed {
                registry.disconnect(key);
            }
        }
        delivered
    }

    pub(super) fn emit<P: Serialize + ?Sized>(
        &self,
        target: Option<&str>,
        event: &str,
        payload: &P,
    ) -> Result<usize, RpcError> {
        check_event_name(event)?;
        let payload = serde_json::to_string(payload).map_err(|e| {
            RpcError::internal(format!(
                "the payload of event `{event}` cannot be serialised: {e}"
            ))
        })?;
        Ok(self.emit_json(target, event, &payload))
    }

    /// How many listeners `event` has (connections that are gone included until they are
    /// dropped).
    #[cfg(test)]
    pub(crate) fn listener_count(&self, event: &str) -> usize {
        self.registry().events.get(event).map_or(0, |l| l.len())
    }

    /// How many listeners the connection of `outbound` holds.
    #[cfg(test)]
    pub(crate) fn connection_listeners(&self, outbound: &Outbound) -> usize {
        self.registry()
            .connections
            .get(&outbound.key())
            .map_or(0, |c| c.listeners.len())
    }
}

/// The frames of one emit: `{"jsonrpc":"2.0","method":"gatehouse:channel","params":{"channel":C,
/// "message":{"event":E,"id":I,"payload":P}}}`, of which only `C` and `I` differ from one
/// listener to the next; the rest is written once.
struct EventFrame {
    /// `,"message":{"event":E,"id":`
    middle: Vec<u8>,
    /// `,"payload":P}}}`
    tail: Vec<u8>,
}

impl EventFrame {
    const HEAD: &'static [u8] = b"{\"jsonrpc\":\"2.0\",\"method\":\"";
    const CHANNEL: &'static [u8] = b"\",\"params\":{\"channel\":";

    /// Event names are checked to need no escaping; `payload` is JSON text.
    fn new(event: &str, payload: &str) -> Self {
        let mut middle = Vec::with_capacity(32 + event.len());
        middle.extend_from_slice(b",\"message\":{\"event\":\"");
        middle.extend_from_slice(event.as_bytes());
        middle.extend_from_slice(b"\",\"id\":");
        let mut tail = Vec::with_capacity(16 + payload.len());
        tail.extend_from_slice(b",\"payload\":");
        tail.extend_from_slice(payload.as_bytes());
        tail.extend_from_slice(b"}}}");
        Self { middle, tail }
    }

    /// The frame for the listener `id` on channel `channel`.
    fn to(&self, channel: u64, id: u64) -> Vec<u8> {
        let mut frame = Vec::with_capacity(
            Self::HEAD.len()
                + CHANNEL_METHOD.len()
                + Self::CHANNEL.len()
                + self.middle.len()
                + self.tail.len()
                + 40,
        );
        frame.extend_from_slice(Self::HEAD);
        frame.extend_from_slice(CHANNEL_METHOD.as_bytes());
        frame.extend_from_slice(Self::CHANNEL);
        push_u64(&mut frame, channel);
        frame.extend_from_slice(&self.middle);
        push_u64(&mut frame, id);
        frame.extend_from_slice(&self.tail);
        frame
    }
}

/// Appends `n` in decimal.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Event names: non-empty, ASCII alphanumerics and `-`, `/`, `:`, `_` (as in Tauri).
pub(super) fn check_event_name(event: &str) -> Result<(), RpcError> {
    let valid = !event.is_empty()
        && event.len() <= 256
        && event
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b':' | b'_'));
    if valid {
        Ok(())
    } else {
        Err(RpcError::invalid_params(
            Some("event"),
            "an event name is 1 to 256 ASCII letters, digits, `-`, `/`, `:` or `_`",
        ))
    }
}

/// Emits events to the callers that listen. Cheap to clone; get one from
/// [`Router::emitter`](crate::Router::emitter), or take it as a command argument.
///
/// ```
/// use gatehouse_runtime::Emitter;
///
/// // #[gatehouse::command]
/// fn save(name: String, events: Emitter) -> Result<(), gatehouse_runtime::RpcError> {
///     // … save it …
///     events.emit("saved", &name)?;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct Emitter {
    hub: Arc<EventHub>,
}

impl Emitter {
    pub(crate) fn new(hub: Arc<EventHub>) -> Self {
        Self { hub }
    }

    /// Sends `event` with `payload` to every listener; returns how many received it.
    ///
    /// # Errors
    ///
    /// An invalid event name, or a payload that cannot be serialised.
    pub fn emit<P: Serialize + ?Sized>(&self, event: &str, payload: &P) -> Result<usize, RpcError> {
        self.hub.emit(None, event, payload)
    }

    /// Sends `event` with `payload` to the listeners of window `label` only.
    ///
    /// # Errors
    ///
    /// An invalid event name, or a payload that cannot be serialised.
    pub fn emit_to<P: Serialize + ?Sized>(
        &self,
        label: &str,
        event: &str,
        payload: &P,
    ) -> Result<usize, RpcError> {
        self.hub.emit(Some(label), event, payload)
    }
}

impl fmt::Debug for Emitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emitter").finish_non_exhaustive()
    }
}

impl EventHub {
    pub(crate) fn emitter(self: &Arc<Self>) -> Emitter {
        Emitter::new(Arc::clone(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::limits::{self, Limits};
    use crate::outbound::OutboundReceiver;
    use proptest::prelude::*;

    #[test]
    fn event_names() {
        for ok in ["a", "note-changed", "app:ready", "a/b_c"] {
            assert!(check_event_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "é", "a\"b", "a\\b", &"x".repeat(257)] {
            assert!(check_event_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn frames_are_valid_json() {
        let frame = EventFrame::new("a:b", r#"{"x":[1,2]}"#).to(4, 9);
        let value: serde_json::Value = serde_json::from_slice(&frame).expect("valid JSON");
        assert_eq!(
            value,
            serde_json::json!({"jsonrpc": "2.0", "method": "gatehouse:channel", "params":
                {"channel": 4, "message": {"event": "a:b", "id": 9, "payload": {"x": [1, 2]}}}})
        );
        for n in [0, 7, 10, 99, 1_000_000, u64::MAX] {
            let frame = EventFrame::new("e", "null").to(n, n);
            let value: serde_json::Value = serde_json::from_slice(&frame).expect("valid JSON");
            assert_eq!(value["params"]["channel"], n, "{n}");
            assert_eq!(value["params"]["message"]["id"], n, "{n}");
        }
    }

    fn connection(max_listeners: usize, capacity: usize) -> (Outbound, OutboundReceiver) {
        Outbound::bounded(
            &Limits::default()
                .max_listeners(max_listeners)
                .outbound_capacity(capacity),
        )
    }

    #[test]
    fn listeners_get_their_events_and_unlisten_only_their_own() {
        let hub = Arc::new(EventHub::default());
        let (a, mut rx_a) = Outbound::channel(8);
        let (b, mut rx_b) = Outbound::channel(8);
        let la = hub.listen("e", "main", 1, &a).expect("room");
        let lb = hub.listen("e", "viewer", 2, &b).expect("room");
        assert_eq!(hub.emit(None, "e", &1).expect("emits"), 2);
        assert!(rx_a.try_recv().is_some());
        assert!(rx_b.try_recv().is_some());
        assert_eq!(hub.emit(Some("viewer"), "e", &2).expect("emits"), 1);
        assert!(rx_a.try_recv().is_none());
        assert!(rx_b.try_recv().is_some());
        // `a` cannot remove `b`'s listener, even knowing its id; nor its own under another event.
        assert!(!hub.unlisten("e", lb, &a));
        assert!(!hub.unlisten("f", la, &a));
        assert!(hub.unlisten("e", la, &a));
        assert!(!hub.unlisten("e", la, &a));
        assert_eq!(hub.emit(None, "e", &3).expect("emits"), 1);
        // A closed connection's listener goes at the next emit.
        rx_b.close();
        assert_eq!(hub.emit(None, "e", &4).expect("emits"), 0);
        assert_eq!(hub.listener_count("e"), 0);
        assert_eq!(hub.connection_listeners(&b), 0);
    }

    #[test]
    fn a_connection_holds_at_most_its_limit_of_listeners() {
        let hub = EventHub::default();
        let (a, _rx_a) = connection(4, 8);
        let (b, _rx_b) = connection(4, 8);
        let ids: Vec<u64> = (0..4)
            .map(|i| {
                hub.listen(&format!("e{}", i % 2), "a", i, &a)
                    .expect("room")
            })
            .collect();
        // One at a time or all at once, the fifth is refused, on any event.
        for event in ["e0", "e1", "other"] {
            let refused = hub.listen(event, "a", 9, &a).expect_err("over the limit");
            assert_eq!(refused.code(), ErrorCode::Other(limits::TOO_MANY_LISTENERS));
        }
        assert_eq!(hub.connection_listeners(&a), 4);
        // Another connection has its own allowance.
        for i in 0..4 {
            hub.listen("e0", "b", i, &b).expect("room");
        }
        assert!(hub.listen("e0", "b", 5, &b).is_err());
        // Removing one makes room for one.
        assert!(hub.unlisten("e0", ids[0], &a));
        hub.listen("e0", "a", 10, &a).expect("room again");
        assert!(hub.listen("e0", "a", 11, &a).is_err());
        // No listener at all is a limit too.
        let (none, _rx) = connection(0, 8);
        assert!(hub.listen("e0", "c", 1, &none).is_err());
        assert_eq!(hub.connection_listeners(&none), 0);
    }

    #[test]
    fn disconnect_drops_every_listener_of_a_connection_and_no_other() {
        let hub = EventHub::default();
        let (a, _rx_a) = connection(256, 8);
        let (b, mut rx_b) = connection(256, 8);
        for i in 0..200 {
            hub.listen(&format!("e{}", i % 7), "a", i, &a)
                .expect("room");
        }
        hub.listen("e3", "b", 1, &b).expect("room");
        hub.disconnect(&a);
        assert_eq!(hub.connection_listeners(&a), 0);
        for i in 0..7 {
            let expected = usize::from(i == 3);
            assert_eq!(hub.listener_count(&format!("e{i}")), expected);
        }
        assert_eq!(hub.emit(None, "e3", &1).expect("emits"), 1);
        assert!(rx_b.try_recv().is_some());
        // The connection may listen again (a reconnect with the same queue).
        hub.listen("e0", "a", 1, &a).expect("room");
    }

    #[test]
    fn connections_that_are_gone_are_swept_as_new_ones_listen() {
        let hub = EventHub::default();
        // Many connections listen to an event nobody emits, then go away without telling.
        for _ in 0..1000 {
            let (out, mut rx) = connection(256, 8);
            for i in 0..10 {
                hub.listen("never", "gone", i, &out).expect("room");
            }
            rx.close();
        }
        // Bounded by twice the live connections (none) plus the sweep floor.
        let held = hub.registry().connections.len();
        assert!(held <= 2 * SWEEP_FLOOR, "{held}");
        assert!(hub.listener_count("never") <= 10 * 2 * SWEEP_FLOOR);
    }

    #[test]
    fn a_full_queue_is_skipped_and_logged_at_a_bounded_rate() {
        use std::sync::atomic::Ordering::Relaxed;
        let hub = EventHub::default();
        let (slow, _rx_slow) = connection(256, 1);
        let (reader, mut rx_reader) = connection(256, 4);
        for i in 0..256 {
            hub.listen("e", "slow", i, &slow).expect("room");
        }
        hub.listen("e", "reader", 1, &reader).expect("room");
        let counter = Arc::new(crate::log::testing::Counter::default());
        tracing::subscriber::with_default(counter.clone(), || {
            for i in 0..1000 {
                let delivered = hub.emit(None, "e", &i).expect("emits");
                // The reader reads; the slow connection's one frame stays queued.
                assert_eq!(delivered, if i == 0 { 2 } else { 1 });
                assert!(rx_reader.try_recv().is_some());
            }
        });
        // A thousand emits to 256 listeners that do not read: a burst of warnings, not 255 000.
        let warned = counter.events.load(Relaxed);
        assert!(
            (1..=2 * u64::from(crate::log::BURST) + 2).contains(&warned),
            "{warned}"
        );
    }

    #[test]
    fn an_emit_does_not_hold_the_lock_while_sending() {
        let hub = EventHub::default();
        let (a, _rx) = connection(256, 1024);
        for i in 0..3 {
            hub.listen("e", "a", i, &a).expect("room");
        }
        let list = hub.registry().events.get("e").cloned().expect("listed");
        // While an emit holds the list, listeners come and go in a copy of it.
        let id = hub.listen("e", "a", 9, &a).expect("room");
        assert_eq!(list.len(), 3);
        assert_eq!(hub.listener_count("e"), 4);
        assert!(hub.unlisten("e", id, &a));
        assert_eq!(hub.emit(None, "e", &0).expect("emits"), 3);
    }

    /// A listener in the reference model: (id, connection, event, label).
    type ModelListener = (u64, usize, u8, &'static str);

    #[derive(Debug, Clone)]
    enum Op {
        Listen { conn: usize, event: u8 },
        Unlisten { conn: usize, event: u8, pick: usize },
        Disconnect { conn: usize },
        Emit { event: u8, target: Option<usize> },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..3usize, 0..3u8).prop_map(|(conn, event)| Op::Listen { conn, event }),
            2 => (0..3usize, 0..3u8, 0..16usize)
                .prop_map(|(conn, event, pick)| Op::Unlisten { conn, event, pick }),
            1 => (0..3usize).prop_map(|conn| Op::Disconnect { conn }),
            2 => (0..3u8, prop::option::of(0..3usize))
                .prop_map(|(event, target)| Op::Emit { event, target }),
        ]
    }

    const LABELS: [&str; 3] = ["a", "b", "a"];

    proptest! {
        /// The hub against a list of listeners searched in full: the same ids accepted and
        /// refused, the same listeners reached.
        #[test]
        fn the_hub_agrees_with_a_plain_list(ops in prop::collection::vec(op(), 1..200)) {
            let hub = EventHub::default();
            let mut conns: Vec<(Outbound, OutboundReceiver)> =
                (0..3).map(|_| connection(5, 1024)).collect();
            let mut model: Vec<ModelListener> = Vec::new();
            let mut issued: Vec<u64> = Vec::new();
            for op in ops {
                match op {
                    Op::Listen { conn, event } => {
                        let result = hub.listen(&format!("e{event}"), LABELS[conn], 0, &conns[conn].0);
                        let held = model.iter().filter(|l| l.1 == conn).count();
                        prop_assert_eq!(result.is_ok(), held < 5);
                        if let Ok(id) = result {
                            model.push((id, conn, event, LABELS[conn]));
                            issued.push(id);
                        }
                    }
                    Op::Unlisten { conn, event, pick } => {
                        let Some(&id) = issued.get(pick % issued.len().max(1)) else { continue };
                        let removed = hub.unlisten(&format!("e{event}"), id, &conns[conn].0);
                        let at = model.iter().position(|l| l.0 == id && l.1 == conn && l.2 == event);
                        prop_assert_eq!(removed, at.is_some());
                        if let Some(at) = at {
                            model.remove(at);
                        }
                    }
                    Op::Disconnect { conn } => {
                        hub.disconnect(&conns[conn].0);
                        model.retain(|l| l.1 != conn);
                    }
                    Op::Emit { event, target } => {
                        let target = target.map(|t| LABELS[t]);
                        let delivered = hub.emit_json(target, &format!("e{event}"), "1");
                        let mut expected: Vec<u64> = model
                            .iter()
                            .filter(|l| l.2 == event && target.is_none_or(|t| t == l.3))
                            .map(|l| l.0)
                            .collect();
                        prop_assert_eq!(delivered, expected.len());
                        let mut got: Vec<u64> = Vec::new();
                        for (_, rx) in &mut conns {
                            while let Some(frame) = rx.try_recv() {
                                let v: serde_json::Value = serde_json::from_slice(&frame).expect("JSON");
                                got.push(v["params"]["message"]["id"].as_u64().expect("id"));
                            }
                        }
                        got.sort_unstable();
                        expected.sort_unstable();
                        prop_assert_eq!(got, expected);
                    }
                }
                for (conn, (out, _)) in conns.iter().enumerate() {
                    prop_assert_eq!(
                        hub.connection_listeners(out),
                        model.iter().filter(|l| l.1 == conn).count()
                    );
                }
            }
        }
    }
}
