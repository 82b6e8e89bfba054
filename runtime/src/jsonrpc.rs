//! The JSON-RPC 2.0 envelope: reading requests without copying, writing replies directly.

use std::borrow::Cow;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::RpcError;

/// A member that may be absent, distinguishing absent from `null` (which `Option` cannot).
#[derive(Default)]
enum Field<T> {
    #[default]
    Absent,
    Present(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Field::Present)
    }
}

impl<T> Field<T> {
    fn into_option(self) -> Option<T> {
        match self {
            Field::Absent => None,
            Field::Present(v) => Some(v),
        }
    }
}

#[derive(Default)]
struct Envelope<'a> {
    jsonrpc: Field<&'a RawValue>,
    method: Field<&'a RawValue>,
    params: Field<&'a RawValue>,
    id: Field<&'a RawValue>,
}

/// Only a JSON object is a request: unlike a derived `Deserialize`, this refuses the array form
/// (`["2.0", "method", …]`), and it refuses repeated members.
impl<'de: 'a, 'a> Deserialize<'de> for Envelope<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor(std::marker::PhantomData))
    }
}

struct EnvelopeVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for EnvelopeVisitor<'a> {
    type Value = Envelope<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'a>, A::Error> {
        let mut envelope = Envelope::default();
        while let Some(key) = map.next_key::<Member>()? {
            let (slot, name) = match key {
                Member::Jsonrpc => (&mut envelope.jsonrpc, "jsonrpc"),
                Member::Method => (&mut envelope.method, "method"),
                Member::Params => (&mut envelope.params, "params"),
                Member::Id => (&mut envelope.id, "id"),
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if matches!(slot, Field::Present(_)) {
                return Err(de::Error::duplicate_field(name));
            }
            *slot = Field::Present(map.next_value()?);
        }
        Ok(envelope)
    }
}

enum Member {
    Jsonrpc,
    Method,
    Params,
    Id,
    Other,
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(MemberVisitor)
    }
}

struct MemberVisitor;

impl Visitor<'_> for MemberVisitor {
    type Value = Member;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Member, E> {
        Ok(match key {
            "jsonrpc" => Member::Jsonrpc,
            "method" => Member::Method,
            "params" => Member::Params,
            "id" => Member::Id,
            _ => Member::Other,
        })
    }
}

/// A valid request, borrowing from the message.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) method: Cow<'a, str>,
    pub(crate) params: Option<&'a RawValue>,
    /// `None` for a notification.
    pub(crate) id: Option<&'a RawValue>,
}

/// A request that could not be read, with the id to answer it under (`None` answers `null`).
pub(crate) struct Invalid<'a> {
    pub(crate) id: Option<&'a RawValue>,
    pub(crate) error: RpcError,
}

/// What the message is, at the top level.
pub(crate) enum Message<'a> {
    Single(&'a [u8]),
    Batch(Vec<&'a RawValue>),
}

/// Splits a message into one request or a batch.
pub(crate) fn read_message(bytes: &[u8]) -> Result<Message<'_>, RpcError> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    if bytes.get(start) == Some(&b'[') {
        let batch: Vec<&RawValue> =
            serde_json::from_slice(bytes).map_err(|e| classify(&e, bytes))?;
        Ok(Message::Batch(batch))
    } else {
        Ok(Message::Single(bytes))
    }
}

/// A JSON error is a parse error when the text is not JSON, an invalid request otherwise.
fn classify(e: &serde_json::Error, bytes: &[u8]) -> RpcError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() => {
            RpcError::invalid_request(format!("invalid request: {e}"))
        }
        _ => RpcError::parse_error(e),
    }
}

/// Reads one request object.
pub(crate) fn read_request(bytes: &[u8]) -> Result<Request<'_>, Invalid<'_>> {
    let envelope: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| Invalid {
        id: None,
        error: classify(&e, bytes),
    })?;
    let id = envelope.id.into_option();
    // An id that is not a string, a number or null cannot be echoed.
    if let Some(raw) = id {
        let first = raw.get().as_bytes().first().copied().unwrap_or(b'n');
        if !(first == b'"' || first == b'-' || first.is_ascii_digit() || raw.get() == "null") {
            return Err(Invalid {
                id: None,
                error: RpcError::invalid_request(
                    "invalid request: `id` must be a string, a number or null",
                ),
            });
        }
    }
    let invalid = |message: &'static str| Invalid {
        id,
        error: RpcError::invalid_request(message),
    };
    // The version is a string: written with escapes (`"2\u002e0"`) it is still "2.0".
    match envelope.jsonrpc.into_option().and_then(string_of) {
        Some(version) if version == "2.0" => {}
        _ => return Err(invalid("invalid request: `jsonrpc` must be \"2.0\"")),
    }
    let method = match envelope.method.into_option() {
        Some(raw) => {
            string_of(raw).ok_or_else(|| invalid("invalid request: `method` must be a string"))?
        }
        None => return Err(invalid("invalid request: `method` is missing")),
    };
    // `null` is neither: only leaving `params` out means "no parameters".
    let params = match envelope.params.into_option() {
        None => None,
        Some(raw) if matches!(raw.get().as_bytes().first(), Some(b'{' | b'[')) => Some(raw),
        Some(_) => {
            return Err(invalid(
                "invalid request: `params` must be an object or an array",
            ))
        }
    };
    Ok(Request { method, params, id })
}

