//! The JSON reader every message meets first: one pass over its bytes, without parsing or
//! recursing, that tells the engine what it needs before it decides anything — how deep the
//! message nests, whether it is one request or a batch (and of how many entries), and a request's
//! `id` and whether it names a `method` or carries an outcome (a response).
//!
//! The message may be too deep, too large or too broken to parse; the reader never fails, it
//! only answers "unknown" where it cannot tell. The same byte primitives serve the single-pass
//! argument read in [`scan`](super::scan).

use serde_json::value::RawValue;

/// What one pass over a message found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outline<'a> {
    /// The message's top-level shape.
    pub(crate) shape: Shape<'a>,
    /// Whether arrays and objects nest deeper than the limit the outline was taken with.
    pub(crate) too_deep: bool,
}

/// A message's top-level shape.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape<'a> {
    /// An object: a request, a notification, or a response.
    Object(Members<'a>),
    /// An array: a batch of `entries` values (0 for `[]`).
    Array {
        /// How many values the array holds.
        entries: usize,
    },
    /// Anything else: a scalar, an unterminated value, garbage.
    Other,
}

/// The top-level members of an object that the engine looks at.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Members<'a> {
    /// The `id`, if one is plainly there.
    pub(crate) id: RequestId<'a>,
    /// Whether a `method` member is there (`None`: cannot tell, a key is written with escapes).
    pub(crate) method: Option<bool>,
    /// Whether a `result` or `error` member is there (`None`: cannot tell).
    pub(crate) outcome: Option<bool>,
}

/// The id of a request, found without parsing the message, to answer it when it cannot run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RequestId<'a> {
    /// The raw JSON of the top-level `id` member (a string, a number or `null`).
    Id(&'a str),
    /// A complete object without an `id`: a notification, which gets no reply.
    Notification,
    /// Not plainly known (a batch, a malformed object, an escaped key, an id that is not a
    /// string, number or null): answer with `id: null`.
    Unknown,
}

impl<'a> RequestId<'a> {
    /// The id to answer under; `None` answers `null`.
    pub(crate) fn reply_id(self) -> Option<&'a str> {
        match self {
            Self::Id(id) => Some(id),
            Self::Notification | Self::Unknown => None,
        }
    }
}

impl<'a> Shape<'a> {
    /// How many requests the message holds: a batch's entries, else 1.
    pub(crate) fn requests(&self) -> usize {
        match self {
            Self::Array { entries } => *entries,
            Self::Object(_) | Self::Other => 1,
        }
    }

    /// The id to answer a refusal of the whole message under: the object's id, else unknown.
    pub(crate) fn id(&self) -> RequestId<'a> {
        match self {
            Self::Object(members) => members.id,
            Self::Array { .. } | Self::Other => RequestId::Unknown,
        }
    }
}

