//! Events: the core (or an allowed frontend) emits, connected callers that listen receive.
//!
//! Listening is a command like any other — `plugin:event|listen`, granted by the Tauri-style
//! permission `core:event:allow-listen` — so it goes through the same check. A listener is a
//! [`Channel`](crate::Channel) of the listening connection; each event reaches it as the channel
//! message `{"event": <name>, "id": <listener id>, "payload": <payload>}`.

pub(crate) mod hub;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::channel::parse_channel_ref;
use crate::command::{CommandEntry, CommandInfo, Handled, Reply};
use crate::error::RpcError;
use crate::extract::Requirements;
use crate::extract::{FromInvoke, Invocation};
use crate::outbound::Outbound;

use hub::check_event_name;
pub use hub::Emitter;
pub(crate) use hub::EventHub;

/// The built-in commands' names.
pub(crate) const LISTEN: &str = "plugin:event|listen";
pub(crate) const UNLISTEN: &str = "plugin:event|unlisten";
pub(crate) const EMIT: &str = "plugin:event|emit";
pub(crate) const EMIT_TO: &str = "plugin:event|emit_to";

impl<'a> FromInvoke<'a> for Emitter {
    fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError> {
        Ok(invocation.emitter())
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
        let id = invocation
            .events
            .listen(&p.event, label, channel, outbound)?;
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
