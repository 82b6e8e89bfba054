//! `gatehouse port DIR`: what moves when a Tauri 2 application (its `src-tauri`) moves to
//! Gatehouse. Finds the application's capabilities and permissions, and through
//! `cargo metadata` the `permissions/` folders of its `tauri-plugin-*` dependencies; resolves
//! everything for a target; says what resolves as in Tauri, what is ignored and why, what
//! Gatehouse does differently on purpose, and which lines to write.
//!
//! Plugins that are path dependencies are found with `cargo metadata --no-deps`, which reads
//! only the manifests (no registry, no network, nothing written). Plugins from a registry need
//! the dependency graph: `cargo metadata --offline`, which finds them in cargo's local cache
//! when the application was built once; a plugin not found there is reported, not guessed.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use gatehouse_build::{Builder, Checked, Diagnostic, Kind, Plugin, ResolvedAcl, Severity};
use serde_json::{json, Value};

/// A `tauri-plugin-*` dependency.
#[derive(Debug, Clone)]
pub(crate) struct TauriPlugin {
    /// The crate (`tauri-plugin-fs`).
    pub(crate) krate: String,
    /// The plugin's name in identifiers (`fs`).
    pub(crate) name: String,
    /// Its crate folder, when found.
    pub(crate) dir: Option<PathBuf>,
    /// Whether it is a path dependency.
    pub(crate) local: bool,
}

/// What `port` found and concluded.
pub(crate) struct Report {
    pub(crate) dir: PathBuf,
    pub(crate) package: String,
    pub(crate) plugins: Vec<TauriPlugin>,
    pub(crate) checked: Checked,
    /// The application's own commands (`#[tauri::command]` functions), sorted.
    pub(crate) app_commands: Vec<String>,
    pub(crate) identifier: Option<String>,
}

/// Finds the plugins and resolves everything for `target`.
pub(crate) fn run(dir: &Path, target: &str) -> Result<Report, String> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(format!(
            "{}: no Cargo.toml (point `gatehouse port` at the application's `src-tauri`)",
            dir.display()
        ));
    }
    let (package, mut plugins) = plugin_dependencies(&manifest)?;
    if plugins.iter().any(|p| p.dir.is_none()) {
        find_in_cache(&manifest, &mut plugins);
    }
    let mut builder = Builder::new()
        .root(dir)
        .plugins_from_dependencies(false)
        .tie(gatehouse_build::Tie::Warn)
        .emit_cargo_directives(false)
        .target(target);
    for plugin in &plugins {
        if let Some(crate_dir) = &plugin.dir {
            builder = builder.plugin(Plugin {
                name: plugin.name.clone(),
                permissions: crate_dir.join("permissions"),
                commands: Vec::new(),
            });
        }
    }
    let checked = builder.check().map_err(|e| e.to_string())?;
    // Every command found in `src/` is in the ACL's universe, granted or not.
    let app_commands: Vec<String> = checked
        .acl
        .commands
        .iter()
        .filter(|c| !c.starts_with("plugin:"))
        .cloned()
        .collect();
    Ok(Report {
        dir: dir.to_owned(),
        package,
        plugins,
        checked,
        app_commands,
        identifier: tauri_identifier(dir),
    })
}

/// `identifier` from `tauri.conf.json`, when there is one.
fn tauri_identifier(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("tauri.conf.json")).ok()?;
    let config: Value = serde_json::from_str(&text).ok()?;
    config["identifier"].as_str().map(str::to_owned)
}

