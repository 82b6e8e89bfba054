//! What can go wrong in the host.

use std::path::PathBuf;
use std::time::Duration;

/// Why the host could not do something.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The commands and the compiled ACL do not fit together.
    #[error("the router cannot be built: {0}")]
    Router(#[from] gatehouse::BuildError),
    /// A plugin could not be started.
    #[error(transparent)]
    Spawn(#[from] gatehouse::process::Error),
    /// A plugin did not send `ready` in time.
    #[error("plugin `{label}` did not say it was ready within {timeout:?}")]
    NotReady {
        /// The plugin's label.
        label: String,
        /// How long the core waited.
        timeout: Duration,
    },
    /// A plugin exited before it said `ready`.
    #[error("plugin `{label}` exited before it was ready: {exit}")]
    ExitedEarly {
        /// The plugin's label.
        label: String,
        /// How it ended.
        exit: String,
    },
    /// A call from the core to a plugin failed.
    #[error("calling `{method}` on plugin `{label}` failed: {source}")]
    Call {
        /// The plugin's label.
        label: String,
        /// The plugin's method.
        method: String,
        /// Why.
        #[source]
        source: gatehouse::process::CallError,
    },
    /// The core could not emit an event.
    #[error("cannot emit `{event}`: {source}")]
    Emit {
        /// The event.
        event: String,
        /// Why.
        #[source]
        source: gatehouse::RpcError,
    },
    /// Something the host needs to find could not be found.
    #[error("cannot find {what}: {source}")]
    Locate {
        /// What it looked for.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `cargo build` of the Rust plugin failed.
    #[error("building the Rust plugin failed ({status})")]
    BuildPlugin {
        /// Cargo's exit status.
        status: std::process::ExitStatus,
    },
    /// The Rust plugin's binary is missing.
    #[error("the Rust plugin is not at {}; build it with `cargo build -p plugin-host --bins`", path.display())]
    MissingPlugin {
        /// Where it should be.
        path: PathBuf,
    },
}
