//! The JSON-RPC pieces both ends of a pipe share: reading replies, writing requests. (Telling
//! requests from replies without parsing is the engine's JSON reader's job.)

use std::io::Write;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::error::{ErrorCode, RpcError};

/// Reads a member that is present even when it is `null` (plain `Option` reads `null` as
/// absent).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A JSON-RPC error object as it arrives.
#[derive(Deserialize)]
pub(crate) struct WireError {
    pub(crate) code: i32,
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) data: Option<Box<RawValue>>,
}

impl WireError {
    pub(crate) fn into_rpc(self) -> RpcError {
        let error = RpcError::new(ErrorCode::from_code(self.code), self.message);
        match self.data {
            Some(data) => error.with_data(data),
            None => error,
        }
    }
}

/// Any message, with the members either side looks at. Unknown members are ignored.
#[derive(Deserialize)]
pub(crate) struct Envelope {
    #[serde(default, deserialize_with = "present")]
    pub(crate) id: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) method: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) result: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) error: Option<Box<RawValue>>,
}

impl Envelope {
    /// Whether this is a reply: no `method`, and a `result` or an `error`.
    pub(crate) fn is_reply(&self) -> bool {
        self.method.is_none() && (self.result.is_some() || self.error.is_some())
    }

    /// The reply's id, when it is one of ours (a positive integer).
    pub(crate) fn reply_id(&self) -> Option<u64> {
        self.id.as_ref()?.get().parse().ok()
    }

    /// The reply's outcome: the result, or the error. `Err(None)` for a malformed reply.
    pub(crate) fn into_outcome(self) -> Result<Box<RawValue>, Option<RpcError>> {
        match (self.result, self.error) {
            (Some(result), None) => Ok(result),
            (None, Some(error)) => Err(serde_json::from_str::<WireError>(error.get())
                .ok()
                .map(WireError::into_rpc)),
            _ => Err(None),
        }
    }
}

/// [`Envelope`] borrowing its members from the message it was read from, for the child's reader:
/// nothing is copied until a member is handed on.
#[derive(Deserialize)]
pub(crate) struct Incoming<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    pub(crate) id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    pub(crate) method: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) params: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    pub(crate) result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    pub(crate) error: Option<&'a RawValue>,
}

impl<'a> Incoming<'a> {
    /// Whether this is a reply: no `method`, and a `result` or an `error`.
    pub(crate) fn is_reply(&self) -> bool {
        self.method.is_none() && (self.result.is_some() || self.error.is_some())
    }

    /// The reply's id, when it is one of ours (a positive integer).
    pub(crate) fn reply_id(&self) -> Option<u64> {
        self.id?.get().parse().ok()
    }

    /// The reply's outcome: the result, or the error. `Err(None)` for a malformed reply.
    pub(crate) fn outcome(&self) -> Result<&'a RawValue, Option<RpcError>> {
        match (self.result, self.error) {
            (Some(result), None) => Ok(result),
            (None, Some(error)) => Err(serde_json::from_str::<WireError>(error.get())
                .ok()
                .map(WireError::into_rpc)),
            _ => Err(None),
        }
    }

    /// Whether the method is the string `name` (compared as JSON text, escapes decoded).
    pub(crate) fn method_is(&self, name: &str) -> bool {
        let Some(method) = self.method else {
            return false;
        };
        let text = method.get();
        match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(plain) if !plain.contains('\\') => plain == name,
            _ => serde_json::from_str::<String>(text).is_ok_and(|m| m == name),
        }
    }

    /// The method name, when it is a string.
    pub(crate) fn method_name(&self) -> Option<String> {
        serde_json::from_str(self.method?.get()).ok()
    }
}

/// `{"jsonrpc":"2.0","id":<id>,"method":<method>,"params":<params>}`, without `id` for a
/// notification and without `params` when they serialise to `null`.
pub(crate) fn request<P: Serialize + ?Sized>(
    id: Option<u64>,
    method: &str,
    params: &P,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(64 + method.len());
    write_request(&mut out, id, method, params)?;
    Ok(out)
}

