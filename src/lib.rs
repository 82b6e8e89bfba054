//! # Gatehouse
//!
//! Secure IPC between an untrusted frontend (a web page, a child process, a plugin) and a
//! trusted Rust core. [`#[command]`](macro@command) turns functions into JSON-RPC 2.0 commands;
//! an [`Acl`] says which callers may call which commands; a [`Router`] answers requests,
//! checking every call with one bit test against the caller's precomputed [`GrantSet`].
//!
//! ```
//! use gatehouse::{command, commands, Acl, CallerInfo, Capability, Router, State};
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! /// Adds two numbers.
//! #[command]
//! fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! #[derive(Default)]
//! struct Counter(AtomicU64);
//!
//! /// Counts calls; only some windows may.
//! #[command]
//! fn bump(counter: State<'_, Counter>) -> u64 {
//!     counter.0.fetch_add(1, Ordering::Relaxed) + 1
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let acl = Acl::builder()
//!     .commands(["add", "bump"])
//!     .capability(Capability::builder("main").windows(["main"]).allow(["add", "bump"]))
//!     .capability(Capability::builder("widgets").windows(["widget-*"]).allow(["add"]))
//!     .build()?;
//! let router = Router::builder(acl)
//!     .commands(commands![add, bump])
//!     .manage(Counter::default())
//!     .build()?;
//!
//! let widget = router.caller(CallerInfo::local("widget-1"));
//! let reply = router
//!     .handle(&widget, br#"{"jsonrpc":"2.0","id":1,"method":"add","params":{"a":1,"b":2}}"#)
//!     .await;
//! assert_eq!(reply.as_deref(), Some(&br#"{"jsonrpc":"2.0","result":3,"id":1}"#[..]));
//!
//! let reply = router
//!     .handle(&widget, br#"{"jsonrpc":"2.0","id":2,"method":"bump"}"#)
//!     .await
//!     .unwrap();
//! assert!(String::from_utf8(reply)?.contains(r#""code":-32001"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! The [`guide`] (the repository's README) has the macro reference, the permission and
//! capability files, the transports, the error codes and the security model.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` on nightly: each feature-gated item shows its feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use gatehouse_runtime::{
    Acl, AclBuilder, AclError, AclProblem, Bits, BuildError, BuildProblem, Caller, CallerInfo,
    Capability, CapabilityBuilder, Channel, Command, CommandEntry, CommandId, CommandInfo,
    CommandScope, Emitter, ErrorCode, FromInvoke, GlobalScope, GrantSet, Handled, IntoCommandError,
    Invocation, LabelGlob, Origin, Outbound, OutboundReceiver, PatternError, Reply, Requirements,
    Router, RouterBuilder, RpcError, Scope, ScopeEntry, ScopeList, ScopeValues, SendError, State,
    UrlPattern, CHANNEL_METHOD,
};
/// The application facts and base directories behind Tauri's `core:app` and `core:path`.
#[doc(inline)]
pub use gatehouse_runtime::{AppInfo, BaseDirectory};
/// Files opened beneath directory handles, for commands that take paths (feature `fs`).
#[cfg(feature = "fs")]
#[cfg_attr(docsrs, doc(cfg(feature = "fs")))]
#[doc(inline)]
pub use gatehouse_runtime::{
    BaseDirs, PathEntry, PathScope, PathScopeError, ScopedDirEntry, ScopedReadDir,
};

/// What a caller may cost the core: the [`Limits`](limits::Limits) every transport enforces,
/// and the error codes a caller gets when it hits one.
pub use gatehouse_runtime::limits;

/// The WebSocket + HTTP transport for browser frontends (feature `ws`).
#[cfg(feature = "ws")]
#[cfg_attr(docsrs, doc(cfg(feature = "ws")))]
pub use gatehouse_runtime::ws;

/// Child processes and plugins over stdio, the core side (feature `stdio`).
#[cfg(feature = "stdio")]
#[cfg_attr(docsrs, doc(cfg(feature = "stdio")))]
pub use gatehouse_runtime::process;

