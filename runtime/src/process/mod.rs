//! Child processes as callers (feature `stdio`): the core spawns a child under a label, and
//! everything the child writes on its stdout is a request from that label.
//!
//! ```no_run
//! use std::process::Command;
//! use std::time::Duration;
//! use gatehouse_runtime::limits::Limits;
//! use gatehouse_runtime::process::{self, Stderr};
//! use gatehouse_runtime::stdio::Framing;
//! # async fn run(router: gatehouse_runtime::Router) -> Result<(), Box<dyn std::error::Error>> {
//! // The simplest: newline framing, stderr passed through, default limits.
//! let a = process::spawn(&router, "plugin-a", Command::new("python3").arg("plugin_a.py"))?;
//!
//! let b = process::Builder::new("plugin-b")
//!     .framing(Framing::LengthPrefixed)
//!     .stderr(Stderr::Capture)
//!     .limits(Limits::default().max_message_bytes(1 << 20))
//!     .call_timeout(Duration::from_secs(10))
//!     .shutdown_timeout(Duration::from_secs(2))
//!     .spawn(&router, Command::new("./plugin-b"))?;
//!
//! // The core may call what the child registered (the core is trusted: no ACL this way).
//! let sum: i64 = b.call("plugin.add", serde_json::json!({"a": 1, "b": 2})).await?;
//! b.notify("config-changed", serde_json::json!({"theme": "dark"}))?;
//! if let Some(mut lines) = b.take_stderr() {
//!     tokio::spawn(async move {
//!         while let Some(line) = lines.next_line().await {
//!             eprintln!("plugin-b: {line}");
//!         }
//!     });
//! }
//! let exit = a.shutdown().await; // close stdin, wait, kill after the timeout
//! println!("plugin-a {exit}");
//! # Ok(()) }
//! ```
//!
//! # Security model
//!
//! **The identity is the pipe.** The core creates the child's stdin and stdout itself and
//! resolves the caller once, at spawn, from the label it chose:
//! `router.connect(CallerInfo::local(label), …)`. Nothing the child writes is read as an
//! identity: a message that names another label, or carries `caller`, `window` or `label`
//! members, is an ordinary request of this child, checked against this child's grants. A
//! request the grants do not allow never reaches the command. Only the child's own descendants
//! that inherit the pipe can write on it. Capabilities select children by their label with
//! `windows = ["plugin-a"]` (globs such as `"plugin-*"` work) and `local = true`.
//!
//! Calls from the core to the child (methods the child registered, see
//! [`Child::call`]) are the core's own: trusted, not checked against any ACL, but still
//! JSON-RPC with ids of the core's and a timeout.
//!
//! # Wire
//!
//! JSON-RPC 2.0 in both directions, framed by [`Framing`]: lines by
//! default, or length-prefixed frames. The details are in [`stdio`](crate::stdio).
//!
//! # Limits
//!
//! The ws transport's [`Limits`] apply to each child:
//!
//! | limit | when exceeded |
//! | --- | --- |
//! | `max_message_bytes` | the child is killed ([`Fault::MessageTooLarge`]); a line is refused before more than the limit and a 64 KiB read are held |
//! | `max_depth` | `-32006`, the connection stays usable |
//! | `max_in_flight` | `-32007` for the excess, which does not run |
//! | `outbound_capacity` | commands streaming to the child wait for room |
//! | `write_timeout` | a child that does not read its input for this long is killed ([`Fault::WriteTimeout`]) |
//!
//! `idle_timeout` and `handshake_timeout` do not apply: a silent child is waiting, not
//! misbehaving, and the core ends its children with [`Child::shutdown`]. Garbage is answered as
//! the router answers it (`-32700` for text that is not JSON, invalid UTF-8 included; `-32600`
//! for JSON that is not a request) and the connection stays usable; a partial message that the
//! child never finishes holds at most the limit and is discarded (and logged) when the child
//! exits. Each child has its own tasks, so a child that floods, stalls or stops reading cannot
//! stall the core or the other children. A request answered at once is answered by the
//! child's reader; one that waits (an `async` or blocking command) continues on a task of its
//! own. A long-running *sync* command therefore holds up that child's next messages: make such
//! commands `async` or `#[command(blocking)]`.
//!
//! # Lifecycle
//!
//! [`Child::exited`] resolves once the child has exited and what it wrote before has been read;
//! [`Exit`] says how and why. Then its outbound queue is closed (channels and event listeners
//! see [`SendError::Closed`](crate::SendError::Closed)), calls waiting for its replies fail with
//! [`CallError::Exited`], and requests of the child still running in the core finish with their
//! replies dropped, as on the ws transport. Nothing of the child is kept after that.
//! [`Child::shutdown`] closes its stdin (after the frames already queued), waits
//! `shutdown_timeout`, then kills it. Dropping the [`Child`] kills the process too, unless
//! [`Builder::kill_on_drop`] says otherwise.

