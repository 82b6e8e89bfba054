//! Limits every transport enforces on what a caller sends and on what it may cost the core:
//! message size, JSON nesting depth, requests in flight, blocking work, response size, bytes
//! waiting to be written, event listeners, connections, and idle, handshake and write time.
//!
//! Every limit is counted in the unit that costs: a batch entry is a request, a queued reply
//! counts its bytes, a listener is one listener whichever frame registered it. A limit that is
//! exceeded gives the caller a clear JSON-RPC error or a cleanly closed connection, never a
//! crash, unbounded memory, or another caller slowed down:
//!
//! | limit | default | unit | what the caller gets |
//! | --- | --- | --- | --- |
//! | [`max_message_bytes`](Limits::max_message_bytes) | 16 MiB | bytes per message | `-32005` "message too large", or the connection is closed (WebSocket: close code 1009) |
//! | [`max_depth`](Limits::max_depth) | 64 | levels of arrays and objects | `-32006` "nesting too deep"; the connection stays usable |
//! | [`max_in_flight`](Limits::max_in_flight) | 64 | requests per connection (a batch entry is a request) | `-32007` "too many requests in flight" for each excess request, which does not run |
//! | [`max_blocking`](Limits::max_blocking) | 4 | blocking commands running per connection | nothing: the next ones wait for a turn (they count as in flight) |
//! | [`max_blocking_threads`](Limits::max_blocking_threads) | 32 | blocking commands running for all callers of a router | nothing: the next ones wait for a thread, first come first served |
//! | [`max_response_bytes`](Limits::max_response_bytes) | 16 MiB | bytes per reply | `-32008` "response too large" in place of the result |
//! | [`max_outbound_bytes`](Limits::max_outbound_bytes) | 16 MiB | bytes queued for one connection | replies and channel messages wait for room; a peer that does not read within `write_timeout` is disconnected |
//! | [`max_listeners`](Limits::max_listeners) | 256 | event listeners per connection | `-32009` "too many listeners" from `listen` |
//! | [`max_connections`](Limits::max_connections) | 256 | open connections of one server | the connection is closed at accept, before anything is read |
//! | [`max_connections_per_label`](Limits::max_connections_per_label) | 32 | connections of one window (token) | HTTP 503 at the handshake |
//! | [`max_handshakes`](Limits::max_handshakes) | 64 | connections not (yet) upgraded to a WebSocket | the oldest is dropped to make room |
//! | [`idle_timeout`](Limits::idle_timeout) | 5 min | time without a message | the connection is closed (WebSocket: 1001) |
//! | [`handshake_timeout`](Limits::handshake_timeout) | 10 s | time to complete the upgrade | the connection is closed before it reaches the core |
//! | [`write_timeout`](Limits::write_timeout) | 30 s | time a write may wait for the peer | the connection is closed |
//! | [`outbound_capacity`](Limits::outbound_capacity) | 1024 | frames queued for one connection | as `max_outbound_bytes` |
//!
//! Each JSON-RPC error carries `data: {"limit": <the limit>}`. A connection's in-flight
//! requests, listeners and queued frames go away with it: async commands are cancelled and
//! blocking ones that have not started are skipped.

use std::time::Duration;

use crate::error::{ErrorCode, RpcError};

/// `-32005`: a message is larger than [`Limits::max_message_bytes`].
pub const MESSAGE_TOO_LARGE: i32 = -32005;
/// `-32006`: a message nests arrays and objects deeper than [`Limits::max_depth`].
pub const NESTING_TOO_DEEP: i32 = -32006;
/// `-32007`: a connection already has [`Limits::max_in_flight`] requests running.
pub const TOO_MANY_IN_FLIGHT: i32 = -32007;
/// `-32008`: a reply is larger than [`Limits::max_response_bytes`].
pub const RESPONSE_TOO_LARGE: i32 = -32008;
/// `-32009`: a connection already has [`Limits::max_listeners`] event listeners.
pub const TOO_MANY_LISTENERS: i32 = -32009;

