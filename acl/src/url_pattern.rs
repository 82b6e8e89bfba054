//! Remote URL patterns (`https://*.example.com`), parsed once into wildcards per component, and
//! the URLs of remote callers they are matched against.
//!
//! A pattern is the part of the browser `URLPattern` syntax that capability files use (Tauri 2
//! reads `remote.urls` as `URLPattern` strings): a scheme, `://`, a host, an optional port and an
//! optional path, where `*` stands for any run of characters in the scheme, the host and the
//! path, and a port is a number or `*`. As in Gatehouse before: a pattern without a path (or
//! with `/` alone) matches every page of its origin, and query and fragment always match.
//! Everything else of `URLPattern` (named groups `:id`, regular expressions `(…)`, groups
//! `{…}`, modifiers `?` and `+`, escapes) is refused with an error, never read differently.
//!
//! The URL a caller comes from is read strictly: a URL Gatehouse cannot read exactly as a browser
//! serialises it (user info, a non-canonical IP address, a dot segment in the path, a character
//! a browser would have escaped) matches no pattern. A differential test holds both halves to the
//! `urlpattern` crate.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::acl::{List, Text};
use crate::problem::PatternError;

/// A remote URL pattern, parsed: what a capability's `remote` list holds.
#[derive(Clone)]
pub struct UrlPattern {
    source: Text,
    scheme: Wildcard,
    host: Wildcard,
    port: Port,
    path: Wildcard,
}

/// Text with `*` wildcards, split at them: `*.example.com` is the pieces `""` and
/// `".example.com"`. It matches a text that starts with the first piece, ends with the last and
/// holds the others in order between them; one piece alone must be the whole text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wildcard {
    pieces: List<Text>,
}

/// The port a [`UrlPattern`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// No port written: the scheme's default port only.
    Default,
    /// `:*`: any port.
    Any,
    /// This port, written explicitly (a scheme's default port is [`Port::Default`]).
    Number(u16),
}

/// The URL of a remote caller, read as a browser serialises it: scheme and host in lower case,
/// the scheme's default port left out, an empty path as `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteUrl<'a> {
    scheme: Cow<'a, str>,
    host: Cow<'a, str>,
    port: Option<u16>,
    path: &'a str,
}

impl UrlPattern {
    /// Parses `pattern`.
    ///
    /// # Errors
    ///
    /// What the pattern lacks (a scheme and `://`, a host) or holds that Gatehouse does not read
    /// (see the module documentation), with what to write instead.
    pub fn new(pattern: impl Into<Text>) -> Result<Self, PatternError> {
        let source = pattern.into();
        let parts = parse(&source)?;
        Ok(Self {
            source,
            scheme: parts.scheme,
            host: parts.host,
            port: parts.port,
            path: parts.path,
        })
    }

    /// A pattern already parsed, as `gatehouse-build` writes it; `source` is the text it was
    /// parsed from, for messages. The parts are trusted as they are.
    pub const fn from_static(
        source: &'static str,
        scheme: Wildcard,
        host: Wildcard,
        port: Port,
        path: Wildcard,
    ) -> Self {
        Self {
            source: Cow::Borrowed(source),
            scheme,
            host,
            port,
            path,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The scheme's wildcard (lower case).
    pub fn scheme(&self) -> &Wildcard {
        &self.scheme
    }

    /// The host's wildcard (lower case; an IPv6 address in brackets).
    pub fn host(&self) -> &Wildcard {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> Port {
        self.port
    }

    /// The path's wildcard (`*` when the pattern names no path).
    pub fn path(&self) -> &Wildcard {
        &self.path
    }

    /// Whether the URL `url` matches; a URL that [`RemoteUrl::parse`] refuses never does.
    pub fn matches(&self, url: &str) -> bool {
        RemoteUrl::parse(url).is_some_and(|url| self.matches_url(&url))
    }

    /// Whether the URL, already read, matches.
    pub fn matches_url(&self, url: &RemoteUrl<'_>) -> bool {
        let port = match self.port {
            Port::Default => url.port.is_none(),
            Port::Any => true,
            Port::Number(n) => url.port == Some(n),
        };
        port && self.scheme.matches(&url.scheme)
            && self.host.matches(&url.host)
            && self.path.matches(url.path)
    }
}

impl fmt::Debug for UrlPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UrlPattern").field(&self.source).finish()
    }
}

impl fmt::Display for UrlPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Two patterns are equal when they are written the same: the parts follow from the text.
impl PartialEq for UrlPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for UrlPattern {}

impl PartialEq<str> for UrlPattern {
    fn eq(&self, other: &str) -> bool {
        self.source == other
    }
}

impl PartialEq<&str> for UrlPattern {
    fn eq(&self, other: &&str) -> bool {
        self.source == *other
    }
}

/// The text as written, so that lists of them join (`windows.join(", ")`) as strings do.
impl std::borrow::Borrow<str> for UrlPattern {
    fn borrow(&self) -> &str {
        &self.source
    }
}

impl AsRef<str> for UrlPattern {
    fn as_ref(&self) -> &str {
        &self.source
    }
}

impl serde::Serialize for UrlPattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl Wildcard {
    /// The wildcard with these pieces, as `gatehouse-build` writes it (at least one).
    pub const fn from_static(pieces: &'static [Text]) -> Self {
        Self {
            pieces: Cow::Borrowed(pieces),
        }
    }

