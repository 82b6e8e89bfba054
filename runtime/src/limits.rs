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
//! | [`max_connections_per_label`](Limits::max_connections_per_label) | 16 | connections of one window (token) | HTTP 503 at the handshake |
//! | [`max_handshakes`](Limits::max_handshakes) | 64 | connections still in their handshake | the oldest handshake is dropped to make room |
//! | [`idle_timeout`](Limits::idle_timeout) | 5 min | time without a message | the connection is closed (WebSocket: 1001) |
//! | [`handshake_timeout`](Limits::handshake_timeout) | 10 s | time to complete the upgrade | the connection is closed before it reaches the core |
//! | [`write_timeout`](Limits::write_timeout) | 30 s | time a write may wait for the peer | the connection is closed |
//! | [`outbound_capacity`](Limits::outbound_capacity) | 1024 | frames queued for one connection | as `max_outbound_bytes` |
//!
//! Each JSON-RPC error carries `data: {"limit": <the limit>}`. A connection's in-flight
//! requests, listeners and queued frames go away with it: async commands are cancelled and
//! blocking ones that have not started are skipped.

use std::time::Duration;

use serde_json::value::RawValue;

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
    /// room; a frame larger than this is refused.
    pub max_outbound_bytes: usize,
    /// How many frames may wait to be written to one connection (default 1024).
    pub outbound_capacity: usize,
    /// How many event listeners one connection may hold (default 256).
    pub max_listeners: usize,
    /// How many connections one server keeps open at once (default 256). Network transports
    /// only; the excess is closed at accept.
    pub max_connections: usize,
    /// How many connections one window (one token) may hold at once (default 16).
    pub max_connections_per_label: usize,
    /// How many connections may be in their handshake at once (default 64); when a new one
    /// arrives at the limit, the oldest is dropped, so idle sockets cannot lock a window out.
    pub max_handshakes: usize,
    /// A connection that sends nothing for this long is closed (default 5 minutes).
    pub idle_timeout: Duration,
    /// The time a new connection has to complete its HTTP request and WebSocket upgrade
    /// (default 10 s). Only network transports have a handshake.
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
            max_connections_per_label: 16,
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
/// It does not validate the JSON; the parser does that afterwards. Run it before parsing, so a
/// message of a hundred thousand `[` costs one linear scan instead of a deep recursion.
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
/// [`DepthExceeded`] as soon as the depth passes `max`.
pub fn check_depth(bytes: &[u8], max: usize) -> Result<(), DepthExceeded> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(DepthExceeded { limit: max });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' => {
                // Skip the string, a vectorised search at a time: an escape takes the next byte
                // with it. Strings are most of a large message.
                i += 1;
                loop {
                    let Some(k) = bytes
                        .get(i..)
                        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
                    else {
                        return Ok(());
                    };
                    i += k;
                    if bytes[i] == b'"' {
                        break;
                    }
                    i += 2;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The id of a request, found without parsing the message, to answer it when it cannot run.
#[cfg_attr(
    not(feature = "ws"),
    allow(dead_code, reason = "used by the transports")
)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RequestId<'a> {
    /// The raw JSON of the top-level `id` member (a string, a number or `null`).
    Id(&'a str),
    /// A top-level object without an `id`: a notification, which gets no reply.
    Notification,
    /// A batch, or anything not plainly an object: answer with `id: null`.
    Unknown,
}

#[cfg_attr(
    not(feature = "ws"),
    allow(dead_code, reason = "used by the transports")
)]
impl<'a> RequestId<'a> {
    /// The id to answer under; `None` answers `null`.
    pub(crate) fn reply_id(self) -> Option<&'a str> {
        match self {
            Self::Id(id) => Some(id),
            Self::Notification | Self::Unknown => None,
        }
    }
}

