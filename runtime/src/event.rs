//! Events: the core (or an allowed frontend) emits, connected callers that listen receive.
//!
//! Listening is a command like any other — `plugin:event|listen`, granted by the Tauri-style
//! permission `core:event:allow-listen` — so it goes through the same check. A listener is a
//! [`Channel`](crate::Channel) of the listening connection; each event reaches it as the channel
//! message `{"event": <name>, "id": <listener id>, "payload": <payload>}`.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::channel::{parse_channel_ref, CHANNEL_METHOD};
use crate::command::{CommandEntry, CommandInfo, Handled, Reply, Requirements};
use crate::error::RpcError;
use crate::extract::{FromInvoke, Invocation};
use crate::outbound::{Outbound, SendError};

/// The built-in commands' names.
pub(crate) const LISTEN: &str = "plugin:event|listen";
pub(crate) const UNLISTEN: &str = "plugin:event|unlisten";
pub(crate) const EMIT: &str = "plugin:event|emit";
pub(crate) const EMIT_TO: &str = "plugin:event|emit_to";

/// Who listens to what, for one router.
#[derive(Default)]
pub(crate) struct EventHub {
    next_id: AtomicU64,
    listeners: Mutex<HashMap<Box<str>, Vec<Listener>>>,
}

struct Listener {
    id: u64,
    label: Box<str>,
    channel: u64,
    outbound: Outbound,
}

impl EventHub {
    fn listen(&self, event: &str, label: &str, channel: u64, outbound: &Outbound) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        let list = listeners.entry(event.into()).or_default();
        // Listeners of connections that are gone are dropped as new ones arrive.
        list.retain(|l| !l.outbound.is_closed());
        list.push(Listener {
            id,
            label: label.into(),
            channel,
            outbound: outbound.clone(),
        });
        id
    }

    /// Removes listener `id` of `event` if it belongs to the connection `outbound`.
    fn unlisten(&self, event: &str, id: u64, outbound: &Outbound) -> bool {
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = listeners.get_mut(event) else {
            return false;
        };
        let before = list.len();
        list.retain(|l| l.id != id || !l.outbound.same_queue(outbound));
        let removed = list.len() != before;
        if list.is_empty() {
            listeners.remove(event);
        }
        removed
    }

    /// Sends `payload` (JSON text) to the listeners of `event`, all of them or those of the
    /// window `target`. Returns how many received it.
    fn emit_json(&self, target: Option<&str>, event: &str, payload: &str) -> usize {
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = listeners.get_mut(event) else {
            return 0;
        };
        let mut delivered = 0;
        list.retain(|l| {
            if target.is_some_and(|t| t != &*l.label) {
                return !l.outbound.is_closed();
            }
            match l
                .outbound
                .send(event_frame(l.channel, event, l.id, payload))
            {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                Err(SendError::Full) => {
                    tracing::warn!(
                        event,
                        window = &*l.label,
                        "event not delivered: the listener is not reading its messages"
                    );
                    true
                }
                Err(SendError::Closed) => false,
            }
        });
        if list.is_empty() {
            listeners.remove(event);
        }
        delivered
    }

    fn emit<P: Serialize + ?Sized>(
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

    /// How many listeners `event` has (connections that are gone included until the next emit).
    #[cfg(test)]
    pub(crate) fn listener_count(&self, event: &str) -> usize {
        let listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        listeners.get(event).map_or(0, Vec::len)
    }
}

/// `{"jsonrpc":"2.0","method":"gatehouse:channel","params":{"channel":C,"message":{"event":E,"id":I,"payload":P}}}`
fn event_frame(channel: u64, event: &str, id: u64, payload: &str) -> Vec<u8> {
    let mut frame = Vec::with_capacity(112 + event.len() + payload.len());
    // Event names are checked to need no escaping; writing into a Vec cannot fail.
    let _ = write!(
        frame,
        r#"{{"jsonrpc":"2.0","method":"{CHANNEL_METHOD}","params":{{"channel":{channel},"message":{{"event":"{event}","id":{id},"payload":{payload}}}}}}}"#
    );
    frame
}

/// Event names: non-empty, ASCII alphanumerics and `-`, `/`, `:`, `_` (as in Tauri).
fn check_event_name(event: &str) -> Result<(), RpcError> {
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

impl<'a> FromInvoke<'a> for Emitter {
    fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError> {
        Ok(invocation.emitter())
    }
}

impl EventHub {
    pub(crate) fn emitter(self: &Arc<Self>) -> Emitter {
        Emitter::new(Arc::clone(self))
    }
}

// The built-in commands. They are written by hand (the runtime cannot use its own macro) and
// read their few arguments with serde.

fn params<'a, T: Deserialize<'a>>(invocation: &Invocation<'a>) -> Result<T, RpcError> {
    serde_json::from_str(invocation.params().unwrap_or("{}"))
        .map_err(|e| RpcError::invalid_params(None, &e.to_string()))
}

fn outbound<'a>(invocation: &Invocation<'a>) -> Result<&'a Outbound, RpcError> {
    invocation.caller().outbound().ok_or_else(|| {
        RpcError::invalid_params(
            None,
            "this caller cannot receive events: it was not connected through a transport (see `Router::connect`)",
        )
    })
}

