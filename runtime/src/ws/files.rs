//! The frontend folder and the JavaScript client, served read-only.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Response, StatusCode};

/// The JavaScript client, built into the binary.
const CLIENT_JS: &str = include_str!("../../client/gatehouse.js");
/// Its TypeScript declarations.
const CLIENT_DTS: &str = include_str!("../../client/gatehouse.d.ts");

/// `/gatehouse/gatehouse.js`.
pub(crate) fn client_js(method: &Method) -> Response<Body> {
    fixed(method, CLIENT_JS, "text/javascript; charset=utf-8")
}

/// `/gatehouse/gatehouse.d.ts`.
pub(crate) fn client_dts(method: &Method) -> Response<Body> {
    fixed(method, CLIENT_DTS, "application/typescript; charset=utf-8")
}

fn fixed(method: &Method, text: &'static str, content_type: &'static str) -> Response<Body> {
    if let Some(refused) = refuse_method(method) {
        return refused;
    }
    ok(method, Body::from(text), text.len(), content_type)
}

/// Serves `path` (the request's path, still percent-encoded) from `root`, a canonical folder.
///
/// Only regular files inside `root` are served, after symbolic links are resolved; a folder
/// is served as its `index.html`, never listed. Path segments that are empty, `.`, `..`, start
/// with a dot or hold a backslash, a colon or NUL are refused before the file system is touched.
pub(crate) async fn serve(root: Option<&Path>, method: &Method, path: &str) -> Response<Body> {
    if let Some(refused) = refuse_method(method) {
        return refused;
    }
    let Some(root) = root else {
        return not_found();
    };
    let Some(relative) = relative_path(path) else {
        crate::log::warn_limited!(path = %truncate(path), "refused file request: invalid path");
        return not_found();
    };
    let Some(file) = resolve(root, &relative).await else {
        return not_found();
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let len = bytes.len();
            ok(method, Body::from(bytes), len, content_type(&file))
        }
        Err(error) => {
            crate::log::warn_limited!(file = %file.display(), %error, "cannot read frontend file");
            not_found()
        }
    }
}

/// The canonical file to serve for `relative`, if it is a regular file inside `root`.
async fn resolve(root: &Path, relative: &Path) -> Option<PathBuf> {
    let mut file = inside(root, &root.join(relative)).await?;
    if tokio::fs::metadata(&file).await.ok()?.is_dir() {
        file = inside(root, &file.join("index.html")).await?;
    }
    tokio::fs::metadata(&file)
        .await
        .ok()?
        .is_file()
        .then_some(file)
}

/// `path` with symbolic links resolved, if that is still inside `root`.
async fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let canonical = tokio::fs::canonicalize(path).await.ok()?;
    if canonical.starts_with(root) {
        Some(canonical)
    } else {
        crate::log::warn_limited!(path = %path.display(), "refused file request: it leads out of the frontend folder");
        None
    }
}

/// Decodes the request path into safe relative segments; `None` for anything suspicious.
fn relative_path(path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(path.as_bytes())?;
    let decoded = String::from_utf8(decoded).ok()?;
    let mut relative = PathBuf::new();
    let mut segments = decoded.strip_prefix('/')?.split('/').peekable();
    while let Some(segment) = segments.next() {
        if segment.is_empty() {
            // Only a trailing slash (`/docs/`) may leave a segment empty.
            if segments.peek().is_none() {
                break;
            }
            return None;
        }
        let unsafe_char = |c: char| c == '\\' || c == ':' || c == '\0' || c.is_control();
        if segment.starts_with('.') || segment.contains(unsafe_char) {
            return None;
        }
        relative.push(segment);
    }
    Some(relative)
}

fn percent_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes.iter();
    while let Some(&b) = rest.next() {
        if b == b'%' {
            let hi = hex(*rest.next()?)?;
            let lo = hex(*rest.next()?)?;
            out.push(hi << 4 | lo);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

fn hex(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn content_type(file: &Path) -> &'static str {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn refuse_method(method: &Method) -> Option<Response<Body>> {
    if method == Method::GET || method == Method::HEAD {
        return None;
    }
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    Some(response)
}

fn ok(method: &Method, body: Body, len: usize, content_type: &'static str) -> Response<Body> {
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        body
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn not_found() -> Response<Body> {
    plain(StatusCode::NOT_FOUND, "not found")
}

/// A plain-text response.
pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// At most 200 characters of an untrusted value, for logs.
pub(crate) fn truncate(value: &str) -> &str {
    match value.char_indices().nth(200) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths_are_relative_segments() {
        assert_eq!(relative_path("/"), Some(PathBuf::new()));
        assert_eq!(relative_path("/index.html"), Some("index.html".into()));
        assert_eq!(relative_path("/css/app.css"), Some("css/app.css".into()));
        assert_eq!(relative_path("/docs/"), Some("docs".into()));
        assert_eq!(relative_path("/a%20b.html"), Some("a b.html".into()));
    }

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "/..",
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/secret",
            "/%2E%2E%2Fsecret",
            "/a%2f..%2f..%2fsecret",
            "/..%5csecret",
            "/a\\..\\b",
            "//etc/passwd",
            "/a//b",
            "/.git/config",
            "/.env",
            "/./index.html",
            "/c:/windows",
            "/a%00b",
            "/%zz",
            "/%2",
            "/%ff",
            "relative",
            "",
        ] {
            assert_eq!(relative_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("a/index.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("app.mjs")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
    }

    #[test]
    fn truncate_is_char_safe() {
        let long = "é".repeat(300);
        assert_eq!(truncate(&long).chars().count(), 200);
        assert_eq!(truncate("short"), "short");
    }
}