/// Takes the outline of `bytes` in one pass; `max_depth` is the deepest nesting of arrays and
/// objects allowed (`[]` is depth 1).
pub(crate) fn outline(bytes: &[u8], max_depth: usize) -> Outline<'_> {
    let start = skip_ws(bytes, 0);
    let top = bytes.get(start).copied();
    let mut depth = 0usize;
    let mut too_deep = false;
    // For an object: the members found so far, and whether a key comes next.
    let mut members = Members {
        id: RequestId::Notification,
        method: Some(false),
        outcome: Some(false),
    };
    let mut expect_key = false;
    let mut id_seen = false;
    // For an array: its entries so far.
    let mut entries = 0usize;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' | b'[' => {
                depth += 1;
                too_deep |= depth > max_depth;
                if depth == 1 {
                    expect_key = b == b'{';
                    if b == b'[' && bytes.get(skip_ws(bytes, i + 1)) != Some(&b']') {
                        entries = 1;
                    }
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    // The top-level value is complete; what follows is the parser's to refuse.
                    let shape = match top {
                        Some(b'{') => Shape::Object(members),
                        Some(b'[') => Shape::Array { entries },
                        _ => Shape::Other,
                    };
                    return Outline { shape, too_deep };
                }
            }
            b',' if depth == 1 => {
                expect_key = top == Some(b'{');
                entries += 1;
            }
            b'"' => {
                let Some(end) = string_end(bytes, i) else {
                    break;
                };
                if depth == 1 && expect_key {
                    expect_key = false;
                    let key = &bytes[i + 1..end];
                    if key.contains(&b'\\') {
                        // An escaped key might spell any of ours; do not guess.
                        members.method = None;
                        members.outcome = None;
                        members.id = RequestId::Unknown;
                        id_seen = true;
                    } else {
                        match key {
                            b"method" => members.method = members.method.map(|_| true),
                            b"result" | b"error" => {
                                members.outcome = members.outcome.map(|_| true);
                            }
                            b"id" if !id_seen => {
                                id_seen = true;
                                members.id = id_value(bytes, end + 1)
                                    .map_or(RequestId::Unknown, RequestId::Id);
                            }
                            // A repeated `id` is the parser's to refuse.
                            b"id" => members.id = RequestId::Unknown,
                            _ => {}
                        }
                    }
                }
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    // Unterminated, or not a container at all.
    let shape = match top {
        Some(b'{') => Shape::Object(Members {
            id: match members.id {
                RequestId::Notification => RequestId::Unknown,
                id => id,
            },
            ..members
        }),
        Some(b'[') => Shape::Array { entries },
        _ => Shape::Other,
    };
    Outline { shape, too_deep }
}

/// The value after `"id"`, from just past the key: `: <scalar>`. Only a valid string, number
/// or null is returned, as its JSON text.
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
    let raw: &RawValue = serde_json::from_str(text).ok()?;
    let first = raw.get().as_bytes().first().copied()?;
    (first == b'"' || first == b'-' || first.is_ascii_digit() || raw.get() == "null")
        .then_some(text)
}

/// The index of the quote closing the string that opens at `start`, a vectorised search at a
/// time (strings are most of a large message); an escape takes the next byte with it.
pub(crate) fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        if bytes[i] == b'"' {
            return Some(i);
        }
        i += 2;
    }
}

