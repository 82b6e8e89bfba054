//! The compiled ACL agrees with a small, obviously-correct reference interpreter of the ACL
//! semantics (`reference/model.rs`), on random permission files, capabilities and callers.
//!
//! Each case writes real permission and capability files (TOML or JSON, one or several per
//! folder) into a fresh temporary folder, compiles them with `Builder::check`, builds a
//! `Router` over `ResolvedAcl::to_acl()` that serves one real command per ACL command, and asks
//! both sides, for every caller and every command:
//!
//! - may the caller call it (`Router::check`, and the reply of a real call: a result or
//!   `-32001`)?
//! - which scope values does the command receive, as `CommandScope<ScopeList<Value>>` and
//!   `GlobalScope<ScopeList<Value>>`? Compared as multisets (the order of values is not part
//!   of the documented semantics; their multiplicity is compared exactly).
//!
//! The interpreter works from the generated in-memory description, never from `ResolvedAcl`.

#[path = "reference/model.rs"]
mod model;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse::{command, commands, CallerInfo, CommandEntry, CommandScope, GlobalScope, Router};
use gatehouse::{Caller as RuntimeCaller, ScopeList};
use gatehouse_build::{Builder, Checked, Plugin, Severity};
use model::{full_name, owner_of, Caller, Cap, Files, Input, Perm, PluginInput, Ref, Scope, Set};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

const TARGET: &str = "linux";
const PLUGIN: &str = "p";

/// Tauri core identifiers the generated files name: served, partly served and not served.
const CORE_REFS: &[&str] = &[
    "core:default",
    "core:event:default",
    "core:path:default",
    "core:app:default",
    "core:window:default",
    "core:window:allow-set-title",
    "core:app:allow-tauri-version",
    "core:app:allow-name",
    "core:path:allow-join",
    "core:path:deny-join",
    "core:event:deny-emit",
    "core:menu:default",
];

// ---------------------------------------------------------------------------------------------
// Real commands: each returns the scopes it was handed.

fn report(scope: &ScopeList<Value>, global: &ScopeList<Value>) -> Value {
    json!({
        "allow": scope.allow,
        "deny": scope.deny,
        "globalAllow": global.allow,
        "globalDeny": global.deny,
    })
}

macro_rules! served {
    ($($f:ident = $name:tt),* $(,)?) => {
        $(
            #[command(rename = $name)]
            fn $f(
                scope: CommandScope<ScopeList<Value>>,
                global: GlobalScope<ScopeList<Value>>,
            ) -> Value {
                report(&scope, &global)
            }
        )*
        /// Every command a generated case may have.
        const SERVED: &[CommandEntry] = commands![$($f),*];
    };
}

served! {
    app0 = "c0", app1 = "c_1", app2 = "c2", app3 = "c_3", app4 = "c4", app5 = "c_5",
    app6 = "c6", app7 = "c_7", app8 = "c8", app9 = "c_9", app10 = "c10", app11 = "c_11",
    plugin0 = "plugin:p|q0", plugin1 = "plugin:p|q_1", plugin2 = "plugin:p|q2",
    plugin3 = "plugin:p|q_3", plugin4 = "plugin:p|q4", plugin5 = "plugin:p|q_5",
}

/// Command `i` of an owner whose commands start with `letter`: `c0`, `c_1`, `c2`, … (every
/// other one with an underscore, so that generated identifiers are kebab-cased).
fn command_name(letter: char, i: usize) -> String {
    if i % 2 == 1 {
        format!("{letter}_{i}")
    } else {
        format!("{letter}{i}")
    }
}

fn kebab(command: &str) -> String {
    command.replace('_', "-")
}

// ---------------------------------------------------------------------------------------------
// Pools.

const PLATFORMS: &[&str] = &["linux", "macOS", "windows", "android", "iOS"];
const GLOBS: &[&str] = &["main", "viewer-*", "*", "w?"];
const PATTERNS: &[&str] = &["https://*.example.com", "https://app.test"];
const WINDOWS: &[&str] = &[
    "main",
    "viewer-1",
    "viewer-",
    "viewer-10",
    "w1",
    "w",
    "wx",
    "x",
    "main2",
    "Main",
];
const URLS: &[&str] = &[
    "https://app.example.com",
    "https://a.b.example.com/x?y#z",
    "https://APP.EXAMPLE.COM",
    "https://example.com",
    "https://app.example.com.evil.test",
    "http://app.example.com",
    "https://app.example.com:8443",
    "https://app.test",
    "https://app.test/page",
    "https://app.test:443",
    "https://app.test.",
    "https://evil-app.test",
    "https://app.test@evil.test",
    "not a url",
];

fn value(i: u8) -> Value {
    match i % 8 {
        n @ 0..=3 => json!({ "v": n }),
        4 => json!("a"),
        5 => json!("b"),
        6 => json!({ "path": "$HOME/**" }),
        _ => json!({ "v": [1, "x"] }),
    }
}

fn values(indexes: &[u8]) -> Vec<Value> {
    indexes.iter().map(|&i| value(i)).collect()
}

fn masked(pool: &[&str], mask: u8) -> Vec<String> {
    pool.iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, s)| (*s).to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Raw cases: indexes and masks that proptest generates and shrinks, resolved against what
// exists when the case is materialised (so every reference is valid and sets are acyclic).

