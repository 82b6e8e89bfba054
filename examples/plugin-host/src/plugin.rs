//! The two plugins: their labels and how to start them.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Error;

/// The label the Rust plugin (`wordcount-plugin`) is spawned under.
pub const RUST_PLUGIN: &str = "rust-plugin";

/// The label the Python plugin (`plugins/python_plugin.py`) is spawned under.
pub const PYTHON_PLUGIN: &str = "python-plugin";

/// The name of the Rust plugin's binary (a target of this crate).
pub const RUST_PLUGIN_BIN: &str = "wordcount-plugin";

/// The environment variable that names the Python interpreter.
pub const PYTHON_ENV: &str = "PYTHON";

/// The Python interpreter used when [`PYTHON_ENV`] is not set.
pub const DEFAULT_PYTHON: &str = "python3";

/// The Python interpreter: `$PYTHON`, or `python3`.
pub fn python() -> OsString {
    std::env::var_os(PYTHON_ENV)
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_PYTHON.into())
}

/// The Python plugin's script, in this crate's `plugins/` folder.
pub fn python_plugin_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/python_plugin.py")
}

/// The command that runs the Python plugin with `args` (`--framing length-prefixed`).
pub fn python_plugin<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(python());
    command.arg(python_plugin_script()).args(args);
    command
}

/// The command that runs the Rust plugin binary at `exe` with `args` (`--calls N`,
/// `--framing length-prefixed`).
pub fn rust_plugin<I, S>(exe: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(exe);
    command.args(args);
    command
}

/// Where the Rust plugin's binary is, for `cargo run -p plugin-host`: next to the running
/// program.
///
/// `cargo run` builds only the binary it runs, so when started by cargo (which sets `CARGO`)
/// this first builds the plugin with the same cargo and profile — the way `cargo xtask` helpers
/// do — which also keeps it up to date with its source.
///
/// # Errors
///
/// The build failed, or the binary is not where it should be.
pub fn locate_rust_plugin() -> Result<PathBuf, Error> {
    let here = std::env::current_exe().map_err(|source| Error::Locate {
        what: "the running program",
        source,
    })?;
    let exe = here.with_file_name(format!("{RUST_PLUGIN_BIN}{}", std::env::consts::EXE_SUFFIX));
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut build = Command::new(cargo);
        build.args([
            "build",
            "--quiet",
            "--package",
            env!("CARGO_PKG_NAME"),
            "--bin",
            RUST_PLUGIN_BIN,
        ]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        tracing::debug!(?build, "building the Rust plugin");
        let status = build.status().map_err(|source| Error::Locate {
            what: "cargo, to build the Rust plugin",
            source,
        })?;
        if !status.success() {
            return Err(Error::BuildPlugin { status });
        }
    }
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(Error::MissingPlugin { path: exe })
    }
}