/// The string a raw JSON value holds, borrowed when it has no escapes.
fn string_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if !text.starts_with('"') {
        return None;
    }
    if !text.contains('\\') {
        // A JSON string without escapes is its own content between the quotes.
        return Some(Cow::Borrowed(&text[1..text.len() - 1]));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

const RESULT_HEAD: &[u8] = b"{\"jsonrpc\":\"2.0\",\"result\":";
const ERROR_HEAD: &[u8] = b"{\"jsonrpc\":\"2.0\",\"error\":";

/// Appends a success reply.
pub(crate) fn write_result(out: &mut Vec<u8>, id: Option<&str>, result: &[u8]) {
    out.reserve(RESULT_HEAD.len() + result.len() + 16);
    out.extend_from_slice(RESULT_HEAD);
    out.extend_from_slice(result);
    write_id(out, id);
}

/// Appends an error reply.
pub(crate) fn write_error(out: &mut Vec<u8>, id: Option<&str>, error: &RpcError) {
    out.extend_from_slice(ERROR_HEAD);
    error.write_json(out);
    write_id(out, id);
}

fn write_id(out: &mut Vec<u8>, id: Option<&str>) {
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(id.unwrap_or("null").as_bytes());
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn reads_a_request_borrowing_method_and_params() {
        let msg = br#"{"jsonrpc":"2.0","method":"add","params":{"a":1},"id":7}"#;
        let r = read_request(msg).map_err(|e| e.error).expect("valid");
        assert!(matches!(r.method, Cow::Borrowed("add")));
        assert_eq!(r.params.map(RawValue::get), Some(r#"{"a":1}"#));
        assert_eq!(r.id.map(RawValue::get), Some("7"));
    }

    #[test]
    fn null_id_is_a_request_and_absent_id_a_notification() {
        let r = read_request(br#"{"jsonrpc":"2.0","method":"m","id":null}"#)
            .map_err(|e| e.error)
            .expect("valid");
        assert_eq!(r.id.map(RawValue::get), Some("null"));
        let n = read_request(br#"{"jsonrpc":"2.0","method":"m"}"#)
            .map_err(|e| e.error)
            .expect("valid");
        assert!(n.id.is_none());
    }

    #[test]
    fn escaped_method_names_are_unescaped() {
        let r = read_request(br#"{"jsonrpc":"2.0","method":"a\u0064d","id":1}"#)
            .map_err(|e| e.error)
            .expect("valid");
        assert_eq!(r.method, "add");
    }

    #[test]
    fn an_escaped_version_is_the_version() {
        for version in [r#""2\u002e0""#, r#""\u0032.0""#, r#""\u0032\u002E\u0030""#] {
            let msg = format!(r#"{{"jsonrpc":{version},"method":"m","id":1}}"#);
            let r = read_request(msg.as_bytes())
                .map_err(|e| e.error)
                .unwrap_or_else(|e| panic!("{msg}: {e:?}"));
            assert_eq!(r.method, "m");
        }
        for version in [r#""2\u002e00""#, r#""2\u002c0""#, r#""\u0032""#] {
            let msg = format!(r#"{{"jsonrpc":{version},"method":"m","id":1}}"#);
            let Err(e) = read_request(msg.as_bytes()) else {
                panic!("accepted {msg}")
            };
            assert_eq!(e.error.code(), ErrorCode::InvalidRequest, "{msg}");
        }
    }

    #[test]
    fn invalid_requests() {
        for (msg, code, id) in [
            (
                &br#"{"jsonrpc":"1.0","method":"m","id":1}"#[..],
                ErrorCode::InvalidRequest,
                Some("1"),
            ),
            (
                br#"{"method":"m","id":"x"}"#,
                ErrorCode::InvalidRequest,
                Some("\"x\""),
            ),
            (
                br#"{"jsonrpc":"2.0","method":1,"params":"bar"}"#,
                ErrorCode::InvalidRequest,
                None,
            ),
            (
                br#"{"jsonrpc":"2.0","method":"m","params":3,"id":1}"#,
                ErrorCode::InvalidRequest,
                Some("1"),
            ),
            (
                br#"{"jsonrpc":"2.0","method":"m","params":null,"id":1}"#,
                ErrorCode::InvalidRequest,
                Some("1"),
            ),
            (
                br#"{"jsonrpc":"2.0","method":"m","id":{}}"#,
                ErrorCode::InvalidRequest,
                None,
            ),
            (
                br#"{"jsonrpc":"2.0","method":"m","id":1,"id":2}"#,
                ErrorCode::InvalidRequest,
                None,
            ),
            (br#"1"#, ErrorCode::InvalidRequest, None),
            (
                br#"{"jsonrpc":"2.0","method":"m""#,
                ErrorCode::ParseError,
                None,
            ),
            (b"\xff", ErrorCode::ParseError, None),
            (br#"["2.0","m",[],1]"#, ErrorCode::InvalidRequest, None),
        ] {
            let Err(e) = read_request(msg) else {
                panic!("accepted {msg:?}")
            };
            assert_eq!(e.error.code(), code, "{}", String::from_utf8_lossy(msg));
            assert_eq!(
                e.id.map(RawValue::get),
                id,
                "{}",
                String::from_utf8_lossy(msg)
            );
        }
    }

    #[test]
    fn writes_replies() {
        let id = RawValue::from_string("\"a\"".into()).expect("raw");
        let mut out = Vec::new();
        write_result(&mut out, Some(id.get()), b"3");
        assert_eq!(out, br#"{"jsonrpc":"2.0","result":3,"id":"a"}"#);
        out.clear();
        write_error(
            &mut out,
            None,
            &RpcError::new(ErrorCode::UnknownCommand, "x \"y\""),
        );
        assert_eq!(
            out,
            br#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"x \"y\""},"id":null}"#
        );
    }
}
