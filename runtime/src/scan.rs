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
use serde_json::value::RawValue;

use crate::extract::{ArgSlots, Invocation, Typed};

/// A request object being read; see the module docs.
pub struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    seen: u8,
    jsonrpc: Option<&'a RawValue>,
    method: Option<Cow<'a, str>>,
    id: Option<&'a RawValue>,
    params: Option<&'a str>,
}

const JSONRPC: u8 = 1;
const METHOD: u8 = 2;
const PARAMS: u8 = 4;
const ID: u8 = 8;

impl<'a> Scanner<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            seen: 0,
            jsonrpc: None,
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
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).ok()?;
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
        if self.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
            return None;
        }
        if let Some(id) = self.id {
            let first = id.get().as_bytes().first().copied().unwrap_or(b'n');
            if !(first == b'"' || first == b'-' || first.is_ascii_digit() || id.get() == "null") {
                return None;
            }
        }
        Some((slots, invocation))
    }

    /// The `params` text, once [`params`](Self::params) has read it.
    pub(crate) fn params_text(&self) -> Option<&'a str> {
        self.params
    }

    /// The id; `None` for a notification. Meaningful once [`params`](Self::params) succeeded.
    pub(crate) fn id(&self) -> Option<&'a RawValue> {
        self.id
    }

    /// Reads one member. Returns `Some(true)` when it is `params` (left unread, positioned at
    /// its value), `Some(false)` after any other member, `None` on anything unusual.
    fn member(&mut self) -> Option<bool> {
        self.skip_ws();
        let key: &RawValue = self.value()?;
        self.skip_ws();
        self.expect(b':')?;
        self.skip_ws();
        let flag = match key.get() {
            "\"jsonrpc\"" => JSONRPC,
            "\"method\"" => METHOD,
            "\"params\"" => PARAMS,
            "\"id\"" => ID,
            other if other.starts_with('"') && !other.contains('\\') => 0,
            // An escaped key might spell one of ours; leave it to the full parser.
            _ => return None,
        };
        if self.seen & flag != 0 {
            return None;
        }
        self.seen |= flag;
        match flag {
            JSONRPC => self.jsonrpc = Some(self.value()?),
            METHOD => {
                let raw: &RawValue = self.value()?;
                let text = raw.get();
                if !text.starts_with('"') {
                    return None;
                }
                self.method = Some(if text.contains('\\') {
                    Cow::Owned(serde_json::from_str::<String>(text).ok()?)
                } else {
                    Cow::Borrowed(&text[1..text.len() - 1])
                });
            }
            PARAMS => return Some(true),
            ID => self.id = Some(self.value()?),
            _ => {
                self.value::<IgnoredAny>()?;
            }
        }
        Some(false)
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
        let rest = self.bytes.get(self.pos..)?;
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<T>();
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
            br#" { "jsonrpc" : "2.0", "id":1, "x": [1,{"y":2}], "method":"add", "params":{"a":1}}"#;
        let mut s = Scanner::new(msg);
        assert_eq!(s.until_params(), Some("add"));
        assert_eq!(&msg[s.pos..s.pos + 7], br#"{"a":1}"#);
        assert_eq!(s.id().map(RawValue::get), Some("1"));
    }

    #[test]
    fn gives_up_on_anything_unusual() {
        for msg in [
            &br#"{"params":{},"method":"add"}"#[..],
            br#"{"jsonrpc":"2.0","method":"add"}"#,
            br#"{"method":"add","method":"sub","params":{}}"#,
            br#"{"meth\u006fd":"add","params":{}}"#,
            br#"{"method":1,"params":{}}"#,
            br#"["add"]"#,
            br#"{}"#,
            br#"{"method":"add" "params":{}}"#,
            b"",
        ] {
            assert_eq!(
                Scanner::new(msg).until_params(),
                None,
                "{}",
                String::from_utf8_lossy(msg)
            );
        }
    }

    #[test]
    fn unescapes_method_names() {
        let mut s = Scanner::new(br#"{"method":"a\u0064d","params":[]}"#);
        assert_eq!(s.until_params(), Some("add"));
    }
}
