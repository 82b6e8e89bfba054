//! What the plugin-host tests share: the real plugins' commands, and time limits.

#![allow(dead_code, unreachable_pub)] // each test file uses a part

use std::future::Future;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse::process::Child;
use plugin_host::plugin;

/// The most any one step of a test may take; every wait in the tests is bounded by it.
pub const LIMIT: Duration = Duration::from_secs(60);

/// The Rust plugin (`wordcount-plugin`) with `args`.
pub fn rust_plugin(args: &[&str]) -> Command {
    plugin::rust_plugin(Path::new(env!("CARGO_BIN_EXE_wordcount-plugin")), args)
}

/// The Python plugin with `args`, run by `$PYTHON` or `python3`.
pub fn python_plugin(args: &[&str]) -> Command {
    plugin::python_plugin(args)
}

/// The faulty plugin in `mode`, with `args`.
pub fn faulty_plugin(mode: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_faulty-plugin"));
    command.arg(mode).args(args);
    command
}

/// Runs `step`, failing the test if it takes longer than [`LIMIT`].
pub async fn bounded<F: Future>(what: &str, step: F) -> F::Output {
    match tokio::time::timeout(LIMIT, step).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: took longer than {LIMIT:?}"),
    }
}

/// A plugin's stderr lines, collected as they arrive (shown when an assertion fails).
#[derive(Clone, Default)]
pub struct Stderr(Arc<Mutex<Vec<String>>>);

impl Stderr {
    /// Collects `child`'s captured stderr.
    pub fn collect(child: &Child) -> Self {
        let collected = Self::default();
        if let Some(mut lines) = child.take_stderr() {
            let into = collected.clone();
            tokio::spawn(async move {
                while let Some(line) = lines.next_line().await {
                    into.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        collected
    }

    /// Everything so far, one line each.
    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
    }

    /// Waits until a line contains `needle`; fails at once if `child` exits first.
    pub async fn wait_for(&self, needle: &str, child: &Child) {
        bounded(&format!("waiting for stderr line {needle:?}"), async {
            let mut exited_at = None;
            while !self.text().contains(needle) {
                // Lines written just before the exit may still be on their way.
                match (exited_at, child.try_exited()) {
                    (None, Some(_)) => exited_at = Some(std::time::Instant::now()),
                    (Some(at), _) if at.elapsed() > Duration::from_secs(1) => panic!(
                        "the child exited without writing {needle:?}:\n{}",
                        self.text()
                    ),
                    _ => {}
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }
}
