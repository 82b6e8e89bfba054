//! The read side of the child's connection: who reads the core's messages, and where a blocked
//! caller waits for its reply.
//!
//! Reading is a role, held by whoever owns the frame reader ([`Role`]). A thread of the
//! client's, the *background reader*, holds it while the client is idle, so that events,
//! channel messages and the core's calls are read at any time. A [`BlockingClient`] caller
//! takes the role itself when it is free: it reads until its own reply arrives, handing what
//! else arrives to whoever waits for it, and gives the role to the next caller waiting (a
//! *follower*) or puts it back. Its reply then costs no hand-off between threads: the kernel
//! wakes the caller itself when the core writes. A caller that finds the role taken waits on
//! its [`Slot`] for its reply, or for the role.
//!
//! The background reader cannot be interrupted in a blocking read, so after it has handed a
//! reply to a caller it leaves the role free for [`LINGER`]: a caller that calls again soon
//! (the usual pattern) finds it free. An event that arrives while nobody reads waits for the
//! next caller or at most that long.
//!
//! [`BlockingClient`]: super::BlockingClient

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;

use super::error::ClientError;
use super::frame::FrameReader;
use super::lock;

/// How long the background reader leaves the role free after a caller had it.
pub(crate) const LINGER: Duration = Duration::from_millis(1);

/// The right to read from the core: the frame reader itself.
pub(crate) type Role = FrameReader<Box<dyn Read + Send>>;

/// A call's outcome: the raw result, or why there is none.
pub(crate) type Outcome = Result<Box<RawValue>, ClientError>;

/// Where a blocked caller waits: for its reply, or for the role.
pub(crate) struct Slot {
    state: Mutex<SlotState>,
    thread: Thread,
}

#[derive(Default)]
struct SlotState {
    outcome: Option<Outcome>,
    /// The outcome arrived (and may have been taken since): the role is not for this caller.
    done: bool,
    role: Option<Role>,
}

/// Why a waiting caller woke.
pub(crate) enum Wake {
    Reply(Outcome),
    Lead(Role),
}

impl Slot {
    /// A slot for the calling thread.
    pub(crate) fn new() -> Arc<Slot> {
        Arc::new(Slot {
            state: Mutex::default(),
            thread: std::thread::current(),
        })
    }

    /// Hands the caller its outcome.
    pub(crate) fn fill(&self, outcome: Outcome) {
        let mut state = lock(&self.state);
        state.outcome = Some(outcome);
        state.done = true;
        drop(state);
        self.thread.unpark();
    }

    /// Hands the caller the role, unless it has its outcome already.
    fn offer(&self, role: Role) -> Result<(), Role> {
        let mut state = lock(&self.state);
        if state.done {
            return Err(role);
        }
        state.role = Some(role);
        drop(state);
        self.thread.unpark();
        Ok(())
    }

    fn is_done(&self) -> bool {
        lock(&self.state).done
    }

    /// The outcome once filled (the caller checked [`Claim::Done`]).
    pub(crate) fn take(&self) -> Outcome {
        lock(&self.state)
            .outcome
            .take()
            .unwrap_or(Err(ClientError::Closed))
    }

    /// Waits for the outcome or the role. Call from the slot's own thread. A role that came
    /// with the outcome (the connection closed meanwhile) is returned to `inbox`.
    pub(crate) fn wait(&self, inbox: &Inbox) -> Wake {
        loop {
            let mut state = lock(&self.state);
            if let Some(outcome) = state.outcome.take() {
                let role = state.role.take();
                drop(state);
                if let Some(role) = role {
                    inbox.release(role);
                }
                return Wake::Reply(outcome);
            }
            if let Some(role) = state.role.take() {
                return Wake::Lead(role);
            }
            drop(state);
            // Wakes on `unpark` (or spuriously): look again.
            std::thread::park();
        }
    }
}

/// What a caller that has written its request does next.
pub(crate) enum Claim {
    /// Read: the role was free.
    Lead(Role),
    /// Wait on the slot: someone else reads.
    Follow,
    /// The reply is in the slot already.
    Done,
    /// Nobody will read any more.
    Closed,
}

/// The role and who waits for it.
pub(crate) struct Inbox {
    state: Mutex<InboxState>,
    /// The background reader waits here.
    background: Condvar,
}

struct InboxState {
    /// The role, while nobody reads.
    role: Option<Role>,
    /// Callers waiting for their reply while someone else reads, first come first.
    followers: VecDeque<Arc<Slot>>,
    /// When a caller last put the role back.
    released: Option<Instant>,
    /// The background reader waits without a deadline (for the role to come back).
    background_waits: bool,
    closed: bool,
}

impl Inbox {
    pub(crate) fn new(role: Role) -> Self {
        Self {
            state: Mutex::new(InboxState {
                role: Some(role),
                followers: VecDeque::new(),
                released: None,
                background_waits: false,
                closed: false,
            }),
            background: Condvar::new(),
        }
    }

    /// For a caller whose request is written: the role if it is free, else a place among the
    /// followers.
    pub(crate) fn claim(&self, slot: &Arc<Slot>) -> Claim {
        let mut state = lock(&self.state);
        // Whoever read last may have read this caller's reply already.
        if slot.is_done() {
            return Claim::Done;
        }
        if state.closed {
            return Claim::Closed;
        }
        if let Some(role) = state.role.take() {
            return Claim::Lead(role);
        }
        state.followers.push_back(Arc::clone(slot));
        Claim::Follow
    }

    /// A follower that got its reply leaves the queue.
    pub(crate) fn unfollow(&self, slot: &Arc<Slot>) {
        lock(&self.state)
            .followers
            .retain(|other| !Arc::ptr_eq(other, slot));
    }

    /// Whether a caller waits for the role.
    pub(crate) fn has_followers(&self) -> bool {
        !lock(&self.state).followers.is_empty()
    }

    /// Gives the role up: to the first follower still waiting, or back for anyone to take.
    pub(crate) fn release(&self, mut role: Role) {
        let mut state = lock(&self.state);
        if state.closed {
            return;
        }
        while let Some(follower) = state.followers.pop_front() {
            match follower.offer(role) {
                Ok(()) => return,
                Err(back) => role = back,
            }
        }
        state.role = Some(role);
        state.released = Some(Instant::now());
        if state.background_waits {
            state.background_waits = false;
            self.background.notify_one();
        }
    }

    /// For the background reader: the role, once it is free and no caller has had it for
    /// `linger` (at once when `linger` is zero); `None` once closed.
    pub(crate) fn claim_in_background(&self, linger: Duration) -> Option<Role> {
        let mut state = lock(&self.state);
        loop {
            if state.closed {
                return None;
            }
            if state.role.is_some() {
                let idle = state.released.map_or(linger, |at| at.elapsed());
                if idle >= linger {
                    return state.role.take();
                }
                state.background_waits = false;
                state = self
                    .background
                    .wait_timeout(state, linger - idle)
                    .map_or_else(|e| e.into_inner().0, |(state, _)| state);
            } else {
                state.background_waits = true;
                state = self
                    .background
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    /// Nobody will read any more: the role is dropped, the background reader ends.
    pub(crate) fn close(&self) {
        let mut state = lock(&self.state);
        state.closed = true;
        state.role = None;
        state.followers.clear();
        drop(state);
        self.background.notify_all();
    }
}
