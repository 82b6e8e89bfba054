//! The bodies of Gatehouse's fuzz targets, one module each; `fuzz_targets/` wraps them for
//! libFuzzer and `tests/replay.rs` replays the committed corpora and regressions through them
//! under `cargo test`. FUZZING.md at the root says how to run them.
//!
//! Every target panics when an invariant breaks; libFuzzer turns the panic into a crash.

pub mod acl;
pub mod engine_frame;
pub mod path_scope;
pub mod stdio_frame;

/// A target's body: panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// The targets by name, for the replay test.
pub const TARGETS: [(&str, Target); 5] = [
    ("engine_frame", engine_frame::run),
    ("stdio_frame", stdio_frame::run),
    ("acl_toml", |data| acl::run(data, acl::Format::Toml)),
    ("acl_json", |data| acl::run(data, acl::Format::Json)),
    ("path_scope", path_scope::run),
];
