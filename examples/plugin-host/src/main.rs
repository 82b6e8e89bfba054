//! `cargo run -p plugin-host`: starts the two plugins and prints their exchange with the core.
//!
//! `RUST_LOG=debug` shows the core's own log (what the plugins send to `log`, every command
//! that ran) on stderr; `PYTHON=…` chooses the Python interpreter.

use std::process::ExitCode;

use plugin_host::demo::{self, Transcript};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let rust_plugin = match plugin_host::plugin::locate_rust_plugin() {
        Ok(path) => path,
        Err(e) => {
            eprintln!("plugin-host: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = Transcript::printing();
    match demo::run(&rust_plugin, &out).await {
        Ok(outcome) if outcome.ok => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("plugin-host: a plugin did not exit cleanly (see above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("plugin-host: {e}");
            ExitCode::FAILURE
        }
    }
}
