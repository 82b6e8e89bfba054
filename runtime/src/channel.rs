//! `Channel<T>`: a stream of messages from a command to the caller that passed it.

use std::fmt;
use std::io::Write;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::Serialize;

use crate::error::RpcError;
use crate::extract::{FromInvoke, Invocation};
use crate::outbound::{Outbound, SendError};

/// How a channel argument is written on the wire: `"__CHANNEL__:<id>"`.
pub(crate) const CHANNEL_PREFIX: &str = "__CHANNEL__:";

pub use crate::outbound::CHANNEL_METHOD;

/// A command argument that streams messages back to the caller.
///
/// The frontend creates the channel (`new Channel(onmessage)` in the JavaScript client) and
/// passes it as an argument; on the wire it is the string `"__CHANNEL__:<id>"`, an id the caller
/// picked. Each [`send`](Self::send) reaches the caller as the JSON-RPC notification
/// `{"jsonrpc":"2.0","method":"gatehouse:channel","params":{"channel":<id>,"message":…}}`,
/// in order, before the command's reply if sent before the command returns.
///
/// A channel only ever reaches the connection that passed it: the id names one of the caller's
/// own channels, so a caller cannot write into another caller's.
///
/// ```
/// use gatehouse_runtime::Channel;
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// struct Progress { done: u32, total: u32 }
///
/// // #[gatehouse::command]
/// fn count(total: u32, progress: Channel<Progress>) -> u32 {
///     for done in 1..=total {
///         // A caller that went away is not an error for the command.
///         let _ = progress.send(Progress { done, total });
///     }
///     total
/// }
/// ```
pub struct Channel<T = serde_json::Value> {
    id: u64,
    outbound: Option<Outbound>,
    _message: PhantomData<fn(T)>,
}

impl<T> Channel<T> {
    /// A channel with id `id` writing into `outbound`; transports and tests use it, commands get
    /// theirs as an argument.
    pub fn new(id: u64, outbound: Outbound) -> Self {
        Self {
            id,
            outbound: Some(outbound),
            _message: PhantomData,
        }
    }

    /// The id the caller gave the channel.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the caller is gone; messages sent now are lost.
    pub fn is_closed(&self) -> bool {
        self.outbound.as_ref().is_none_or(Outbound::is_closed)
    }
}

impl<T: Serialize> Channel<T> {
    /// Sends `message` without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError::Full`] when the caller is not reading its messages (the message is not
    /// sent), [`SendError::Closed`] when the caller is gone.
    pub fn send(&self, message: T) -> Result<(), SendError> {
        let outbound = self.outbound.as_ref().ok_or(SendError::Closed)?;
        outbound.send(self.frame(&message)?)
    }

    /// Sends `message`, waiting while the caller's queue is full.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] when the caller is gone.
    pub async fn send_async(&self, message: T) -> Result<(), SendError> {
        let outbound = self.outbound.as_ref().ok_or(SendError::Closed)?;
        let frame = self.frame(&message)?;
        outbound.send_async(frame).await
    }

    fn frame(&self, message: &T) -> Result<Vec<u8>, SendError> {
        channel_frame(self.id, message).map_err(|e| {
            // A message that cannot be serialised is a bug in the command, not the caller's; but
            // the caller decides how often the command runs, so the log is rate-limited.
            crate::log::error_limited!(channel = self.id, error = %e, "channel message could not be serialised");
            SendError::Closed
        })
    }
}

/// `{"jsonrpc":"2.0","method":"gatehouse:channel","params":{"channel":<id>,"message":<message>}}`.
pub(crate) fn channel_frame<M: Serialize + ?Sized>(
    id: u64,
    message: &M,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut frame = Vec::with_capacity(96);
    // Writing into a Vec cannot fail.
    let _ = write!(
        frame,
        r#"{{"jsonrpc":"2.0","method":"{CHANNEL_METHOD}","params":{{"channel":{id},"message":"#
    );
    serde_json::to_writer(&mut frame, message)?;
    frame.extend_from_slice(b"}}");
    Ok(frame)
}

/// Reads `"__CHANNEL__:<id>"`.
pub(crate) fn parse_channel_ref(text: &str) -> Option<u64> {
    let digits = text.strip_prefix(CHANNEL_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            outbound: self.outbound.clone(),
            _message: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel").field("id", &self.id).finish()
    }
}

struct ChannelRef;

impl Visitor<'_> for ChannelRef {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a channel, written "__CHANNEL__:<id>""#)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
        parse_channel_ref(text).ok_or_else(|| {
            E::custom(format!(
                r#"expected a channel, written "__CHANNEL__:<id>", found {text:?}"#
            ))
        })
    }
}

impl<'a, T: Serialize> FromInvoke<'a> for Channel<T> {
    const FROM_PARAMS: bool = true;

    fn from_invoke(_invocation: &Invocation<'a>) -> Result<Self, RpcError> {
        Err(RpcError::invalid_params(None, "missing argument"))
    }

    fn from_param<D: Deserializer<'a>>(deserializer: D) -> Result<Self, D::Error> {
        let id = deserializer.deserialize_str(ChannelRef)?;
        Ok(Self {
            id,
            outbound: None,
            _message: PhantomData,
        })
    }

    fn bind(self, invocation: &Invocation<'a>, key: &str) -> Result<Self, RpcError> {
        match invocation.caller().outbound() {
            Some(outbound) => Ok(Self::new(self.id, outbound.clone())),
            None => Err(RpcError::invalid_params(
                Some(key),
                "this caller cannot receive channel messages: it was not connected through a transport (see `Router::connect`)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_refs() {
        assert_eq!(parse_channel_ref("__CHANNEL__:7"), Some(7));
        assert_eq!(parse_channel_ref("__CHANNEL__:"), None);
        assert_eq!(parse_channel_ref("__CHANNEL__:+7"), None);
        assert_eq!(parse_channel_ref("__CHANNEL__:7 "), None);
        assert_eq!(
            parse_channel_ref("__CHANNEL__:99999999999999999999999"),
            None
        );
        assert_eq!(parse_channel_ref("7"), None);
    }

    #[test]
    fn frames_are_notifications() {
        let frame = channel_frame(3, &serde_json::json!({"a": [1, "x"]})).expect("serialises");
        let value: serde_json::Value = serde_json::from_slice(&frame).expect("valid JSON");
        assert_eq!(
            value,
            serde_json::json!({"jsonrpc": "2.0", "method": "gatehouse:channel",
                "params": {"channel": 3, "message": {"a": [1, "x"]}}})
        );
    }

    #[test]
    fn sends_in_order_and_reports_a_gone_caller() {
        let (out, mut rx) = Outbound::channel(8);
        let channel: Channel<u32> = Channel::new(1, out);
        channel.send(1).expect("room");
        channel.send(2).expect("room");
        assert!(rx.try_recv().expect("first").ends_with(b"\"message\":1}}"));
        assert!(rx.try_recv().expect("second").ends_with(b"\"message\":2}}"));
        rx.close();
        assert!(channel.is_closed());
        assert_eq!(channel.send(3), Err(SendError::Closed));
    }
}
