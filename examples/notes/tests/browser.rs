//! End to end, in a real headless Chromium: the notes page served by the WebSocket transport,
//! two windows with different grants, events between them, and pages of another origin that
//! try to get in.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`, installed by `.ci/run`); without them every test here fails saying so.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/site.rs"]
mod site;
#[path = "support/temp.rs"]
mod temp;

use browser::{bounded, Browser, Driver};
use serde_json::json;
use site::Site;
use temp::TempDir;

async fn start(dir: &TempDir) -> notes::App {
    notes::start(notes::Config {
        data_dir: dir.path().join("data"),
        ..notes::Config::default()
    })
    .await
    .expect("the notes app starts")
}

/// The value of `#body`.
async fn body(b: &Browser) -> String {
    b.eval("return document.getElementById('body').value;", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_writes_a_note_and_the_viewer_sees_it_through_the_event() {
    bounded(async {
        let dir = TempDir::new("e2e-event");
        let app = start(&dir).await;
        let driver = Driver::start().await;
        let (main, viewer) = tokio::join!(driver.browser(), driver.browser());
        let (main_url, viewer_url) = (app.main_url(), app.viewer_url());
        tokio::join!(main.open_notes(&main_url), viewer.open_notes(&viewer_url));
        assert_eq!(
            main.eval(
                "return document.getElementById('whoami').textContent;",
                vec![]
            )
            .await,
            json!("mainread & write")
        );
        assert_eq!(
            viewer
                .eval(
                    "return document.getElementById('whoami').textContent;",
                    vec![]
                )
                .await,
            json!("viewerread only")
        );
        // The token left the address bar as soon as the page read it.
        let url = viewer.eval("return location.href;", vec![]).await;
        assert!(!url.as_str().unwrap_or_default().contains("token"), "{url}");

        main.type_into("#name", "Groceries").await;
        main.type_into("#body", "milk\neggs").await;
        main.click("#save").await;
        main.until(
            "main to save",
            "return document.getElementById('status').textContent.includes('Saved');",
        )
        .await;
        assert_eq!(
            std::fs::read_to_string(app.data_dir().join("Groceries.md"))
                .expect("the note is a file"),
            "milk\neggs"
        );

        // The viewer did nothing: the `note-changed` event brought the note into its list.
        viewer
            .until(
                "the note in the viewer's list",
                "return document.querySelector('#notes li[data-name=\"Groceries\"]');",
            )
            .await;
        viewer.click("#notes li[data-name=\"Groceries\"]").await;
        viewer
            .until(
                "the note to open",
                "return document.getElementById('body').value === 'milk\\neggs';",
            )
            .await;

        // An edit in main reaches the note open in the viewer.
        main.type_into("#body", "milk\neggs\nbread").await;
        main.click("#save").await;
        viewer
            .until(
                "the open note to update",
                "return document.getElementById('body').value.includes('bread');",
            )
            .await;
        assert_eq!(body(&viewer).await, "milk\neggs\nbread");
        let status = viewer.status().await;
        assert!(status.contains("updated by the main window"), "{status}");

        tokio::join!(main.close(), viewer.close());
        app.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewers_write_is_refused_and_the_page_says_not_allowed() {
    bounded(async {
        let dir = TempDir::new("e2e-refused");
        let app = start(&dir).await;
        let driver = Driver::start().await;
        let viewer = driver.browser().await;
        viewer.open_notes(&app.viewer_url()).await;

        viewer.type_into("#name", "sneaky").await;
        viewer.type_into("#body", "the viewer should not write this").await;
        viewer.click("#save").await;
        let status = viewer
            .until("the refusal", "const s = document.getElementById('status'); return s.classList.contains('error') && s.textContent;")
            .await;
        let status = status.as_str().unwrap_or_default();
        assert!(status.contains("not allowed"), "{status}");
        assert!(status.contains("write_note"), "{status}");
        assert!(!app.data_dir().join("sneaky.md").exists(), "nothing was written");

        viewer.close().await;
        app.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_from_another_origin_cannot_connect_or_invoke() {
    bounded(async {
        let dir = TempDir::new("e2e-origin");
        let app = start(&dir).await;
        // The attacker even knows a real token: the Origin check alone must stop it.
        let ws = format!("ws://{}/gatehouse/ws?token={}", app.addr(), app.main().token());
        let client = format!("http://{}/gatehouse/gatehouse.js", app.addr());
        let script = format!(
            r#"
const report = (key, value) => {{ document.body.dataset[key] = value; }};

// 1. A bare WebSocket to the core, then a request on it.
const socket = new WebSocket({ws:?});
socket.onopen = () => {{
  report("socket", "open");
  socket.send(JSON.stringify({{ jsonrpc: "2.0", id: 1, method: "write_note", params: {{ name: "pwned", body: "by a socket" }} }}));
}};
socket.onmessage = (e) => report("reply", e.data);
socket.onclose = (e) => report("socket", (document.body.dataset.socket || "") + " closed " + e.code);

// 2. The core's own copy of the client: another origin may not even load it.
import({client:?}).then(
  () => report("theirClient", "imported"),
  (e) => report("theirClient", "blocked: " + e.message),
);

// 3. A copy of the client served by this site, pointed at the core with the token.
import("/gatehouse.js").then(async (gatehouse) => {{
  const statuses = [];
  gatehouse.onStatus((s) => {{ statuses.push(s); report("statuses", statuses.join(",")); }});
  gatehouse.connect({{ url: {ws:?}, token: {token:?} }});
  try {{
    await gatehouse.invoke("write_note", {{ name: "pwned", body: "by the client" }}, {{ timeout: 3000 }});
    report("invoke", "succeeded");
  }} catch (e) {{
    report("invoke", "refused: " + e.message);
  }}
}}, (e) => report("invoke", "no client: " + e.message));
"#,
            token = app.main().token(),
        );
        let evil = Site::serve(vec![
            ("/", "text/html", "<!doctype html><title>elsewhere</title><script type=\"module\" src=\"/attack.js\"></script>".to_owned()),
            ("/attack.js", "text/javascript", script),
            ("/gatehouse.js", "text/javascript", include_str!("../../../runtime/client/gatehouse.js").to_owned()),
        ])
        .await;

        let driver = Driver::start().await;
        let browser = driver.browser().await;
        browser.client.goto(&evil.url("/")).await.expect("open the other site");
        let socket = browser
            .until("the socket to close", "const s = document.body.dataset.socket; return s && s.includes('closed') && s;")
            .await;
        assert_eq!(socket, json!(" closed 1006"), "the handshake was refused, the socket never opened");
        let theirs = browser.until("the import of the core's client", "return document.body.dataset.theirClient;").await;
        assert!(theirs.as_str().unwrap_or_default().starts_with("blocked"), "{theirs}");
        let invoke = browser.until("the invoke to settle", "return document.body.dataset.invoke;").await;
        let invoke = invoke.as_str().unwrap_or_default();
        assert!(invoke.starts_with("refused: no connection to the core"), "{invoke}");
        let statuses = browser.eval("return document.body.dataset.statuses || '';", vec![]).await;
        assert!(
            !statuses.as_str().unwrap_or_default().split(',').any(|s| s == "connected"),
            "the client connected: {statuses}"
        );
        assert_eq!(browser.eval("return document.body.dataset.reply || null;", vec![]).await, json!(null));
        assert!(!app.data_dir().join("pwned.md").exists());

        browser.close().await;
        app.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_page_framed_by_another_origin_does_not_run() {
    bounded(async {
        let dir = TempDir::new("e2e-frame");
        let app = start(&dir).await;
        let frame = format!(
            "<!doctype html><title>frames</title>\
             <iframe id=\"f\" src=\"{}\" onload=\"document.body.dataset.framed = 'loaded'\"></iframe>",
            app.main_url()
        );
        let evil = Site::serve(vec![("/", "text/html", frame)]).await;

        let driver = Driver::start().await;
        let browser = driver.browser().await;
        browser.client.goto(&evil.url("/")).await.expect("open the framing site");
        browser.until("the frame to settle", "return document.body.dataset.framed;").await;

        // Inside the frame there is the browser's error page, not ours.
        let inside = match browser.client.clone().enter_frame(0).await {
            Ok(()) => browser
                .client
                .execute("return [location.href, !!(document.body && document.body.dataset.ready)];", vec![])
                .await
                .unwrap_or(json!([null, false])),
            Err(_) => json!([null, false]),
        };
        assert_eq!(inside[1], json!(false), "the framed page ran: {inside}");
        let origin = format!("http://{}", app.addr());
        assert!(!inside[0].as_str().unwrap_or_default().starts_with(&origin), "the frame shows our page: {inside}");
        browser.client.enter_parent_frame().await.expect("leave the frame");

        // The same page opened directly does run. Every running notes page listens to
        // `note-changed`, so the number of listeners the core reaches counts the pages that
        // connected: exactly one, the direct one, although the framed page was loaded first.
        let tab = browser.client.new_window(true).await.expect("a new tab");
        browser.client.switch_to_window(tab.handle).await.expect("switch to it");
        browser.open_notes(&app.main_url()).await;
        let probe = notes::NoteChanged {
            name: "probe".to_owned(),
            kind: notes::ChangeKind::Written,
            by: "test".to_owned(),
        };
        let listeners = app.router().emit(notes::NOTE_CHANGED, &probe).expect("emit");
        assert_eq!(listeners, 1, "only the page opened directly connected");

        browser.close().await;
        app.shutdown().await;
    })
    .await;
}
