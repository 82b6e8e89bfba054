//! Turning what a command returns into a reply.
//!
//! `#[command]` does not guess from syntax whether a function returns a `Result`: it calls
//! `(&value).reply_kind().reply(value)`, and method resolution picks [`ResultKind`] for any
//! `Result<T, E>` (aliases included) and [`SerializeKind`] for everything else.

use std::marker::PhantomData;

use serde::Serialize;

use crate::command::Reply;
use crate::error::{ErrorCode, RpcError};

/// Errors a command may return: any `E: Serialize` (sent as `data` of a `-32000` error), or an
/// [`RpcError`] to choose the code and message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a command error",
    note = "derive `serde::Serialize` for the error type, or convert it into `gatehouse::RpcError`"
)]
pub trait IntoCommandError {
    /// Converts into the error object sent to the caller.
    fn into_command_error(self) -> RpcError;
}

impl<E: Serialize> IntoCommandError for E {
    fn into_command_error(self) -> RpcError {
        match serde_json::value::to_raw_value(&self) {
            Ok(data) => {
                let message = serde_json::from_str::<String>(data.get())
                    .unwrap_or_else(|_| "the command returned an error".to_owned());
                RpcError::new(ErrorCode::Command, message).with_data(data)
            }
            Err(e) => {
                RpcError::internal(format!("the command's error could not be serialised: {e}"))
            }
        }
    }
}

impl IntoCommandError for RpcError {
    fn into_command_error(self) -> RpcError {
        self
    }
}

fn serialize<T: Serialize>(value: &T) -> Reply {
    serde_json::to_vec(value).map_err(|e| {
        RpcError::internal(format!("the command's result could not be serialised: {e}"))
    })
}

/// Picks the reply path for `Result` return types.
pub trait ResultKind {
    /// The tag that knows how to reply with this type.
    fn reply_kind(&self) -> ResultTag {
        ResultTag
    }
}

impl<T: Serialize, E: IntoCommandError> ResultKind for Result<T, E> {}

/// Picks the reply path for every other return type.
pub trait SerializeKind {
    /// The tag that knows how to reply with this type.
    fn reply_kind(&self) -> SerializeTag {
        SerializeTag
    }
}

impl<T: Serialize> SerializeKind for &T {}

/// Replies with `Ok` as the result and `Err` as a command error.
#[derive(Debug)]
pub struct ResultTag;

impl ResultTag {
    /// The reply for `value`.
    pub fn reply<T: Serialize, E: IntoCommandError>(self, value: Result<T, E>) -> Reply {
        match value {
            Ok(v) => serialize(&v),
            Err(e) => Err(e.into_command_error()),
        }
    }
}

/// Replies with the value as the result.
#[derive(Debug)]
pub struct SerializeTag;

impl SerializeTag {
    /// The reply for `value`.
    pub fn reply<T: Serialize>(self, value: T) -> Reply {
        serialize(&value)
    }
}

/// The last resort of the reply dispatch, so that a return type that cannot be sent is
/// reported as the missing trait at the return type, not as "no method `reply_kind`".
///
/// `(&value).reply_kind()` takes [`ResultKind`] (receiver `&V`) or [`SerializeKind`] (receiver
/// `&&V`) whenever the type can be sent; only when neither applies does method lookup reach this
/// trait (receiver `&mut &V`). The tag it returns then picks, by the same trick, a `reply` whose
/// bounds name what is missing: the `Ok` and `Err` types for any `Result`, aliases included, and
/// `Serialize` for everything else. None of it runs.
pub trait Unsendable {
    /// The tag whose `reply` states the missing bounds.
    fn reply_kind(&mut self) -> UnsendableTag<Self> {
        UnsendableTag(PhantomData)
    }
}

impl<V: ?Sized> Unsendable for &V {}

/// See [`Unsendable`].
pub struct UnsendableTag<V: ?Sized>(PhantomData<V>);

/// See [`Unsendable`]: the bounds a `Result` return type misses.
pub trait ReplyResultFallback<T, E> {
    /// Never called: it exists for its bounds.
    fn reply(self, value: Result<T, E>) -> Reply
    where
        T: Serialize,
        E: IntoCommandError;
}

impl<T, E> ReplyResultFallback<T, E> for UnsendableTag<&Result<T, E>> {
    fn reply(self, _: Result<T, E>) -> Reply
    where
        T: Serialize,
        E: IntoCommandError,
    {
        unreachable!("only chosen when the bounds do not hold, which does not compile")
    }
}

/// See [`Unsendable`]: the bound any other return type misses.
pub trait ReplyValueFallback<V> {
    /// Never called: it exists for its bounds.
    fn reply(&self, value: V) -> Reply
    where
        V: Serialize;
}

impl<V> ReplyValueFallback<V> for UnsendableTag<&V> {
    fn reply(&self, _: V) -> Reply
    where
        V: Serialize,
    {
        unreachable!("only chosen when the bounds do not hold, which does not compile")
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // `(&value)` is the autoref dispatch under test, written as the macro writes it.
mod tests {
    use super::*;

    #[test]
    fn results_and_values_take_their_own_paths() {
        let ok: Result<u32, String> = Ok(3);
        assert_eq!((&ok).reply_kind().reply(ok).expect("ok"), b"3");
        let err: Result<u32, String> = Err("no such note".into());
        let e = (&err).reply_kind().reply(err).expect_err("err");
        assert_eq!(e.code(), ErrorCode::Command);
        assert_eq!(e.message(), "no such note");
        assert_eq!(e.data().map(|d| d.get()), Some("\"no such note\""));
        let v = vec![1, 2];
        assert_eq!((&v).reply_kind().reply(v).expect("ok"), b"[1,2]");
        let unit = ();
        assert_eq!((&unit).reply_kind().reply(unit).expect("ok"), b"null");
    }

    #[test]
    fn aliased_results_are_results() {
        type Res<T> = Result<T, RpcError>;
        let r: Res<()> = Err(RpcError::new(ErrorCode::Other(7), "custom"));
        let e = (&r).reply_kind().reply(r).expect_err("err");
        assert_eq!(e.code().code(), 7);
    }

    #[test]
    fn unserialisable_results_are_internal_errors() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), 3);
        let e = (&map).reply_kind().reply(map).expect_err("err");
        assert_eq!(e.code(), ErrorCode::Internal);
    }
}
