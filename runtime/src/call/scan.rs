//! The single-pass path: reads a request object member by member and, when `method` comes
//! before `params` (as every client writes it), lets the command deserialise its arguments
//! straight from the message instead of first capturing `params` and then reading it again.
//!
//! The scanner only ever answers "this is a well-formed request, here are its parts" or "not
//! sure": on anything unusual (a syntax error, a repeated member, an argument that does not fit,
//! `params` before `method`) it gives up *before the command runs*, and the router answers
//! through the two-pass path in `jsonrpc.rs`, which produces the exact error. A command never
//! runs twice and never runs for a message the two-pass path would refuse.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::extract::{ArgSlots, Invocation, Typed};

/// A request object being read; see the module docs.
pub struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    seen: u8,
    jsonrpc: bool,
    method: Option<Cow<'a, str>>,
    id: Option<&'a str>,
    params: Option<&'a str>,
}

const JSONRPC: u8 = 1;
const METHOD: u8 = 2;
const PARAMS: u8 = 4;
const ID: u8 = 8;

impl<'a> Scanner<'a> {
    /// A scanner over a message already known to be UTF-8 (validated once, up front, so that
    /// every slice of it can be handed out as text for free).
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            seen: 0,
            jsonrpc: false,
            method: None,
            id: None,
            params: None,
        }
    }

    /// Reads members up to the value of `params`. `None` when there is no `params` member, when
    /// it comes before `method`, or when anything is not plainly well formed.
    pub(crate) fn until_params(&mut self) -> Option<&str> {
        self.skip_ws();
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek()? == b'}' {
            return None;
        }
        loop {
            if self.member()? {
                return if self.seen & METHOD != 0 {
                    self.method.as_deref()
                } else {
                    None
                };
            }
            if self.separator()? {
                return None;
            }
        }
    }

    /// Reads `params` into `S`, then the rest of the object, and checks the whole request.
    /// On success returns the slots and the invocation with its `params` text filled in.
    pub fn params<S: ArgSlots<'a>>(
        &mut self,
        mut invocation: Invocation<'a>,
    ) -> Option<(S, Invocation<'a>)> {
        let start = self.pos;
        let Typed(slots) = self.value::<Typed<S>>()?;
        let text = self.text.get(start..self.pos)?;
        let first = text.as_bytes().first().copied();
        if !matches!(first, Some(b'{' | b'[')) {
            return None;
        }
        invocation.params = Some(text);
        self.params = Some(text);
        loop {
            if self.separator()? {
                break;
            }
            if self.member()? {
                // A second `params`.
                return None;
            }
        }
        self.skip_ws();
        if self.pos != self.bytes.len() {
            return None;
        }
        if !self.jsonrpc {
            return None;
        }
        Some((slots, invocation))
    }

    /// The `params` text, once [`params`](Self::params) has read it.
    pub(crate) fn params_text(&self) -> Option<&'a str> {
        self.params
    }

    /// The id; `None` for a notification. Meaningful once [`params`](Self::params) succeeded.
    pub(crate) fn id(&self) -> Option<&'a str> {
        self.id
    }

    /// Reads one member. Returns `Some(true)` when it is `params` (left unread, positioned at
    /// its value), `Some(false)` after any other member, `None` on anything unusual.
    fn member(&mut self) -> Option<bool> {
        self.skip_ws();
        // An escaped key might spell one of ours; `plain_string` leaves it to the full parser.
        let key = self.plain_string()?;
        self.skip_ws();
        self.expect(b':')?;
        self.skip_ws();
        let flag = match key {
            "jsonrpc" => JSONRPC,
            "method" => METHOD,
            "params" => PARAMS,
            "id" => ID,
            _ => 0,
        };
        if self.seen & flag != 0 {
            return None;
        }
        self.seen |= flag;
        match flag {
            JSONRPC => {
                // Anything but the exact version is an error the full parser reports.
                let rest = self.bytes.get(self.pos..)?;
                if !rest.starts_with(b"\"2.0\"") {
                    return None;
                }
                self.pos += 5;
                self.jsonrpc = true;
            }
            METHOD => {
                let start = self.pos;
                self.method = Some(match self.plain_string() {
                    Some(m) => Cow::Borrowed(m),
                    None => {
                        self.pos = start;
                        Cow::Owned(self.value::<String>()?)
                    }
                });
            }
            PARAMS => return Some(true),
            ID => self.id = Some(self.id_value()?),
            _ => {
                self.value::<IgnoredAny>()?;
            }
        }
        Some(false)
    }

    /// A string without escapes or control characters, as the text between its quotes.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.pos;
        let len = self.bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if self.bytes[start + len] != b'"' {
            return None;
        }
        self.pos = start + len + 1;
        self.text.get(start..start + len)
    }

    /// An id: a string, a number or null, as its JSON text. Anything else gives up.
    fn id_value(&mut self) -> Option<&'a str> {
        let start = self.pos;
        match self.peek()? {
            b'"' => {
                if self.plain_string().is_none() {
                    self.pos = start;
                    self.value::<String>()?;
                }
            }
            b'-' | b'0'..=b'9' => {
                self.value::<IgnoredNumber>()?;
            }
            b'n' => {
                self.value::<()>()?;
            }
            _ => return None,
        }
        self.text.get(start..self.pos)
    }

    /// After a member: `Some(true)` at the closing brace, `Some(false)` after a comma.
    fn separator(&mut self) -> Option<bool> {
        self.skip_ws();
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Some(false)
            }
            b'}' => {
                self.pos += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// Deserialises one JSON value at the current position and moves past it.
    fn value<T: Deserialize<'a>>(&mut self) -> Option<T> {
        let rest = self.text.get(self.pos..)?;
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        let value = stream.next()?.ok()?;
        self.pos += stream.byte_offset();
        Some(value)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }
}

