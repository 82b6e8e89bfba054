//! The core: its router, its state, and how it starts plugins.

use std::time::Duration;

use gatehouse::process::{self, Child, Stderr};
use gatehouse::{commands, Router};

use crate::commands::{host_info, kv_get, kv_list, kv_set, log, ready, Store};
use crate::error::Error;
use crate::journal::Journal;

/// How long the core waits for a plugin's answer to its own calls.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a plugin has to exit after its stdin is closed, before it is killed.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// The core: a router serving the host commands to whatever the capabilities grant, the store
/// and the journal those commands use.
#[derive(Clone)]
pub struct Host {
    router: Router,
    store: Store,
    journal: Journal,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("store", &self.store)
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A core with an empty store and journal, and the ACL compiled from `capabilities/`.
    ///
    /// # Errors
    ///
    /// The commands and the compiled ACL do not fit together (cannot happen with the files
    /// shipped: the build checks them).
    pub fn new() -> Result<Self, Error> {
        let store = Store::new();
        let journal = Journal::new();
        let router = Router::builder(gatehouse::acl!())
            .commands(commands![host_info, kv_get, kv_list, kv_set, log, ready])
            .manage(store.clone())
            .manage(journal.clone())
            .build()?;
        Ok(Self {
            router,
            store,
            journal,
        })
    }

    /// The router the plugins' requests go to.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The key-value store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The record of every command that ran.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The way this host starts plugins: newline framing, stderr captured, the host's call and
    /// shutdown timeouts. Change any of it before [`spawn_with`](Self::spawn_with).
    pub fn builder(label: &str) -> process::Builder {
        process::Builder::new(label)
            .stderr(Stderr::Capture)
            .call_timeout(CALL_TIMEOUT)
            .shutdown_timeout(SHUTDOWN_TIMEOUT)
    }

    /// Starts `command` as the plugin `label`: everything it writes on its stdout is a request
    /// of `label`, with exactly `label`'s grants.
    ///
    /// # Errors
    ///
    /// The process could not be started.
    pub fn spawn(&self, label: &str, command: std::process::Command) -> Result<Child, Error> {
        self.spawn_with(Self::builder(label), command)
    }

    /// Starts `command` as configured by `builder` (see [`Host::builder`]).
    ///
    /// # Errors
    ///
    /// The process could not be started.
    pub fn spawn_with(
        &self,
        builder: process::Builder,
        command: std::process::Command,
    ) -> Result<Child, Error> {
        Ok(builder.spawn(&self.router, command)?)
    }

    /// Waits until the plugin `child` has sent `ready`.
    ///
    /// # Errors
    ///
    /// It did not within `timeout`, or it exited first.
    pub async fn wait_ready(&self, child: &Child, timeout: Duration) -> Result<(), Error> {
        let label = child.label();
        tokio::select! {
            ready = self.journal.wait_ready(label, timeout) => {
                if ready {
                    Ok(())
                } else {
                    Err(Error::NotReady {
                        label: label.to_owned(),
                        timeout,
                    })
                }
            }
            exit = child.exited() => Err(Error::ExitedEarly {
                label: label.to_owned(),
                exit: exit.to_string(),
            }),
        }
    }
}
