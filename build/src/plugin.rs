//! Plugins: a plugin crate's build script exports its permissions and commands through cargo's
//! `links` metadata.

use std::path::{Path, PathBuf};

use crate::builder::{read_permission_files, target_platform, Plugin};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::Error;
use crate::{discover, resolve};

/// For a plugin crate's build script: checks the plugin's own `permissions/` and exports them,
/// with the commands found in `src/`, to every application that depends on the plugin.
///
/// The plugin's `Cargo.toml` must say `links = "gatehouse-plugin-<name>"`: cargo then hands
/// what this prints to the build scripts of direct dependents, where [`build`](fn@crate::build)
/// picks it up.
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
    let checked = check_plugin(name, &root)?;
    let out_dir = std::env::var_os("OUT_DIR").map(PathBuf::from);
    for path in crate::builder::watched(&checked.watched, out_dir.as_deref()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let CheckedPlugin {
        plugin,
        diagnostics,
        ..
    } = checked;
    if resolve::has_errors(&diagnostics) {
        return Err(Error::Invalid { diagnostics });
    }
    println!("cargo:name={name}");
    println!("cargo:permissions={}", plugin.permissions.display());
    println!("cargo:commands={}", plugin.commands.join(","));
    Ok(plugin)
}

/// What checking a plugin alone found.
struct CheckedPlugin {
    plugin: Plugin,
    diagnostics: Vec<Diagnostic>,
    /// Every file and folder read.
    watched: Vec<PathBuf>,
}

/// Checks the plugin in `root` alone: its commands (`src/`) and its `permissions/`.
fn check_plugin(name: &str, root: &Path) -> Result<CheckedPlugin, Error> {
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
        files: read_permission_files(root, &permissions, None, &mut diagnostics)?,
    };
    // The plugin's own files are held to every rule (they are its author's), all of its sets
    // as if reached; what they name of other plugins is checked by the applications that load
    // them together, as Tauri allows a plugin's set to name another plugin's permission.
    let mut owners = vec![owner];
    owners.extend(resolve::core_owners());
    let options = resolve::Options {
        plugin_alone: true,
        ..resolve::Options::new(&target_platform())
    };
    let (_, mut more) = resolve::resolve_with(&owners, &[], &options);
    diagnostics.append(&mut more);
    let mut watched = vec![sources, permissions.clone()];
    watched.extend(found.files);
    Ok(CheckedPlugin {
        plugin: Plugin {
            name: name.to_owned(),
            permissions: permissions.canonicalize().unwrap_or(permissions),
            commands,
        },
        diagnostics,
        watched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plugin's set may name another plugin's permission (Tauri allows it); checked alone,
    /// the plugin cannot know it, so only its own references are held to the rules.
    #[test]
    fn a_plugin_alone_may_name_other_plugins() {
        let root = std::env::temp_dir().join(format!("gatehouse-plugin-{}", std::process::id()));
        std::fs::create_dir_all(root.join("permissions")).expect("folder");
        std::fs::create_dir_all(root.join("src")).expect("folder");
        std::fs::write(
            root.join("src/lib.rs"),
            "#[command(plugin = \"clip\")] fn read_text() {}",
        )
        .expect("write");
        std::fs::write(
            root.join("permissions/sets.toml"),
            "[[set]]\nidentifier = \"sync\"\npermissions = [\"allow-read-text\", \"sync:allow-push\", \"core:path:default\"]\n\n[[set]]\nidentifier = \"typo\"\npermissions = [\"allow-read-txt\"]\n",
        )
        .expect("write");
        let checked = check_plugin("clip", &root).expect("readable");
        let messages: Vec<(Severity, &str)> = checked
            .diagnostics
            .iter()
            .map(|d| (d.severity, d.message.as_str()))
            .collect();
        // The other plugin's permission is not an error; the plugin's own typo is, even in a
        // set nothing in the plugin uses.
        assert_eq!(
            messages,
            [(Severity::Error, "unknown permission `allow-read-txt`")]
        );
        assert_eq!(checked.plugin.commands, ["read_text"]);
        std::fs::remove_dir_all(&root).expect("cleanup");
    }
}
