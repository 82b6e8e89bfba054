//! The HTTP side: routes, the `Host` guard and security headers on every response, and the
//! WebSocket handshake's `Origin` and token checks.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::{rejection::WebSocketUpgradeRejection, WebSocketUpgrade};
use axum::extract::{Extension, Request, State};
use axum::http::{header, HeaderMap, Method, Response, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::get;

use super::connection;
use super::files::{self, plain, truncate};
use super::origin::Refusal;
use super::shared::Shared;
use crate::caller::CallerInfo;
use crate::log::warn_limited;

/// The admission id of the connection a request came on (see
/// [`Admission`](super::admission::Admission)); the server puts it on every request.
#[derive(Clone, Copy)]
pub(crate) struct HandshakeId(pub(crate) u64);

/// Routes of one server.
pub(crate) fn app(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/gatehouse/ws", get(handshake))
        .route(
            "/gatehouse/gatehouse.js",
            get(|method: Method| async move { files::client_js(&method) }),
        )
        .route(
            "/gatehouse/gatehouse.d.ts",
            get(|method: Method| async move { files::client_dts(&method) }),
        )
        .fallback(frontend)
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

/// Checks `Host` before anything else runs, and puts the security headers on every response.
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response<Body> {
    match shared.site.check_host(request.headers(), request.uri()) {
        Ok(index) => {
            let mut response = next.run(request).await;
            shared.headers[index].apply(response.headers_mut());
            response
        }
        Err(refusal) => {
            let host = request
                .headers()
                .get(header::HOST)
                .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned());
            warn_limited!(
                reason = refusal.reason,
                host = ?host.as_deref().map(truncate),
                path = %truncate(request.uri().path()),
                "gatehouse: refused HTTP request"
            );
            refuse(&shared, refusal)
        }
    }
}

fn refuse(shared: &Shared, refusal: Refusal) -> Response<Body> {
    let mut response = plain(refusal.status, refusal.reason);
    shared.refusal_headers.apply(response.headers_mut());
    response
}

/// Files of the frontend folder.
async fn frontend(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response<Body> {
    files::serve(shared.frontend.as_deref(), &method, uri.path()).await
}

/// The WebSocket endpoint: `Origin`, then the token, then a seat among the window's
/// connections, then the upgrade.
async fn handshake(
    State(shared): State<Arc<Shared>>,
    Extension(HandshakeId(id)): Extension<HandshakeId>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response<Body> {
    let origin = match shared.site.check_origin(&headers) {
        Ok(origin) => origin,
        Err(refusal) => {
            let origin = headers
                .get(header::ORIGIN)
                .map(|o| String::from_utf8_lossy(o.as_bytes()).into_owned());
            warn_limited!(
                reason = refusal.reason,
                origin = ?origin.as_deref().map(truncate),
                "gatehouse: refused WebSocket handshake"
            );
            return refuse(&shared, refusal);
        }
    };
    let pass = match token(uri.query())
        .and_then(|t| shared.tokens.find(t.as_bytes()).ok_or(BAD_TOKEN))
    {
        Ok(pass) => pass,
        Err(refusal) => {
            // Never log the token, nor the query that carries it.
            warn_limited!(reason = refusal.reason, origin = ?origin, "gatehouse: refused WebSocket handshake");
            return refuse(&shared, refusal);
        }
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let limits = &shared.limits;
    let window = pass.name().clone();
    let Some(seat) = pass.enter(limits.max_connections_per_label) else {
        warn_limited!(
            window = %window,
            limit = limits.max_connections_per_label,
            "gatehouse: refused WebSocket handshake: the window has all its connections"
        );
        return refuse(&shared, WINDOW_FULL);
    };
    // From here the connection counts as a WebSocket, no longer as a handshake.
    let Some(open) = shared.admission.upgrade(id) else {
        return refuse(&shared, EVICTED);
    };
    let info = CallerInfo {
        window: window.to_string(),
        webview: None,
        origin,
    };
    tracing::debug!(window = %info.window, origin = ?info.origin, "gatehouse: WebSocket connected");
    let conn = shared.clone();
    upgrade
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .read_buffer_size(connection::READ_BUFFER)
        .write_buffer_size(connection::WRITE_BUFFER)
        .on_upgrade(move |socket| connection::run(conn, socket, info, seat, open))
}

const BAD_TOKEN: Refusal = Refusal {
    status: StatusCode::FORBIDDEN,
    reason: "invalid token",
};

const WINDOW_FULL: Refusal = Refusal {
    status: StatusCode::SERVICE_UNAVAILABLE,
    reason: "too many connections for this window",
};

const EVICTED: Refusal = Refusal {
    status: StatusCode::SERVICE_UNAVAILABLE,
    reason: "too many connections in their handshake",
};

/// The raw value of the one `token` query parameter.
fn token(query: Option<&str>) -> Result<&str, Refusal> {
    let mut found = None;
    for pair in query.unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "token" {
            if found.is_some() {
                return Err(Refusal {
                    status: StatusCode::FORBIDDEN,
                    reason: "more than one token",
                });
            }
            found = Some(value);
        }
    }
    match found {
        Some("") | None => Err(Refusal {
            status: StatusCode::FORBIDDEN,
            reason: "missing token",
        }),
        Some(token) => Ok(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_taken_raw_and_once() {
        assert_eq!(token(Some("token=abc")), Ok("abc"));
        assert_eq!(token(Some("x=1&token=abc&y")), Ok("abc"));
        assert_eq!(token(Some("token=a%62c")), Ok("a%62c"));
        assert!(token(None).is_err());
        assert!(token(Some("")).is_err());
        assert!(token(Some("token=")).is_err());
        assert!(token(Some("token")).is_err());
        assert!(token(Some("Token=abc")).is_err());
        assert!(token(Some("tok%65n=abc")).is_err());
        assert!(token(Some("token=abc&token=abc")).is_err());
    }
}