    fn parse(text: &str) -> Self {
        Self {
            pieces: Cow::Owned(text.split('*').map(|p| Text::Owned(p.to_owned())).collect()),
        }
    }

    /// The literal pieces between the `*`s.
    pub fn pieces(&self) -> &[Text] {
        &self.pieces
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let Some((first, rest)) = self.pieces.split_first() else {
            return text.is_empty();
        };
        let Some((last, middle)) = rest.split_last() else {
            return text == first;
        };
        if text.len() < first.len() + last.len()
            || !text.starts_with(&**first)
            || !text.ends_with(&**last)
        {
            return false;
        }
        // Leftmost placement of each middle piece leaves the most room for the next.
        let mut between = &text[first.len()..text.len() - last.len()];
        for piece in middle {
            match between.find(&**piece) {
                Some(at) => between = &between[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

impl<'a> RemoteUrl<'a> {
    /// Reads `url`, or `None` when it is not a URL Gatehouse reads exactly as a browser does.
    pub fn parse(url: &'a str) -> Option<Self> {
        // Browsers escape or drop all of these before a URL is sent anywhere.
        if url.bytes().any(|b| !b.is_ascii_graphic() || b == b'\\') {
            return None;
        }
        let (scheme, rest) = url.split_once("://")?;
        if !valid_scheme(scheme) {
            return None;
        }
        let scheme = lower(scheme);
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
        let mut path = &tail[..path_end];
        if path.is_empty() && default_port(&scheme).is_some() {
            path = "/";
        }
        if path.split('/').any(is_dot_segment) || authority.contains('@') {
            return None;
        }
        let (host, port) = split_authority(authority)?;
        let host = if let Some(v6) = host.strip_prefix('[') {
            let address: Ipv6Addr = v6.strip_suffix(']')?.parse().ok()?;
            Cow::Owned(format!("[{address}]"))
        } else {
            if host.is_empty() || !host.bytes().all(host_byte) {
                return None;
            }
            if ends_in_number(host) && host.parse::<Ipv4Addr>().ok()?.to_string() != host {
                return None;
            }
            lower(host)
        };
        let port = match port {
            None | Some("") => None,
            Some(digits) => {
                let n = digits
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| digits.parse::<u16>().ok())??;
                (default_port(&scheme) != Some(n)).then_some(n)
            }
        };
        Some(Self {
            scheme,
            host,
            port,
            path,
        })
    }

    /// The scheme, in lower case.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, in lower case (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, when it is not the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path (`/` for an empty path of a scheme with a default port, as browsers write it).
    pub fn path(&self) -> &str {
        self.path
    }
}

/// A pattern's parts.
struct Parts {
    scheme: Wildcard,
    host: Wildcard,
    port: Port,
    path: Wildcard,
}

const EXAMPLE: &str = "write a pattern such as `https://*.example.com` or `http://localhost:*`";

fn parse(pattern: &str) -> Result<Parts, PatternError> {
    let refuse = |what: &str| PatternError::new(what.to_owned());
    if let Some(c) = pattern.chars().find(|c| !c.is_ascii()) {
        return Err(refuse(&format!(
            "`{c}` is not ASCII: write a host in its ASCII form (`xn--…`) and escape other characters as `%XX`"
        )));
    }
    if let Some(c) = pattern.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(refuse(&format!(
            "{c:?} has no place in a URL pattern; escape it as `%XX`"
        )));
    }
    for (c, what) in [
        ('?', "a query (`?…`): every query matches, so leave it out"),
        (
            '#',
            "a fragment (`#…`): every fragment matches, so leave it out",
        ),
        ('\\', "escapes (`\\`)"),
        ('(', "regular expressions (`(…)`): use `*`"),
        (')', "regular expressions (`(…)`): use `*`"),
        ('{', "groups (`{…}`): write one pattern per alternative"),
        ('}', "groups (`{…}`): write one pattern per alternative"),
        ('+', "the modifier `+`: use `*`"),
        ('@', "user information (`user@`)"),
    ] {
        if pattern.contains(c) {
            return Err(refuse(&format!(
                "Gatehouse does not read {what} in a URL pattern"
            )));
        }
    }
    let Some((scheme, rest)) = pattern.split_once("://") else {
        return Err(refuse(&format!(
            "a URL pattern starts with a scheme and `://`; {EXAMPLE}"
        )));
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'*')
    {
        return Err(refuse(&format!(
            "`{scheme}` is not a scheme (letters, digits, `.`, `-` and `*`); {EXAMPLE}"
        )));
    }
    // Browsers send schemes in lower case; `URLPattern` lower-cases `HTTPS` for matching but
    // not to recognise its default port, so `HTTPS://x:443` and `https://x:443` differ there.
    if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(refuse(&format!(
            "write the scheme `{scheme}` in lower case, as browsers send it"
        )));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some((host, port)) = split_authority(authority) else {
        return Err(refuse(&format!(
            "`{authority}` is not a host with an optional port; {EXAMPLE}"
        )));
    };
    let host = pattern_host(host)?;
    let port = match port {
        None | Some("") => Port::Default,
        Some("*") => Port::Any,
        Some(digits) => {
            let n = digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| digits.parse::<u16>().ok())
                .flatten()
                .ok_or_else(|| {
                    refuse(&format!(
                        "`{digits}` is not a port: write a number up to 65535, or `*` for any"
                    ))
                })?;
            // As browsers write URLs: `https://x:443` is `https://x`.
            if default_port(scheme) == Some(n) {
                Port::Default
            } else {
                Port::Number(n)
            }
        }
    };
    let path = pattern_path(path)?;
    Ok(Parts {
        scheme: Wildcard::parse(scheme),
        host,
        port,
        path,
    })
}

fn pattern_host(host: &str) -> Result<Wildcard, PatternError> {
    if host.is_empty() {
        return Err(PatternError::new(format!(
            "a URL pattern needs a host (`*` for any); {EXAMPLE}"
        )));
    }
    if let Some(v6) = host.strip_prefix('[') {
        let address = v6
            .strip_suffix(']')
            .and_then(|a| a.parse::<Ipv6Addr>().ok())
            .ok_or_else(|| {
                PatternError::new(format!(
                    "`{host}` is not an IPv6 address in brackets (wildcards are not read there)"
                ))
            })?;
        return Ok(Wildcard::parse(&format!("[{address}]")));
    }
    if let Some(c) = host.chars().find(|&c| !host_byte(c as u8) && c != '*') {
        return Err(PatternError::new(format!(
            "`{c}` has no place in a host pattern: write letters, digits, `-`, `.`, `_` and `*`"
        )));
    }
    let host = host.to_ascii_lowercase();
    // `URLPattern` reads each literal piece of a host as a host of its own, and one that ends in
    // a number as an IPv4 address: `192.168.*` becomes `192.0.0.168*`. Refuse what it would
    // read differently from what was meant.
    if host
        .split('*')
        .any(|piece| ends_in_number(piece) && piece.parse::<Ipv4Addr>().is_err())
    {
        return Err(PatternError::new(format!(
            "`{host}` holds a number that is not a whole IPv4 address: write each address in full (`192.168.0.1`); a `*` inside an address is not a range"
        )));
    }
    Ok(Wildcard::parse(&host))
}

fn pattern_path(path: &str) -> Result<Wildcard, PatternError> {
    if path.is_empty() || path == "/" {
        // An origin alone stands for every page of it.
        return Ok(Wildcard::parse("*"));
    }
    if let Some(c) = path.chars().find(|&c| !path_char(c)) {
        let what = if c == ':' {
            "named groups (`:name`): use `*`".to_owned()
        } else {
            format!("`{c}` (escape it as `%XX`)")
        };
        return Err(PatternError::new(format!(
            "Gatehouse does not read {what} in a URL pattern's path"
        )));
    }
    let bytes = path.as_bytes();
    for (i, _) in path.match_indices('%') {
        let escaped = bytes.get(i + 1..i + 3);
        if !escaped.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit)) {
            return Err(PatternError::new(
                "`%` in a path starts an escape of two hexadecimal digits, as in `%20`".to_owned(),
            ));
        }
    }
    if path.split('/').any(is_dot_segment) {
        return Err(PatternError::new(
            "a path pattern holds no `.` or `..` segment: write the path browsers request"
                .to_owned(),
        ));
    }
    Ok(Wildcard::parse(path))
}

/// `host` and the text after its `:`, if any: `[v6]:port`, `name:port`, `name`.
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    match authority.split_once(':') {
        Some((_, port)) if port.contains(':') => None,
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

fn valid_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

fn lower(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// Bytes a host name may hold (browsers send every other one escaped, or refuse it).
fn host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'
}

/// Characters a path pattern may hold besides `*`: RFC 3986's unreserved characters and
/// sub-delimiters without `URLPattern`'s syntax (`(`, `)`, `+`, `:`), `@`, `/` and escapes.
fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&',;=@/%*".contains(c)
}

/// As the URL standard decides whether a host is an IPv4 address: its last label (before a
/// final dot) is a decimal number or a `0x` hexadecimal one.
fn ends_in_number(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or(host);
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || last
            .strip_prefix("0x")
            .or_else(|| last.strip_prefix("0X"))
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `.` and `..`, also escaped (`%2e`), which browsers resolve away before sending a URL.
fn is_dot_segment(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase().replace("%2e", ".");
    lower == "." || lower == ".."
}

/// The default port of the URL standard's special schemes.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> UrlPattern {
        UrlPattern::new(p.to_owned()).expect("valid pattern")
    }