#[derive(Debug, Clone)]
struct RawPerm {
    allow: Vec<u8>,
    deny: Vec<u8>,
    scope_allow: Vec<u8>,
    scope_deny: Vec<u8>,
    platforms: Option<u8>,
    /// Named like a generated permission (`allow-c-1`), which it then overrides.
    generated_name: bool,
    /// Plugin commands written with their full name (`plugin:p|q0`).
    full_names: bool,
    second_file: bool,
}

#[derive(Debug, Clone)]
struct RawMember {
    kind: u8,
    index: u8,
}

#[derive(Debug, Clone)]
struct RawSet {
    members: Vec<RawMember>,
    second_file: bool,
}

#[derive(Debug, Clone)]
struct RawOwner {
    commands: usize,
    permissions: Vec<RawPerm>,
    sets: Vec<RawSet>,
    default: Option<Vec<RawMember>>,
    toml: [bool; 2],
    /// A set no capability reaches, naming what does not exist and itself: a warning only.
    broken_set: bool,
    /// (Plugins only) a top-level key Tauri ignores, `[[scope.deny]]`: ignored, with a warning.
    stray_key: bool,
}

#[derive(Debug, Clone)]
struct RawRef {
    plugin: bool,
    kind: u8,
    index: u8,
    extension: Option<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, Clone)]
struct RawCap {
    windows: u8,
    webviews: u8,
    local: bool,
    remote: Option<u8>,
    platforms: Option<u8>,
    refs: Vec<RawRef>,
    toml: bool,
    /// Shares a file (`capabilities = [ … ]`) with the next capability.
    group_with_next: bool,
    /// When not for the target: also names a plugin that is not linked (a mobile-only one).
    unlinked_plugin: bool,
}

#[derive(Debug, Clone)]
struct RawCaller {
    window: u8,
    webview: Option<u8>,
    url: Option<u8>,
}

#[derive(Debug, Clone)]
struct RawCase {
    app: RawOwner,
    plugin: Option<RawOwner>,
    capabilities: Vec<RawCap>,
    callers: Vec<RawCaller>,
}

fn platforms_strategy() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![4 => Just(None), 1 => (0u8..32).prop_map(Some)]
}

fn raw_perm() -> impl Strategy<Value = RawPerm> {
    (
        prop::collection::vec(any::<u8>(), 0..=3),
        prop::collection::vec(any::<u8>(), 0..=2),
        prop::collection::vec(any::<u8>(), 0..=2),
        prop::collection::vec(any::<u8>(), 0..=1),
        platforms_strategy(),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.2),
        any::<bool>(),
    )
        .prop_map(
            |(
                allow,
                deny,
                scope_allow,
                scope_deny,
                platforms,
                generated_name,
                full_names,
                commandless,
                second_file,
            )| {
                RawPerm {
                    allow: if commandless { Vec::new() } else { allow },
                    deny: if commandless { Vec::new() } else { deny },
                    scope_allow,
                    scope_deny,
                    platforms,
                    generated_name,
                    full_names,
                    second_file,
                }
            },
        )
}

fn raw_members(max: usize) -> impl Strategy<Value = Vec<RawMember>> {
    prop::collection::vec(
        (any::<u8>(), any::<u8>()).prop_map(|(kind, index)| RawMember { kind, index }),
        1..=max,
    )
}

fn raw_owner(max_commands: usize) -> impl Strategy<Value = RawOwner> {
    (
        1..=max_commands,
        prop::collection::vec(raw_perm(), 0..=6),
        prop::collection::vec(
            (raw_members(4), any::<bool>()).prop_map(|(members, second_file)| RawSet {
                members,
                second_file,
            }),
            0..=4,
        ),
        prop::option::weighted(0.5, raw_members(3)),
        any::<[bool; 2]>(),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(commands, permissions, sets, default, toml, broken_set, stray_key)| RawOwner {
                commands,
                permissions,
                sets,
                default,
                toml,
                broken_set,
                stray_key,
            },
        )
}

fn raw_cap() -> impl Strategy<Value = RawCap> {
    (
        0u8..16,
        prop_oneof![3 => Just(0u8), 1 => 0u8..16],
        prop::bool::weighted(0.75),
        prop::option::weighted(0.4, 0u8..4),
        platforms_strategy(),
        prop::collection::vec(
            (
                prop::bool::weighted(0.4),
                any::<u8>(),
                any::<u8>(),
                prop::option::weighted(
                    0.3,
                    (
                        prop::collection::vec(any::<u8>(), 0..=2),
                        prop::collection::vec(any::<u8>(), 0..=1),
                    ),
                ),
            )
                .prop_map(|(plugin, kind, index, extension)| RawRef {
                    plugin,
                    kind,
                    index,
                    extension,
                }),
            0..=5,
        ),
        any::<bool>(),
        prop::bool::weighted(0.3),
        any::<bool>(),
    )
        .prop_map(
            |(
                windows,
                webviews,
                local,
                remote,
                platforms,
                refs,
                toml,
                group_with_next,
                unlinked_plugin,
            )| RawCap {
                windows,
                webviews,
                local,
                remote,
                platforms,
                refs,
                toml,
                group_with_next,
                unlinked_plugin,
            },
        )
}

fn raw_case() -> impl Strategy<Value = RawCase> {
    (
        raw_owner(12),
        prop::option::weighted(0.6, raw_owner(6)),
        prop::collection::vec(raw_cap(), 1..=5),
        prop::collection::vec(
            (
                0..WINDOWS.len() as u8,
                prop::option::weighted(0.3, 0..WINDOWS.len() as u8),
                prop::option::weighted(0.3, 0..URLS.len() as u8),
            )
                .prop_map(|(window, webview, url)| RawCaller {
                    window,
                    webview,
                    url,
                }),
            4..=10,
        ),
    )
        .prop_map(|(app, plugin, capabilities, callers)| RawCase {
            app,
            plugin,
            capabilities,
            callers,
        })
}

