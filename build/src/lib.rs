//! The build step of Gatehouse: compiles permission and capability files into the static
//! allowlists that `gatehouse::acl!()` includes.
//!
//! ```no_run
//! // build.rs: `fn main() { … }` around this line
//! gatehouse_build::build().expect("gatehouse: invalid ACL");
//! ```
//!
//! [`build`] reads `permissions/` and `capabilities/` next to `Cargo.toml`, finds the
//! application's `#[command]` functions in `src/`, picks up the permissions of every Gatehouse
//! plugin the application depends on, and reports every problem together — with file, line,
//! column and a caret — before writing `OUT_DIR/gatehouse_acl.rs` and
//! `OUT_DIR/gatehouse_acl.json`. [`Builder`] configures anything else.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builder;
mod diagnostic;
mod discover;
mod error;
mod generate;
pub mod model;
mod parse;
mod plugin;
mod resolve;
mod validate;

pub use builder::{Builder, Checked, Plugin, Tie};
pub use diagnostic::{Diagnostic, Severity, Source, Span};
pub use error::{Error, Output};
pub use plugin::export_plugin;
pub use resolve::{ResolvedAcl, ResolvedCapability, ScopeValues};

/// Compiles the ACL with the conventional layout; see [`Builder`].
///
/// # Errors
///
/// See [`Builder::build`].
pub fn build() -> Result<Output, Error> {
    Builder::new().build()
}

/// The JSON Schemas of the two file formats, `(permissions, capabilities)`, generated from the
/// Rust types. Point an editor at them with `"$schema"` (JSON) or a TOML extension's schema
/// setting; `build/schemas/` holds a committed copy.
pub fn schemas() -> (String, String) {
    let render = |schema: schemars::Schema| {
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
    };
    (
        render(schemars::schema_for!(model::PermissionFile)),
        render(schemars::schema_for!(model::CapabilityFile)),
    )
}
