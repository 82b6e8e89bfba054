//! The notes server over plain HTTP from Rust: a forged `Host` header (DNS rebinding) is
//! refused for pages, the client and the WebSocket endpoint alike, while the real one is served.

#[path = "support/temp.rs"]
mod temp;

use std::net::SocketAddr;
use std::time::Duration;

use temp::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` and returns the response head (status line and headers).
async fn head(addr: SocketAddr, request: String) -> String {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&head).into_owned()
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the server answers within 10 s")
}

fn status(head: &str) -> u16 {
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"))
}

fn get(path: &str, host: Option<&str>) -> String {
    let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\n{host}Connection: close\r\n\r\n")
}

fn upgrade(path: &str, host: &str, origin: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_host_header_is_refused() {
    let dir = TempDir::new("http-host");
    let app = notes::start(notes::Config {
        data_dir: dir.path().join("data"),
        ..notes::Config::default()
    })
    .await
    .expect("start");
    let addr = app.addr();
    let port = addr.port();
    let own = format!("127.0.0.1:{port}");

    // The real host: the page, with its security headers.
    let page = head(addr, get("/", Some(&own))).await;
    assert_eq!(status(&page), 200, "{page}");
    let lower = page.to_ascii_lowercase();
    assert!(
        lower.contains("content-security-policy:") && lower.contains("frame-ancestors 'none'"),
        "{page}"
    );
    assert_eq!(
        status(&head(addr, get("/", Some(&format!("localhost:{port}")))).await),
        200
    );

    // A page on a rebound name, or any other, gets nothing.
    let other_port = port.wrapping_add(1).max(1);
    for host in [
        format!("evil.test:{port}"),
        format!("127.0.0.1.evil.test:{port}"),
        format!("localhost.evil.test:{port}"),
        format!("127.0.0.1:{other_port}"),
        "127.0.0.1".to_owned(),
        format!("127.0.0.1:{port}.evil.test"),
    ] {
        for path in ["/", "/app.js", "/gatehouse/gatehouse.js"] {
            let response = head(addr, get(path, Some(&host))).await;
            let code = status(&response);
            assert!(
                (400..500).contains(&code),
                "Host {host}, {path}: {response}"
            );
        }
    }
    let response = head(addr, get("/", None)).await;
    assert!(
        (400..500).contains(&status(&response)),
        "no Host: {response}"
    );

    // The WebSocket handshake, with a real token and our own Origin: accepted under the real
    // Host, refused under a forged one.
    let ws = format!("/gatehouse/ws?token={}", app.main().token());
    let origin = format!("http://{own}");
    let accepted = head(addr, upgrade(&ws, &own, &origin)).await;
    assert_eq!(status(&accepted), 101, "{accepted}");
    for host in [
        format!("evil.test:{port}"),
        format!("127.0.0.1.evil.test:{port}"),
    ] {
        let refused = head(addr, upgrade(&ws, &host, &origin)).await;
        assert!(
            (400..500).contains(&status(&refused)),
            "Host {host}: {refused}"
        );
    }

    app.shutdown().await;
}