// ---------------------------------------------------------------------------------------------
// Materialising a raw case: the interpreter's input, plus where each item is written.

/// Where the items of an owner's files go, and in which format.
#[derive(Debug, Clone, Default)]
struct OwnerLayout {
    /// Per permission: in the second file?
    permission_file: Vec<bool>,
    /// Per set: in the second file?
    set_file: Vec<bool>,
    /// Per file: TOML (else JSON)?
    toml: [bool; 2],
    /// See [`RawOwner::broken_set`].
    broken_set: bool,
    /// See [`RawOwner::stray_key`].
    stray_key: bool,
}

#[derive(Debug, Clone, Default)]
struct Layout {
    app: OwnerLayout,
    plugin: OwnerLayout,
    /// Capability files: the capabilities in each, and whether it is TOML.
    capability_files: Vec<(Vec<usize>, bool)>,
}

/// The identifiers an owner's files define, for resolving raw references.
struct Defined {
    prefix: String,
    commands: Vec<String>,
    permissions: Vec<String>,
    sets: Vec<String>,
    default: bool,
}

impl Defined {
    fn generated(&self, verb: &str, index: u8) -> String {
        let command = &self.commands[index as usize % self.commands.len()];
        format!("{}{verb}-{}", self.prefix, kebab(command))
    }

    fn permission(&self, index: u8) -> Option<String> {
        (!self.permissions.is_empty()).then(|| {
            format!(
                "{}{}",
                self.prefix,
                self.permissions[index as usize % self.permissions.len()]
            )
        })
    }

    /// A set among the first `below` ones (all of them when `None`).
    fn set(&self, index: u8, below: Option<usize>) -> Option<String> {
        let n = below.unwrap_or(self.sets.len()).min(self.sets.len());
        (n > 0).then(|| format!("{}{}", self.prefix, self.sets[index as usize % n]))
    }

    fn default(&self) -> Option<String> {
        self.default.then(|| format!("{}default", self.prefix))
    }

    /// A reference of the kind `kind` (anything of this owner but its default).
    fn any(&self, kind: u8, index: u8, sets_below: Option<usize>) -> String {
        let found = match kind % 4 {
            0 => self.permission(index),
            1 => self.set(index, sets_below),
            2 => Some(self.generated("allow", index)),
            _ => Some(self.generated("deny", index)),
        };
        found.unwrap_or_else(|| self.generated("allow", index))
    }
}

fn defined(raw: &RawOwner, letter: char, prefix: &str) -> Defined {
    let commands: Vec<String> = (0..raw.commands).map(|i| command_name(letter, i)).collect();
    let permissions = (0..raw.permissions.len())
        .map(|i| {
            if raw.permissions[i].generated_name && i < commands.len() {
                let verb = if i % 2 == 0 { "allow" } else { "deny" };
                format!("{verb}-{}", kebab(&commands[i]))
            } else {
                format!("perm{i}")
            }
        })
        .collect();
    Defined {
        prefix: prefix.to_owned(),
        commands,
        permissions,
        sets: (0..raw.sets.len()).map(|i| format!("set{i}")).collect(),
        default: raw.default.is_some(),
    }
}

/// A member of set `set` (`None`: the default set) of the owner `own`; `other` is the plugin
/// when `own` is the application.
fn member(own: &Defined, other: Option<&Defined>, set: Option<usize>, raw: &RawMember) -> String {
    let local = Defined {
        prefix: String::new(),
        commands: own.commands.clone(),
        permissions: own.permissions.clone(),
        sets: own.sets.clone(),
        default: own.default,
    };
    match raw.kind % 6 {
        // Sets only contain earlier sets; the default may contain any set.
        k @ 0..=3 => local.any(k, raw.index, set),
        // Any owner's sets may name Tauri's core permissions (another plugin's, for a plugin).
        4 if raw.index % 7 == 0 => CORE_REFS[raw.index as usize / 7 % CORE_REFS.len()].to_owned(),
        4 => match other {
            // The application's sets may name the plugin's permissions, sets and default.
            Some(plugin) => match raw.index % 5 {
                0 => plugin.default(),
                1 => plugin.set(raw.index / 5, None),
                _ => None,
            }
            .unwrap_or_else(|| plugin.any(raw.index / 5, raw.index, None)),
            // A plugin's sets may spell out their own prefix.
            None => own.any(raw.index % 4, raw.index / 4, set),
        },
        _ => local.any(2, raw.index, set),
    }
}

