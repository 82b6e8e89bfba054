//! Headless Chromium driven over WebDriver (chromedriver + fantoccini), for the end-to-end
//! tests. Everything here is bounded in time and cleans up after itself: chromedriver runs in
//! its own process group, killed with every browser it started when the [`Driver`] drops.

#![allow(dead_code, reason = "each test file uses its own part of it")]

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::temp::TempDir;

/// How long one wait for the page may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// How long a whole browser test may take.
pub(crate) const TEST_TIMEOUT: Duration = Duration::from_secs(120);

const INSTALL: &str = "the browser tests need Debian's `chromium` and `chromium-driver` \
     packages: run `.ci/run`, or `apt-get install -y chromium chromium-driver`";

/// Runs a test body, failing it when it takes longer than [`TEST_TIMEOUT`].
pub(crate) async fn bounded<F: Future<Output = ()>>(test: F) {
    if tokio::time::timeout(TEST_TIMEOUT, test).await.is_err() {
        panic!("the test took longer than {TEST_TIMEOUT:?}");
    }
}

fn program(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{} not found at {} ({env} overrides it): {INSTALL}",
        default.rsplit('/').next().unwrap_or(default),
        path.display()
    );
    path
}

/// Whether the chromedriver on `port` answers `/status` with `"ready": true`.
async fn ready(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    // chromedriver keeps the connection open after its answer: read until the answer says so.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let compact: String = String::from_utf8_lossy(&answer)
            .split_whitespace()
            .collect();
        if compact.contains("\"ready\":true") {
            return true;
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&chunk[..n]),
            _ => return false,
        }
    }
}

/// A free TCP port on loopback.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

/// A running chromedriver.
pub(crate) struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
    log: TempDir,
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it says it is ready.
    ///
    /// A port found free may be taken by someone else (another test's server) before
    /// chromedriver binds it; then chromedriver exits, and a plain "something listens there"
    /// check would be fooled by the other listener. So readiness is chromedriver's own
    /// `/status` answer, and a chromedriver that exited is started again on another port.
    pub(crate) async fn start() -> Self {
        let chromium = program("CHROMIUM", "/usr/bin/chromium");
        let chromedriver = program("CHROMEDRIVER", "/usr/bin/chromedriver");
        for _attempt in 0..5 {
            let log = TempDir::new("chromedriver");
            let port = free_port();
            let mut command = Command::new(&chromedriver);
            command
                .arg(format!("--port={port}"))
                .arg(format!(
                    "--log-path={}",
                    log.path().join("chromedriver.log").display()
                ))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            let child = command.spawn().unwrap_or_else(|e| {
                panic!("cannot start {}: {e}; {INSTALL}", chromedriver.display())
            });
            let mut driver = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
                chromium: chromium.clone(),
                log,
            };
            let deadline = Instant::now() + WAIT;
            loop {
                if matches!(driver.child.try_wait(), Ok(Some(_))) {
                    break; // the port was taken: try another
                }
                if ready(port).await {
                    return driver;
                }
                assert!(
                    Instant::now() < deadline,
                    "chromedriver did not become ready on port {port}; {}",
                    driver.log_tail()
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        panic!("chromedriver exited at start five times; is another one holding the ports?")
    }

    /// A new browser: headless Chromium with a fresh profile, offline-friendly.
    pub(crate) async fn browser(&self) -> Browser {
        let profile = TempDir::new("chromium-profile");
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1280,800".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": self.chromium, "args": args },
            "unhandledPromptBehavior": "accept",
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let client = tokio::time::timeout(
            WAIT,
            ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&self.url),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "chromium did not start within {WAIT:?}; {}",
                self.log_tail()
            )
        })
        .unwrap_or_else(|e| panic!("cannot start a chromium session: {e}; {}", self.log_tail()));
        Browser {
            client,
            _profile: profile,
        }
    }

    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.log.path().join("chromedriver.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        format!(
            "chromedriver's log ends with:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Chromium outlives a killed chromedriver, so end the whole process group that
        // `process_group(0)` made for it: chromedriver and every browser it started, nothing
        // else. The `-s KILL -- -PGID` spelling matters: procps' `kill -KILL -PGID` reads the
        // group as an option and signals every process (`kill(-1)`).
        #[cfg(unix)]
        {
            let group = self.child.id();
            if group > 1 {
                let _ = Command::new("kill")
                    .args(["-s", "KILL", "--", &format!("-{group}")])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session (its own Chromium, its own profile).
pub(crate) struct Browser {
    pub(crate) client: Client,
    _profile: TempDir,
}

impl Browser {
    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub(crate) async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something truthy (not null, false, "" or 0) and returns
    /// that; fails after [`WAIT`] saying `what` was awaited and what the page's status line
    /// said.
    pub(crate) async fn until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self
                .client
                .execute(script, vec![])
                .await
                .unwrap_or(Value::Null);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            if Instant::now() > deadline {
                let status = self
                    .client
                    .execute(
                        "const s = document.getElementById('status'); return s && s.textContent;",
                        vec![],
                    )
                    .await
                    .unwrap_or(Value::Null);
                panic!("waited {WAIT:?} for {what}; last value {value}, status line {status}");
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    /// Opens `url` and waits until the notes page has connected and loaded its list.
    pub(crate) async fn open_notes(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        self.until(
            "the page to be ready",
            "return document.body && document.body.dataset.ready === 'true';",
        )
        .await;
    }

    /// The text of the status line.
    pub(crate) async fn status(&self) -> String {
        self.eval(
            "return document.getElementById('status').textContent;",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Types `text` into the element `css` (after clearing it).
    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let element = self
            .client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"));
        element
            .clear()
            .await
            .unwrap_or_else(|e| panic!("cannot clear {css}: {e}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
    }

    /// Clicks the element `css`.
    pub(crate) async fn click(&self, css: &str) {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// A PNG of the window.
    pub(crate) async fn screenshot(&self) -> Vec<u8> {
        self.client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot failed: {e}"))
    }

    /// Ends the session (the browser quits).
    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
    }
}
