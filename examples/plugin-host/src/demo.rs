//! The exchange `cargo run -p plugin-host` shows: the core starts both plugins, each calls what
//! it is allowed and is refused what it is not, the watcher hears the store's changes, the core
//! calls the plugins' own methods, then shuts them down.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatehouse::process::Child;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::error::Error;
use crate::host::Host;
use crate::plugin::{self, PYTHON_PLUGIN, RUST_PLUGIN};
use crate::protocol::{KvChanged, WordCount, KV_CHANGED, SEEN, WORDCOUNT};

/// How long a plugin has to start and say `ready`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The width of the "who" column.
const WHO: usize = 13;

/// What the demo printed, line by line; optionally echoed to stdout as it happens.
#[derive(Debug, Default)]
pub struct Transcript {
    lines: Mutex<Vec<(Instant, String)>>,
    echo: bool,
}

impl Transcript {
    /// A transcript that also prints every line to stdout.
    pub fn printing() -> Arc<Self> {
        Arc::new(Self {
            lines: Mutex::default(),
            echo: true,
        })
    }

    /// A transcript that only keeps its lines (for tests).
    pub fn silent() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Adds a line said by `who` (`core`, or a plugin's label).
    pub fn say(&self, who: &str, line: impl AsRef<str>) {
        let line = format!("{who:>WHO$} │ {}", line.as_ref());
        if self.echo {
            println!("{line}");
        }
        self.lock().push((Instant::now(), line));
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.lock().iter().map(|(_, l)| l.clone()).collect()
    }

    /// Waits until no line has arrived for `quiet` (at most `max`), so the plugins' stderr lines
    /// already on their way are shown before the core's next line. Only for readability.
    async fn settle(&self, quiet: Duration, max: Duration) {
        let deadline = Instant::now() + max;
        loop {
            let last = self.lock().last().map(|(at, _)| *at);
            let now = Instant::now();
            let wait = match last {
                Some(at) if now.duration_since(at) < quiet => quiet - now.duration_since(at),
                _ => return,
            };
            if now >= deadline {
                return;
            }
            tokio::time::sleep(wait.min(deadline - now)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Instant, String)>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How the demo ended.
#[derive(Debug)]
pub struct Outcome {
    /// Each plugin's label and how it exited, described.
    pub exits: Vec<(String, String)>,
    /// Whether both plugins exited with status 0 (each exits 1 when something it tried went
    /// differently than the capabilities say).
    pub ok: bool,
}

/// Shows a plugin's stderr lines in the transcript until it closes.
fn forward(out: &Arc<Transcript>, child: &Child) -> Option<tokio::task::JoinHandle<()>> {
    let mut lines = child.take_stderr()?;
    let out = Arc::clone(out);
    let label = child.label().to_owned();
    Some(tokio::spawn(async move {
        while let Some(line) = lines.next_line().await {
            out.say(&label, line);
        }
    }))
}

async fn call<T: DeserializeOwned>(child: &Child, method: &str, params: Value) -> Result<T, Error> {
    child
        .call::<T>(method, params)
        .await
        .map_err(|source| Error::Call {
            label: child.label().to_owned(),
            method: method.to_owned(),
            source,
        })
}

fn counts(host: &Host, label: &str) -> String {
    let mut line = String::new();
    for command in ["host_info", "kv_list", "kv_get", "kv_set", "log", "ready"] {
        let n = host.journal().count(label, command);
        let _ = write!(line, "{command} ×{n}  ");
    }
    line.trim_end().to_owned()
}

/// Runs the whole exchange, with the Rust plugin's binary at `rust_plugin`.
///
/// # Errors
///
/// A plugin could not be started, did not say `ready`, or did not answer the core's call.
pub async fn run(rust_plugin: &Path, out: &Arc<Transcript>) -> Result<Outcome, Error> {
    let quiet = Duration::from_millis(60);
    let most = Duration::from_secs(1);
    let host = Host::new()?;
    for (key, value) in [("motd", "Welcome to the plugin host"), ("owner", "core")] {
        // Cannot fail: short keys and values, an empty store.
        let _ = host.store().set(key, value);
    }
    out.say("core", "the store holds `motd` and `owner`");
    out.say(
        "core",
        "grants: rust-plugin reads and writes the store; python-plugin reads it and hears its changes",
    );

    let python = host.spawn(PYTHON_PLUGIN, plugin::python_plugin::<_, &str>([]))?;
    out.say(
        "core",
        format!(
            "started python-plugin (pid {}): {} plugins/python_plugin.py",
            python.id(),
            plugin::python().to_string_lossy()
        ),
    );
    let python_lines = forward(out, &python);
    host.wait_ready(&python, READY_TIMEOUT).await?;
    out.settle(quiet, most).await;
    out.say("core", "python-plugin is ready");

    let rust = host.spawn(RUST_PLUGIN, plugin::rust_plugin::<_, &str>(rust_plugin, []))?;
    out.say(
        "core",
        format!(
            "started rust-plugin (pid {}): {}",
            rust.id(),
            plugin::RUST_PLUGIN_BIN
        ),
    );
    let rust_lines = forward(out, &rust);
    host.wait_ready(&rust, READY_TIMEOUT).await?;
    // The watcher reads the greeting when it hears of it.
    host.journal()
        .wait_for(READY_TIMEOUT, |e| {
            e.caller == PYTHON_PLUGIN && e.command == "kv_get" && e.detail == "greeting"
        })
        .await;
    out.settle(quiet, most).await;
    out.say("core", "rust-plugin is ready");

    let text = host.store().get("greeting").unwrap_or_default();
    let count: WordCount = call(&rust, WORDCOUNT, json!({ "text": text })).await?;
    out.say(
        "core",
        format!(
            "→ rust-plugin {WORDCOUNT}(greeting) = {} words, {} characters",
            count.words, count.chars
        ),
    );

    let _ = host.store().set("motd", "The plugins are behaving");
    let change = KvChanged {
        key: "motd".to_owned(),
        by: "core".to_owned(),
    };
    let delivered = host
        .router()
        .emit(KV_CHANGED, &change)
        .map_err(|source| Error::Emit {
            event: KV_CHANGED.to_owned(),
            source,
        })?;
    out.say(
        "core",
        format!("changed `motd` and emitted {KV_CHANGED}: delivered to {delivered} listener(s)"),
    );
    let seen: Vec<KvChanged> = call(&python, SEEN, json!({})).await?;
    out.settle(quiet, most).await;
    let seen: Vec<String> = seen
        .iter()
        .map(|c| format!("{} by {}", c.key, c.by))
        .collect();
    out.say(
        "core",
        format!("→ python-plugin {SEEN}() = [{}]", seen.join(", ")),
    );

    out.say(
        "core",
        "what ran, from the core's journal (a refused call never reaches its command):",
    );
    for label in [PYTHON_PLUGIN, RUST_PLUGIN] {
        out.say("core", format!("  {label:<13}  {}", counts(&host, label)));
    }

    out.say("core", "closing the plugins' stdin");
    let (rust_exit, python_exit) = tokio::join!(rust.shutdown(), python.shutdown());
    for lines in [rust_lines, python_lines].into_iter().flatten() {
        let _ = lines.await;
    }
    let mut exits = Vec::new();
    let mut ok = true;
    for (label, exit) in [(RUST_PLUGIN, rust_exit), (PYTHON_PLUGIN, python_exit)] {
        ok &= exit.success();
        out.say("core", format!("{label} exited: {exit}"));
        exits.push((label.to_owned(), exit.to_string()));
    }
    Ok(Outcome { exits, ok })
}
