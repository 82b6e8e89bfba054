//! The core's handle on a child process.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use super::shared::{Control, Shared};
use super::{CallError, Exit, ExitReason, StderrLines};
use crate::caller::Caller;
use crate::outbound::{Outbound, SendError};
use crate::stdio::message;
use crate::stdio::pending::Registration;

/// A child process the core spawned and serves, as the caller of its label.
///
/// Made by [`spawn`](super::spawn) or [`Builder::spawn`](super::Builder::spawn). Dropping it
/// kills the process unless [`Builder::kill_on_drop`](super::Builder::kill_on_drop) is off.
pub struct Child {
    caller: Caller,
    pid: u32,
    outbound: Outbound,
    shared: Arc<Shared>,
    exit: watch::Receiver<Option<Exit>>,
    stderr: Mutex<Option<StderrLines>>,
    call_timeout: Duration,
    kill_on_drop: bool,
}

pub(super) struct Parts {
    pub(super) caller: Caller,
    pub(super) pid: u32,
    pub(super) outbound: Outbound,
    pub(super) shared: Arc<Shared>,
    pub(super) exit: watch::Receiver<Option<Exit>>,
    pub(super) stderr: Option<StderrLines>,
    pub(super) call_timeout: Duration,
    pub(super) kill_on_drop: bool,
}

impl Child {
    pub(super) fn new(parts: Parts) -> Self {
        Self {
            caller: parts.caller,
            pid: parts.pid,
            outbound: parts.outbound,
            shared: parts.shared,
            exit: parts.exit,
            stderr: Mutex::new(parts.stderr),
            call_timeout: parts.call_timeout,
            kill_on_drop: parts.kill_on_drop,
        }
    }

    /// The label the child was spawned under.
    pub fn label(&self) -> &str {
        self.caller.label()
    }

    /// The operating system's process id.
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// The caller the core resolved for the child: every request it writes is this caller's.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Calls the child's method `method` (one it registered, e.g. with
    /// [`Client::handle`](crate::stdio::Client::handle)) and reads the result as `T`. The core
    /// is trusted: no ACL applies in this direction.
    ///
    /// # Errors
    ///
    /// [`CallError::Rpc`] when the child answers with an error, [`CallError::Timeout`] after the
    /// call timeout, [`CallError::Exited`] when the child is gone or goes before answering,
    /// [`CallError::Params`] / [`CallError::Result`] for what cannot be (de)serialised.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, CallError> {
        let (tx, rx) = oneshot::channel();
        let pending = &self.shared.pending;
        let id = pending.register(tx).ok_or(CallError::Exited)?;
        let _registration = Registration { pending, id };
        let frame = message::request(Some(id), method, &params).map_err(CallError::Params)?;
        let exchange = async {
            self.outbound
                .send_async(frame)
                .await
                .map_err(|_| CallError::Exited)?;
            rx.await.map_err(|_| CallError::Exited)?
        };
        let result = tokio::time::timeout(self.call_timeout, exchange)
            .await
            .map_err(|_| CallError::Timeout(self.call_timeout))??;
        serde_json::from_str(result.get()).map_err(CallError::Result)
    }

    /// Sends the child the notification `method` without waiting.
    ///
    /// # Errors
    ///
    /// [`CallError::Full`] when the child is not reading, [`CallError::Exited`] when it is
    /// gone, [`CallError::Params`].
    pub fn notify(&self, method: &str, params: impl Serialize) -> Result<(), CallError> {
        let frame = message::request(None, method, &params).map_err(CallError::Params)?;
        self.outbound.send(frame).map_err(|e| match e {
            SendError::Full => CallError::Full,
            SendError::Closed => CallError::Exited,
        })
    }

    /// The child's stderr, line by line, when it was spawned with
    /// [`Stderr::Capture`](super::Stderr::Capture); `None` otherwise or once taken.
    pub fn take_stderr(&self) -> Option<StderrLines> {
        self.stderr.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Resolves once the child has exited and what it wrote before has been read.
    pub async fn exited(&self) -> Exit {
        let mut exit = self.exit.clone();
        let exit = match exit.wait_for(Option::is_some).await {
            Ok(exit) => exit.clone(),
            Err(_) => None,
        };
        exit.unwrap_or_else(unknown)
    }

    /// How the child ended, if it has.
    pub fn try_exited(&self) -> Option<Exit> {
        self.exit.borrow().clone()
    }

    /// Ends the child gracefully: closes its stdin (after the messages already queued for it),
    /// waits for it to exit for the shutdown timeout, then kills it. Returns how it ended (how
    /// it had, if it had already).
    pub async fn shutdown(&self) -> Exit {
        let _ = self.shared.control.send(Control::Shutdown);
        self.exited().await
    }
}

/// The exit of a child whose supervisor is gone (its runtime is shutting down).
fn unknown() -> Exit {
    Exit {
        status: None,
        reason: ExitReason::Exited,
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.kill_on_drop && self.exit.borrow().is_none() {
            let _ = self.shared.control.send(Control::Kill(ExitReason::Dropped));
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("label", &self.label())
            .field("pid", &self.pid)
            .field("exit", &*self.exit.borrow())
            .finish_non_exhaustive()
    }
}
