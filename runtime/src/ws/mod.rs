//! The WebSocket + HTTP transport: browser frontends talk to the core over loopback.
//!
//! A [`Server`] serves one application on `127.0.0.1` (an OS-chosen port by default):
//!
//! | path | what |
//! | --- | --- |
//! | `/gatehouse/ws` | the WebSocket endpoint: one JSON-RPC 2.0 message per text frame |
//! | `/gatehouse/gatehouse.js`, `/gatehouse/gatehouse.d.ts` | the JavaScript client and its types |
//! | anything else | the frontend folder (`/` is `index.html`), if one is configured |
//!
//! ```no_run
//! use std::sync::Arc;
//! use gatehouse_runtime::ws::{Limits, Server};
//! # async fn run(router: gatehouse_runtime::Router) -> Result<(), gatehouse_runtime::ws::Error> {
//! let server = Server::builder(Arc::new(router))
//!     .frontend("frontend")
//!     .limits(Limits::default())
//!     .build()
//!     .await?;
//! let main = server.window("main");
//! println!("open {}", main.url()); // http://127.0.0.1:PORT/#token=…
//! let handle = server.spawn();
//! // …
//! handle.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Security model
//!
//! The core, never the page, decides who is calling. Every check happens once, at the
//! WebSocket handshake, in this order; a refusal is an HTTP error with a short plain-text reason
//! and a `tracing` warning (which never contains the token):
//!
//! 1. **`Host`** (every request, files too): exactly `127.0.0.1:<port>`, `localhost:<port>` or
//!    `[::1]:<port>` for the bound port (or the bound address, if it is another loopback
//!    address), byte for byte: no other name, port, case, trailing dot
//!    or user info, one header only, and an absolute request URI must name the same. This
//!    defeats DNS rebinding: a page at `http://evil.test:<port>` whose name now resolves to
//!    127.0.0.1 sends `Host: evil.test:<port>`. Refused with 421 (400 when missing or repeated).
//! 2. **`Origin`**: exactly one header. `http://<one of the hosts above>` is
//!    [`Origin::Local`](crate::Origin::Local). Otherwise it must be a canonical serialised origin
//!    (as browsers send it: lowercase, no path, no default port) that one of the ACL's
//!    `remote.urls` patterns matches: [`Origin::Remote`](crate::Origin::Remote) with that origin,
//!    which only the capabilities with a matching pattern apply to. Missing, `null`, another
//!    port or scheme, look-alikes such as `http://127.0.0.1.evil.test`, and non-canonical
//!    spellings such as `HTTP://127.0.0.1:<port>` (no browser sends them) are refused (403).
//! 3. **Token**: the query parameter `token`, exactly once, compared in constant time against
//!    every window's live token (256 bits from the OS, hex: never percent-encoded, so an
//!    encoded token is refused). The token alone chooses the window label; a page cannot
//!    claim one. Refused with 403; a revoked or rotated-out token likewise.
//! 4. **Room**: the window has fewer than `max_connections_per_label` connections open, else
//!    503.
//!
//! Every response carries a strict `Content-Security-Policy` (no inline script, no framing,
//! `connect-src` only to this server), `X-Frame-Options: DENY`, `X-Content-Type-Options:
//! nosniff`, `Referrer-Policy: no-referrer` and `Cross-Origin-Resource-Policy: same-origin`.
//! Files are served from the frontend folder only: no directory listing, no dot-files, no
//! `..` (plain or percent-encoded), no symbolic link that leads out of the folder.
//!
//! # Windows and their tokens
//!
//! [`Server::window`] gives a label its one live token and returns a [`Window`] handle. Calling
//! it again for the same label, or [`Window::rotate`], replaces the token: the old one is
//! refused for new connections, while connections already open with it stay open (the page
//! keeps working; the core can hand it the new URL over that connection).
//! [`Window::revoke`] refuses the token and closes every open connection of the label with
//! close code 1008 and the reason "window revoked"; to end a leaked token's connections and
//! hand out a new one, revoke, then rotate. Tokens never appear in logs.
//!
//! # Connection limits
//!
//! What an operator of a public-facing server expects from hyper's and jsonrpsee's limits,
//! counted where the cost is:
//!
//! - **`max_connections`** (default 256): TCP connections open at once, WebSockets and
//!   connections still in their HTTP request alike. A connection over it is closed at accept,
//!   before anything is read from it or allocated for it — unless some of the open ones are
//!   still in their handshake: then the oldest of those is dropped to make room.
//! - **`max_handshakes`** (default 64): connections not yet upgraded (idle sockets, half-sent
//!   requests, keep-alive connections that fetched files). When a new connection arrives at the
//!   limit, the oldest is dropped, so a local process holding a thousand idle sockets — it needs
//!   no token and no `Origin` for that — holds at most this many of the server's file
//!   descriptors and cannot lock a window out. An upgraded WebSocket is never dropped this way.
//! - **`handshake_timeout`** (default 10 s): the time a connection has to send a complete
//!   request, from its start and again between the requests of a keep-alive connection.
//! - **`max_connections_per_label`** (default 32): WebSockets of one window; the next handshake
//!   is refused with 503, "too many connections for this window".
//!
//! An idle authenticated connection costs about 22 KiB (a reader and a writer task, a 16 KiB
//! read buffer; see `BENCHMARKS.md`). Warnings a peer can cause (refusals, evictions, slow readers) are logged at
//! a bounded rate.
//!
//! # Connections
//!
//! Each connection is one [`Caller`](crate::Caller), made with
//! [`Router::connect`](crate::Router::connect): channels and events reach it through the
//! connection's outbound queue. Every text frame is one JSON-RPC message. A request that is
//! answered at once (a sync command, a refusal) is answered in place; one that has to wait (an
//! `async` or blocking command) continues on a task of its own, so it never holds up the
//! frames behind it. A long-running *sync* command does hold up its own connection's reading
//! (and a worker thread): make such commands `async` or `#[command(blocking)]`. The [`Limits`]
//! apply:
//!
//! - a message over `max_message_bytes` closes the connection with code 1009 and the reason;
//! - nesting over `max_depth` is answered `-32006` (the connection stays usable);
//! - a request over `max_in_flight` is answered `-32007` at once, without running;
//! - binary frames close the connection with 1003, invalid UTF-8 with 1007, protocol errors with
//!   1002, silence for `idle_timeout` with 1001 (pings count as traffic);
//! - a peer that does not take a write within `write_timeout` is disconnected; until then
//!   commands wait for room in the bounded outbound queue (`outbound_capacity` frames).
//!
//! When a connection ends, its outbound queue is closed, so channels and event listeners see
//! [`SendError::Closed`](crate::SendError::Closed). Requests still running are **left to
//! finish** (a command may be halfway through writing a file) and their replies are dropped.
//!
//! # Why these crates
//!
//! - **axum** (with hyper 1 and tokio-tungstenite underneath): the WebSocket handshake and
//!   framing, request routing and middleware from the tokio project's own, widely deployed
//!   stack; its default features are off, so only HTTP/1 and WebSocket support are compiled.
//!   hyper is used directly for its per-connection header-read timeout (the handshake timeout)
//!   and graceful shutdown.
//! - **getrandom**: tokens straight from the operating system's random source, with no
//!   user-space generator to seed or get wrong.
//! - **subtle**: constant-time comparison, so the time a wrong token takes to refuse says
//!   nothing about any registered token.
//! - **tower-service** (already under axum and hyper-util): the trait through which the
//!   per-connection hyper service calls axum's router, so each request carries its
//!   connection's admission.
//!
//! Files are served by a small function here rather than `tower-http`'s `ServeDir`, which
//! follows symbolic links out of its folder.

// From the bottom up: `shared` holds what the others use, `connection` serves an upgraded
// socket, `http` the requests of a connection until it upgrades, `server` accepts connections.
mod admission;
mod connection;
mod files;
mod headers;
mod http;
mod origin;
mod server;
mod shared;
mod token;

pub use crate::limits::Limits;
pub use server::{Server, ServerBuilder, ServerHandle};
pub use token::Window;

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a [`Server`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The address is not a loopback address. The `Host` and `Origin` checks only know loopback
    /// names, so the server only listens on loopback.
    #[error("cannot listen on {0}: the WebSocket transport listens on loopback addresses only (127.0.0.0/8, [::1])")]
    NotLoopback(SocketAddr),
    /// The frontend folder cannot be used.
    #[error("frontend folder {}: {source}", path.display())]
    Frontend {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