/// Accepts any JSON number, and nothing else.
struct IgnoredNumber;

impl<'de> Deserialize<'de> for IgnoredNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = IgnoredNumber;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E>(self, _: u64) -> Result<IgnoredNumber, E> {
                Ok(IgnoredNumber)
            }
            fn visit_i64<E>(self, _: i64) -> Result<IgnoredNumber, E> {
                Ok(IgnoredNumber)
            }
            fn visit_f64<E>(self, _: f64) -> Result<IgnoredNumber, E> {
                Ok(IgnoredNumber)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl std::fmt::Debug for Scanner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_params_when_method_came_first() {
        let msg =
            r#" { "jsonrpc" : "2.0", "id":1, "x": [1,{"y":2}], "method":"add", "params":{"a":1}}"#;
        let mut s = Scanner::new(msg);
        assert_eq!(s.until_params(), Some("add"));
        assert_eq!(&msg[s.pos..s.pos + 7], r#"{"a":1}"#);
        assert_eq!(s.id(), Some("1"));
    }

    #[test]
    fn ids_keep_their_json_text() {
        for (id, text) in [
            ("\"a b\"", "\"a b\""),
            ("\"a\\\"b\"", "\"a\\\"b\""),
            ("-12", "-12"),
            ("1.5e3", "1.5e3"),
            ("null", "null"),
        ] {
            let msg = format!(r#"{{"id":{id},"method":"m","params":[]}}"#);
            let mut s = Scanner::new(&msg);
            assert_eq!(s.until_params(), Some("m"), "{msg}");
            assert_eq!(s.id(), Some(text));
        }
    }

    #[test]
    fn gives_up_on_anything_unusual() {
        for msg in [
            r#"{"params":{},"method":"add"}"#,
            r#"{"jsonrpc":"2.0","method":"add"}"#,
            r#"{"method":"add","method":"sub","params":{}}"#,
            r#"{"meth\u006fd":"add","params":{}}"#,
            r#"{"method":1,"params":{}}"#,
            r#"{"jsonrpc":"2.00","method":"add","params":{}}"#,
            r#"{"jsonrpc":2,"method":"add","params":{}}"#,
            r#"{"id":[1],"method":"add","params":{}}"#,
            r#"{"id":01,"method":"add","params":{}}"#,
            r#"{"id":true,"method":"add","params":{}}"#,
            r#"["add"]"#,
            r#"{}"#,
            r#"{"method":"add" "params":{}}"#,
            "",
        ] {
            assert_eq!(Scanner::new(msg).until_params(), None, "{msg}");
        }
    }

    #[test]
    fn unescapes_method_names() {
        let mut s = Scanner::new(r#"{"method":"a\u0064d","params":[]}"#);
        assert_eq!(s.until_params(), Some("add"));
    }
}
