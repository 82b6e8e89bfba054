//! The server: binding, the accept loop, windows, and shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::admission::{Admission, Admitted, Handshake};
use super::headers::Headers;
use super::http::{self, HandshakeId};
use super::origin::Site;
use super::shared::{stopped, Shared};
use super::token::{Tokens, Window};
use super::Error;
use crate::limits::Limits;
use crate::log::warn_limited;
use crate::router::Router;

/// How long [`ServerHandle::shutdown`] waits for connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
    /// cannot be bound, [`Error::Frontend`] when the frontend folder is not a readable folder.
    /// (Remote URL patterns were parsed with the ACL: they cannot fail here.)
    pub async fn build(self) -> Result<Server, Error> {
        if !self.addr.ip().is_loopback() {
            return Err(Error::NotLoopback(self.addr));
        }
        let frontend = match self.frontend {
            None => None,
            Some(path) => Some(canonical_folder(path).await?),
        };
        // Parsed with the ACL; the server keeps its own list of every remote pattern.
        let remote: Vec<_> = self
            .router
            .acl()
            .capabilities()
            .iter()
            .flat_map(|capability| capability.remote().iter().cloned())
            .collect();
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
            admission: Arc::new(Admission::new(&self.limits)),
            limits: self.limits,
            site,
            headers,
            refusal_headers: Headers::new(None),
            tokens: Arc::new(Tokens::default()),
            frontend,
            origin: format!("http://{local_addr}").into(),
            local_addr,
            stop,
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
    /// [`Window::url`] in the browser or webview that is this window. A label has one live
    /// token: calling it again with the same label rotates the token ([`Window::rotate`]), so
    /// the previous one is refused for new connections.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails: there is no safe token without it.
    pub fn window(&self, label: &str) -> Window {
        Window::issue(&self.shared.tokens, label, self.shared.origin.clone())
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
                    Ok((stream, _peer)) => admit(stream, &shared, &app),
                    Err(error) => {
                        // Usually out of file descriptors: wait instead of spinning.
                        warn_limited!(%error, "gatehouse: cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        if tokio::time::timeout(SHUTDOWN_GRACE, shared.admission.all_closed())
            .await
            .is_err()
        {
            tracing::warn!("gatehouse: connections still open after shutdown");
        }
    }
}

/// Serves `stream` if the server has room for it; otherwise closes it before reading anything.
fn admit(stream: TcpStream, shared: &Arc<Shared>, app: &axum::Router) {
    match shared.admission.accept() {
        Admitted::Full => {
            warn_limited!(
                limit = shared.limits.max_connections,
                "gatehouse: closed a new connection: the server has all the WebSockets it takes"
            );
            drop(stream);
        }
        Admitted::Yes { handshake, evicted } => {
            if evicted {
                warn_limited!(
                    limit = shared.limits.max_handshakes,
                    "gatehouse: dropped the oldest connection still in its handshake to make room"
                );
            }
            tokio::spawn(serve_http(stream, shared.clone(), app.clone(), handshake));
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

/// One HTTP/1 connection, until it ends, upgrades to a WebSocket, or is evicted by a newer
/// handshake.
async fn serve_http(
    stream: TcpStream,
    shared: Arc<Shared>,
    app: axum::Router,
    mut handshake: Handshake,
) {
    // Replies are small frames: send them now rather than wait to coalesce.
    let _ = stream.set_nodelay(true);
    let mut builder = http1::Builder::new();
    // The header read timeout runs from the start of the connection and between requests.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.handshake_timeout)
        .keep_alive(true);
    let service = Routes {
        app,
        id: HandshakeId(handshake.id()),
    };
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut stopping = shared.stopping();
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "gatehouse: HTTP connection ended");
            }
        }
        () = handshake.evicted() => {
            tracing::debug!("gatehouse: evicted a connection still in its handshake");
        }
        _ = stopped(&mut stopping) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

/// The routes, serving one connection: each request carries the connection's handshake id.
struct Routes {
    app: axum::Router,
    id: HandshakeId,
}

impl hyper::service::Service<Request<Incoming>> for Routes {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(self.id);
        // An axum router is always ready (its `poll_ready` does nothing).
        tower_service::Service::call(&mut self.app.clone(), request)
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
    /// Registers another window, or rotates the token of a known one; see [`Server::window`].
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails.
    pub fn window(&self, label: &str) -> Window {
        Window::issue(&self.shared.tokens, label, self.shared.origin.clone())
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
