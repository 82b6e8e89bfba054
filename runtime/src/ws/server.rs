//! The server: binding, the accept loop, windows, and shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::http::{self, Headers};
use super::origin::Site;
use super::token::{Tokens, Window};
use super::Error;
use crate::limits::Limits;
use crate::pattern::RemotePattern;
use crate::router::Router;

/// How long [`ServerHandle::shutdown`] waits for connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub(crate) router: Arc<Router>,
    pub(crate) limits: Limits,
    pub(crate) site: Site,
    /// Security headers per accepted `Host` (same order as `site.hosts()`).
    pub(crate) headers: Vec<Headers>,
    /// Security headers of refusals, whose `Host` is not trusted.
    pub(crate) refusal_headers: Headers,
    pub(crate) tokens: Tokens,
    pub(crate) frontend: Option<PathBuf>,
    origin: Arc<str>,
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    live: AtomicUsize,
    idle: Notify,
}

impl Shared {
    /// A receiver that turns `true` when the server shuts down; see [`stopped`].
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Counts a connection as open until the guard is dropped.
    pub(crate) fn track(self: &Arc<Self>) -> ConnectionGuard {
        self.live.fetch_add(1, Ordering::SeqCst);
        ConnectionGuard(self.clone())
    }

    async fn all_closed(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.live.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    fn window(&self, label: &str) -> Window {
        let label: Arc<str> = label.into();
        let token = self.tokens.register(label.clone());
        Window::new(label, token, self.origin.clone())
    }
}

/// Waits until the server shuts down.
pub(crate) async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // The sender lives as long as `Shared`, so an error cannot happen while anyone waits.
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Keeps a connection counted while it is open.
pub(crate) struct ConnectionGuard(Arc<Shared>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// Configures a [`Server`]; see [`Server::builder`].
#[derive(Debug)]
#[must_use]
pub struct ServerBuilder {
    router: Arc<Router>,
    frontend: Option<PathBuf>,
    limits: Limits,
    addr: SocketAddr,
}

impl ServerBuilder {
    /// Serves the files of `folder` (`/` is its `index.html`). Without one, only the
    /// JavaScript client and the WebSocket endpoint are served.
    pub fn frontend(mut self, folder: impl Into<PathBuf>) -> Self {
        self.frontend = Some(folder.into());
        self
    }

    /// Sets the limits every connection is held to.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Listens on `addr` instead of `127.0.0.1:0` (an OS-chosen port). It must be a loopback
    /// address.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Binds the socket.
    ///
    /// # Errors
    ///
    /// [`Error::NotLoopback`] for an address other than loopback, [`Error::Bind`] when it
    /// cannot be bound, [`Error::Frontend`] when the frontend folder is not a readable folder,
    /// [`Error::RemotePattern`] when a capability's remote URL pattern does not compile.
    pub async fn build(self) -> Result<Server, Error> {
        if !self.addr.ip().is_loopback() {
            return Err(Error::NotLoopback(self.addr));
        }
        let frontend = match self.frontend {
            None => None,
            Some(path) => Some(canonical_folder(path).await?),
        };
        let mut remote = Vec::new();
        for capability in self.router.acl().capabilities() {
            for pattern in capability.remote() {
                remote.push(RemotePattern::new(pattern).map_err(|message| {
                    Error::RemotePattern {
                        capability: capability.identifier().to_owned(),
                        pattern: pattern.to_string(),
                        message,
                    }
                })?);
            }
        }
        let listener = TcpListener::bind(self.addr)
            .await
            .map_err(|source| Error::Bind {
                addr: self.addr,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: self.addr,
            source,
        })?;
        let site = Site::new(local_addr, remote);
        let headers = site.hosts().iter().map(|h| Headers::new(Some(h))).collect();
        let (stop, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            router: self.router,
            limits: self.limits,
            site,
            headers,
            refusal_headers: Headers::new(None),
            tokens: Tokens::default(),
            frontend,
            origin: format!("http://{local_addr}").into(),
            local_addr,
            stop,
            live: AtomicUsize::new(0),
            idle: Notify::new(),
        });
        tracing::info!(addr = %local_addr, "gatehouse: WebSocket server listening");
        Ok(Server { listener, shared })
    }
}

async fn canonical_folder(path: PathBuf) -> Result<PathBuf, Error> {
    let canonical = tokio::fs::canonicalize(&path)
        .await
        .map_err(|source| Error::Frontend {
            path: path.clone(),
            source,
        })?;
    let meta = tokio::fs::metadata(&canonical)
        .await
        .map_err(|source| Error::Frontend {
            path: path.clone(),
            source,
        })?;
    if !meta.is_dir() {
        return Err(Error::Frontend {
            path,
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a folder"),
        });
    }
    Ok(canonical)
}

/// A bound WebSocket + HTTP server, not yet accepting connections. See the [module
/// docs](super) for what it serves and checks.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Starts a server for `router` (an `Arc<Router>`, or a `Router`).
    pub fn builder(router: impl Into<Arc<Router>>) -> ServerBuilder {
        ServerBuilder {
            router: router.into(),
            frontend: None,
            limits: Limits::default(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// Registers a window labelled `label` with a fresh secret token; open
    /// [`Window::url`] in the browser or webview that is this window. Calling it again with the
    /// same label registers another token for the same label.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails: there is no safe token without it.
    pub fn window(&self, label: &str) -> Window {
        self.shared.window(label)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The server's own origin, `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// Accepts connections on a task of the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(self) -> ServerHandle {
        let shared = self.shared.clone();
        let task = tokio::spawn(self.run());
        ServerHandle {
            shared,
            task: Some(task),
        }
    }

    /// Accepts connections until the server is shut down (see [`ServerHandle::shutdown`]) or
    /// the future is dropped.
    pub async fn run(self) {
        let Server { listener, shared } = self;
        let app = http::app(shared.clone());
        let mut stopping = shared.stopping();
        loop {
            tokio::select! {
                _ = stopped(&mut stopping) => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        tokio::spawn(serve_http(stream, shared.clone(), app.clone()));
                    }
                    Err(error) => {
                        // Usually out of file descriptors: wait instead of spinning.
                        tracing::warn!(%error, "gatehouse: cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        if tokio::time::timeout(SHUTDOWN_GRACE, shared.all_closed())
            .await
            .is_err()
        {
            tracing::warn!("gatehouse: connections still open after shutdown");
        }
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("origin", &self.shared.origin)
            .finish_non_exhaustive()
    }
}

/// One HTTP/1 connection, until it ends or upgrades to a WebSocket.
async fn serve_http(stream: TcpStream, shared: Arc<Shared>, app: axum::Router) {
    let _guard = shared.track();
    // Replies are small frames: send them now rather than wait to coalesce.
    let _ = stream.set_nodelay(true);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.handshake_timeout)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .with_upgrades();
    tokio::pin!(conn);
    let mut stopping = shared.stopping();
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "gatehouse: HTTP connection ended");
            }
        }
        _ = stopped(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

/// A running server. Dropping it shuts the server down without waiting; prefer
/// [`shutdown`](Self::shutdown).
#[must_use = "dropping the handle shuts the server down"]
pub struct ServerHandle {
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// Registers another window; see [`Server::window`].
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails.
    pub fn window(&self, label: &str) -> Window {
        self.shared.window(label)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The server's own origin, `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// Stops accepting connections, closes every WebSocket with code 1001 ("going away"),
    /// lets HTTP requests in progress finish, and waits (at most a few seconds) for all of it.
    pub async fn shutdown(mut self) {
        self.shared.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shared.stop.send_replace(true);
    }
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("origin", &self.shared.origin)
            .finish_non_exhaustive()
    }
}
