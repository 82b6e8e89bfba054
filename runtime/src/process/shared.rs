//! What a child's handle and its connection's tasks share: the core's calls waiting for
//! replies, and the way to ask the supervisor to end the child.

use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use super::{CallError, ExitReason};
use crate::stdio::pending::Pending;

/// What a call of the core's waits for.
pub(super) type Waiter = oneshot::Sender<Result<Box<RawValue>, CallError>>;

/// What the child's tasks and its handle share.
pub(super) struct Shared {
    /// The core's calls waiting for the child's replies.
    pub(super) pending: Pending<Waiter>,
    /// Requests to the supervisor.
    pub(super) control: mpsc::UnboundedSender<Control>,
}

/// What the supervisor can be asked to do.
pub(super) enum Control {
    /// Kill the child now, for this reason.
    Kill(ExitReason),
    /// Close stdin, wait the shutdown timeout, then kill.
    Shutdown,
}
