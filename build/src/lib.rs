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
pub mod tauri_core;
mod validate;

pub use builder::{Builder, Checked, Plugin, Tie};
pub use diagnostic::{Diagnostic, Kind, Severity, Source, Span};
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

/// What the fuzz targets in `fuzz/` drive: the parse → validate → resolve → generate pipeline
/// on text held in memory. **Not public API**: it may change or go away in any release.
#[doc(hidden)]
pub mod __fuzz {
    use crate::diagnostic::{Diagnostic, Source};
    use crate::resolve::{self, Owner, ResolvedAcl};

    /// What [`Builder::check`](crate::Builder::check) does, without the file system: the
    /// permission file belongs both to the application (whose commands are `commands`) and to
    /// a plugin named `fuzz` with the same commands; the capability file is the only one.
    /// Returns the resolved ACL, its generated Rust and JSON, and every diagnostic (parse
    /// errors included).
    pub fn check(
        permissions: &Source,
        capabilities: &Source,
        commands: &[&str],
        target: &str,
    ) -> (ResolvedAcl, String, String, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let files = match crate::parse::permission_file(permissions) {
            Ok(file) => vec![(permissions.clone(), file)],
            Err(d) => {
                diagnostics.push(d);
                Vec::new()
            }
        };
        let commands: Vec<String> = commands.iter().map(|&c| c.to_owned()).collect();
        let mut owners = vec![
            Owner {
                plugin: None,
                commands: commands.clone(),
                commands_known: true,
                files: files.clone(),
            },
            Owner {
                plugin: Some("fuzz".to_owned()),
                commands,
                commands_known: true,
                files,
            },
        ];
        owners.extend(resolve::core_owners());
        let capability_files = match crate::parse::capability_file(capabilities) {
            Ok(caps) => vec![(capabilities.clone(), caps)],
            Err(d) => {
                diagnostics.push(d);
                Vec::new()
            }
        };
        let (acl, mut more) = resolve::resolve(&owners, &capability_files, target);
        diagnostics.append(&mut more);
        let rust = crate::generate::rust(&acl, &syn::parse_quote!(::gatehouse::__private));
        let json = crate::generate::json(&acl);
        (acl, rust, json, diagnostics)
    }
}