mod child;
mod connection;
mod shared;
mod stderr;

use std::borrow::BorrowMut;
use std::fmt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

pub use crate::limits::Limits;
pub use child::Child;
pub use stderr::StderrLines;

use crate::caller::CallerInfo;
use crate::engine::Connection;
use crate::error::RpcError;
use crate::router::Router;
use crate::stdio::Framing;

/// Spawns `command` as a child under `label`, with newline framing, stderr passed through and
/// the default limits: [`Builder::new(label).spawn(router, command)`](Builder::spawn).
///
/// # Errors
///
/// As [`Builder::spawn`].
pub fn spawn(
    router: &Router,
    label: impl Into<String>,
    command: impl BorrowMut<std::process::Command>,
) -> Result<Child, Error> {
    Builder::new(label).spawn(router, command)
}

/// What happens to a child's stderr.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stderr {
    /// The child writes to the core's own stderr.
    #[default]
    Inherit,
    /// The core reads it line by line: [`Child::take_stderr`]. Lines longer than 64 KiB are
    /// split; when 1024 lines wait unread, newer ones are dropped (with a warning in the log),
    /// so a chatty child never blocks on its stderr.
    Capture,
    /// Discarded.
    Null,
}

/// Configures and spawns a child process.
#[derive(Clone, Debug)]
#[must_use]
pub struct Builder {
    label: String,
    framing: Framing,
    stderr: Stderr,
    limits: Limits,
    call_timeout: Duration,
    shutdown_timeout: Duration,
    kill_on_drop: bool,
}

impl Builder {
    /// A child that will be the caller `label` (a local caller: capabilities with
    /// `local = true` whose `windows` match the label apply to it).
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            framing: Framing::Lines,
            stderr: Stderr::Inherit,
            limits: Limits::default(),
            call_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(5),
            kill_on_drop: true,
        }
    }

    /// The framing on both pipes (default [`Framing::Lines`]).
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// What happens to the child's stderr (default [`Stderr::Inherit`]).
    pub fn stderr(mut self, stderr: Stderr) -> Self {
        self.stderr = stderr;
        self
    }

    /// The limits (see the [module documentation](self#limits) for which apply).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How long [`Child::call`] waits for the child's reply (default 30 s).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How long [`Child::shutdown`] waits after closing stdin before it kills (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Whether dropping the [`Child`] kills the process (default `true`). With `false`, the
    /// child runs on, and is served, until it exits by itself.
    pub fn kill_on_drop(mut self, kill: bool) -> Self {
        self.kill_on_drop = kill;
        self
    }

    /// Starts `command` with piped stdin and stdout and serves it as the caller `label`.
    ///
    /// The command's own stdin, stdout and stderr settings are replaced. A `&mut Command`
    /// passed in is taken over: what is left behind is `Command::new(program)`.
    ///
    /// Must be called inside a tokio runtime, which then runs the child's tasks.
    ///
    /// # Errors
    ///
    /// [`Error::NoRuntime`] outside a tokio runtime, [`Error::Spawn`] when the program cannot
    /// be started.
    pub fn spawn(
        self,
        router: &Router,
        mut command: impl BorrowMut<std::process::Command>,
    ) -> Result<Child, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::NoRuntime);
        }
        let command = command.borrow_mut();
        let program = command.get_program().to_string_lossy().into_owned();
        let fresh = std::process::Command::new(command.get_program());
        let mut command = tokio::process::Command::from(std::mem::replace(command, fresh));
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(match self.stderr {
                Stderr::Inherit => Stdio::inherit(),
                Stderr::Capture => Stdio::piped(),
                Stderr::Null => Stdio::null(),
            })
            .kill_on_drop(self.kill_on_drop);
        let spawn_error = |source| Error::Spawn {
            label: self.label.clone(),
            program: program.clone(),
            source,
        };
        let mut process = command.spawn().map_err(spawn_error)?;
        let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take()) else {
            return Err(spawn_error(std::io::Error::other(
                "the child's pipes are missing",
            )));
        };
        let stderr = process.stderr.take();
        let (engine, rx) =
            Connection::open(router, CallerInfo::local(self.label), &self.limits, true);
        Ok(connection::start(connection::Parts {
            engine,
            rx,
            process,
            stdin,
            stdout,
            stderr,
            framing: self.framing,
            limits: self.limits,
            call_timeout: self.call_timeout,
            shutdown_timeout: self.shutdown_timeout,
            kill_on_drop: self.kill_on_drop,
            program,
        }))
    }
}