/// What a transport accepts from one connection (or child process), and what all of them
/// together may cost.
///
/// Build it from [`Limits::default`] with the setters, which share the fields' names:
///
/// ```
/// use std::time::Duration;
/// use gatehouse_runtime::limits::Limits;
///
/// let limits = Limits::default()
///     .max_message_bytes(1 << 20)
///     .idle_timeout(Duration::from_secs(60));
/// assert_eq!(limits.max_message_bytes, 1 << 20);
/// assert_eq!(limits.max_depth, 64);
/// ```
///
/// The worst case one connection can hold in memory is about `max_outbound_bytes +
/// max_in_flight × max_response_bytes` (replies waiting for room in a full queue); lower
/// `max_response_bytes` or `max_in_flight` where callers are many and replies small.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest message accepted, in bytes (default 16 MiB).
    pub max_message_bytes: usize,
    /// The deepest nesting of JSON arrays and objects accepted (default 64; `[]` is depth 1).
    /// The JSON parser itself refuses nesting deeper than 128 as a parse error.
    pub max_depth: usize,
    /// How many requests of one connection may be in flight at once (default 64). Every entry
    /// of a batch is a request; the excess is answered `-32007` in place and never runs.
    pub max_in_flight: usize,
    /// How many blocking commands (`#[command(blocking)]`) of one connection may run at once
    /// (default 4); the next ones wait for a turn.
    pub max_blocking: usize,
    /// How many blocking commands may run at once for all the callers of a router (default
    /// 32), so that callers cannot take every thread of tokio's blocking pool. Read from the
    /// limits given to [`RouterBuilder::limits`](crate::RouterBuilder::limits).
    pub max_blocking_threads: usize,
    /// The largest reply sent, in bytes (default 16 MiB); a larger one is replaced by `-32008`.
    pub max_response_bytes: usize,
    /// How many bytes (replies, channel messages, events) may wait to be written to one
    /// connection (default 16 MiB). Commands that stream faster than the peer reads wait for
    /// room; a larger frame waits until the queue is empty.
    pub max_outbound_bytes: usize,
    /// How many frames may wait to be written to one connection (default 1024).
    pub outbound_capacity: usize,
    /// How many event listeners one connection may hold (default 256).
    pub max_listeners: usize,
    /// How many connections one server keeps open at once (default 256). Network transports
    /// only; the excess is closed at accept.
    pub max_connections: usize,
    /// How many connections one window (one token) may hold at once (default 32: a window
    /// with a few pages or tabs, and reconnects while old sockets close).
    pub max_connections_per_label: usize,
    /// How many connections not (yet) upgraded to a WebSocket may be open at once (default 64):
    /// those in their handshake, and keep-alive connections that fetched files. When a new one
    /// arrives at the limit, the oldest is dropped, so idle sockets cannot lock a window out.
    pub max_handshakes: usize,
    /// A connection that sends nothing for this long is closed (default 5 minutes).
    pub idle_timeout: Duration,
    /// The time a new connection has to send a complete HTTP request (default 10 s), counted
    /// from the connection's start and again between keep-alive requests. Only network
    /// transports have a handshake.
    pub handshake_timeout: Duration,
    /// A write that the peer does not take within this time closes the connection (default
    /// 30 s): a peer that stops reading cannot hold the core's memory or its commands forever.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 << 20,
            max_depth: 64,
            max_in_flight: 64,
            max_blocking: 4,
            max_blocking_threads: 32,
            max_response_bytes: 16 << 20,
            max_outbound_bytes: 16 << 20,
            outbound_capacity: 1024,
            max_listeners: 256,
            max_connections: 256,
            max_connections_per_label: 32,
            max_handshakes: 64,
            idle_timeout: Duration::from_secs(5 * 60),
            handshake_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty $(, at least $min:expr)?;)*) => {
        impl Limits {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value $(.max($min))?;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`max_message_bytes`](Self::max_message_bytes).
    max_message_bytes: usize;
    /// Sets [`max_depth`](Self::max_depth).
    max_depth: usize;
    /// Sets [`max_in_flight`](Self::max_in_flight) (at least 1).
    max_in_flight: usize, at least 1;
    /// Sets [`max_blocking`](Self::max_blocking) (at least 1).
    max_blocking: usize, at least 1;
    /// Sets [`max_blocking_threads`](Self::max_blocking_threads) (at least 1).
    max_blocking_threads: usize, at least 1;
    /// Sets [`max_response_bytes`](Self::max_response_bytes).
    max_response_bytes: usize;
    /// Sets [`max_outbound_bytes`](Self::max_outbound_bytes) (at least 1).
    max_outbound_bytes: usize, at least 1;
    /// Sets [`outbound_capacity`](Self::outbound_capacity) (at least 1).
    outbound_capacity: usize, at least 1;
    /// Sets [`max_listeners`](Self::max_listeners).
    max_listeners: usize;
    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    max_connections: usize, at least 1;
    /// Sets [`max_connections_per_label`](Self::max_connections_per_label) (at least 1).
    max_connections_per_label: usize, at least 1;
    /// Sets [`max_handshakes`](Self::max_handshakes) (at least 1).
    max_handshakes: usize, at least 1;
    /// Sets [`idle_timeout`](Self::idle_timeout).
    idle_timeout: Duration;
    /// Sets [`handshake_timeout`](Self::handshake_timeout).
    handshake_timeout: Duration;
    /// Sets [`write_timeout`](Self::write_timeout).
    write_timeout: Duration;
}