/// The index of the first byte at or after `i` that is not JSON white space.
pub(crate) fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn shape(s: &str) -> Shape<'_> {
        outline(s.as_bytes(), usize::MAX).shape
    }

    fn id(s: &str) -> RequestId<'_> {
        shape(s).id()
    }

    #[test]
    fn depth_counts_open_containers() {
        let deep = |s: &str, max| outline(s.as_bytes(), max).too_deep;
        assert!(!deep("", 0));
        assert!(!deep("1", 0));
        assert!(deep("[]", 0));
        assert!(!deep("[]", 1));
        assert!(!deep("[[],[],{}]", 2));
        assert!(deep("[[[]]]", 2));
        assert!(deep(r#"{"a":{"b":[]}}"#, 2));
        assert!(!deep(r#"["[[[[{{{{"]"#, 1));
        assert!(!deep(r#"["\"[[[[", "\\", "]"]"#, 1));
        // After an escaped backslash the quote closes the string, so this `[` counts.
        assert!(deep(r#"["\\",["#, 1));
        assert!(deep(&"[".repeat(100_000), 64));
        assert!(!deep("]]]]}}}", 0));
        assert!(!deep("\"unterminated \\", 0));
    }

    #[test]
    fn depth_is_known_even_for_a_deep_message_whose_id_comes_first() {
        let msg = format!(r#"{{"id":3,"params":{}}}"#, "[".repeat(100_000));
        let o = outline(msg.as_bytes(), 64);
        assert!(o.too_deep);
        // Unterminated, but the id was plainly there: a refusal can still name it.
        assert_eq!(o.shape.id(), RequestId::Id("3"));
        let msg = format!(
            r#"{{"id":3,"params":{}{}}}"#,
            "[".repeat(1000),
            "]".repeat(1000)
        );
        let o = outline(msg.as_bytes(), 64);
        assert!(o.too_deep);
        assert_eq!(o.shape.id(), RequestId::Id("3"));
    }

    #[test]
    fn ids_are_found_at_the_top_level_only() {
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
        assert_eq!(id(r#"{"id":1,"id":2}"#), RequestId::Unknown);
        assert_eq!(id(r#"{"id""#), RequestId::Unknown);
        assert_eq!(id("garbage"), RequestId::Unknown);
    }

    #[test]
    fn batches_count_their_entries() {
        assert_eq!(shape("[]"), Shape::Array { entries: 0 });
        assert_eq!(shape(" [ ] "), Shape::Array { entries: 0 });
        assert_eq!(shape("[1]"), Shape::Array { entries: 1 });
        assert_eq!(
            shape(r#"[{"a":[1,2,3]},"x,y",[4,5]]"#),
            Shape::Array { entries: 3 }
        );
        assert_eq!(shape(r#"{"a":1}"#).requests(), 1);
        assert_eq!(shape("[1,2").requests(), 2);
    }

    #[test]
    fn methods_and_outcomes_are_found_at_the_top_level_only() {
        let members = |s: &str| match shape(s) {
            Shape::Object(m) => Some((m.method, m.outcome)),
            _ => None,
        };
        assert_eq!(
            members(r#"{"jsonrpc":"2.0","method":"a","id":1}"#),
            Some((Some(true), Some(false)))
        );
        assert_eq!(
            members(r#"{"id":1,"result":{"method":"x"}}"#),
            Some((Some(false), Some(true)))
        );
        assert_eq!(
            members(r#"{"id":1,"error":{"code":1}}"#),
            Some((Some(false), Some(true)))
        );
        assert_eq!(members(r#"{"me\u0074hod":"a"}"#), Some((None, None)));
        assert_eq!(members(r#"["method"]"#), None);
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
            // Strings full of the characters the reader must not miscount.
            "[\\[\\]{}\",:\\\\a-z]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(12, 64, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[\\[\\]{}\",:\\\\a-z]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn depth_matches_the_parsed_value(v in json()) {
            let text = serde_json::to_vec(&v).expect("serialise");
            let depth = depth_of(&v);
            prop_assert!(!outline(&text, depth).too_deep);
            if depth > 0 {
                prop_assert!(outline(&text, depth - 1).too_deep);
            }
        }

        #[test]
        fn the_outline_matches_the_parsed_value(v in json()) {
            let text = serde_json::to_vec(&v).expect("serialise");
            let o = outline(&text, usize::MAX);
            match (&v, o.shape) {
                (Value::Array(a), Shape::Array { entries }) => prop_assert_eq!(a.len(), entries),
                (Value::Object(m), Shape::Object(members)) => {
                    // A key written with escapes makes the reader say "cannot tell".
                    let escaped = m.keys().any(|k| k.contains(['"', '\\']));
                    let method = (!escaped).then(|| m.contains_key("method"));
                    let outcome =
                        (!escaped).then(|| m.contains_key("result") || m.contains_key("error"));
                    prop_assert_eq!(members.method, method);
                    prop_assert_eq!(members.outcome, outcome);
                }
                (Value::Array(_) | Value::Object(_), shape) => prop_assert!(false, "{:?}", shape),
                (_, shape) => prop_assert_eq!(shape, Shape::Other),
            }
        }

        #[test]
        fn ids_match_the_parsed_request(v in json(), id in prop_oneof![
            any::<i64>().prop_map(Value::from),
            "[a-z\"\\\\{}]{0,6}".prop_map(Value::String),
        ]) {
            let request = serde_json::json!({ "params": v, "id": id, "method": "m" });
            let text = serde_json::to_vec(&request).expect("serialise");
            match outline(&text, usize::MAX).shape.id() {
                RequestId::Id(raw) => {
                    let parsed: Value = serde_json::from_str(raw).expect("valid id");
                    prop_assert_eq!(parsed, id);
                }
                other => prop_assert!(false, "no id found: {:?}", other),
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), max in 0usize..8) {
            let _ = outline(&bytes, max);
        }
    }
}
