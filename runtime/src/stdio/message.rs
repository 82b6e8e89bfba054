//! The JSON-RPC pieces both ends of a pipe share: telling requests from replies, reading
//! replies, writing requests.

use std::io::Write;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::error::{ErrorCode, RpcError};

/// Whether `bytes` is a JSON object with a top-level `method` member, found in one pass without
/// parsing (requests usually name their method early). `None` when the scan cannot tell: not an
/// object, malformed, or a key written with escapes.
#[cfg(feature = "stdio")]
pub(crate) fn has_method(bytes: &[u8]) -> Option<bool> {
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut expect_key = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(false);
                }
            }
            b',' if depth == 1 => expect_key = true,
            b'"' => {
                let end = string_end(bytes, i)?;
                if depth == 1 && expect_key {
                    expect_key = false;
                    let key = &bytes[i + 1..end];
                    if key.contains(&b'\\') {
                        return None;
                    }
                    if key == b"method" {
                        return Some(true);
                    }
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the quote closing the string that opens at `start`.
#[cfg(feature = "stdio")]
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some(i),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

#[cfg(feature = "stdio")]
fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

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
    #[serde(default)]
    pub(crate) params: Option<Box<RawValue>>,
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

    /// The method name, when it is a string.
    pub(crate) fn method_name(&self) -> Option<String> {
        serde_json::from_str(self.method.as_ref()?.get()).ok()
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
    out.extend_from_slice(br#"{"jsonrpc":"2.0","#);
    if let Some(id) = id {
        // Writing into a Vec cannot fail.
        let _ = write!(out, r#""id":{id},"#);
    }
    out.extend_from_slice(br#""method":"#);
    serde_json::to_writer(&mut out, method)?;
    let before = out.len();
    out.extend_from_slice(br#","params":"#);
    let at = out.len();
    serde_json::to_writer(&mut out, params)?;
    if &out[at..] == b"null" {
        out.truncate(before);
    }
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "stdio")]
    use proptest::prelude::*;
    use serde_json::json;
    #[cfg(feature = "stdio")]
    use serde_json::Value;

    #[cfg(feature = "stdio")]
    #[test]
    fn methods_are_found_at_the_top_level_only() {
        let m = |s: &str| has_method(s.as_bytes());
        assert_eq!(m(r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#), Some(true));
        assert_eq!(m(r#" { "id" : 1 , "method" : "x" } "#), Some(true));
        assert_eq!(m(r#"{"params":{"method":1},"result":2}"#), Some(false));
        assert_eq!(m(r#"{"result":"method","x":["method"]}"#), Some(false));
        assert_eq!(m(r#"{"result":"a\"method"}"#), Some(false));
        assert_eq!(m(r#"{"\u006dethod":"x"}"#), None);
        assert_eq!(m("[]"), None);
        assert_eq!(m("garbage"), None);
        assert_eq!(m(r#"{"id":1"#), None);
        assert_eq!(m(r#"{"unterminated"#), None);
        assert_eq!(m("}}}"), None);
    }

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

    #[cfg(feature = "stdio")]
    proptest! {
        #[test]
        fn the_scan_agrees_with_the_parser(
            keys in prop::collection::vec("(method|id|params|result|x|\\[|\\{|\")", 0..5),
            nested in any::<bool>(),
        ) {
            let mut object = serde_json::Map::new();
            for (i, key) in keys.iter().enumerate() {
                let value = if nested { json!({"method": [i, "method"]}) } else { json!(i) };
                object.insert(key.clone(), value);
            }
            let text = serde_json::to_vec(&Value::Object(object.clone())).expect("serialises");
            match has_method(&text) {
                Some(found) => prop_assert_eq!(found, object.contains_key("method")),
                // Only an escaped key leaves the scan unsure.
                None => prop_assert!(keys.iter().any(|k| k.contains('"'))),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            let _ = has_method(&bytes);
        }
    }
}