fn owner_files(
    raw: &RawOwner,
    own: &Defined,
    other: Option<&Defined>,
    owner: &str,
) -> (Files, OwnerLayout) {
    let commands = |indexes: &[u8], full: bool| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for &i in indexes {
            let c = &own.commands[i as usize % own.commands.len()];
            let c = if full { full_name(owner, c) } else { c.clone() };
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    };
    let permissions = raw
        .permissions
        .iter()
        .enumerate()
        .map(|(i, p)| Perm {
            id: own.permissions[i].clone(),
            allow: commands(&p.allow, p.full_names && !owner.is_empty()),
            deny: commands(&p.deny, p.full_names && !owner.is_empty()),
            scope_allow: values(&p.scope_allow),
            scope_deny: values(&p.scope_deny),
            platforms: p.platforms.map(|m| masked(PLATFORMS, m)),
        })
        .collect();
    let sets = raw
        .sets
        .iter()
        .enumerate()
        .map(|(i, s)| Set {
            id: own.sets[i].clone(),
            members: s
                .members
                .iter()
                .map(|m| member(own, other, Some(i), m))
                .collect(),
        })
        .collect();
    let default = raw.default.as_ref().map(|members| {
        members
            .iter()
            .map(|m| member(own, other, None, m))
            .collect()
    });
    let layout = OwnerLayout {
        permission_file: raw.permissions.iter().map(|p| p.second_file).collect(),
        set_file: raw.sets.iter().map(|s| s.second_file).collect(),
        toml: raw.toml,
        broken_set: raw.broken_set,
        stray_key: raw.stray_key && !owner.is_empty(),
    };
    (
        Files {
            default,
            permissions,
            sets,
        },
        layout,
    )
}

fn materialise(raw: &RawCase) -> (Input, Layout, Vec<Caller>) {
    let app = defined(&raw.app, 'c', "");
    let plugin = raw
        .plugin
        .as_ref()
        .map(|p| defined(p, 'q', &format!("{PLUGIN}:")));
    let (app_files, app_layout) = owner_files(&raw.app, &app, plugin.as_ref(), "");
    let mut layout = Layout {
        app: app_layout,
        ..Layout::default()
    };
    let mut plugins = Vec::new();
    if let (Some(raw_plugin), Some(def)) = (&raw.plugin, &plugin) {
        let (files, plugin_layout) = owner_files(raw_plugin, def, None, PLUGIN);
        layout.plugin = plugin_layout;
        plugins.push(PluginInput {
            name: PLUGIN.into(),
            commands: def.commands.clone(),
            files,
        });
    }
    let capabilities: Vec<Cap> = raw
        .capabilities
        .iter()
        .enumerate()
        .map(|(i, c)| Cap {
            id: format!("cap{i}"),
            windows: masked(GLOBS, c.windows),
            webviews: masked(GLOBS, c.webviews),
            local: c.local,
            remote: c.remote.map(|m| masked(PATTERNS, m)).unwrap_or_default(),
            platforms: c.platforms.map(|m| masked(PLATFORMS, m)),
            permissions: c
                .refs
                .iter()
                .map(|r| {
                    let owner = match (&plugin, r.plugin) {
                        (Some(p), true) => p,
                        _ => &app,
                    };
                    let id = match r.kind % 8 {
                        k @ 0..=3 => owner.any(k, r.index, None),
                        // A plugin's default set, which may not exist (an empty grant).
                        4 | 5 if !owner.prefix.is_empty() => format!("{}default", owner.prefix),
                        4 | 5 => owner
                            .default()
                            .unwrap_or_else(|| owner.any(r.index, r.index / 4, None)),
                        6 => owner.any(r.index % 2, r.index / 2, None),
                        _ if r.index % 3 == 0 => {
                            CORE_REFS[r.index as usize / 3 % CORE_REFS.len()].to_owned()
                        }
                        _ => owner.any(r.index, r.index / 4, None),
                    };
                    Ref {
                        id,
                        extension: r
                            .extension
                            .as_ref()
                            .map(|(allow, deny)| (values(allow), values(deny))),
                    }
                })
                .chain(
                    // A mobile-only capability naming a mobile-only plugin, not linked here.
                    (c.unlinked_plugin
                        && c.platforms
                            .is_some_and(|m| !masked(PLATFORMS, m).contains(&TARGET.to_owned())))
                    .then(|| Ref {
                        id: "barcode-scanner:default".to_owned(),
                        extension: None,
                    }),
                )
                .collect(),
        })
        .collect();
    let mut group = Vec::new();
    for (i, c) in raw.capabilities.iter().enumerate() {
        group.push(i);
        if !c.group_with_next || i + 1 == raw.capabilities.len() {
            let toml = raw.capabilities[group[0]].toml;
            layout
                .capability_files
                .push((std::mem::take(&mut group), toml));
        }
    }
    let callers = raw
        .callers
        .iter()
        .map(|c| Caller {
            window: WINDOWS[c.window as usize].to_owned(),
            webview: c.webview.map(|w| WINDOWS[w as usize].to_owned()),
            remote: c.url.map(|u| URLS[u as usize].to_owned()),
        })
        .collect();
    let input = Input {
        app_commands: app.commands.clone(),
        app: app_files,
        plugins,
        capabilities,
    };
    (input, layout, callers)
}

// ---------------------------------------------------------------------------------------------
// Writing the files.

/// A JSON value as a TOML value (the pool has no `null`).
fn toml_value(v: &Value) -> String {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => v.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", Value::from(k.as_str()), toml_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Null => panic!("TOML has no null"),
    }
}

fn toml_strings(items: &[String]) -> String {
    toml_value(&json!(items))
}

fn toml_values(items: &[Value]) -> String {
    toml_value(&Value::Array(items.to_vec()))
}

fn permission_json(p: &Perm) -> Value {
    let mut v = json!({
        "identifier": p.id,
        "commands": { "allow": p.allow, "deny": p.deny },
        "scope": { "allow": p.scope_allow, "deny": p.scope_deny },
    });
    if let Some(platforms) = &p.platforms {
        v["platforms"] = json!(platforms);
    }
    v
}