fn cargo_metadata(manifest: &Path, extra: &[&str]) -> Result<Value, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .args(extra)
        .output()
        .map_err(|e| format!("cannot run `cargo metadata`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("`cargo metadata`: {e}"))
}

/// The package at `manifest` and its `tauri-plugin-*` dependencies, with the folders of those
/// that are path dependencies.
fn plugin_dependencies(manifest: &Path) -> Result<(String, Vec<TauriPlugin>), String> {
    let metadata = cargo_metadata(manifest, &["--no-deps"])?;
    let wanted = manifest
        .canonicalize()
        .unwrap_or_else(|_| manifest.to_owned());
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let package = packages
        .iter()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .is_some_and(|m| Path::new(m) == wanted)
        })
        .or_else(|| packages.first())
        .ok_or("`cargo metadata` lists no package")?;
    let mut plugins = Vec::new();
    for dependency in package["dependencies"].as_array().into_iter().flatten() {
        let Some(krate) = dependency["name"].as_str() else {
            continue;
        };
        let Some(name) = krate.strip_prefix("tauri-plugin-") else {
            continue;
        };
        if !dependency["kind"].is_null() || plugins.iter().any(|p: &TauriPlugin| p.krate == krate) {
            continue;
        }
        let dir = dependency["path"].as_str().map(PathBuf::from);
        plugins.push(TauriPlugin {
            krate: krate.to_owned(),
            name: name.to_owned(),
            local: dir.is_some(),
            dir,
        });
    }
    plugins.sort_by(|a, b| a.name.cmp(&b.name));
    let name = package["name"].as_str().unwrap_or_default().to_owned();
    Ok((name, plugins))
}

/// Finds registry plugins in cargo's local cache (`cargo metadata --offline`).
fn find_in_cache(manifest: &Path, plugins: &mut [TauriPlugin]) {
    let Ok(metadata) = cargo_metadata(manifest, &["--offline"]) else {
        return;
    };
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let (Some(name), Some(path)) =
            (package["name"].as_str(), package["manifest_path"].as_str())
        else {
            continue;
        };
        for plugin in plugins
            .iter_mut()
            .filter(|p| p.krate == name && p.dir.is_none())
        {
            plugin.dir = Path::new(path).parent().map(Path::to_owned);
        }
    }
}

impl Report {
    fn acl(&self) -> &ResolvedAcl {
        &self.checked.acl
    }

    fn of_kind(&self, kind: Kind) -> Vec<&Diagnostic> {
        self.checked
            .diagnostics
            .iter()
            .filter(|d| d.kind == Some(kind))
            .collect()
    }

    fn errors(&self) -> Vec<&Diagnostic> {
        self.checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect()
    }

    /// Every command some capability allows.
    fn granted(&self) -> BTreeSet<&str> {
        self.acl()
            .capabilities
            .iter()
            .flat_map(|c| c.allow.iter().map(String::as_str))
            .collect()
    }

    /// Application commands no capability grants: Tauri lets every window call them.
    fn ungranted_app_commands(&self) -> Vec<&str> {
        let granted = self.granted();
        self.app_commands
            .iter()
            .map(String::as_str)
            .filter(|c| !granted.contains(c))
            .collect()
    }

    /// The granted commands of each Tauri plugin: Tauri's Rust code serves them, which does
    /// not come along.
    fn plugin_commands(&self, plugin: &str) -> Vec<&str> {
        let prefix = format!("plugin:{plugin}|");
        self.granted()
            .into_iter()
            .filter(|c| c.starts_with(&prefix))
            .collect()
    }