fn to_reply<T: Serialize>(value: &T) -> Reply {
    serde_json::to_vec(value).map_err(|e| RpcError::internal(e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenParams<'a> {
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    handler: std::borrow::Cow<'a, str>,
}

fn listen(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: ListenParams<'_> = params(&invocation)?;
        check_event_name(&p.event)?;
        let channel = parse_channel_ref(&p.handler).ok_or_else(|| {
            RpcError::invalid_params(
                Some("handler"),
                r#"expected a channel, written "__CHANNEL__:<id>""#,
            )
        })?;
        let outbound = outbound(&invocation)?;
        let label = invocation.caller().label();
        let id = invocation.events.listen(&p.event, label, channel, outbound);
        to_reply(&id)
    };
    Handled::Ready(run())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UnlistenParams<'a> {
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    event_id: u64,
}

fn unlisten(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: UnlistenParams<'_> = params(&invocation)?;
        check_event_name(&p.event)?;
        let outbound = outbound(&invocation)?;
        invocation.events.unlisten(&p.event, p.event_id, outbound);
        Ok(b"null".to_vec())
    };
    Handled::Ready(run())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmitParams<'a> {
    #[serde(default, borrow)]
    target: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

fn emit_from(invocation: &Invocation<'_>, to_target: bool) -> Reply {
    let p: EmitParams<'_> = params(invocation)?;
    check_event_name(&p.event)?;
    let target = match (to_target, p.target.as_deref()) {
        (true, Some(target)) => Some(target),
        (true, None) => return Err(RpcError::invalid_params(Some("target"), "missing argument")),
        (false, Some(_)) => {
            return Err(RpcError::invalid_params(
                Some("target"),
                "unknown argument; use `plugin:event|emit_to` to emit to one window",
            ))
        }
        (false, None) => None,
    };
    let payload = p.payload.map_or("null", RawValue::get);
    invocation.events.emit_json(target, &p.event, payload);
    Ok(b"null".to_vec())
}

fn emit(invocation: Invocation<'_>) -> Handled<'_> {
    Handled::Ready(emit_from(&invocation, false))
}

fn emit_to(invocation: Invocation<'_>) -> Handled<'_> {
    Handled::Ready(emit_from(&invocation, true))
}

fn no_requirements(_: &mut Requirements) {}

macro_rules! builtin {
    ($name:expr, $args:expr, $invoke:expr) => {
        CommandEntry::new(
            &CommandInfo {
                name: $name,
                args: $args,
                file: file!(),
                line: line!(),
            },
            $invoke,
            None,
            no_requirements,
        )
    };
}

/// The built-in event commands; the router serves those its ACL names.
pub(crate) static BUILTINS: [CommandEntry; 4] = [
    builtin!(LISTEN, &["event", "handler"], listen),
    builtin!(UNLISTEN, &["event", "eventId"], unlisten),
    builtin!(EMIT, &["event", "payload"], emit),
    builtin!(EMIT_TO, &["target", "event", "payload"], emit_to),
];

#[cfg(test)]
mod tests {
    use super::*;

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
        let frame = event_frame(4, "a:b", 9, r#"{"x":[1,2]}"#);
        let value: serde_json::Value = serde_json::from_slice(&frame).expect("valid JSON");
        assert_eq!(
            value,
            serde_json::json!({"jsonrpc": "2.0", "method": "gatehouse:channel", "params":
                {"channel": 4, "message": {"event": "a:b", "id": 9, "payload": {"x": [1, 2]}}}})
        );
    }

    #[test]
    fn listeners_get_their_events_and_unlisten_only_their_own() {
        let hub = Arc::new(EventHub::default());
        let (a, mut rx_a) = Outbound::channel(8);
        let (b, mut rx_b) = Outbound::channel(8);
        let la = hub.listen("e", "main", 1, &a);
        let lb = hub.listen("e", "viewer", 2, &b);
        assert_eq!(hub.emit(None, "e", &1).expect("emits"), 2);
        assert!(rx_a.try_recv().is_some());
        assert!(rx_b.try_recv().is_some());
        assert_eq!(hub.emit(Some("viewer"), "e", &2).expect("emits"), 1);
        assert!(rx_a.try_recv().is_none());
        assert!(rx_b.try_recv().is_some());
        // `a` cannot remove `b`'s listener, even knowing its id.
        assert!(!hub.unlisten("e", lb, &a));
        assert!(hub.unlisten("e", la, &a));
        assert_eq!(hub.emit(None, "e", &3).expect("emits"), 1);
        // A closed connection's listener goes at the next emit.
        rx_b.close();
        assert_eq!(hub.emit(None, "e", &4).expect("emits"), 0);
        assert_eq!(hub.listener_count("e"), 0);
    }
}