fn permission_toml(p: &Perm) -> String {
    let mut t = format!(
        "[[permission]]\nidentifier = {}\ncommands.allow = {}\ncommands.deny = {}\nscope.allow = {}\nscope.deny = {}\n",
        Value::from(p.id.as_str()),
        toml_strings(&p.allow),
        toml_strings(&p.deny),
        toml_values(&p.scope_allow),
        toml_values(&p.scope_deny),
    );
    if let Some(platforms) = &p.platforms {
        t += &format!("platforms = {}\n", toml_strings(platforms));
    }
    t
}

/// Writes an owner's permission files (at most two) into `dir`.
fn write_permission_files(dir: &Path, files: &Files, layout: &OwnerLayout) {
    std::fs::create_dir_all(dir).expect("permissions folder");
    for (file, name) in ["a", "b"].iter().enumerate() {
        let in_file = |flags: &[bool], i: usize| usize::from(flags[i]) == file;
        let default = files.default.as_ref().filter(|_| file == 0);
        let permissions: Vec<&Perm> = (files.permissions.iter().enumerate())
            .filter(|(i, _)| in_file(&layout.permission_file, *i))
            .map(|(_, p)| p)
            .collect();
        let sets: Vec<&Set> = (files.sets.iter().enumerate())
            .filter(|(i, _)| in_file(&layout.set_file, *i))
            .map(|(_, s)| s)
            .collect();
        let broken = layout.broken_set && file == 0;
        let stray = layout.stray_key && file == 0;
        if default.is_none() && permissions.is_empty() && sets.is_empty() && !broken && !stray {
            continue;
        }
        // The second file sits deeper, where Tauri plugins keep their generated permissions.
        let folder = if file == 0 {
            dir.to_owned()
        } else {
            dir.join("autogenerated/commands")
        };
        std::fs::create_dir_all(&folder).expect("permissions subfolder");
        let (path, text) = if layout.toml[file] {
            let mut t = String::new();
            if let Some(members) = default {
                t += &format!(
                    "[default]\ndescription = \"The default.\"\npermissions = {}\n\n",
                    toml_strings(members)
                );
            }
            for p in &permissions {
                t += &permission_toml(p);
                t += "\n";
            }
            for s in &sets {
                t += &format!(
                    "[[set]]\nidentifier = {}\npermissions = {}\n\n",
                    Value::from(s.id.as_str()),
                    toml_strings(&s.members)
                );
            }
            if broken {
                t += "[[set]]\nidentifier = \"broken\"\npermissions = [\"broken\", \"nope\", \"zz:allow-x\"]\n\n";
            }
            if stray {
                t += "[[scope.deny]]\npath = \"$HOME/.ssh\"\n";
            }
            (folder.join(format!("{name}.toml")), t)
        } else {
            let mut v = json!({
                "permission": permissions.iter().map(|p| permission_json(p)).collect::<Vec<_>>(),
                "set": sets
                    .iter()
                    .map(|s| json!({ "identifier": s.id, "permissions": s.members }))
                    .collect::<Vec<_>>(),
            });
            if let Some(members) = default {
                v["default"] = json!({ "permissions": members });
            }
            if broken {
                v["set"]
                    .as_array_mut()
                    .expect("a list")
                    .push(json!({ "identifier": "broken", "permissions": ["broken", "nope", "zz:allow-x"] }));
            }
            if stray {
                v["scope"] = json!({ "deny": [{ "path": "$HOME/.ssh" }] });
            }
            (folder.join(format!("{name}.json")), v.to_string())
        };
        std::fs::write(path, text).expect("write permission file");
    }
    write_strays(dir);
}

/// What real folders hold beside the files: documentation and generated schemas, which are
/// not read (a schema would not parse as a permission or capability file).
fn write_strays(dir: &Path) {
    std::fs::create_dir_all(dir.join("schemas")).expect("schemas folder");
    std::fs::write(
        dir.join("schemas/schema.json"),
        r#"{"$schema": "x", "oneOf": []}"#,
    )
    .expect("write schema");
    std::fs::write(dir.join("reference.md"), "# Permissions\n").expect("write reference");
}

fn capability_json(c: &Cap) -> Value {
    let refs: Vec<Value> = c
        .permissions
        .iter()
        .map(|r| match &r.extension {
            None => json!(r.id),
            Some((allow, deny)) => json!({ "identifier": r.id, "allow": allow, "deny": deny }),
        })
        .collect();
    let mut v = json!({
        "identifier": c.id,
        "windows": c.windows,
        "webviews": c.webviews,
        "local": c.local,
        "permissions": refs,
    });
    if !c.remote.is_empty() {
        v["remote"] = json!({ "urls": c.remote });
    }
    if let Some(platforms) = &c.platforms {
        v["platforms"] = json!(platforms);
    }
    v
}

/// The body of a capability in TOML (keys of a table).
fn capability_toml(c: &Cap) -> String {
    let refs: Vec<String> = c
        .permissions
        .iter()
        .map(|r| match &r.extension {
            None => Value::from(r.id.as_str()).to_string(),
            Some((allow, deny)) => format!(
                "{{ identifier = {}, allow = {}, deny = {} }}",
                Value::from(r.id.as_str()),
                toml_values(allow),
                toml_values(deny)
            ),
        })
        .collect();
    let mut t = format!(
        "identifier = {}\nwindows = {}\nwebviews = {}\nlocal = {}\npermissions = [{}]\n",
        Value::from(c.id.as_str()),
        toml_strings(&c.windows),
        toml_strings(&c.webviews),
        c.local,
        refs.join(", "),
    );
    if !c.remote.is_empty() {
        t += &format!("remote = {{ urls = {} }}\n", toml_strings(&c.remote));
    }
    if let Some(platforms) = &c.platforms {
        t += &format!("platforms = {}\n", toml_strings(platforms));
    }
    t
}

