//! The word-count plugin of the plugin-host example, in Rust with Gatehouse's child-side client.
//!
//! The core starts it as `rust-plugin`. It reads and writes the core's store, is refused when it
//! tries to listen to events (only the Python plugin may), and exposes `plugin.wordcount` for
//! the core to call. It narrates on stderr, says `ready`, then serves the core until the core
//! closes its stdin. The exit status is 1 if anything went differently than that.
//!
//! ```text
//! wordcount-plugin [--calls N] [--framing lines|length-prefixed]
//! ```
//!
//! `--calls N` adds N concurrent write-then-read round trips, each checked, before `ready` (the
//! tests use it to show that a faulty plugin beside this one costs it nothing).

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gatehouse::stdio::{Client, ClientError, Framing};
use gatehouse::{ErrorCode, RpcError};
use plugin_host::protocol::{HostInfo, WordCount, WordCountParams, NOT_ALLOWED, WORDCOUNT};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// How long any one call to the core may take before the plugin gives up on it.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// How many requests of the round trips may wait for the core at once: well under the core's
/// per-connection limit (`max_in_flight`, 64 by default), over which requests are refused with
/// `-32007`.
const IN_FLIGHT: usize = 32;

/// The greeting this plugin stores, and the text the core usually asks it to count.
const GREETING: &str = "hello from the word-count plugin, written in Rust";

struct Args {
    calls: usize,
    framing: Framing,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        calls: 0,
        framing: Framing::Lines,
    };
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--calls", Some(n)) => {
                parsed.calls = n.parse().map_err(|e| format!("--calls {n}: {e}"))?;
            }
            ("--framing", Some(f)) if f == "lines" => parsed.framing = Framing::Lines,
            ("--framing", Some(f)) if f == "length-prefixed" => {
                parsed.framing = Framing::LengthPrefixed;
            }
            (other, _) => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(parsed)
}

/// The plugin's state: its client, and how many things went differently than expected.
struct Plugin {
    client: Client,
    surprises: AtomicUsize,
}

impl Plugin {
    async fn call<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T, String> {
        match tokio::time::timeout(CALL_TIMEOUT, self.client.call::<T>(method, params)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no reply within {CALL_TIMEOUT:?}")),
        }
    }

    fn surprise(&self, what: &str) {
        self.surprises.fetch_add(1, Ordering::Relaxed);
        eprintln!("✗ {what}");
    }

    /// Calls `method`, which must succeed.
    async fn expect_ok<T: DeserializeOwned + serde::Serialize>(
        &self,
        what: &str,
        method: &str,
        params: Value,
    ) -> Option<T> {
        match self.call::<T>(method, params).await {
            Ok(value) => {
                let shown = serde_json::to_string(&value).unwrap_or_default();
                eprintln!("✓ {what} → {}", shorten(&shown, 70));
                Some(value)
            }
            Err(e) => {
                self.surprise(&format!("{what}: unexpectedly failed: {e}"));
                None
            }
        }
    }

    /// Makes an `attempt` (of the core's command `method`) that must be refused as not
    /// allowed; tells the core's log what it saw.
    async fn expect_refused<T: std::fmt::Debug>(
        &self,
        what: &str,
        method: &str,
        attempt: impl std::future::Future<Output = Result<T, ClientError>>,
    ) {
        match tokio::time::timeout(CALL_TIMEOUT, attempt).await {
            Ok(Err(ClientError::Rpc { code, data, .. })) if code == NOT_ALLOWED => {
                let caller = data
                    .as_ref()
                    .and_then(|d| d.get("caller"))
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                eprintln!("✓ {what} → refused ({code}, as `{caller}`)");
                let report = format!("refused {method}: code={code} caller={caller}");
                if let Err(e) = self
                    .call::<Value>("log", json!({"level": "info", "message": report}))
                    .await
                {
                    eprintln!("  (the core's log refused the report: {e})");
                }
            }
            Ok(Err(e)) => self.surprise(&format!("{what}: failed, but not as refused: {e}")),
            Ok(Ok(v)) => self.surprise(&format!("{what}: unexpectedly allowed → {v:?}")),
            Err(_) => self.surprise(&format!("{what}: no reply within {CALL_TIMEOUT:?}")),
        }
    }

