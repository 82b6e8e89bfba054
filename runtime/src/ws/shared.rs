//! What every connection of one server shares, below the server, its HTTP side and its
//! connections, which all use it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use super::admission::Admission;
use super::headers::Headers;
use super::origin::Site;
use super::token::Tokens;
use crate::limits::Limits;
use crate::router::Router;

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub(crate) router: Arc<Router>,
    pub(crate) limits: Limits,
    pub(crate) site: Site,
    /// Security headers per accepted `Host` (same order as `site.hosts()`).
    pub(crate) headers: Vec<Headers>,
    /// Security headers of refusals, whose `Host` is not trusted.
    pub(crate) refusal_headers: Headers,
    pub(crate) tokens: Arc<Tokens>,
    pub(crate) admission: Arc<Admission>,
    pub(crate) frontend: Option<PathBuf>,
    /// `http://<local_addr>`.
    pub(crate) origin: Arc<str>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) stop: watch::Sender<bool>,
}

impl Shared {
    /// A receiver that turns `true` when the server shuts down; see [`stopped`].
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

/// Waits until the server shuts down.
pub(crate) async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // The sender lives as long as `Shared`, so an error cannot happen while anyone waits.
    let _ = stopping.wait_for(|stop| *stop).await;
}
