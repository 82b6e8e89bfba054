//! Who may connect to the ws transport: `Host`, `Origin` and token checks at the handshake,
//! the grants a remote origin gets, and the files served beside the endpoint.

#![cfg(feature = "ws")]

mod ws_common;

use std::path::PathBuf;

use gatehouse::ws::{Error, Limits, Server};
use serde_json::json;
use ws_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_origin_connects_as_the_window_of_its_token() {
    let app = App::start(Limits::default()).await;
    let mut ws = app.open(&app.main).await;
    let reply = call(&mut ws, 1, "whoami", json!({})).await;
    assert_eq!(
        reply["result"],
        json!({ "label": "main", "origin": "local" })
    );
    let reply = call(&mut ws, 2, "add", json!({ "a": 2, "b": 3 })).await;
    assert_eq!(reply["result"], json!(5));

    // The same server under its other loopback name is still our own origin.
    let localhost = format!("localhost:{}", app.port());
    let mut ws = app
        .connect(
            Some(&format!("http://{localhost}")),
            Some(&localhost),
            &format!("token={}", app.viewer.token()),
        )
        .await
        .expect("localhost is ours");
    let reply = call(&mut ws, 1, "whoami", json!({})).await;
    assert_eq!(
        reply["result"],
        json!({ "label": "viewer", "origin": "local" })
    );
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_origins_are_refused_at_the_handshake() {
    let app = App::start(Limits::default()).await;
    let port = app.port();
    let token = format!("token={}", app.main.token());
    let origins = [
        "http://127.0.0.1.evil.test".to_owned(),
        format!("http://127.0.0.1.evil.test:{port}"),
        "http://localhost.evil.test".to_owned(),
        format!("http://localhost.evil.test:{port}"),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        format!("https://127.0.0.1:{port}"),
        format!("ws://127.0.0.1:{port}"),
        // Not how any browser spells our origin: refused rather than normalised.
        format!("HTTP://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}/"),
        format!("http://user@127.0.0.1:{port}"),
        format!("http://localhost.:{port}"),
        "null".to_owned(),
        "".to_owned(),
        "https://example.com".to_owned(),
        "https://app.example.com.evil.test".to_owned(),
    ];
    for origin in &origins {
        let (code, reason) = refusal(app.connect(Some(origin), None, &token).await);
        assert_eq!(code, 403, "{origin:?}");
        assert_eq!(reason, "origin not allowed", "{origin:?}");
    }
    let (code, reason) = refusal(app.connect(None, None, &token).await);
    assert_eq!((code, reason.as_str()), (403, "missing Origin header"));

    // Two Origin headers, the first our own: refused, not "first one wins".
    let request = format!(
        "GET /gatehouse/ws?{token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
         Origin: https://evil.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let response = raw(app.addr(), request.as_bytes()).await;
    assert_eq!(status(&response), 403, "{response}");
    assert!(
        body(&response).contains("more than one Origin"),
        "{response}"
    );

    // The server keeps serving its own page.
    let mut ws = app.open(&app.main).await;
    assert_eq!(
        call(&mut ws, 1, "add", json!({"a": 1, "b": 1})).await["result"],
        2
    );
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_origin_gets_only_its_capability() {
    let app = App::start(Limits::default()).await;
    let token = format!("token={}", app.main.token());
    let mut ws = app
        .connect(Some("https://app.example.com"), None, &token)
        .await
        .expect("a remote origin matched by a capability is accepted");
    let reply = call(&mut ws, 1, "whoami", json!({})).await;
    assert_eq!(
        reply["result"],
        json!({ "label": "main", "origin": "https://app.example.com" })
    );
    assert_eq!(
        call(&mut ws, 2, "remote_only", json!({})).await["result"],
        "remote"
    );
    // Nothing of the local grants of `main`.
    for (id, method, params) in [
        (3, "local_only", json!({})),
        (4, "add", json!({"a": 1, "b": 2})),
        (5, "count_to", json!({"n": 1, "progress": "__CHANNEL__:1"})),
        (6, LISTEN, json!({"event": "x", "handler": "__CHANNEL__:2"})),
    ] {
        let reply = call(&mut ws, id, method, params).await;
        assert_eq!(code(&reply), -32001, "{method}: {reply}");
        let message = reply["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("not allowed"), "{message}");
    }

    // And a local page of `main` cannot call what only the remote origin may.
    let mut local = app.open(&app.main).await;
    assert_eq!(
        code(&call(&mut local, 1, "remote_only", json!({})).await),
        -32001
    );

    // A remote origin no capability names is refused outright.
    let (refused, _) = refusal(
        app.connect(Some("https://app.example.org"), None, &token)
            .await,
    );
    assert_eq!(refused, 403);
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_hosts_are_refused_for_the_endpoint_and_for_files() {
    let site = Site::new();
    let app = App::start_with(Limits::default(), Some(&site.root)).await;
    let port = app.port();
    let origin = app.server.origin().to_owned();
    let token = format!("token={}", app.main.token());
    let forged = [
        "evil.test".to_owned(),
        format!("evil.test:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        format!("127.0.0.1.evil.test:{port}"),
        format!("LOCALHOST:{port}"),
        format!("localhost.:{port}"),
        format!("127.0.0.1:{port}."),
        "127.0.0.1".to_owned(),
    ];
    for host in &forged {
        let (refused, _) = refusal(app.connect(Some(&origin), Some(host), &token).await);
        assert_eq!(refused, 421, "ws with Host {host:?}");
        let response = get(app.addr(), host, "/").await;
        assert_eq!(status(&response), 421, "GET / with Host {host:?}");
        assert_security_headers(&response);
        let response = get(app.addr(), host, "/gatehouse/gatehouse.js").await;
        assert_eq!(status(&response), 421, "client with Host {host:?}");
    }
    // Two Host headers, no Host, or an absolute URI naming another host.
    let ours = app.host();
    for request in [
        format!("GET / HTTP/1.1\r\nHost: {ours}\r\nHost: evil.test\r\nConnection: close\r\n\r\n"),
        "GET / HTTP/1.0\r\n\r\n".to_owned(),
        format!("GET http://evil.test/ HTTP/1.1\r\nHost: {ours}\r\nConnection: close\r\n\r\n"),
    ] {
        let response = raw(app.addr(), request.as_bytes()).await;
        let code = status(&response);
        assert!(code == 400 || code == 421, "{request:?} → {response}");
    }
    let response = get(app.addr(), &ours, "/").await;
    assert_eq!(status(&response), 200, "{response}");
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_alone_decides_the_window() {
    let app = App::start(Limits::default()).await;
    let origin = app.server.origin().to_owned();
    let main = app.main.token().to_owned();
    let viewer = app.viewer.token().to_owned();
    let encoded: String = main.bytes().map(|b| format!("%{b:02x}")).collect();
    let refused = [
        (String::new(), "missing token"),
        ("token=".to_owned(), "missing token"),
        ("token".to_owned(), "missing token"),
        ("Token=".to_owned() + &main, "missing token"),
        (format!("token={}", "0".repeat(64)), "invalid token"),
        (format!("token={}", &main[..63]), "invalid token"),
        (format!("token={main}0"), "invalid token"),
        (format!("token={}", main.to_uppercase()), "invalid token"),
        (format!("token={encoded}"), "invalid token"),
        (format!("token={main}&token={main}"), "more than one token"),
        (
            format!("token={viewer}&token={main}"),
            "more than one token",
        ),
    ];
    for (query, reason) in &refused {
        let (code, text) = refusal(app.connect(Some(&origin), None, query).await);
        assert_eq!((code, text.as_str()), (403, *reason), "{query}");
    }
    // Another window's token connects as that window, whatever else the request claims.
    let mut ws = app
        .connect(
            Some(&origin),
            None,
            &format!("window=main&label=main&token={viewer}"),
        )
        .await
        .expect("viewer's token is valid");
    let reply = call(&mut ws, 1, "whoami", json!({})).await;
    assert_eq!(reply["result"]["label"], "viewer");
    assert_eq!(
        code(&call(&mut ws, 2, "local_only", json!({})).await),
        -32001
    );
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_have_distinct_secret_urls() {
    let app = App::start(Limits::default()).await;
    let origin = app.server.origin().to_owned();
    assert_eq!(origin, format!("http://127.0.0.1:{}", app.port()));
    assert_eq!(app.main.label(), "main");
    assert_eq!(app.main.token().len(), 64);
    assert!(app.main.token().bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(app.main.token(), app.viewer.token());
    assert_eq!(
        app.main.url(),
        format!("{origin}/#token={}", app.main.token())
    );
    assert_eq!(
        app.main.page_url("viewer.html"),
        format!("{origin}/viewer.html#token={}", app.main.token())
    );
    assert!(!format!("{:?}", app.main).contains(&app.main.token()));
    // A window registered after the server started works too.
    let late = app.server.window("viewer");
    let mut ws = app.open(&late).await;
    assert_eq!(
        call(&mut ws, 1, "whoami", json!({})).await["result"]["label"],
        "viewer"
    );
    app.server.shutdown().await;
}

#[tokio::test]
async fn only_loopback_addresses_are_bound() {
    let result = Server::builder(router())
        .bind("0.0.0.0:0".parse().expect("addr"))
        .build()
        .await;
    assert!(matches!(result, Err(Error::NotLoopback(_))), "{result:?}");
    let result = Server::builder(router())
        .frontend("/this/folder/does/not/exist")
        .build()
        .await;
    assert!(matches!(result, Err(Error::Frontend { .. })), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_with_going_away() {
    let app = App::start(Limits::default()).await;
    let addr = app.addr();
    let mut ws = app.open(&app.main).await;
    assert_eq!(
        call(&mut ws, 1, "add", json!({"a": 1, "b": 1})).await["result"],
        2
    );
    timeout(app.server.shutdown()).await;
    let (close, reason) = closed(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(close), 1001);
    assert_eq!(reason, "server shutting down");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}

/// A frontend folder with a file outside it and ways to try to reach that file.
struct Site {
    base: PathBuf,
    root: PathBuf,
}

impl Site {
    fn new() -> Site {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir().join(format!(
            "gatehouse-ws-site-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let root = base.join("site");
        let write = |path: PathBuf, text: &str| {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write(root.join("index.html"), "<h1>index</h1>");
        write(root.join("sub/page.html"), "<h1>page</h1>");
        write(root.join("sub/app.js"), "export const x = 1;");
        write(root.join("sub/empty/keep.txt"), "kept");
        write(root.join(".secret"), "dot-file");
        write(base.join("outside.txt"), "SECRET OUTSIDE");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("outside.txt"), root.join("escape.txt"))
                .expect("symlink");
            std::os::unix::fs::symlink(&base, root.join("up")).expect("symlink");
            std::os::unix::fs::symlink(root.join("sub/page.html"), root.join("alias.html"))
                .expect("symlink");
        }
        Site { base, root }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn assert_security_headers(response: &str) {
    let csp = header(response, "content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing in {csp}");
    }
    assert_eq!(header(response, "x-frame-options"), Some("DENY"));
    assert_eq!(header(response, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(response, "referrer-policy"), Some("no-referrer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_served_from_the_folder_only() {
    let site = Site::new();
    let app = App::start_with(Limits::default(), Some(&site.root)).await;
    let host = app.host();

    let response = get(app.addr(), &host, "/").await;
    assert_eq!(status(&response), 200, "{response}");
    assert_eq!(body(&response), "<h1>index</h1>");
    assert_eq!(
        header(&response, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_security_headers(&response);
    let csp = header(&response, "content-security-policy").unwrap_or_default();
    assert!(
        csp.contains(&format!("connect-src 'self' ws://{host}")),
        "{csp}"
    );

    let response = get(app.addr(), &host, "/sub/page.html?x=1").await;
    assert_eq!(body(&response), "<h1>page</h1>");
    let response = get(app.addr(), &host, "/sub/app.js").await;
    assert_eq!(
        header(&response, "content-type"),
        Some("text/javascript; charset=utf-8")
    );

    let client = get(app.addr(), &host, "/gatehouse/gatehouse.js").await;
    assert_eq!(status(&client), 200);
    assert_eq!(
        header(&client, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/runtime/client/gatehouse.js"
    ))
    .expect("runtime/client/gatehouse.js");
    assert_eq!(body(&client), shipped);
    assert_security_headers(&client);
    let types = get(app.addr(), &host, "/gatehouse/gatehouse.d.ts").await;
    assert_eq!(status(&types), 200);

    let head = raw(
        app.addr(),
        format!("HEAD / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status(&head), 200);
    assert_eq!(body(&head), "");
    let post = raw(
        app.addr(),
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(status(&post), 405);

    let mut refused = vec![
        "/../outside.txt",
        "/sub/../../outside.txt",
        "/%2e%2e/outside.txt",
        "/%2E%2E/outside.txt",
        "/sub%2f..%2f..%2foutside.txt",
        "/..%2foutside.txt",
        "/..\\outside.txt",
        "/%5c..%5coutside.txt",
        "//etc/passwd",
        "/etc/passwd",
        "/.secret",
        "/%2esecret",
        "/sub/empty/",
        "/sub/empty",
        "/missing.html",
        "/index.html%00.txt",
    ];
    if cfg!(unix) {
        refused.extend(["/escape.txt", "/up/outside.txt"]);
    }
    for path in refused {
        let response = get(app.addr(), &host, path).await;
        let code = status(&response);
        assert!(code == 404 || code == 400, "{path} → {response}");
        assert!(!response.contains("SECRET OUTSIDE"), "{path} leaked");
        assert!(!response.contains("dot-file"), "{path} leaked");
        assert!(!response.contains("keep.txt"), "{path} listed a folder");
    }
    // An absolute path in the request line.
    let response = raw(
        app.addr(),
        format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
            site.base.join("outside.txt").display()
        )
        .as_bytes(),
    )
    .await;
    assert!(!response.contains("SECRET OUTSIDE"), "{response}");

    // A link that stays inside the folder is followed.
    if cfg!(unix) {
        let response = get(app.addr(), &host, "/alias.html").await;
        assert_eq!(body(&response), "<h1>page</h1>");
    }
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_frontend_only_the_client_is_served() {
    let app = App::start(Limits::default()).await;
    let response = get(app.addr(), &app.host(), "/").await;
    assert_eq!(status(&response), 404);
    assert_security_headers(&response);
    let response = get(app.addr(), &app.host(), "/gatehouse/gatehouse.js").await;
    assert_eq!(status(&response), 200);
    // A plain GET of the endpoint, with a valid origin and token, is not an upgrade.
    let response = raw(
        app.addr(),
        format!(
            "GET /gatehouse/ws?token={} HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\nConnection: close\r\n\r\n",
            app.main.token(),
            app.host(),
            app.server.origin()
        )
        .as_bytes(),
    )
    .await;
    assert!(status(&response) >= 400, "{response}");
    app.server.shutdown().await;
}

/// Everything logged in this test binary, as text.
fn captured_logs() -> &'static std::sync::Mutex<String> {
    use std::fmt::Write as _;
    use std::sync::{Mutex, OnceLock};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata};

    static LOGS: OnceLock<&'static Mutex<String>> = OnceLock::new();

    struct Text<'a>(&'a mut String);
    impl Visit for Text<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, "{}={value:?} ", field.name());
        }
    }

    /// Records every event and span field, at every level.
    struct Capture(&'static Mutex<String>);
    impl Capture {
        fn push(&self, record: impl FnOnce(&mut Text<'_>)) {
            let mut logs = self.0.lock().unwrap_or_else(|e| e.into_inner());
            record(&mut Text(&mut logs));
            logs.push('\n');
        }
    }
    impl tracing::Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            self.push(|text| span.record(text));
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, values: &Record<'_>) {
            self.push(|text| values.record(text));
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            self.push(|text| {
                let _ = write!(text.0, "{} ", event.metadata().level());
                event.record(text);
            });
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    LOGS.get_or_init(|| {
        let logs: &'static Mutex<String> = Box::leak(Box::new(Mutex::new(String::new())));
        tracing::subscriber::set_global_default(Capture(logs)).expect("first subscriber");
        logs
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_logged_without_the_token() {
    let logs = captured_logs();
    let app = App::start(Limits::default()).await;
    let origin = app.server.origin().to_owned();
    let main = app.main.token().to_owned();
    let mut near_miss = main.clone();
    near_miss.replace_range(..1, if main.starts_with('0') { "1" } else { "0" });
    let port = app.port();
    let evil_host = format!("evil.test:{port}");
    for (origin, host, query) in [
        (Some(origin.as_str()), None, format!("token={near_miss}")),
        (
            Some(origin.as_str()),
            None,
            format!("token={main}&token={main}"),
        ),
        (Some("https://evil.test"), None, format!("token={main}")),
        (None, None, format!("token={main}")),
        (
            Some(origin.as_str()),
            Some(evil_host.as_str()),
            format!("token={main}"),
        ),
    ] {
        let (code, _) = refusal(app.connect(origin, host, &query).await);
        assert!(code == 403 || code == 421, "{code}");
    }
    let mut ws = app.open(&app.main).await;
    assert_eq!(
        call(&mut ws, 1, "add", json!({"a": 1, "b": 1})).await["result"],
        2
    );
    drop(ws);
    app.server.shutdown().await;

    let logs = logs.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(logs.contains("invalid token"), "{logs}");
    assert!(logs.contains("origin not allowed"), "{logs}");
    assert!(logs.contains("unknown Host"), "{logs}");
    for secret in [
        &main,
        &near_miss,
        &app.viewer.token().to_owned(),
        &app.mute.token().to_owned(),
    ] {
        assert!(!logs.contains(&secret[..16]), "a token was logged:\n{logs}");
    }
}
