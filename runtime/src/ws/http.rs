//! The HTTP side: routes, the `Host` guard and security headers on every response, and the
//! WebSocket handshake's `Origin` and token checks.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::{rejection::WebSocketUpgradeRejection, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::get;

use super::files::{self, plain, truncate};
use super::origin::Refusal;
use super::server::Shared;
use crate::caller::CallerInfo;

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

/// Security headers of one accepted `Host`: the CSP names it in `connect-src`.
pub(crate) struct Headers {
    csp: HeaderValue,
}

impl Headers {
    pub(crate) fn new(host: Option<&str>) -> Self {
        let connect = match host {
            Some(host) => format!("'self' ws://{host}"),
            None => "'self'".to_owned(),
        };
        let csp = format!(
            "default-src 'self'; script-src 'self'; connect-src {connect}; frame-ancestors 'none'; \
             object-src 'none'; base-uri 'none'; form-action 'none'"
        );
        Self {
            // Made of our own ASCII only.
            csp: HeaderValue::from_str(&csp)
                .unwrap_or(HeaderValue::from_static("default-src 'none'")),
        }
    }

    fn apply(&self, headers: &mut HeaderMap) {
        headers.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(
            "cross-origin-resource-policy",
            HeaderValue::from_static("same-origin"),
        );
    }
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
            tracing::warn!(
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

/// The WebSocket endpoint: `Origin`, then the token, then the upgrade.
async fn handshake(
    State(shared): State<Arc<Shared>>,
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
            tracing::warn!(
                reason = refusal.reason,
                origin = ?origin.as_deref().map(truncate),
                "gatehouse: refused WebSocket handshake"
            );
            return refuse(&shared, refusal);
        }
    };
    let label = match token(uri.query())
        .and_then(|t| shared.tokens.find(t.as_bytes()).ok_or(BAD_TOKEN))
    {
        Ok(label) => label,
        Err(refusal) => {
            // Never log the token, nor the query that carries it.
            tracing::warn!(reason = refusal.reason, origin = ?origin, "gatehouse: refused WebSocket handshake");
            return refuse(&shared, refusal);
        }
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let info = CallerInfo {
        window: label.to_string(),
        webview: None,
        origin,
    };
    tracing::debug!(window = %info.window, origin = ?info.origin, "gatehouse: WebSocket connected");
    let limits = &shared.limits;
    let guard = shared.track();
    let conn = shared.clone();
    upgrade
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| super::connection::run(conn, socket, info, guard))
}

const BAD_TOKEN: Refusal = Refusal {
    status: StatusCode::FORBIDDEN,
    reason: "invalid token",
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

    #[test]
    fn csp_names_the_host() {
        let h = Headers::new(Some("127.0.0.1:5"));
        let csp = h.csp.to_str().expect("ascii");
        assert!(
            csp.contains("connect-src 'self' ws://127.0.0.1:5;"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            csp.starts_with("default-src 'self'; script-src 'self';"),
            "{csp}"
        );
    }
}
