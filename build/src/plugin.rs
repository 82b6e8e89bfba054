//! Plugins: a plugin crate's build script exports its permissions and commands through cargo's
//! `links` metadata.

use std::path::PathBuf;

use crate::builder::{read_permission_files, target_platform, Plugin};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::Error;
use crate::{discover, resolve};

/// For a plugin crate's build script: checks the plugin's own `permissions/` and exports them,
/// with the commands found in `src/`, to every application that depends on the plugin.
///
/// The plugin's `Cargo.toml` must say `links = "gatehouse-plugin-<name>"`: cargo then hands
/// what this prints to the build scripts of direct dependents, where [`build`] picks it up.
///
/// ```no_run
/// // build.rs of the `fs` plugin, inside `fn main() { … }`
/// gatehouse_build::export_plugin("fs").expect("gatehouse: invalid plugin permissions");
/// ```
///
/// # Errors
///
/// [`Error::Invalid`] for problems in the plugin's files (or a missing `links` key),
/// [`Error::Io`] for a file that could not be read.
pub fn export_plugin(name: &str) -> Result<Plugin, Error> {
    let root =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let links = format!("gatehouse-plugin-{name}");
    if std::env::var("CARGO_MANIFEST_LINKS").ok().as_deref() != Some(links.as_str()) {
        return Err(Error::Invalid {
            diagnostics: vec![Diagnostic::general(
                Severity::Error,
                format!("the plugin `{name}` must declare `links = \"{links}\"` in the `[package]` of its Cargo.toml, so that cargo hands its permissions to the applications that use it"),
            )],
        });
    }
    let sources = root.join("src");
    let permissions = root.join("permissions");
    let found = discover::scan(&sources).map_err(|e| Error::io(&sources, e))?;
    let mut commands: Vec<String> = found.commands.iter().map(|c| c.command.clone()).collect();
    commands.sort();
    commands.dedup();
    let mut diagnostics = Vec::new();
    let owner = resolve::Owner {
        plugin: Some(name.to_owned()),
        commands: commands.clone(),
        commands_known: true,
        files: read_permission_files(&root, &permissions, &mut diagnostics)?,
    };
    let (_, mut more) = resolve::resolve(std::slice::from_ref(&owner), &[], &target_platform());
    diagnostics.append(&mut more);
    for path in [&sources, &permissions].into_iter().chain(&found.files) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    if resolve::has_errors(&diagnostics) {
        return Err(Error::Invalid { diagnostics });
    }
    let permissions = permissions.canonicalize().unwrap_or(permissions);
    println!("cargo:name={name}");
    println!("cargo:permissions={}", permissions.display());
    println!("cargo:commands={}", commands.join(","));
    Ok(Plugin {
        name: name.to_owned(),
        permissions,
        commands,
    })
}
