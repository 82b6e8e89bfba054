//! Who may talk to the server: the `Host` every request names and the `Origin` of a WebSocket
//! handshake. See the module docs of `ws` for the rules and why.

use std::net::SocketAddr;

use axum::http::{header, HeaderMap, StatusCode, Uri};
use url::Url;

use crate::acl::UrlPattern;
use crate::caller::Origin;

/// Why a request is refused: a status and a short reason, shown to the client as plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) reason: &'static str,
}

impl Refusal {
    const fn new(status: StatusCode, reason: &'static str) -> Self {
        Self { status, reason }
    }
}

/// The names this server answers to, and the remote origins the ACL lets in.
pub(crate) struct Site {
    /// `127.0.0.1:<port>`, `localhost:<port>`, `[::1]:<port>`, and the bound address if it is
    /// another loopback address.
    hosts: Vec<String>,
    /// The same, as `http://` origins.
    origins: Vec<String>,
    remote: Vec<UrlPattern>,
}

impl Site {
    pub(crate) fn new(addr: SocketAddr, remote: Vec<UrlPattern>) -> Self {
        let port = addr.port();
        let mut hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ];
        let bound = addr.to_string();
        if !hosts.contains(&bound) {
            hosts.push(bound);
        }
        let origins = hosts.iter().map(|h| format!("http://{h}")).collect();
        Self {
            hosts,
            origins,
            remote,
        }
    }

    /// The accepted `Host` values, in the order [`check_host`](Self::check_host) indexes them.
    pub(crate) fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Checks the request's `Host` (and the authority of an absolute request URI): exactly one
    /// of our own names, byte for byte. Returns which one.
    pub(crate) fn check_host(&self, headers: &HeaderMap, uri: &Uri) -> Result<usize, Refusal> {
        let mut values = headers.get_all(header::HOST).iter();
        let Some(host) = values.next() else {
            return Err(Refusal::new(StatusCode::BAD_REQUEST, "missing Host header"));
        };
        if values.next().is_some() {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "more than one Host header",
            ));
        }
        let index = self
            .hosts
            .iter()
            .position(|h| h.as_bytes() == host.as_bytes())
            .ok_or(Refusal::new(
                StatusCode::MISDIRECTED_REQUEST,
                "unknown Host: this server only answers to its own loopback address",
            ))?;
        if let Some(authority) = uri.authority() {
            if authority.as_str() != self.hosts[index] {
                return Err(Refusal::new(
                    StatusCode::MISDIRECTED_REQUEST,
                    "the request URI names another host",
                ));
            }
        }
        Ok(index)
    }

    /// Decides local or remote from the handshake's `Origin`, or refuses it.
    pub(crate) fn check_origin(&self, headers: &HeaderMap) -> Result<Origin, Refusal> {
        const NOT_ALLOWED: Refusal = Refusal::new(StatusCode::FORBIDDEN, "origin not allowed");
        let mut values = headers.get_all(header::ORIGIN).iter();
        let Some(value) = values.next() else {
            return Err(Refusal::new(StatusCode::FORBIDDEN, "missing Origin header"));
        };
        if values.next().is_some() {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "more than one Origin header",
            ));
        }
        let text = value.to_str().map_err(|_| NOT_ALLOWED)?;
        if self.origins.iter().any(|o| o == text) {
            return Ok(Origin::Local);
        }
        let url = Url::parse(text).map_err(|_| NOT_ALLOWED)?;
        // Only an origin exactly as browsers serialise it: a scheme we serve pages over, a
        // host, a port only when not the default; no path, user info, query or fragment.
        let canonical =
            matches!(url.scheme(), "http" | "https") && url.origin().ascii_serialization() == text;
        if canonical && self.remote.iter().any(|p| p.matches(text)) {
            return Ok(Origin::Remote(text.to_owned()));
        }
        Err(NOT_ALLOWED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const PORT: u16 = 4242;

    fn site() -> Site {
        let remote = ["https://*.example.com", "http://127.0.0.1:7000"]
            .iter()
            .map(|p| UrlPattern::new(*p).expect("valid pattern"))
            .collect();
        Site::new(SocketAddr::from(([127, 0, 0, 1], PORT)), remote)
    }

    fn headers(name: header::HeaderName, values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                name.clone(),
                HeaderValue::from_bytes(v).expect("header value"),
            );
        }
        map
    }

    fn host(values: &[&str]) -> Result<usize, Refusal> {
        let values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        site().check_host(&headers(header::HOST, &values), &Uri::from_static("/"))
    }

    fn origin(value: &str) -> Result<Origin, Refusal> {
        site().check_origin(&headers(header::ORIGIN, &[value.as_bytes()]))
    }

    #[test]
    fn own_hosts_only() {
        assert_eq!(host(&["127.0.0.1:4242"]), Ok(0));
        assert_eq!(host(&["localhost:4242"]), Ok(1));
        assert_eq!(host(&["[::1]:4242"]), Ok(2));
        for forged in [
            "evil.test",
            "evil.test:4242",
            "127.0.0.1",
            "127.0.0.1:4243",
            "127.0.0.1:04242",
            "127.0.0.1.evil.test:4242",
            "localhost.:4242",
            "LOCALHOST:4242",
            "user@127.0.0.1:4242",
            "127.0.0.1:4242 ",
            "127.0.0.1:4242/",
            "127.1:4242",
            "0.0.0.0:4242",
            "",
        ] {
            let refusal = host(&[forged]).expect_err(forged);
            assert_eq!(refusal.status, StatusCode::MISDIRECTED_REQUEST, "{forged}");
        }
        assert_eq!(
            host(&[]).map_err(|r| r.status),
            Err(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            host(&["127.0.0.1:4242", "127.0.0.1:4242"]).map_err(|r| r.status),
            Err(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            host(&["127.0.0.1:4242", "evil.test"]).map_err(|r| r.status),
            Err(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn another_loopback_address_is_ours_when_bound() {
        let site = Site::new(SocketAddr::from(([127, 0, 0, 2], PORT)), Vec::new());
        let h = headers(header::HOST, &[b"127.0.0.2:4242"]);
        assert_eq!(site.check_host(&h, &Uri::from_static("/")), Ok(3));
        let o = headers(header::ORIGIN, &[b"http://127.0.0.2:4242"]);
        assert_eq!(site.check_origin(&o), Ok(Origin::Local));
        // Not when another address is bound.
        assert!(site_for_127_0_0_1()
            .check_host(&h, &Uri::from_static("/"))
            .is_err());
    }

    fn site_for_127_0_0_1() -> Site {
        Site::new(SocketAddr::from(([127, 0, 0, 1], PORT)), Vec::new())
    }

    #[test]
    fn absolute_uri_must_name_the_same_host() {
        let site = site();
        let h = headers(header::HOST, &[b"127.0.0.1:4242"]);
        let ok = Uri::from_static("http://127.0.0.1:4242/index.html");
        assert_eq!(site.check_host(&h, &ok), Ok(0));
        let evil = Uri::from_static("http://evil.test/index.html");
        assert!(site.check_host(&h, &evil).is_err());
    }

    #[test]
    fn own_origins_are_local() {
        for own in [
            "http://127.0.0.1:4242",
            "http://localhost:4242",
            "http://[::1]:4242",
        ] {
            assert_eq!(origin(own), Ok(Origin::Local), "{own}");
        }
    }

    #[test]
    fn look_alikes_are_refused() {
        for bad in [
            "null",
            "",
            "http://127.0.0.1.evil.test",
            "http://127.0.0.1.evil.test:4242",
            "http://localhost.evil.test:4242",
            "http://evil.test/http://127.0.0.1:4242",
            "http://127.0.0.1:4243",
            "http://127.0.0.1",
            "https://127.0.0.1:4242",
            "ws://127.0.0.1:4242",
            "HTTP://127.0.0.1:4242",
            "http://127.0.0.1:4242/",
            "http://user@127.0.0.1:4242",
            "http://localhost.:4242",
            "file://",
            "https://example.com",
            "https://app.example.com.evil.test",
            "https://app.example.com:443",
            "https://APP.example.com",
            "https://app.example.com/",
            "http://app.example.com",
        ] {
            let refusal = origin(bad).expect_err(bad);
            assert_eq!(refusal.status, StatusCode::FORBIDDEN, "{bad}");
        }
    }

    #[test]
    fn remote_origins_need_a_matching_pattern() {
        assert_eq!(
            origin("https://app.example.com"),
            Ok(Origin::Remote("https://app.example.com".into()))
        );
        assert_eq!(
            origin("http://127.0.0.1:7000"),
            Ok(Origin::Remote("http://127.0.0.1:7000".into()))
        );
    }

    #[test]
    fn origin_must_be_present_once() {
        let site = site();
        assert_eq!(
            site.check_origin(&HeaderMap::new()).map_err(|r| r.reason),
            Err("missing Origin header")
        );
        let two = headers(
            header::ORIGIN,
            &[b"http://127.0.0.1:4242", b"http://127.0.0.1:4242"],
        );
        assert_eq!(
            site.check_origin(&two).map_err(|r| r.reason),
            Err("more than one Origin header")
        );
        let binary = headers(header::ORIGIN, &[b"http://127.0.0.1:4242\xff"]);
        assert!(site.check_origin(&binary).is_err());
    }
}
