//! What the core and its plugins say to each other, as Rust types: shared by the core's
//! commands and the Rust plugin. (The Python plugin reads the same JSON.)

use serde::{Deserialize, Serialize};

/// `-32001`: the caller's grants do not include the command, which did not run.
pub const NOT_ALLOWED: i32 = -32001;

/// The method the Rust plugin exposes to the core: params [`WordCountParams`], result
/// [`WordCount`].
pub const WORDCOUNT: &str = "plugin.wordcount";

/// The method the Python plugin exposes to the core: the changes it has seen, as a list of
/// [`KvChanged`].
pub const SEEN: &str = "plugin.seen";

/// The event every change to the store is announced as; its payload is a [`KvChanged`].
pub const KV_CHANGED: &str = "kv-changed";

/// The payload of the [`KV_CHANGED`] event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvChanged {
    /// The key that changed.
    pub key: String,
    /// Who changed it: a plugin's label, or `core`.
    pub by: String,
}

/// What `host_info` tells a plugin about the core and about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The core's name.
    pub host: String,
    /// The core's version.
    pub version: String,
    /// The label the core spawned the calling plugin under.
    pub label: String,
    /// The commands the calling plugin may call.
    pub commands: Vec<String>,
}

/// How serious a log message is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Detail for debugging.
    Debug,
    /// Normal operation (the default).
    #[default]
    Info,
    /// Something the plugin noticed and survived.
    Warn,
    /// Something failed.
    Error,
}

/// The arguments of [`WORDCOUNT`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordCountParams {
    /// The text to count.
    pub text: String,
}

/// The result of [`WORDCOUNT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordCount {
    /// Words: runs of non-whitespace.
    pub words: usize,
    /// Lines.
    pub lines: usize,
    /// Unicode scalar values.
    pub chars: usize,
}
