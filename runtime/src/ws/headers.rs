//! The security headers on every response.

use axum::http::{header, HeaderMap, HeaderValue};

/// Security headers of one accepted `Host`: the CSP names it in `connect-src`.
pub(crate) struct Headers {
    csp: HeaderValue,
}

impl Headers {
    /// The headers for pages served under `host` (`None`: a refusal, whose `Host` is not
    /// trusted).
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

    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
