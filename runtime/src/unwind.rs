//! Keeping a panicking command from taking down the core.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::command::{Reply, ReplyFuture};
use crate::error::RpcError;

/// A future that turns a panic while polling into an internal error.
pub(crate) struct CatchUnwind<'a> {
    inner: ReplyFuture<'a>,
    command: &'static str,
}

impl<'a> CatchUnwind<'a> {
    pub(crate) fn new(inner: ReplyFuture<'a>, command: &'static str) -> Self {
        Self { inner, command }
    }
}

impl Future for CatchUnwind<'_> {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let command = self.command;
        let inner = &mut self.inner;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => Poll::Ready(Err(panicked(command, payload.as_ref()))),
        }
    }
}

/// The reply for a command that panicked. The panic message goes to the log, not to the caller:
/// it may hold anything the core knows.
pub(crate) fn panicked(command: &str, payload: &(dyn Any + Send)) -> RpcError {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>");
    crate::log::error_limited!(command, panic = message, "command panicked");
    RpcError::internal(format!("command `{command}` panicked"))
}