/// Finds the top-level `id` member of a request object in one pass over its bytes, without
/// parsing or recursing (the message may be too deep or too large to parse).
#[cfg_attr(
    not(feature = "ws"),
    allow(dead_code, reason = "used by the transports")
)]
pub(crate) fn request_id(bytes: &[u8]) -> RequestId<'_> {
    let start = skip_ws(bytes, 0);
    if bytes.get(start) != Some(&b'{') {
        return RequestId::Unknown;
    }
    let mut depth = 0usize;
    let mut expect_key = false;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return RequestId::Notification;
                }
            }
            b',' if depth == 1 => expect_key = true,
            b'"' => {
                let Some(end) = string_end(bytes, i) else {
                    return RequestId::Unknown;
                };
                if depth == 1 && expect_key {
                    expect_key = false;
                    let key = &bytes[i..=end];
                    if key.contains(&b'\\') {
                        // An escaped key might spell `id`; do not guess.
                        return RequestId::Unknown;
                    }
                    if key == b"\"id\"" {
                        return id_value(bytes, end + 1).map_or(RequestId::Unknown, RequestId::Id);
                    }
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    RequestId::Unknown
}

/// The value after `"id"`, from just past the key: `: <scalar>`.
fn id_value(bytes: &[u8], from: usize) -> Option<&str> {
    let colon = skip_ws(bytes, from);
    if bytes.get(colon) != Some(&b':') {
        return None;
    }
    let start = skip_ws(bytes, colon + 1);
    let end = match bytes.get(start)? {
        b'"' => string_end(bytes, start)? + 1,
        _ => {
            let len = bytes[start..]
                .iter()
                .position(|&c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
                .unwrap_or(bytes.len() - start);
            start + len
        }
    };
    let text = std::str::from_utf8(&bytes[start..end]).ok()?;
    // Only a valid string, number or null is echoed back.
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    let first = raw.get().as_bytes().first().copied()?;
    (first == b'"' || first == b'-' || first.is_ascii_digit() || raw.get() == "null")
        .then_some(text)
}

/// The index of the quote closing the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'"' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
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
    use proptest::prelude::*;
    use serde_json::Value;

    #[test]
    fn depth_counts_open_containers() {
        assert!(check_depth(b"", 0).is_ok());
        assert!(check_depth(b"1", 0).is_ok());
        assert!(check_depth(b"[]", 0).is_err());
        assert!(check_depth(b"[]", 1).is_ok());
        assert!(check_depth(b"[[],[],{}]", 2).is_ok());
        assert!(check_depth(b"[[[]]]", 2).is_err());
        assert_eq!(
            check_depth(b"{\"a\":{\"b\":[]}}", 2),
            Err(DepthExceeded { limit: 2 })
        );
    }

    #[test]
    fn brackets_in_strings_do_not_count() {
        assert!(check_depth(br#"["[[[[{{{{"]"#, 1).is_ok());
        assert!(check_depth(br#"["\"[[[[", "\\", "]"]"#, 1).is_ok());
        assert!(check_depth(br#"["\\"]"#, 1).is_ok());
        // After an escaped backslash the quote closes the string, so this `[` counts.
        assert!(check_depth(br#"["\\",["#, 1).is_err());
    }

    #[test]
    fn a_hundred_thousand_brackets_are_refused_quickly() {
        let deep = vec![b'['; 100_000];
        assert!(check_depth(&deep, 64).is_err());
        let closed = [vec![b'['; 64], vec![b']'; 64]].concat();
        assert!(check_depth(&closed, 64).is_ok());
    }

    #[test]
    fn unbalanced_and_unterminated_input_does_not_panic() {
        assert!(check_depth(b"]]]]}}}", 0).is_ok());
        assert!(check_depth(b"\"unterminated \\", 0).is_ok());
        assert!(check_depth(b"\"\\", 0).is_ok());
    }

    #[test]
    fn ids_are_found_at_the_top_level_only() {
        fn id(s: &str) -> RequestId<'_> {
            request_id(s.as_bytes())
        }
        assert_eq!(
            id(r#"{"jsonrpc":"2.0","id":7,"method":"x"}"#),
            RequestId::Id("7")
        );
        assert_eq!(
            id(r#" { "method" : "x" , "id" : "a\"b" } "#),
            RequestId::Id(r#""a\"b""#)
        );
        assert_eq!(
            id(r#"{"params":{"id":1},"id":-2.5e3}"#),
            RequestId::Id("-2.5e3")
        );
        assert_eq!(
            id(r#"{"params":[{"id":1}],"method":"x"}"#),
            RequestId::Notification
        );
        assert_eq!(id(r#"{"m":"id","x":"id"}"#), RequestId::Notification);
        assert_eq!(id(r#"{"id":null}"#), RequestId::Id("null"));
        assert_eq!(id(r#"[{"id":1}]"#), RequestId::Unknown);
        assert_eq!(id(r#"{"id":{"a":1}}"#), RequestId::Unknown);
        assert_eq!(id(r#"{"id":tru}"#), RequestId::Unknown);
        assert_eq!(id(r#"{"\u0069d":1}"#), RequestId::Unknown);
        assert_eq!(id(r#"{"id""#), RequestId::Unknown);
        assert_eq!(id("garbage"), RequestId::Unknown);
        let deep = format!(r#"{{"id":3,"params":{}}}"#, "[".repeat(100_000));
        assert_eq!(id(&deep), RequestId::Id("3"));
    }

    #[test]
    fn errors_say_the_limit() {
        let reply = error_reply(Some("4"), &nesting_too_deep(64));
        assert_eq!(
            String::from_utf8(reply).expect("utf-8"),
            r#"{"jsonrpc":"2.0","error":{"code":-32006,"message":"nesting too deep","data":{"limit":64}},"id":4}"#
        );
    }

    fn depth_of(v: &Value) -> usize {
        match v {
            Value::Array(a) => 1 + a.iter().map(depth_of).max().unwrap_or(0),
            Value::Object(o) => 1 + o.values().map(depth_of).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            // Strings full of the characters the scanner must not miscount.
            "[\\[\\]{}\"\\\\a-z]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(12, 64, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[\\[\\]{}\"\\\\a-z]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn depth_matches_the_parsed_value(v in json()) {
            let text = serde_json::to_vec(&v).expect("serialise");
            let depth = depth_of(&v);
            prop_assert!(check_depth(&text, depth).is_ok());
            if depth > 0 {
                prop_assert_eq!(check_depth(&text, depth - 1), Err(DepthExceeded { limit: depth - 1 }));
            }
        }

        #[test]
        fn ids_match_the_parsed_request(v in json(), id in prop_oneof![
            any::<i64>().prop_map(Value::from),
            "[a-z\"\\\\{}]{0,6}".prop_map(Value::String),
        ]) {
            let request = serde_json::json!({ "params": v, "id": id, "method": "m" });
            let text = serde_json::to_vec(&request).expect("serialise");
            match request_id(&text) {
                RequestId::Id(raw) => {
                    let parsed: Value = serde_json::from_str(raw).expect("valid id");
                    prop_assert_eq!(parsed, id);
                }
                other => prop_assert!(false, "no id found: {:?}", other),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), max in 0usize..8) {
            let _ = check_depth(&bytes, max);
            let _ = request_id(&bytes);
        }
    }
}