/// Why a child could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The program could not be started.
    #[error("cannot start `{program}` as `{label}`: {source}")]
    Spawn {
        /// The label it was to run under.
        label: String,
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// There is no tokio runtime to serve the child on.
    #[error("a child process can only be spawned inside a tokio runtime")]
    NoRuntime,
}

/// Why a call from the core to a child failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The child answered with an error.
    #[error("the child answered {0}")]
    Rpc(RpcError),
    /// No reply within the call timeout ([`Builder::call_timeout`]). A reply that comes later
    /// is dropped.
    #[error("the child did not answer within {0:?}")]
    Timeout(Duration),
    /// The child has exited (or closed its output), so no reply can come.
    #[error("the child has exited")]
    Exited,
    /// The child's input queue is full: it is not reading ([`Child::notify`] only; calls wait
    /// for room).
    #[error("the child's input queue is full: it is not reading")]
    Full,
    /// The child's reply has neither a `result` nor an `error`, or both.
    #[error("the child's reply is malformed")]
    InvalidReply,
    /// The child's reply broke a limit ([`Limits::max_depth`]) and was not read.
    #[error("the child's reply was refused: {0}")]
    Limit(RpcError),
    /// The parameters could not be serialised.
    #[error("the parameters cannot be serialised: {0}")]
    Params(#[source] serde_json::Error),
    /// The result does not have the type asked for.
    #[error("the result does not have the expected type: {0}")]
    Result(#[source] serde_json::Error),
}

/// How and why a child ended.
#[derive(Clone, Debug)]
pub struct Exit {
    /// The process's exit status (an exit code, or on Unix the signal that ended it); `None`
    /// when it could not be read.
    pub status: Option<ExitStatus>,
    /// Why it ended.
    pub reason: ExitReason,
}

impl Exit {
    /// Whether the process exited by itself with code 0, or after [`Child::shutdown`] closed
    /// its input.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The exit code, when it exited with one.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// The signal that ended it, on Unix.
    #[cfg(unix)]
    pub fn signal(&self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        self.status.and_then(|s| s.signal())
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            Some(status) => write!(f, "ended ({status})")?,
            None => f.write_str("ended (status unknown)")?,
        }
        match &self.reason {
            ExitReason::Exited => Ok(()),
            ExitReason::Shutdown { killed: false } => f.write_str(" after a shutdown"),
            ExitReason::Shutdown { killed: true } => {
                f.write_str(": killed, it did not exit in time after a shutdown")
            }
            ExitReason::Fault(fault) => write!(f, ": killed by the core, {fault}"),
            ExitReason::Dropped => f.write_str(": killed, its handle was dropped"),
        }
    }
}

/// Why a child ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitReason {
    /// By itself: its status says how (a non-zero code or a signal is a crash).
    Exited,
    /// [`Child::shutdown`]; `killed` when it had not exited within the shutdown timeout.
    Shutdown {
        /// Whether it had to be killed.
        killed: bool,
    },
    /// The core killed it for breaking a limit.
    Fault(Fault),
    /// Its [`Child`] was dropped, and [`Builder::kill_on_drop`] was on.
    Dropped,
}

/// A limit a child broke, for which the core killed it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// It wrote a message larger than [`Limits::max_message_bytes`] (or a length prefix
    /// announcing one).
    #[error("it wrote a message over the limit of {limit} bytes")]
    MessageTooLarge {
        /// The limit.
        limit: usize,
    },
    /// It did not read its input for [`Limits::write_timeout`].
    #[error("it did not read its input for {timeout:?}")]
    WriteTimeout {
        /// The timeout.
        timeout: Duration,
    },
    /// Reading its output failed.
    #[error("reading its output failed: {message}")]
    Read {
        /// The I/O error.
        message: String,
    },
}