/// A message nests arrays and objects deeper than the limit.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("nesting too deep: the limit is {limit} levels of arrays and objects")]
pub struct DepthExceeded {
    /// The limit that was exceeded.
    pub limit: usize,
}

/// Checks that `bytes` nests JSON arrays and objects at most `max` deep, without parsing it:
/// one pass counting `[` and `{` outside strings (string escapes included).
///
/// It does not validate the JSON; the parser does that afterwards. Every transport runs it
/// before parsing, so a message of a hundred thousand `[` costs one linear scan instead of a deep
/// recursion.
///
/// ```
/// use gatehouse_runtime::limits::check_depth;
///
/// assert!(check_depth(br#"{"a":[1,{"b":"[[[["}]}"#, 3).is_ok());
/// assert!(check_depth(br#"[[[[]]]]"#, 3).is_err());
/// ```
///
/// # Errors
///
/// [`DepthExceeded`] when the depth passes `max`.
pub fn check_depth(bytes: &[u8], max: usize) -> Result<(), DepthExceeded> {
    if crate::call::reader::outline(bytes, max).too_deep {
        Err(DepthExceeded { limit: max })
    } else {
        Ok(())
    }
}

/// The error for a message larger than `limit` bytes.
#[allow(
    dead_code,
    reason = "for transports that can answer an oversize message; ws closes with 1009"
)]
pub(crate) fn message_too_large(limit: usize) -> RpcError {
    RpcError::new(ErrorCode::Other(MESSAGE_TOO_LARGE), "message too large")
        .with_data(serde_json::json!({ "limit": limit }))
}

/// The error for a message nested deeper than `limit`.
#[cfg_attr(
    not(feature = "ws"),
    allow(dead_code, reason = "used by the transports")
)]
pub(crate) fn nesting_too_deep(limit: usize) -> RpcError {
    RpcError::new(ErrorCode::Other(NESTING_TOO_DEEP), "nesting too deep")
        .with_data(serde_json::json!({ "limit": limit }))
}

/// The error for a request over the in-flight limit.
#[cfg_attr(
    not(feature = "ws"),
    allow(dead_code, reason = "used by the transports")
)]
pub(crate) fn too_many_in_flight(limit: usize) -> RpcError {
    RpcError::new(
        ErrorCode::Other(TOO_MANY_IN_FLIGHT),
        "too many requests in flight",
    )
    .with_data(serde_json::json!({ "limit": limit }))
}

/// The error for a reply larger than `limit` bytes.
#[allow(dead_code, reason = "used by the engine")]
pub(crate) fn response_too_large(limit: usize) -> RpcError {
    RpcError::new(ErrorCode::Other(RESPONSE_TOO_LARGE), "response too large")
        .with_data(serde_json::json!({ "limit": limit }))
}

/// The error for a `listen` over the listener limit.
#[allow(dead_code, reason = "used by the event hub")]
pub(crate) fn too_many_listeners(limit: usize) -> RpcError {
    RpcError::new(ErrorCode::Other(TOO_MANY_LISTENERS), "too many listeners")
        .with_data(serde_json::json!({ "limit": limit }))
}

/// An error reply to the request `id` (`None`: `null`).
#[cfg_attr(
    not(feature = "ws"),
    allow(dead_code, reason = "used by the transports")
)]
pub(crate) fn error_reply(id: Option<&str>, error: &RpcError) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    crate::jsonrpc::write_error(&mut out, id, error);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_checked() {
        assert!(check_depth(b"[]", 1).is_ok());
        assert_eq!(check_depth(b"[[]]", 1), Err(DepthExceeded { limit: 1 }));
    }

    #[test]
    fn errors_say_the_limit() {
        let reply = error_reply(Some("4"), &nesting_too_deep(64));
        assert_eq!(
            String::from_utf8(reply).expect("utf-8"),
            r#"{"jsonrpc":"2.0","error":{"code":-32006,"message":"nesting too deep","data":{"limit":64}},"id":4}"#
        );
    }
}
