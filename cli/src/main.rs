//! `gatehouse`: checks and explains an application's permission and capability files, and writes
//! the JSON Schemas of their formats.
//!
//! ```text
//! gatehouse check   [INPUTS]            every error and warning, with file:line:col; exit 1 on errors
//! gatehouse explain [INPUTS] [--json]   what each capability grants, to which callers
//! gatehouse schema  [--out DIR]         permissions.schema.json and capability.schema.json
//! gatehouse port    DIR [--json]        what moves when a Tauri 2 app (its src-tauri) moves here
//! gatehouse diff    OLD NEW | --git A..B [DIR]   who gained or lost what; --fail-on-gain for CI
//! ```
//!
//! Arguments are parsed with clap (derive): it is the well-kept, standard argument parser of the
//! Rust ecosystem, and it generates `--help`, usage lines and clear errors for bad values from the
//! types below, so the help never drifts from what is accepted. Its default features (colours,
//! terminal detection) are left out to keep the dependency tree small.
//!
//! Exit codes: 0 on success (warnings alone included), 1 when the files have errors or cannot be
//! read — and for `port`, when the port needs a manual change; for `diff --fail-on-gain`, when
//! a caller gains a privilege —, 2 for bad arguments (clap's).
//!
//! `diff --git` reads the two revisions with the `git` program (`git ls-tree`, `git show`):
//! whoever reviews a repository has it, and linking a Git implementation (gix) would make this
//! small tool many times larger for two read-only commands.

#![forbid(unsafe_code)]

mod diff;
mod explain;
mod git;
mod port;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use gatehouse_build::{Builder, Checked, Diagnostic, Plugin, Severity};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Checks and explains Gatehouse permission and capability files."
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Checks the files: prints every error and warning with file:line:col, then a summary.
    /// Exits with 1 if there is any error.
    Check(Inputs),
    /// Shows, for each capability, which callers it applies to and which commands it allows
    /// and denies, with their scopes.
    Explain {
        /// The files to read.
        #[command(flatten)]
        inputs: Inputs,
        /// Prints the resolved ACL as JSON, by command, instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Writes permissions.schema.json and capability.schema.json, the JSON Schemas of the two
    /// file formats, for editors.
    Schema {
        /// The folder to write them into (created if missing).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
    /// Reports what moves when a Tauri 2 application moves to Gatehouse: point it at the
    /// application's `src-tauri`. Finds its capabilities and permissions and, through `cargo
    /// metadata`, those of its `tauri-plugin-*` dependencies; says what resolves as in Tauri,
    /// what is ignored and why, what differs on purpose, and which lines to write. Exits with
    /// 0 when the port needs no manual change, 1 otherwise.
    Port {
        /// The folder with the application's Cargo.toml (`src-tauri`).
        #[arg(value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        /// The platform to resolve for [default: this machine's].
        #[arg(long, value_enum, ignore_case = true)]
        target: Option<Target>,
        /// Prints the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Shows what each caller gained or lost between two versions of the files, per command
    /// and scope, with privilege gains flagged: two folders (each with `permissions/` and
    /// `capabilities/`), or with `--git A..B` a folder at two revisions.
    Diff {
        /// OLD and NEW; with `--git`, at most one folder inside the repository [default: .].
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Compares revision A with revision B (anything `git` takes: tags, branches, hashes).
        #[arg(long, value_name = "A..B")]
        git: Option<String>,
        /// A plugin's permission folder, relative to each version's folder; repeat for several.
        #[arg(long = "plugin", value_name = "NAME=DIR", value_parser = parse_plugin)]
        plugins: Vec<(String, PathBuf)>,
        /// The platform to resolve for [default: every platform, each change marked with the
        /// platforms it is on when not all].
        #[arg(long, value_enum, ignore_case = true)]
        target: Option<Target>,
        /// How to print the changes.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Exits with 1 when a caller gains a privilege (for CI).
        #[arg(long)]
        fail_on_gain: bool,
    },
}

/// How `diff` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// For a terminal.
    Text,
    /// For a pull-request comment.
    Markdown,
    /// For tools.
    Json,
}

/// Where the files are and what to resolve them for: the inputs of `check` and `explain`.
#[derive(Debug, Args)]
struct Inputs {
    /// The folder the other paths are relative to.
    #[arg(long, value_name = "DIR", default_value = ".")]
    root: PathBuf,
    /// The application's permission files [default: permissions].
    #[arg(long, value_name = "DIR")]
    permissions: Option<PathBuf>,
    /// The capability files: a folder, one file, or a glob (quote it) [default: capabilities].
    #[arg(long, value_name = "PATH")]
    capabilities: Option<PathBuf>,
    /// A plugin's permission folder; repeat for several plugins. Its permissions are named
    /// `NAME:…` and its commands `plugin:NAME|…`.
    #[arg(long = "plugin", value_name = "NAME=DIR", value_parser = parse_plugin)]
    plugins: Vec<(String, PathBuf)>,
    /// A plugin's commands (short names), which turns on the check that its permissions name
    /// only these; without it, `allow-…`/`deny-…` references stand for commands of those names.
    #[arg(long = "plugin-commands", value_name = "NAME=CMD,…", value_parser = parse_plugin_commands)]
    plugin_commands: Vec<(String, Vec<String>)>,
    /// The application's commands, which turns on the check that its permissions name only
    /// these; without it, `allow-…`/`deny-…` references stand for commands of those names.
    #[arg(long, value_name = "CMD,…", value_delimiter = ',')]
    commands: Vec<String>,
    /// The platform to resolve for [default: this machine's].
    #[arg(long, value_enum, ignore_case = true)]
    target: Option<Target>,
}

/// The platforms, spelled as the files spell them (any case is accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    #[value(name = "linux")]
    Linux,
    #[value(name = "macOS")]
    MacOs,
    #[value(name = "windows")]
    Windows,
    #[value(name = "android")]
    Android,
    #[value(name = "iOS")]
    Ios,
}