    /// `n` concurrent write-then-read round trips, each reading back exactly what it wrote, at
    /// most [`IN_FLIGHT`] at a time.
    async fn round_trips(self: &Arc<Self>, n: usize) {
        let mut tasks = tokio::task::JoinSet::new();
        let in_flight = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        for i in 0..n {
            let plugin = Arc::clone(self);
            let in_flight = Arc::clone(&in_flight);
            tasks.spawn(async move {
                let _permit = in_flight.acquire_owned().await.map_err(|e| e.to_string())?;
                let key = format!("check-{i}");
                let value = format!("value {i} from rust-plugin");
                plugin
                    .call::<Option<String>>("kv_set", json!({"key": key, "value": value}))
                    .await?;
                let back: Option<String> = plugin.call("kv_get", json!({"key": key})).await?;
                if back.as_deref() == Some(value.as_str()) {
                    Ok(())
                } else {
                    Err(format!("{key}: wrote {value:?}, read back {back:?}"))
                }
            });
        }
        let mut failed = 0;
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    failed += 1;
                    self.surprise(&format!("round trip: {e}"));
                }
                Err(e) => {
                    failed += 1;
                    self.surprise(&format!("round trip task: {e}"));
                }
            }
        }
        eprintln!(
            "{} {n} concurrent round trips, {} answered correctly",
            if failed == 0 { "✓" } else { "✗" },
            n - failed
        );
    }
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Counts the words, lines and characters of a text.
fn count(text: &str) -> WordCount {
    WordCount {
        words: text.split_whitespace().count(),
        lines: text.lines().count(),
        chars: text.chars().count(),
    }
}

async fn run(args: Args) -> usize {
    let client = Client::builder().framing(args.framing).stdio();
    client.handle(WORDCOUNT, |params: Value| async move {
        let params: WordCountParams = serde_json::from_value(params).map_err(|e| {
            RpcError::new(
                ErrorCode::InvalidParams,
                format!("expected {{\"text\": …}}: {e}"),
            )
            .with_data(json!({"argument": "text", "reason": e.to_string()}))
        })?;
        Ok::<_, RpcError>(count(&params.text))
    });
    let plugin = Arc::new(Plugin {
        client,
        surprises: AtomicUsize::new(0),
    });

    if let Some(info) = plugin
        .expect_ok::<HostInfo>("host_info", "host_info", json!({}))
        .await
    {
        eprintln!(
            "  the core calls me `{}`; I may call {}",
            info.label,
            info.commands.join(", ")
        );
        if info.label != plugin_host::RUST_PLUGIN {
            plugin.surprise(&format!("the core calls me `{}`", info.label));
        }
    }
    plugin
        .expect_ok::<Vec<String>>("kv_list", "kv_list", json!({}))
        .await;
    plugin
        .expect_ok::<Option<String>>(
            "kv_set greeting",
            "kv_set",
            json!({"key": "greeting", "value": GREETING}),
        )
        .await;
    // `listen` registers with `plugin:event|listen`, which needs `core:event:allow-listen`.
    plugin
        .expect_refused(
            "listen kv-changed (only the watcher may)",
            "plugin:event|listen",
            plugin.client.listen(plugin_host::KV_CHANGED),
        )
        .await;
    if args.calls > 0 {
        plugin.round_trips(args.calls).await;
    }

    if let Err(e) = plugin.client.notify("ready", json!({})).await {
        plugin.surprise(&format!("cannot say ready: {e}"));
    }
    eprintln!("ready: serving plugin.wordcount until the core closes the pipe");
    plugin.client.closed().await;
    eprintln!("the core closed the pipe, bye");
    plugin.surprises.load(Ordering::Relaxed)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("wordcount-plugin: {e}\nusage: wordcount-plugin [--calls N] [--framing lines|length-prefixed]");
            return ExitCode::from(2);
        }
    };
    if run(args).await == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