/// [`request`], appended to `out`. On an error, `out` may hold part of the request.
pub(crate) fn write_request<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: Option<u64>,
    method: &str,
    params: &P,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","#);
    if let Some(id) = id {
        // Writing into a Vec cannot fail.
        let _ = write!(out, r#""id":{id},"#);
    }
    out.extend_from_slice(br#""method":"#);
    serde_json::to_writer(&mut *out, method)?;
    let before = out.len();
    out.extend_from_slice(br#","params":"#);
    let at = out.len();
    serde_json::to_writer(&mut *out, params)?;
    if &out[at..] == b"null" {
        out.truncate(before);
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelopes_tell_replies_from_the_rest() {
        let e = |s: &str| serde_json::from_str::<Envelope>(s).expect("parses");
        let reply = e(r#"{"jsonrpc":"2.0","id":3,"result":null}"#);
        assert!(reply.is_reply());
        assert_eq!(reply.reply_id(), Some(3));
        let result = reply.into_outcome().ok().map(|r| r.get().to_owned());
        assert_eq!(result.as_deref(), Some("null"));
        let error = e(r#"{"id":4,"error":{"code":-32001,"message":"no","data":{"x":1}}}"#);
        let rpc = error
            .into_outcome()
            .expect_err("an error")
            .expect("well-formed");
        assert_eq!(rpc.code(), ErrorCode::NotAllowed);
        assert_eq!(rpc.data().map(RawValue::get), Some(r#"{"x":1}"#));
        assert!(!e(r#"{"id":5}"#).is_reply());
        assert!(!e(r#"{"id":5,"method":null,"result":1}"#).is_reply());
        assert_eq!(e(r#"{"id":"5","result":1}"#).reply_id(), None);
        assert!(e(r#"{"id":6,"result":1,"error":{}}"#)
            .into_outcome()
            .expect_err("both")
            .is_none());
    }

    #[test]
    fn incoming_messages_borrow_what_they_carry() {
        let text = br#"{"jsonrpc":"2.0","result":{"a":[1,"x"]},"id":7}"#;
        let reply: Incoming<'_> = serde_json::from_slice(text).expect("parses");
        assert!(reply.is_reply());
        assert_eq!(reply.reply_id(), Some(7));
        assert_eq!(
            reply.outcome().ok().map(RawValue::get),
            Some(r#"{"a":[1,"x"]}"#)
        );
        let text = br#"{"id":null,"error":{"code":-32700,"message":"parse error"}}"#;
        let error: Incoming<'_> = serde_json::from_slice(text).expect("parses");
        assert_eq!(error.reply_id(), None);
        let rpc = error.outcome().expect_err("an error").expect("well-formed");
        assert_eq!(rpc.code(), ErrorCode::ParseError);
        let text = br#"{"method":"gatehouse:\u0063hannel","params":{"channel":1}}"#;
        let note: Incoming<'_> = serde_json::from_slice(text).expect("parses");
        assert!(!note.is_reply() && note.id.is_none());
        assert!(note.method_is("gatehouse:channel"));
        assert!(!note.method_is("gatehouse"));
        let text = br#"{"id":1,"method":null,"result":1}"#;
        let odd: Incoming<'_> = serde_json::from_slice(text).expect("parses");
        assert!(!odd.is_reply() && !odd.method_is("null"));
        assert_eq!(odd.method_name(), None);
    }

    #[test]
    fn requests_are_written_compactly() {
        let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
        assert_eq!(
            text(request(Some(7), "a\"b", &json!({"x": "\n"})).expect("writes")),
            r#"{"jsonrpc":"2.0","id":7,"method":"a\"b","params":{"x":"\n"}}"#
        );
        assert_eq!(
            text(request(None, "ping", &()).expect("writes")),
            r#"{"jsonrpc":"2.0","method":"ping"}"#
        );
    }
}