impl Target {
    const ALL: [Target; 5] = [
        Target::Linux,
        Target::MacOs,
        Target::Windows,
        Target::Android,
        Target::Ios,
    ];

    /// The name the files use.
    fn name(self) -> &'static str {
        match self {
            Target::Linux => "linux",
            Target::MacOs => "macOS",
            Target::Windows => "windows",
            Target::Android => "android",
            Target::Ios => "iOS",
        }
    }
}

/// The platform this program runs on, in the files' spelling (an OS they have no name for keeps
/// its own: capabilities limited to some platforms then do not apply).
fn host_platform() -> &'static str {
    match std::env::consts::OS {
        "macos" => "macOS",
        "ios" => "iOS",
        other => other,
    }
}

/// `NAME=DIR`.
fn parse_plugin(text: &str) -> Result<(String, PathBuf), String> {
    let (name, dir) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=DIR, got `{text}`"))?;
    Ok((plugin_name(name)?, PathBuf::from(dir)))
}

/// `NAME=CMD,CMD,…`.
fn parse_plugin_commands(text: &str) -> Result<(String, Vec<String>), String> {
    let (name, commands) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=CMD,CMD,…, got `{text}`"))?;
    let commands: Vec<String> = commands
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if commands.is_empty() {
        return Err(format!("no commands listed for plugin `{name}`"));
    }
    Ok((plugin_name(name)?, commands))
}

