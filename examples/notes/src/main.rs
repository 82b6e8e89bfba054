//! `cargo run -p notes`: starts the notes application and prints the two windows' URLs.

use std::process::ExitCode;

use notes::{Cli, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    let config = match Config::from_args(
        std::env::args_os().skip(1),
        std::env::var_os(notes::DATA_ENV),
    ) {
        Ok(Cli::Run(config)) => config,
        Ok(Cli::Help) => {
            println!("{}", notes::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("notes: {e}");
            return ExitCode::from(2);
        }
    };
    let app = match notes::start(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("notes: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "\n  Notes is running. Open these in a browser on this machine:\n\n    \
         main   (read and write)  {}\n    \
         viewer (read only)       {}\n\n  \
         Notes are kept in {}\n  \
         Each URL holds a secret for its window: do not share it. Press Ctrl-C to stop.\n",
        app.main_url(),
        app.viewer_url(),
        app.data_dir().display(),
    );
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("notes: cannot wait for Ctrl-C: {e}");
    }
    println!("\n  Stopping.");
    app.shutdown().await;
    ExitCode::SUCCESS
}
