//! Abuse of the ws transport's connections, each attack beside an honest window (`main`) whose
//! p99 latency for a small read must stay within 3× of its unloaded value while the server's
//! RSS grows by at most 64 MiB; after the attacker leaves, the server is back to normal within a
//! second.
//!
//! The attackers are other processes (this test binary, re-executed to run [`attacker`]), as a
//! local process would be; the server runs here under a limit of 1 024 open files, the limit
//! the attacks were found under. The tests of this file run one at a time. Loopback only,
//! every loop bounded.

#![cfg(feature = "ws")]

mod abuse_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use abuse_support::*;
use gatehouse::ws::{Limits, Window};
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const SAMPLES: usize = 200;
/// Set in an attacker process: `<mode> <addr> <count> [<token> <origin>]`.
const ATTACK_ENV: &str = "GATEHOUSE_CONNECTION_ATTACK";
/// The open-file limit of the server process during these tests.
const FILES: u64 = 1024;

/// One test at a time: each measures the whole process's memory and open files.
async fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::const_new(());
    SERIAL.lock().await
}

/// Sets the soft limit on open files (never above the hard limit).
#[allow(
    unsafe_code,
    reason = "getrlimit/setrlimit on a local struct: libc has no safe wrapper for them"
)]
fn limit_open_files(soft: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls only read or write `limit`, a valid, exclusively borrowed struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = soft.min(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

/// An attacker process holding connections to the server until dropped.
struct Attacker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Attacker {
    /// Starts an attacker; returns once it holds its connections (its "ready" line).
    fn spawn(spec: &str) -> (Attacker, String) {
        let exe = std::env::current_exe().expect("this test binary");
        let mut child = Command::new(exe)
            .args(["--exact", "attacker", "--nocapture", "--test-threads=1"])
            .env(ATTACK_ENV, spec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the attacker starts");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut attacker = Attacker {
            child,
            stdin,
            stdout,
        };
        let ready = attacker.line("ready");
        (attacker, ready)
    }

    /// The next line of the attacker's that starts with `word`, without the word.
    fn line(&mut self, word: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .stdout
                .read_line(&mut line)
                .expect("the attacker's output");
            assert!(n > 0, "the attacker ended before saying `{word}`");
            // The test harness may have printed "test attacker ... " before it on the line.
            if let Some(at) = line.find(&format!("{word} ")) {
                return line[at + word.len()..].trim().to_owned();
            }
        }
    }

    /// How many of its connections the server has closed.
    fn closed(&mut self) -> usize {
        let stdin = self.stdin.as_mut().expect("running");
        writeln!(stdin, "count").expect("ask the attacker");
        stdin.flush().expect("flush");
        self.line("closed").parse().expect("a count")
    }

    /// Drops every connection at once and waits for the process to end.
    fn leave(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The attacker's side, run in a child process; a no-op in the normal test run.
#[test]
fn attacker() {
    let Ok(spec) = std::env::var(ATTACK_ENV) else {
        return;
    };
    // Never outlive the test that started it.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(28));
        std::process::exit(0);
    });
    let words: Vec<&str> = spec.split(' ').collect();
    let (mode, addr, count) = (
        words[0],
        words[1],
        words[2].parse::<usize>().expect("count"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut sockets = Vec::new();
    let mut websockets = Vec::new();
    let mut refused = 0;
    for _ in 0..count {
        match mode {
            "idle" | "partial" => {
                let Ok(mut tcp) = std::net::TcpStream::connect(addr) else {
                    refused += 1;
                    continue;
                };
                if mode == "partial" {
                    let _ = tcp.write_all(
                        format!("GET /gatehouse/ws HTTP/1.1\r\nHost: {addr}\r\nOrigin: x")
                            .as_bytes(),
                    );
                }
                sockets.push(tcp);
            }
            "window" => {
                let (token, origin) = (words[3], words[4]);
                let opened = runtime.block_on(async {
                    let url = format!("ws://{addr}/gatehouse/ws?token={token}");
                    let mut request = url.into_client_request().ok()?;
                    request
                        .headers_mut()
                        .insert("origin", HeaderValue::from_str(origin).ok()?);
                    let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
                    let handshake = tokio_tungstenite::client_async(request, tcp);
                    let (ws, _) = tokio::time::timeout(Duration::from_secs(5), handshake)
                        .await
                        .ok()?
                        .ok()?;
                    Some(ws)
                });
                match opened {
                    Some(ws) => websockets.push(ws),
                    None => refused += 1,
                }
            }
            other => panic!("unknown attack `{other}`"),
        }
    }
    println!("ready {} {refused}", sockets.len() + websockets.len());
    let mut input = BufReader::new(std::io::stdin());
    let mut line = String::new();
    while input.read_line(&mut line).is_ok_and(|n| n > 0) {
        line.clear();
        let mut closed = 0;
        for tcp in &mut sockets {
            let _ = tcp.set_nonblocking(true);
            let mut buf = [0u8; 512];
            match tcp.read(&mut buf) {
                Ok(0) => closed += 1,
                Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => closed += 1,
                _ => {}
            }
        }
        println!("closed {closed}");
    }
    drop((sockets, websockets));
}

/// Opens `window` within `within`, or `None` (the server did not answer the handshake).
async fn open_within(app: &App, window: &Window, within: Duration) -> Option<Ws> {
    let addr = app.server.local_addr();
    let url = format!("ws://{addr}/gatehouse/ws?token={}", window.token());
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "origin",
        HeaderValue::from_str(app.server.origin()).expect("header"),
    );
    tokio::time::timeout(within, async {
        let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
        tokio_tungstenite::client_async(request, tcp)
            .await
            .ok()
            .map(|(ws, _)| ws)
    })
    .await
    .ok()
    .flatten()
}

/// The honest window's baseline: a note to read and the unloaded p99 of reading it.
async fn baseline(app: &App) -> (Ws, Duration) {
    let mut main = app.open(&app.main).await;
    call(
        &mut main,
        1,
        "write_note",
        json!({ "name": "a", "text": "hello" }),
    )
    .await;
    let unloaded = p99(&mut main, SAMPLES, "read_note", json!({ "name": "a" })).await;
    (main, unloaded)
}

/// The honest window still connects in time and reads at its usual speed.
async fn honest_is_served(app: &App, main: &mut Ws, unloaded: Duration, what: &str) {
    let started = Instant::now();
    let mut fresh = open_within(app, &app.main, Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("{what}: the honest window cannot connect"));
    assert!(
        started.elapsed() <= Duration::from_secs(1),
        "{what}: connecting took {:?}",
        started.elapsed()
    );
    let loaded = p99(&mut fresh, SAMPLES, "read_note", json!({ "name": "a" })).await;
    assert_latency_bounded(what, unloaded, loaded);
    let loaded = p99(main, SAMPLES, "read_note", json!({ "name": "a" })).await;
    assert_latency_bounded(what, unloaded, loaded);
}

/// After the attacker left: within a second, a new connection is served at the usual speed.
async fn back_to_normal(app: &App, unloaded: Duration, what: &str) {
    let left = Instant::now();
    let mut ws = loop {
        if let Some(ws) = open_within(app, &app.main, Duration::from_millis(200)).await {
            break ws;
        }
        assert!(
            left.elapsed() < Duration::from_secs(1),
            "{what}: not back to normal within a second"
        );
    };
    assert!(left.elapsed() < Duration::from_secs(1), "{what}");
    let after = p99(&mut ws, SAMPLES, "read_note", json!({ "name": "a" })).await;
    assert_latency_bounded(what, unloaded, after);
}

/// Defect: no connection cap. A local process holding ~1 100 idle TCP connections (no token,
/// no `Origin`) under a 1 024-file limit locked the real window out: the server ran out of
/// file descriptors and could accept nothing. Now the oldest handshake makes room for a new
/// one, so at most `max_handshakes` idle sockets are kept.
async fn sockets_that_say_little(mode: &str) {
    limit_open_files(FILES);
    let app = App::start(Limits::default()).await;
    let (mut main, unloaded) = baseline(&app).await;
    let before = rss();
    let addr = app.server.local_addr();
    let attackers: Vec<(Attacker, String)> = (0..2)
        .map(|_| Attacker::spawn(&format!("{mode} {addr} 550")))
        .collect();
    let what = format!("1 100 {mode} sockets");
    honest_is_served(&app, &mut main, unloaded, &what).await;
    assert_memory_bounded(&what, before, rss());
    let mut closed = 0;
    let mut held = 0;
    let mut leaving = Vec::new();
    for (mut attacker, ready) in attackers {
        held += ready
            .split(' ')
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        closed += attacker.closed();
        leaving.push(attacker);
    }
    let kept = held - closed;
    assert!(
        kept <= Limits::default().max_handshakes,
        "{what}: the server kept {kept} of them open"
    );
    for attacker in leaving {
        attacker.leave();
    }
    back_to_normal(&app, unloaded, &what).await;
    app.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_do_not_lock_the_window_out() {
    let _serial = serial().await;
    sockets_that_say_little("idle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_handshakes_do_not_lock_the_window_out() {
    let _serial = serial().await;
    sockets_that_say_little("partial").await;
}

/// Defect: a window's token allowed any number of connections, each ≈138 KiB held for as long
/// as its peer liked: a read-only window opening 1 000 of them cost the core 138 MiB and a
/// file each. Now a window holds at most `max_connections_per_label`; the rest get 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_window_cannot_hoard_connections() {
    let _serial = serial().await;
    limit_open_files(FILES);
    let limits = Limits::default();
    let app = App::start(limits.clone()).await;
    let (mut main, unloaded) = baseline(&app).await;
    let before = rss();
    let addr = app.server.local_addr();
    let spec = format!(
        "window {addr} 1000 {} {}",
        app.viewer.token(),
        app.server.origin()
    );
    let (attacker, ready) = Attacker::spawn(&spec);
    let accepted: usize = ready
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert_eq!(accepted, limits.max_connections_per_label, "{ready}");
    assert_eq!(app.viewer.connections(), limits.max_connections_per_label);
    let what = "a read-only window opening 1 000 connections";
    honest_is_served(&app, &mut main, unloaded, what).await;
    assert_memory_bounded(what, before, rss());
    attacker.leave();
    back_to_normal(&app, unloaded, what).await;
    // Its places are free again.
    let deadline = Instant::now() + Duration::from_secs(1);
    while app.viewer.connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "the window's places are not freed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.server.shutdown().await;
}