fn plugin_name(name: &str) -> Result<String, String> {
    if name.is_empty() || name.contains([':', '|', '=']) || name.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{name}` is not a plugin name: it must be non-empty, without `:`, `|` or spaces"
        ));
    }
    Ok(name.to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Check(inputs) => check(inputs),
        Command::Explain { inputs, json } => explain(inputs, *json),
        Command::Schema { out } => schema(out),
        Command::Port { dir, target, json } => port(dir, *target, *json),
        Command::Diff {
            paths,
            git,
            plugins,
            target,
            format,
            fail_on_gain,
        } => diff(
            paths,
            git.as_deref(),
            plugins,
            *target,
            *format,
            *fail_on_gain,
        ),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("gatehouse: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `gatehouse check`.
fn check(inputs: &Inputs) -> Result<ExitCode, String> {
    let checked = run_check(inputs)?;
    print_diagnostics(&checked.diagnostics);
    let (errors, warnings) = count(&checked.diagnostics);
    if errors > 0 {
        eprintln!(
            "gatehouse: {} and {} in the ACL files",
            plural(errors, "error"),
            plural(warnings, "warning")
        );
        return Ok(ExitCode::FAILURE);
    }
    let acl = &checked.acl;
    eprintln!(
        "gatehouse: ok: {} and {} for {} ({})",
        plural(acl.capabilities.len(), "capability"),
        plural(acl.commands.len(), "command"),
        acl.target,
        plural(warnings, "warning")
    );
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse explain`.
fn explain(inputs: &Inputs, json: bool) -> Result<ExitCode, String> {
    let checked = run_check(inputs)?;
    print_diagnostics(&checked.diagnostics);
    let (errors, warnings) = count(&checked.diagnostics);
    if errors > 0 {
        eprintln!(
            "gatehouse: {} and {} in the ACL files: nothing to explain",
            plural(errors, "error"),
            plural(warnings, "warning")
        );
        return Ok(ExitCode::FAILURE);
    }
    let text = if json {
        let mut text = serde_json::to_string_pretty(&explain::json(&checked.acl))
            .map_err(|e| e.to_string())?;
        text.push('\n');
        text
    } else {
        explain::table(&checked.acl)
    };
    // Not `print!`: a reader that stops early (`| head`) is not a reason to panic.
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("stdout: {e}")),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// `gatehouse schema`.
fn schema(out: &Path) -> Result<ExitCode, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let (permissions, capabilities) = gatehouse_build::schemas();
    for (name, text) in [
        ("permissions.schema.json", permissions),
        ("capability.schema.json", capabilities),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse port`.
fn port(dir: &Path, target: Option<Target>, json: bool) -> Result<ExitCode, String> {
    let target = target.map_or_else(host_platform, Target::name);
    let report = port::run(dir, target)?;
    let text = if json {
        let mut text = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
        text.push('\n');
        text
    } else {
        report.text()
    };
    print_out(&text)?;
    Ok(if report.manual_changes().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `gatehouse diff`.
fn diff(
    paths: &[PathBuf],
    git: Option<&str>,
    plugins: &[(String, PathBuf)],
    target: Option<Target>,
    format: Format,
    fail_on_gain: bool,
) -> Result<ExitCode, String> {
    let exported;
    let (old, new) = match (git, paths) {
        (None, [old, new]) => (old.clone(), new.clone()),
        (None, _) => return Err("diff: give OLD and NEW, or `--git A..B`".into()),
        (Some(range), [] | [_]) => {
            let dir = paths.first().map_or(Path::new("."), PathBuf::as_path);
            exported = git::Revisions::export(range, dir, plugins)?;
            (exported.old.clone(), exported.new.clone())
        }
        (Some(_), _) => return Err("diff --git A..B: give at most one folder".into()),
    };
    let targets: Vec<Target> = target.map_or_else(|| Target::ALL.to_vec(), |t| vec![t]);
    let mut resolved = Vec::new();
    let mut failed = false;
    for t in &targets {
        let mut acls = Vec::new();
        for root in [&old, &new] {
            let checked = check_tree(root, plugins, t.name())?;
            if checked.has_errors() {
                if !failed {
                    print_diagnostics(&checked.diagnostics);
                    eprintln!(
                        "gatehouse: {} has errors for {}: nothing to compare",
                        root.display(),
                        t.name()
                    );
                }
                failed = true;
            }
            acls.push(checked.acl);
        }
        let new_acl = acls.pop().unwrap_or_default();
        let old_acl = acls.pop().unwrap_or_default();
        resolved.push((t.name().to_owned(), old_acl, new_acl));
    }
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    let changes = diff::diff(&resolved);
    let text = match format {
        Format::Text => diff::text(&changes, targets.len()),
        Format::Markdown => diff::markdown(&changes, targets.len()),
        Format::Json => {
            let mut text =
                serde_json::to_string_pretty(&diff::json(&changes)).map_err(|e| e.to_string())?;
            text.push('\n');
            text
        }
    };
    print_out(&text)?;
    let gained = changes.iter().any(|c| c.what.is_gain());
    Ok(if fail_on_gain && gained {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One version of the files, resolved for `target`, as `check` reads them (commands inferred
/// from the files).
fn check_tree(root: &Path, plugins: &[(String, PathBuf)], target: &str) -> Result<Checked, String> {
    if !root.is_dir() {
        return Err(format!("{}: no such folder", root.display()));
    }
    let mut builder = Builder::new()
        .root(root)
        .discover_commands(false)
        .infer_commands(true)
        .plugins_from_dependencies(false)
        .emit_cargo_directives(false)
        .target(target);
    for (name, dir) in plugins {
        builder = builder.plugin(Plugin {
            name: name.clone(),
            permissions: root.join(dir),
            commands: Vec::new(),
        });
    }
    builder.check().map_err(|e| e.to_string())
}

/// Writes to stdout; a reader that stops early (`| head`) is not a reason to fail.
fn print_out(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("stdout: {e}")),
        _ => Ok(()),
    }
}

/// Runs [`Builder::check`] on the inputs. Paths are joined to `--root` and passed as they are,
/// so diagnostics name files relative to the current folder (or absolutely), as a terminal
/// user can open them.
fn run_check(inputs: &Inputs) -> Result<Checked, String> {
    let root = &inputs.root;
    if !root.is_dir() {
        return Err(format!("--root {}: no such folder", root.display()));
    }
    let permissions = root.join(
        inputs
            .permissions
            .as_deref()
            .unwrap_or(Path::new("permissions")),
    );
    if inputs.permissions.is_some() && !permissions.is_dir() {
        return Err(format!(
            "--permissions {}: no such folder",
            permissions.display()
        ));
    }
    let capabilities = root.join(
        inputs
            .capabilities
            .as_deref()
            .unwrap_or(Path::new("capabilities")),
    );
    let glob = capabilities.to_string_lossy().contains(['*', '?', '[']);
    let mut extra = Vec::new();
    if !glob && !capabilities.exists() {
        if inputs.capabilities.is_some() {
            return Err(format!(
                "--capabilities {}: no such file or folder",
                capabilities.display()
            ));
        }
        extra.push(Diagnostic::general(
            Severity::Warning,
            format!(
                "no capability folder `{}`: nothing is granted to anyone",
                capabilities.display()
            ),
        ));
    }

    let target = inputs.target.map_or_else(host_platform, Target::name);
    let mut builder = Builder::new()
        .root(".")
        .permissions_dir(permissions)
        .capabilities_dir(capabilities)
        .discover_commands(false)
        .infer_commands(true)
        .commands(inputs.commands.iter().filter(|c| !c.is_empty()))
        .plugins_from_dependencies(false)
        .emit_cargo_directives(false)
        .target(target);
    for (i, (name, dir)) in inputs.plugins.iter().enumerate() {
        if inputs.plugins[..i].iter().any(|(n, _)| n == name) {
            return Err(format!("--plugin {name}: given twice"));
        }
        let dir = root.join(dir);
        if !dir.is_dir() {
            return Err(format!("--plugin {name}={}: no such folder", dir.display()));
        }
        let commands = inputs
            .plugin_commands
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, c)| c.iter().cloned())
            .collect();
        builder = builder.plugin(Plugin {
            name: name.clone(),
            permissions: dir,
            commands,
        });
    }
    if let Some((name, _)) = inputs
        .plugin_commands
        .iter()
        .find(|(n, _)| !inputs.plugins.iter().any(|(p, _)| p == n))
    {
        return Err(format!(
            "--plugin-commands {name}=…: no `--plugin {name}=DIR` names its permission folder"
        ));
    }
    let mut checked = builder.check().map_err(|e| {
        let text = e.to_string();
        text.strip_prefix("gatehouse: ").unwrap_or(&text).to_owned()
    })?;
    checked.diagnostics.splice(0..0, extra);
    Ok(checked)
}

/// Prints every diagnostic to stderr, a blank line between two.
fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}\n");
    }
}

/// `(errors, warnings)`.
fn count(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    (errors, diagnostics.len() - errors)
}

/// `1 error`, `2 errors`; `1 capability`, `3 capabilities`.
fn plural(n: usize, word: &str) -> String {
    match (n, word.strip_suffix('y')) {
        (1, _) => format!("1 {word}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {word}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_arguments() {
        assert_eq!(
            parse_plugin("fs=plugins/fs/permissions"),
            Ok(("fs".to_owned(), PathBuf::from("plugins/fs/permissions")))
        );
        assert!(parse_plugin("fs").is_err());
        assert!(parse_plugin("f:s=dir").is_err());
        assert_eq!(
            parse_plugin_commands("fs=read_file, write_file,"),
            Ok((
                "fs".to_owned(),
                vec!["read_file".to_owned(), "write_file".to_owned()]
            ))
        );
        assert!(parse_plugin_commands("fs=").is_err());
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "capability"), "1 capability");
        assert_eq!(plural(3, "capability"), "3 capabilities");
        assert_eq!(plural(0, "error"), "0 errors");
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