/// The stdio wire format and the client a child process uses (features `stdio-client` and
/// `stdio`).
#[cfg(feature = "stdio-client")]
#[cfg_attr(docsrs, doc(cfg(feature = "stdio-client")))]
pub use gatehouse_runtime::stdio;

/// What generated code refers to. **Not public API**: it may change in any release.
#[doc(hidden)]
pub use gatehouse_runtime::__private;

/// The guide to Gatehouse: the repository's README, so that docs.rs and `cargo doc` carry it.
///
/// This module holds no items. Paths in it (`examples/`, `tests/`, `BENCHMARKS.md`) name files of
/// the repository, which the published crate does not ship.
#[doc = include_str!("../README.md")]
pub mod guide {}

/// Turns a function into a command.
///
/// The function stays an ordinary Rust function; the macro adds a hidden type of the same name
/// that [`commands!`] lists.
///
/// - **Name**: the function's name; `#[command(rename = "notes.read")]` changes it.
/// - **Arguments** are read by name from the request's `params` object, with camelCase keys
///   (`file_path` ← `"filePath"`); `#[command(rename_all = "snake_case")]` keeps Rust names
///   (also `"PascalCase"`, `"kebab-case"`, `"SCREAMING_SNAKE_CASE"`). A `params` array passes
///   them by position instead. A missing `Option<T>` is `None`; unknown or repeated keys are
///   refused. Values are deserialised straight from the request bytes, so `&str` works.
/// - **Injected arguments** are recognised by type: [`State<'_, T>`](State), [`Caller`], and any
///   type implementing [`FromInvoke`].
/// - **Sync or `async`**; `#[command(blocking)]` runs a sync function on the blocking pool.
/// - **Returns** `T: Serialize`, `()`, or `Result<T, E>` with `E: Serialize` (a `-32000` error
///   with `E` as `data`) or `E = RpcError` (any code).
/// - `#[command(crate = ::path::to::gatehouse)]` when the dependency is renamed.
///
/// ```
/// use gatehouse::{command, Caller, RpcError, State};
///
/// struct Notes;
///
/// /// Reads a note; the key is `"noteId"`.
/// #[command]
/// async fn read_note(notes: State<'_, Notes>, caller: Caller, note_id: u64) -> Result<String, String> {
///     Ok(format!("note {note_id} for {}", caller.label()))
/// }
///
/// #[command(rename = "echo", rename_all = "snake_case")]
/// fn echo_text(the_text: &str, times: Option<usize>) -> String {
///     the_text.repeat(times.unwrap_or(1))
/// }
///
/// #[command(blocking)]
/// fn hash_file(path: String) -> Result<u64, RpcError> {
///     Ok(path.len() as u64)
/// }
///
/// // Still a plain function:
/// assert_eq!(echo_text("ab", Some(2)), "abab");
/// ```
pub use gatehouse_macros::command;

/// The ACL that `gatehouse-build` compiled from the application's permission and capability
/// files, as static tables: `Router::builder(gatehouse::acl!())`.
///
/// It includes `OUT_DIR/gatehouse_acl.rs`, which the build script writes with
/// `gatehouse_build::build()`; using it without that build script is a compile error naming the
/// missing file. Loading it costs nothing: the tables are `static` data, with every label glob
/// and URL pattern already parsed by the build.
#[macro_export]
macro_rules! acl {
    () => {{
        mod __gatehouse_acl {
            ::core::include!(::core::concat!(
                ::core::env!("OUT_DIR"),
                "/gatehouse_acl.rs"
            ));
        }
        ::core::clone::Clone::clone(&__gatehouse_acl::ACL)
    }};
}

/// Lists the commands a router serves: `commands![add, notes::read_note]`.
///
/// Expands to a `&'static [CommandEntry]` for [`RouterBuilder::commands`]. Every name must be a
/// function marked [`#[command]`](macro@command); paths and `use … as …` renames work. Write
/// `commands![crate = ::my::gatehouse; a, b]` when the dependency is renamed.
pub use gatehouse_macros::commands;