fn write_capability_files(dir: &Path, input: &Input, layout: &Layout) {
    std::fs::create_dir_all(dir).expect("capabilities folder");
    for (n, (caps, toml)) in layout.capability_files.iter().enumerate() {
        let caps: Vec<&Cap> = caps.iter().map(|&i| &input.capabilities[i]).collect();
        let (ext, text) = match (toml, caps.as_slice()) {
            (true, [one]) => ("toml", capability_toml(one)),
            (true, many) => (
                "toml",
                many.iter()
                    .map(|c| format!("[[capabilities]]\n{}", capability_toml(c)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            (false, [one]) => ("json", capability_json(one).to_string()),
            // Both multi-capability JSON shapes: `{"capabilities": […]}` and a bare array.
            (false, many) => {
                let list: Vec<Value> = many.iter().map(|c| capability_json(c)).collect();
                let text = if n % 2 == 0 {
                    json!({ "capabilities": list }).to_string()
                } else {
                    Value::Array(list).to_string()
                };
                ("json", text)
            }
        };
        // Every other file in a subfolder, as Tauri reads `capabilities/**`.
        let folder = if n % 2 == 1 {
            dir.join("nested")
        } else {
            dir.to_owned()
        };
        std::fs::create_dir_all(&folder).expect("capabilities subfolder");
        std::fs::write(folder.join(format!("{n:02}.{ext}")), text).expect("write capability file");
    }
    write_strays(dir);
}

/// A fresh folder under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-reference-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the files of `input` into `dir` and checks them.
fn compile(dir: &Path, input: &Input, layout: &Layout) -> Checked {
    write_permission_files(&dir.join("permissions"), &input.app, &layout.app);
    let mut builder = Builder::new()
        .root(dir)
        .discover_commands(false)
        .commands(input.app_commands.iter().cloned())
        .plugins_from_dependencies(false)
        .target(TARGET)
        .emit_cargo_directives(false);
    for p in &input.plugins {
        let permissions = dir.join(format!("plugin-{}", p.name)).join("permissions");
        write_permission_files(&permissions, &p.files, &layout.plugin);
        builder = builder.plugin(Plugin {
            name: p.name.clone(),
            permissions,
            commands: p.commands.clone(),
        });
    }
    write_capability_files(&dir.join("capabilities"), input, layout);
    builder.check().expect("the files can be read")
}

/// Every file of the case, for failure messages.
fn dump(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_owned()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        out += &format!(
            "--- {}\n{text}\n",
            f.strip_prefix(dir).unwrap_or(&f).display()
        );
    }
    out
}

fn router_for(checked: &Checked) -> Router {
    let acl = checked
        .acl
        .to_acl()
        .expect("a checked ACL is a valid runtime ACL");
    let served: Vec<CommandEntry> = SERVED
        .iter()
        .filter(|e| acl.command_id(e.name()).is_some())
        .copied()
        .collect();
    Router::builder(acl)
        .commands(&served)
        .allow_unserved_commands(true)
        .build()
        .expect("router")
}

fn caller_info(c: &Caller) -> CallerInfo {
    let info = match &c.remote {
        None => CallerInfo::local(c.window.clone()),
        Some(url) => CallerInfo::remote(c.window.clone(), url.clone()),
    };
    match &c.webview {
        Some(w) => info.with_webview(w.clone()),
        None => info,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// Calls `command` for real; the reply as JSON.
fn call(
    rt: &tokio::runtime::Runtime,
    router: &Router,
    caller: &RuntimeCaller,
    command: &str,
) -> Value {
    let request = json!({ "jsonrpc": "2.0", "id": 1, "method": command, "params": {} });
    let reply = rt
        .block_on(router.handle(caller, request.to_string().as_bytes()))
        .expect("a request gets a reply");
    serde_json::from_slice(&reply).expect("the reply is JSON")
}

/// A list of values as a multiset: sorted by their JSON text.
fn multiset(values: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = values.iter().map(Value::to_string).collect();
    v.sort();
    v
}

fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Compares the router with the interpreter on every caller and command of a case; the first
/// disagreement, described.
fn compare(input: &Input, callers: &[Caller], checked: &Checked) -> Result<(), String> {
    let expected_commands = input.universe(&checked.acl.target);
    if checked.acl.commands != expected_commands {
        return Err(format!(
            "command universe: ACL {:?}, interpreter {:?}",
            checked.acl.commands, expected_commands
        ));
    }
    let router = router_for(checked);
    let rt = runtime();
    for c in callers {
        let caller = router.caller(caller_info(c));
        if router.check(&caller, "no_such_command") {
            return Err(format!("{c:?} may call an unknown command"));
        }
        for command in &expected_commands {
            let want = input.allowed(TARGET, c, command);
            let got = router.check(&caller, command);
            if want != got {
                return Err(format!(
                    "decision for {c:?} calling `{command}`: router {got}, interpreter {want}\n\
                     capabilities applying per the router (indexes): {:?}\n\
                     per the interpreter, with what their references expand to:{}",
                    caller.capability_indexes(),
                    input.explain(TARGET, c)
                ));
            }
            let reply = call(&rt, &router, &caller, command);
            if !want {
                if reply["error"]["code"] != -32001 {
                    return Err(format!(
                        "{c:?} calling `{command}`: expected -32001, got {reply}"
                    ));
                }
                continue;
            }
            if ["plugin:event|", "plugin:path|", "plugin:app|"]
                .iter()
                .any(|p| command.starts_with(p))
            {
                // The built-in commands need arguments or state; reaching them is what counts.
                if reply["error"]["code"] == -32001 {
                    return Err(format!("{c:?} calling `{command}`: refused: {reply}"));
                }
                continue;
            }
            let result = &reply["result"];
            if result.is_null() {
                return Err(format!("{c:?} calling `{command}`: no result: {reply}"));
            }
            let scope = input.command_scope(TARGET, c, command);
            let global = input.global_scope(TARGET, c, owner_of(command));
            let pairs: [(&str, &Scope, &str, &str); 2] = [
                ("command", &scope, "allow", "deny"),
                ("global", &global, "globalAllow", "globalDeny"),
            ];
            for (what, want, allow_key, deny_key) in pairs {
                let got = Scope {
                    allow: list(&result[allow_key]),
                    deny: list(&result[deny_key]),
                };
                if multiset(&got.allow) != multiset(&want.allow)
                    || multiset(&got.deny) != multiset(&want.deny)
                {
                    return Err(format!(
                        "{what} scope of `{command}` for {c:?}:\n  \
                         router:      allow {} deny {}\n  interpreter: allow {} deny {}\n\
                         applying capabilities and what their references expand to:{}",
                        json!(got.allow),
                        json!(got.deny),
                        json!(want.allow),
                        json!(want.deny),
                        input.explain(TARGET, c)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `cases` cases, or `PROPTEST_CASES` when set.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(96))]

    /// On random files and callers, the router's decisions and the scopes its commands receive
    /// are the interpreter's. Multiplicities count: a permission that one reference reaches
    /// twice (a set listing it directly and through another set) contributes its scope values
    /// twice, as in Tauri 2, just as when two references reach it.
    #[test]
    fn compiled_acl_agrees_with_the_reference_interpreter(raw in raw_case()) {
        let (input, layout, callers) = materialise(&raw);
        let dir = TempDir::new();
        let checked = compile(&dir.0, &input, &layout);
        let errors: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect();
        prop_assert!(errors.is_empty(), "valid files were refused:\n{}\n\n{}", errors.join("\n"), dump(&dir.0));
        if let Err(disagreement) = compare(&input, &callers, &checked) {
            prop_assert!(false, "{disagreement}\n\nfiles:\n{}", dump(&dir.0));
        }
    }

    /// A cycle among sets (a set containing itself, directly or through another) that a
    /// capability reaches is an error, and the build still finishes. (One that nothing reaches
    /// is a warning: `an_unreached_broken_set_is_a_warning`.)
    #[test]
    fn set_cycles_are_reported(raw in raw_case(), in_plugin in any::<bool>(), k in any::<u8>()) {
        let (mut input, mut layout, _) = materialise(&raw);
        let prefix = if in_plugin && !input.plugins.is_empty() { format!("{PLUGIN}:") } else { String::new() };
        input.capabilities[0].platforms = None;
        input.capabilities[0].permissions.push(Ref { id: format!("{prefix}set0"), extension: None });
        let (files, owner_layout) = match input.plugins.first_mut() {
            Some(p) if in_plugin => (&mut p.files, &mut layout.plugin),
            _ => (&mut input.app, &mut layout.app),
        };
        if files.sets.is_empty() {
            files.sets.push(Set { id: "set0".into(), members: Vec::new() });
            owner_layout.set_file.push(false);
        }
        let k = k as usize % files.sets.len();
        let (first, other) = (files.sets[0].id.clone(), files.sets[k].id.clone());
        files.sets[0].members.push(other);
        if k != 0 {
            files.sets[k].members.push(first);
        }
        let dir = TempDir::new();
        let checked = compile(&dir.0, &input, &layout);
        prop_assert!(
            checked.diagnostics.iter().any(|d| d.severity == Severity::Error && d.message.contains("cycle")),
            "no cycle reported:\n{}\n\n{}",
            checked.diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            dump(&dir.0)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written examples of the trickier semantics, end to end through real files.

/// Writes `files` (path, text) under a fresh folder and builds a router over them, with the
/// application's commands `app` and, when `plugin` is not empty, a plugin `p` with those.
fn router_over(files: &[(&str, &str)], app: &[&str], plugin: &[&str]) -> Router {
    let dir = TempDir::new();
    for (path, text) in files {
        let path = dir.0.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    }
    let mut builder = Builder::new()
        .root(&dir.0)
        .discover_commands(false)
        .commands(app.iter().copied())
        .plugins_from_dependencies(false)
        .target(TARGET)
        .emit_cargo_directives(false);
    if !plugin.is_empty() {
        builder = builder.plugin(Plugin {
            name: PLUGIN.into(),
            permissions: dir.0.join("plugin-p/permissions"),
            commands: plugin.iter().map(|c| (*c).to_owned()).collect(),
        });
    }
    let checked = builder.check().expect("readable");
    assert!(
        !checked.has_errors(),
        "{}",
        checked
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    router_for(&checked)
}

fn scopes_of(router: &Router, caller: &RuntimeCaller, command: &str) -> Value {
    let reply = call(&runtime(), router, caller, command);
    reply["result"].clone()
}

#[test]
fn a_deny_does_not_leak_into_callers_of_another_capability() {
    let router = router_over(
        &[
            (
                "capabilities/main.toml",
                r#"
                    identifier = "main"
                    windows = ["main", "viewer-9"]
                    permissions = ["allow-c0", "allow-c-1"]
                "#,
            ),
            (
                "capabilities/viewers.toml",
                r#"
                    identifier = "viewers"
                    windows = ["viewer-*"]
                    permissions = ["allow-c0", "deny-c-1", "allow-c-1"]
                "#,
            ),
        ],
        &["c0", "c_1"],
        &[],
    );
    let main = router.caller(CallerInfo::local("main"));
    let viewer = router.caller(CallerInfo::local("viewer-1"));
    assert!(router.check(&main, "c0") && router.check(&main, "c_1"));
    assert!(router.check(&viewer, "c0"));
    assert!(!router.check(&viewer, "c_1"), "the deny wins for viewers");
    // A window both capabilities apply to gets the deny.
    let both = router.caller(CallerInfo::local("viewer-9"));
    assert!(router.check(&both, "c0"));
    assert!(!router.check(&both, "c_1"));
    // `webviews` is a second, separate list: a webview label is not matched against `windows`.
    let webview = router.caller(CallerInfo::local("main").with_webview("viewer-2"));
    assert!(router.check(&webview, "c_1"));
}

#[test]
fn nested_sets_reach_generated_permissions_and_inline_scopes_extend_every_member() {
    let router = router_over(
        &[
            (
                "permissions/app.toml",
                r#"
                    [[permission]]
                    identifier = "read-scoped"
                    commands.allow = ["c2"]
                    [[permission.scope.allow]]
                    v = 1

                    [[set]]
                    identifier = "inner"
                    permissions = ["allow-c-1"]

                    [[set]]
                    identifier = "outer"
                    permissions = ["inner", "read-scoped"]
                "#,
            ),
            (
                "capabilities/main.json",
                r#"{
                    "identifier": "main",
                    "windows": ["main"],
                    "permissions": [{ "identifier": "outer", "allow": [{ "v": 9 }], "deny": ["x"] }]
                }"#,
            ),
        ],
        &["c0", "c_1", "c2"],
        &[],
    );
    let main = router.caller(CallerInfo::local("main"));
    assert!(router.check(&main, "c_1"), "outer → inner → allow-c-1");
    assert!(router.check(&main, "c2"));
    assert!(!router.check(&main, "c0"));
    // The inline extension is added to each permission of the set that allows a command.
    assert_eq!(
        scopes_of(&router, &main, "c_1"),
        json!({ "allow": [{ "v": 9 }], "deny": ["x"], "globalAllow": [], "globalDeny": [] })
    );
    assert_eq!(
        scopes_of(&router, &main, "c2"),
        json!({ "allow": [{ "v": 1 }, { "v": 9 }], "deny": ["x"], "globalAllow": [], "globalDeny": [] })
    );
}

#[test]
fn a_plugin_default_set_grants_its_commands_and_its_global_scope() {
    let router = router_over(
        &[
            (
                "plugin-p/permissions/default.toml",
                r#"
                    [default]
                    permissions = ["allow-q0", "everywhere"]

                    [[permission]]
                    identifier = "everywhere"
                    scope.allow = [{ path = "$HOME/**" }]
                "#,
            ),
            (
                "capabilities/main.toml",
                r#"
                    identifier = "main"
                    windows = ["main"]
                    permissions = ["p:default"]
                "#,
            ),
        ],
        &["c0"],
        &["q0", "q_1"],
    );
    let main = router.caller(CallerInfo::local("main"));
    let other = router.caller(CallerInfo::local("other"));
    assert!(router.check(&main, "plugin:p|q0"));
    assert!(!router.check(&main, "plugin:p|q_1"));
    assert!(!router.check(&main, "c0"));
    assert!(!router.check(&other, "plugin:p|q0"));
    assert_eq!(
        scopes_of(&router, &main, "plugin:p|q0"),
        json!({ "allow": [], "deny": [], "globalAllow": [{ "path": "$HOME/**" }], "globalDeny": [] })
    );
}

#[test]
fn an_unreached_broken_set_is_a_warning() {
    let dir = TempDir::new();
    for (path, text) in [
        (
            "permissions/app.toml",
            "[[set]]\nidentifier = \"a\"\npermissions = [\"b\", \"nope\"]\n\n[[set]]\nidentifier = \"b\"\npermissions = [\"a\"]\n",
        ),
        (
            "capabilities/main.toml",
            "identifier = \"main\"\nwindows = [\"main\"]\npermissions = [\"allow-c0\"]\n",
        ),
    ] {
        let path = dir.0.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    }
    let checked = Builder::new()
        .root(&dir.0)
        .discover_commands(false)
        .commands(["c0"])
        .plugins_from_dependencies(false)
        .target(TARGET)
        .emit_cargo_directives(false)
        .check()
        .expect("readable");
    let found: Vec<(Severity, &str)> = checked
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Severity::Warning, "unknown permission `nope`"),
            (Severity::Warning, "permission sets form a cycle: a → b → a"),
        ]
    );
    let router = router_for(&checked);
    assert!(router.check(&router.caller(CallerInfo::local("main")), "c0"));
}