    /// What must be changed by hand; empty when the port is mechanical.
    pub(crate) fn manual_changes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in self.errors() {
            out.push(format!("fix: {}", d.message));
        }
        for plugin in &self.plugins {
            if plugin.dir.is_none() {
                out.push(format!(
                    "`{}` was not found locally: run `cargo fetch` in {} and port again",
                    plugin.krate,
                    self.dir.display()
                ));
                continue;
            }
            let commands = self.plugin_commands(&plugin.name);
            if !commands.is_empty() {
                out.push(format!(
                    "serve the commands of `{}` that capabilities grant ({}): a Gatehouse plugin, or `#[command(plugin = \"{}\")]` functions",
                    plugin.krate,
                    commands.join(", "),
                    plugin.name
                ));
            }
        }
        for d in self.of_kind(Kind::UnservedBuiltin) {
            out.push(format!("replace what needs a webview: {}", d.message));
        }
        let ungranted = self.ungranted_app_commands();
        if !ungranted.is_empty() {
            out.push(format!(
                "grant the application commands every window could call in Tauri, where they are needed: {}",
                ungranted
                    .iter()
                    .map(|c| format!("`allow-{}`", c.replace('_', "-")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out
    }

    /// `Cargo.toml` lines.
    fn cargo_toml(&self) -> String {
        let version = env!("CARGO_PKG_VERSION");
        let minor = version.rsplit_once('.').map_or(version, |(v, _)| v);
        format!(
            "[dependencies]\ngatehouse = \"{minor}\"\n\n[build-dependencies]\ngatehouse-build = \"{minor}\"\n"
        )
    }

    /// `build.rs`.
    fn build_rs(&self) -> String {
        let mut out = String::from("fn main() {\n    gatehouse_build::Builder::new()\n");
        for plugin in &self.plugins {
            let Some(dir) = &plugin.dir else { continue };
            let permissions = dir.join("permissions");
            let shown = relative(&permissions, &self.dir);
            let _ = write!(
                out,
                "        // {}{}\n        .plugin(gatehouse_build::Plugin {{\n            name: {:?}.into(),\n            permissions: {:?}.into(),\n            commands: Vec::new(),\n        }})\n",
                plugin.krate,
                if plugin.local { "" } else { " (in cargo's cache: point at a vendored copy)" },
                plugin.name,
                shown.display().to_string(),
            );
        }
        out.push_str("        .build()\n        .expect(\"gatehouse: invalid ACL\");\n}\n");
        out
    }

    /// The line for `main.rs` when `core:app` is granted.
    fn main_rs(&self) -> Option<String> {
        let granted = self.granted();
        if !granted.iter().any(|c| c.starts_with("plugin:app|"))
            && !granted.contains("plugin:path|resolve_directory")
        {
            return None;
        }
        Some(format!(
            "// what `core:app` answers and `core:path` resolves `App…` directories under\n.manage(gatehouse::AppInfo::new(env!(\"CARGO_PKG_NAME\"), env!(\"CARGO_PKG_VERSION\"), {:?}))\n",
            self.identifier.as_deref().unwrap_or("com.example.app")
        ))
    }

    /// Notes on what Gatehouse does differently on purpose, for this application.
    fn differences(&self) -> Vec<String> {
        let mut out = Vec::new();
        for cap in &self.acl().capabilities {
            if !cap.deny.is_empty() {
                out.push(format!(
                    "capability `{}` denies {}: here the deny applies only to the callers `{}` applies to; in Tauri it reaches every caller that any capability allows the command",
                    cap.identifier,
                    cap.deny.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
                    cap.identifier
                ));
            }
        }
        let ungranted = self.ungranted_app_commands();
        if !ungranted.is_empty() {
            out.push(format!(
                "application commands are refused unless a capability grants them; in Tauri (without `AppManifest::commands` in build.rs) every window may call {}",
                ungranted.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        out
    }

    /// What is ignored, and why.
    fn ignored(&self) -> Vec<(&'static str, &Diagnostic)> {
        let mut out = Vec::new();
        for (kind, why) in [
            (
                Kind::UnservedBuiltin,
                "Tauri built-in without a webview here",
            ),
            (Kind::MissingDefault, "the plugin has no default set"),
            (Kind::IgnoredKey, "key Tauri ignores too"),
            (
                Kind::Unreached,
                "not reached by any capability for this target",
            ),
        ] {
            out.extend(self.of_kind(kind).into_iter().map(|d| (why, d)));
        }
        out
    }

    /// The report for people.
    pub(crate) fn text(&self) -> String {
        let acl = self.acl();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "gatehouse port: `{}` ({}) for {}",
            self.package,
            self.dir.display(),
            acl.target
        );
        let _ = writeln!(out, "\nPlugins:");
        if self.plugins.is_empty() {
            let _ = writeln!(out, "  (no tauri-plugin-* dependency)");
        }
        for p in &self.plugins {
            let place = match &p.dir {
                Some(dir) => relative(&dir.join("permissions"), &self.dir)
                    .display()
                    .to_string(),
                None => "not found locally".to_owned(),
            };
            let _ = writeln!(out, "  {} → `{}:…`, permissions: {place}", p.krate, p.name);
        }
        let _ = writeln!(out, "\nResolves as in Tauri 2:");
        for cap in &acl.capabilities {
            let _ = writeln!(
                out,
                "  {}: {} allowed, {} denied",
                cap.identifier,
                plural(cap.allow.len(), "command"),
                cap.deny.len()
            );
        }
        let errors = self.errors();
        if !errors.is_empty() {
            let _ = writeln!(out, "\nErrors (Tauri refuses these files too):");
            for d in errors {
                let _ = writeln!(out, "{}", indent(&d.to_string()));
            }
        }
        let ignored = self.ignored();
        if !ignored.is_empty() {
            let _ = writeln!(out, "\nIgnored, and why:");
            for (why, d) in ignored {
                let _ = writeln!(out, "  [{why}] {}", d.message);
                if let Some(at) = d.location() {
                    let _ = writeln!(out, "      at {at}");
                }
            }
        }
        let differences = self.differences();
        if !differences.is_empty() {
            let _ = writeln!(out, "\nDifferent on purpose:");
            for d in differences {
                let _ = writeln!(out, "  - {d}");
            }
        }
        let _ = writeln!(out, "\nCargo.toml:\n{}\n", indent(&self.cargo_toml()));
        let _ = writeln!(out, "build.rs:\n{}\n", indent(&self.build_rs()));
        if let Some(main) = self.main_rs() {
            let _ = writeln!(
                out,
                "main.rs, on `Router::builder(…)`:\n{}\n",
                indent(&main)
            );
        }
        let manual = self.manual_changes();
        if manual.is_empty() {
            let _ = writeln!(out, "Ready: no manual change needed.");
        } else {
            let _ = writeln!(out, "To change by hand:");
            for m in manual {
                let _ = writeln!(out, "  - {m}");
            }
        }
        out
    }

    /// The report for tools.
    pub(crate) fn json(&self) -> Value {
        let acl = self.acl();
        json!({
            "package": self.package,
            "dir": self.dir,
            "target": acl.target,
            "ready": self.manual_changes().is_empty(),
            "plugins": self.plugins.iter().map(|p| json!({
                "crate": p.krate,
                "name": p.name,
                "local": p.local,
                "permissions": p.dir.as_ref().map(|d| d.join("permissions")),
                "granted": self.plugin_commands(&p.name),
            })).collect::<Vec<_>>(),
            "capabilities": acl.capabilities.iter().map(|c| json!({
                "identifier": c.identifier,
                "allow": c.allow,
                "deny": c.deny,
            })).collect::<Vec<_>>(),
            "ignored": self.ignored().iter().map(|(why, d)| json!({
                "why": why,
                "message": d.message,
                "location": d.location(),
            })).collect::<Vec<_>>(),
            "errors": self.errors().iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "differences": self.differences(),
            "manual": self.manual_changes(),
            "files": {
                "Cargo.toml": self.cargo_toml(),
                "build.rs": self.build_rs(),
                "main.rs": self.main_rs(),
            },
        })
    }
}

/// `path` relative to `base` when it is beneath `base`'s parent chain (`../plugins/x`), else
/// as it is.
fn relative(path: &Path, base: &Path) -> PathBuf {
    let (Ok(path), Ok(base)) = (path.canonicalize(), base.canonicalize()) else {
        return path.to_owned();
    };
    let mut up = PathBuf::new();
    let mut ancestor = base.as_path();
    loop {
        if let Ok(rest) = path.strip_prefix(ancestor) {
            return up.join(rest);
        }
        match ancestor.parent() {
            Some(parent) if parent.parent().is_some() => {
                ancestor = parent;
                up.push("..");
            }
            _ => return path,
        }
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
