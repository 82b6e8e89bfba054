//! Where the notes live and where the server listens: defaults, the command line, the
//! environment.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::error::Error;

/// The environment variable naming the notes folder (the `--data` flag wins over it).
pub const DATA_ENV: &str = "NOTES_DATA";

/// The notes folder when neither `--data` nor [`DATA_ENV`] names one.
pub const DEFAULT_DATA_DIR: &str = "notes-data";

/// The command line's help.
pub const USAGE: &str = "\
Usage: notes [--data DIR] [--bind ADDR]

  --data DIR    the notes folder (default: $NOTES_DATA, else ./notes-data); created if missing
  --bind ADDR   where the server listens (default: 127.0.0.1:0, a free port on loopback)
  -h, --help    this help

Every note is a Markdown file DIR/<name>.md. Set RUST_LOG=debug to see every call.";

/// How to start the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The notes folder, created if missing.
    pub data_dir: PathBuf,
    /// The folder of the page's files.
    pub frontend: PathBuf,
    /// Where the server listens; port 0 picks a free one.
    pub bind: SocketAddr,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            frontend: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/frontend")),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cli {
    /// Run with this configuration.
    Run(Config),
    /// Print [`USAGE`].
    Help,
}

impl Config {
    /// Reads the command line (without the program name) and the value of [`DATA_ENV`].
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for an unknown flag, a missing or unparsable value.
    pub fn from_args(
        args: impl IntoIterator<Item = OsString>,
        data_env: Option<OsString>,
    ) -> Result<Cli, Error> {
        let mut config = Config::default();
        if let Some(dir) = data_env.filter(|d| !d.is_empty()) {
            config.data_dir = PathBuf::from(dir);
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let flag = arg.to_string_lossy().into_owned();
            let (flag, inline) = match flag.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(OsString::from(v))),
                _ => (flag, None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| Error::Usage(format!("`{flag}` needs a value\n\n{USAGE}")))
            };
            match flag.as_str() {
                "-h" | "--help" => return Ok(Cli::Help),
                "--data" => config.data_dir = PathBuf::from(value()?),
                "--bind" => {
                    let text = value()?.to_string_lossy().into_owned();
                    config.bind = text.parse().map_err(|e| {
                        Error::Usage(format!(
                            "`--bind {text}`: {e} (expected e.g. 127.0.0.1:8080)"
                        ))
                    })?;
                }
                _ => {
                    return Err(Error::Usage(format!(
                        "unknown argument `{flag}`\n\n{USAGE}"
                    )))
                }
            }
        }
        Ok(Cli::Run(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: Option<&str>) -> Result<Cli, Error> {
        Config::from_args(args.iter().map(OsString::from), env.map(OsString::from))
    }

    #[test]
    fn flags_and_environment() {
        let Ok(Cli::Run(c)) = parse(&[], None) else {
            panic!("defaults")
        };
        assert_eq!(c, Config::default());
        let Ok(Cli::Run(c)) = parse(&[], Some("/srv/notes")) else {
            panic!("env")
        };
        assert_eq!(c.data_dir, PathBuf::from("/srv/notes"));
        let Ok(Cli::Run(c)) = parse(&["--data", "/a", "--bind=127.0.0.1:9000"], Some("/b")) else {
            panic!("flags")
        };
        assert_eq!(c.data_dir, PathBuf::from("/a"));
        assert_eq!(c.bind.port(), 9000);
        assert!(matches!(parse(&["--help"], None), Ok(Cli::Help)));
        for bad in [&["--data"][..], &["--bind", "nowhere"], &["--colour"]] {
            assert!(matches!(parse(bad, None), Err(Error::Usage(_))), "{bad:?}");
        }
    }
}