    #[test]
    fn origin_patterns_match_their_origin_only() {
        let p = pattern("https://*.example.com");
        assert!(p.matches("https://app.example.com"));
        assert!(p.matches("https://app.example.com/some/page?q=1#x"));
        assert!(p.matches("https://APP.example.com:443/"));
        assert!(pattern("https://APP.Example.com").matches("https://app.example.com"));
        assert!(!p.matches("https://example.com.evil.test"));
        assert!(!p.matches("http://app.example.com"));
        assert!(!p.matches("https://app.example.com.evil.test"));
        assert!(!p.matches("https://app.example.com:8443"));
        assert!(!p.matches("https://user@app.example.com"));
    }

    #[test]
    fn ports_paths_and_addresses() {
        assert!(pattern("http://localhost:*").matches("http://localhost:1420"));
        assert!(pattern("http://localhost:*").matches("http://localhost"));
        assert!(pattern("http://127.0.0.1:7000").matches("http://127.0.0.1:7000"));
        assert!(!pattern("http://127.0.0.1:7000").matches("http://127.1:7000"));
        assert!(pattern("https://x.test:443").matches("https://x.test"));
        assert!(pattern("http://[::1]:8080").matches("http://[0:0::1]:8080"));
        let app = pattern("https://x.test/app/*");
        assert!(app.matches("https://x.test/app/a/b"));
        assert!(!app.matches("https://x.test/other"));
        assert!(!app.matches("https://x.test/app/../admin"));
        assert!(!app.matches("https://x.test/app/%2E%2e/admin"));
        assert!(pattern("*://x.test").matches("tauri://x.test"));
    }

    #[test]
    fn what_is_not_read_is_an_error() {
        for bad in [
            "not a url pattern",
            "::::",
            "https://x]y.com",
            "https://x.test/:id",
            "https://x.test/(a|b)",
            "https://{a,b}.test",
            "https://x.test/?q=1",
            "https://x.test:99999",
            "https://x.test:8o",
            "https://",
            "x.test",
            "https://bücher.test",
            "https://127.1",
            "http://192.168.*",
            "HTTPS://x.test",
            "https://[::1*]",
            "https://x.test/a/../b",
            "https://x.test/%zz",
        ] {
            assert!(UrlPattern::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcards_place_their_pieces_in_order() {
        let w = Wildcard::parse("a*b*c");
        assert!(w.matches("abc"));
        assert!(w.matches("aXbYc"));
        assert!(!w.matches("acb"));
        assert!(!w.matches("ab"));
        assert!(Wildcard::parse("*").matches(""));
        assert!(!Wildcard::parse("aa*aa").matches("aaa"));
    }
}
