//! The reference interpreter: the ACL semantics of DESIGN.md ("Permission files", "Capability
//! files", "The runtime check"), written as plainly as possible, straight from an in-memory
//! description of the files. No bitsets, no index, no memoisation, no de-duplication: every
//! question is answered by walking the description again.
//!
//! The semantics, in one place:
//!
//! - A reference `id` written in the files of owner `o` (a capability's references are the
//!   application's) means `o`'s `id`; `plugin:id` means the plugin's, from any owner's files.
//!   `core:…` is Tauri's catalogue: `core:default` and `core:<plugin>:default` allow the
//!   commands Gatehouse serves (`event`, `path`, and `app`'s `name`, `version`,
//!   `identifier`: `plugin:event|listen`, …); everything else of the catalogue (windows,
//!   menus, …) grants nothing.
//! - `<plugin>:default` of a plugin whose files define no default set grants nothing.
//! - What no capability for the target reaches does not matter: an unused broken set, a
//!   capability for another platform naming plugins that are not linked, an unknown key in a
//!   plugin's file (ignored), files that are not TOML or JSON, or in a `schemas` folder.
//! - The command universe: every owner's commands, and the built-in commands that a
//!   capability for the target reaches.
//! - An identifier is, first, what the owner's files define (a permission, a set, or `default`
//!   for the `[default]` set); otherwise the generated `allow-<kebab>`/`deny-<kebab>` of one of
//!   the owner's commands.
//! - Expanding a reference yields the list of permissions it stands for: a set is the
//!   concatenation of its members' expansions (members read in the set's owner's context), with
//!   repetitions kept. Permissions whose `platforms` exclude the target are dropped.
//! - A capability applies to a caller when the target is among its platforms (or it has none),
//!   one of its `windows` globs matches the window label or one of its `webviews` globs matches
//!   the webview label (the window label when there is none), and it accepts the origin
//!   (`local` for local callers, a matching `remote` URL pattern for remote ones).
//! - A caller may call a command when some applying capability's expansion allows it and no
//!   applying capability's expansion denies it.
//! - The command scope a caller sees for command X: over the applying capabilities, their
//!   references, and the permissions each reference expands to, the scope values of every
//!   permission that allows X, each followed by the reference's inline extension values
//!   (Tauri 2 and `model::PermissionRef::Extended` say the extension is "added to the
//!   permission's allow list", i.e. per permission).
//! - The global scope of owner K (`""` for the application): the same walk, over permissions
//!   of K that name no command at all.

use serde_json::Value;

/// Everything the files say, and the commands that exist.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    /// The application's commands (`read_note`).
    pub(crate) app_commands: Vec<String>,
    /// The application's permission files, merged.
    pub(crate) app: Files,
    /// At most one plugin in the generated cases, but nothing here depends on that.
    pub(crate) plugins: Vec<PluginInput>,
    /// Capabilities, in the order the build reads them.
    pub(crate) capabilities: Vec<Cap>,
}

/// A plugin.
#[derive(Debug, Clone)]
pub(crate) struct PluginInput {
    /// Its name (`fs`).
    pub(crate) name: String,
    /// Its commands, by short name.
    pub(crate) commands: Vec<String>,
    /// Its permission files, merged.
    pub(crate) files: Files,
}

/// The permission files of one owner, merged.
#[derive(Debug, Clone, Default)]
pub(crate) struct Files {
    /// The `[default]` set's members.
    pub(crate) default: Option<Vec<String>>,
    /// `[[permission]]`s.
    pub(crate) permissions: Vec<Perm>,
    /// `[[set]]`s.
    pub(crate) sets: Vec<Set>,
}

/// A `[[permission]]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Perm {
    pub(crate) id: String,
    /// Command names as written in the owner's files.
    pub(crate) allow: Vec<String>,
    pub(crate) deny: Vec<String>,
    pub(crate) scope_allow: Vec<Value>,
    pub(crate) scope_deny: Vec<Value>,
    pub(crate) platforms: Option<Vec<String>>,
}

/// A `[[set]]`.
#[derive(Debug, Clone)]
pub(crate) struct Set {
    pub(crate) id: String,
    pub(crate) members: Vec<String>,
}

/// A capability.
#[derive(Debug, Clone)]
pub(crate) struct Cap {
    pub(crate) id: String,
    pub(crate) windows: Vec<String>,
    pub(crate) webviews: Vec<String>,
    pub(crate) local: bool,
    pub(crate) remote: Vec<String>,
    pub(crate) platforms: Option<Vec<String>>,
    pub(crate) permissions: Vec<Ref>,
}

/// A permission reference in a capability, with its inline scope extension.
#[derive(Debug, Clone)]
pub(crate) struct Ref {
    pub(crate) id: String,
    /// `Some((allow, deny))` for `{ identifier, allow, deny }`.
    pub(crate) extension: Option<(Vec<Value>, Vec<Value>)>,
}

/// Who is calling.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) window: String,
    pub(crate) webview: Option<String>,
    /// `None` for a local caller, the page's URL for a remote one.
    pub(crate) remote: Option<String>,
}

/// Scope values, allow and deny.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Scope {
    pub(crate) allow: Vec<Value>,
    pub(crate) deny: Vec<Value>,
}

/// A permission reached by expanding a reference, with its owner and full command names.
#[derive(Debug, Clone)]
struct Reached {
    /// The full identifier (`p:allow-read`), for messages.
    id: String,
    owner: String,
    allow: Vec<String>,
    deny: Vec<String>,
    scope_allow: Vec<Value>,
    scope_deny: Vec<Value>,
    platforms: Option<Vec<String>>,
}

impl Input {
    /// The commands and files of owner `key` (`""` for the application).
    fn owner(&self, key: &str) -> (&[String], &Files) {
        if key.is_empty() {
            return (&self.app_commands, &self.app);
        }
        let plugin = self
            .plugins
            .iter()
            .find(|p| p.name == key)
            .unwrap_or_else(|| panic!("reference to unknown plugin `{key}`"));
        (&plugin.commands, &plugin.files)
    }

    /// Every command's full name, as the router knows it.
    pub(crate) fn all_commands(&self) -> Vec<String> {
        let mut all: Vec<String> = self.app_commands.clone();
        for p in &self.plugins {
            all.extend(p.commands.iter().map(|c| full_name(&p.name, c)));
        }
        all
    }

    /// The command universe on `target`, sorted.
    pub(crate) fn universe(&self, target: &str) -> Vec<String> {
        let mut all = self.all_commands();
        for cap in &self.capabilities {
            if cap
                .platforms
                .as_ref()
                .is_some_and(|list| !list.iter().any(|x| x == target))
            {
                continue;
            }
            for reference in &cap.permissions {
                for p in self.permissions_of(reference, target) {
                    all.extend(p.allow.into_iter().chain(p.deny));
                }
            }
        }
        all.sort();
        all.dedup();
        all
    }

    /// The permissions `reference`, written in the files of `context`, stands for.
    fn expand(&self, context: &str, reference: &str) -> Vec<Reached> {
        let (owner, id) = match reference.split_once(':') {
            Some((plugin, id)) => (plugin, id),
            None => (context, reference),
        };
        if owner == "core" {
            return core(id);
        }
        let (commands, files) = self.owner(owner);
        // What the files define comes first.
        if id == "default" {
            if let Some(members) = &files.default {
                return members.iter().flat_map(|m| self.expand(owner, m)).collect();
            }
            // A plugin without a default set: `<plugin>:default` grants nothing.
            if !owner.is_empty() {
                return Vec::new();
            }
        }
        if let Some(p) = files.permissions.iter().find(|p| p.id == id) {
            return vec![Reached {
                id: full_id(owner, id),
                owner: owner.to_owned(),
                allow: p.allow.iter().map(|c| full_name(owner, c)).collect(),
                deny: p.deny.iter().map(|c| full_name(owner, c)).collect(),
                scope_allow: p.scope_allow.clone(),
                scope_deny: p.scope_deny.clone(),
                platforms: p.platforms.clone(),
            }];
        }
        if let Some(s) = files.sets.iter().find(|s| s.id == id) {
            return s
                .members
                .iter()
                .flat_map(|m| self.expand(owner, m))
                .collect();
        }
        // Then the generated `allow-<kebab>` / `deny-<kebab>`.
        for command in commands {
            let kebab = command.replace('_', "-");
            let generated = Reached {
                id: full_id(owner, id),
                owner: owner.to_owned(),
                allow: Vec::new(),
                deny: Vec::new(),
                scope_allow: Vec::new(),
                scope_deny: Vec::new(),
                platforms: None,
            };
            if id == format!("allow-{kebab}") {
                let allow = vec![full_name(owner, command)];
                return vec![Reached { allow, ..generated }];
            }
            if id == format!("deny-{kebab}") {
                let deny = vec![full_name(owner, command)];
                return vec![Reached { deny, ..generated }];
            }
        }
        panic!("the generator wrote a reference to nothing: `{reference}` in `{context}`");
    }

    /// The permissions (for `target`) a capability reference stands for.
    fn permissions_of(&self, reference: &Ref, target: &str) -> Vec<Reached> {
        self.expand("", &reference.id)
            .into_iter()
            .filter(|p| {
                p.platforms
                    .as_ref()
                    .is_none_or(|list| list.iter().any(|x| x == target))
            })
            .collect()
    }

    /// The capabilities that apply to `caller` on `target`, in order.
    pub(crate) fn applying<'s>(&'s self, target: &'s str, caller: &'s Caller) -> Vec<&'s Cap> {
        self.capabilities
            .iter()
            .filter(|cap| applies(cap, target, caller))
            .collect()
    }

    /// For messages: each applying capability with what its references expand to.
    pub(crate) fn explain(&self, target: &str, caller: &Caller) -> String {
        let mut out = String::new();
        for cap in self.applying(target, caller) {
            out += &format!("\n  {}:", cap.id);
            for reference in &cap.permissions {
                let ids: Vec<String> = self
                    .permissions_of(reference, target)
                    .into_iter()
                    .map(|p| p.id)
                    .collect();
                out += &format!(" {} → [{}];", reference.id, ids.join(", "));
            }
        }
        out
    }

    /// Whether `caller` may call `command` on `target`.
    pub(crate) fn allowed(&self, target: &str, caller: &Caller, command: &str) -> bool {
        let caps = self.applying(target, caller);
        let mut allowed = false;
        let mut denied = false;
        for cap in caps {
            for reference in &cap.permissions {
                for p in self.permissions_of(reference, target) {
                    allowed |= p.allow.iter().any(|c| c == command);
                    denied |= p.deny.iter().any(|c| c == command);
                }
            }
        }
        allowed && !denied
    }

    /// The command scope `caller` sees for `command`.
    pub(crate) fn command_scope(&self, target: &str, caller: &Caller, command: &str) -> Scope {
        let mut scope = Scope::default();
        for cap in self.applying(target, caller) {
            for reference in &cap.permissions {
                for p in self.permissions_of(reference, target) {
                    if p.allow.iter().any(|c| c == command) {
                        add(&mut scope, &p, reference);
                    }
                }
            }
        }
        scope
    }

    /// The global scope `caller` sees for the commands of owner `key` (`""`: the application).
    pub(crate) fn global_scope(&self, target: &str, caller: &Caller, key: &str) -> Scope {
        let mut scope = Scope::default();
        for cap in self.applying(target, caller) {
            for reference in &cap.permissions {
                for p in self.permissions_of(reference, target) {
                    if p.owner == key && p.allow.is_empty() && p.deny.is_empty() {
                        add(&mut scope, &p, reference);
                    }
                }
            }
        }
        scope
    }
}

/// The built-in commands Gatehouse serves, per Tauri core plugin; every other `core:`
/// command (windows, menus, `app`'s `tauri_version`, …) is known but grants nothing.
const SERVED: &[(&str, &[&str])] = &[
    ("event", &["listen", "unlisten", "emit", "emit_to"]),
    (
        "path",
        &[
            "resolve_directory",
            "resolve",
            "normalize",
            "join",
            "dirname",
            "extname",
            "basename",
            "is_absolute",
        ],
    ),
    ("app", &["name", "version", "identifier"]),
];

/// Tauri core plugins whose identifiers the generator writes but Gatehouse does not serve.
const UNSERVED: &[&str] = &["window", "webview", "menu", "tray", "image", "resources"];

/// What a `core:` identifier stands for: `core:default` is every core plugin's default;
/// `core:<plugin>:default` allows all of the served commands of the plugin (each of them is in
/// its Tauri default set); `allow-<kebab>`/`deny-<kebab>` one command.
fn core(id: &str) -> Vec<Reached> {
    let reached = |plugin: &str, command: &str, allow: bool| Reached {
        id: format!(
            "core:{plugin}:{}-{}",
            if allow { "allow" } else { "deny" },
            command.replace('_', "-")
        ),
        owner: format!("core:{plugin}"),
        allow: if allow {
            vec![format!("plugin:{plugin}|{command}")]
        } else {
            Vec::new()
        },
        deny: if allow {
            Vec::new()
        } else {
            vec![format!("plugin:{plugin}|{command}")]
        },
        scope_allow: Vec::new(),
        scope_deny: Vec::new(),
        platforms: None,
    };
    if id == "default" {
        return SERVED
            .iter()
            .flat_map(|(plugin, commands)| commands.iter().map(|c| reached(plugin, c, true)))
            .collect();
    }
    let (plugin, rest) = id
        .split_once(':')
        .unwrap_or_else(|| panic!("not a core identifier: `core:{id}`"));
    let Some((_, commands)) = SERVED.iter().find(|(p, _)| *p == plugin) else {
        assert!(
            UNSERVED.contains(&plugin),
            "unknown core plugin in `core:{id}`"
        );
        return Vec::new();
    };
    if rest == "default" {
        return commands.iter().map(|c| reached(plugin, c, true)).collect();
    }
    let (verb, kebab) = rest
        .split_once('-')
        .unwrap_or_else(|| panic!("not a core identifier: `core:{id}`"));
    match commands.iter().find(|c| c.replace('_', "-") == kebab) {
        Some(command) => vec![reached(plugin, command, verb == "allow")],
        // A command Tauri has and Gatehouse does not serve (`core:app:allow-tauri-version`).
        None => Vec::new(),
    }
}

fn add(scope: &mut Scope, p: &Reached, reference: &Ref) {
    scope.allow.extend(p.scope_allow.iter().cloned());
    scope.deny.extend(p.scope_deny.iter().cloned());
    if let Some((allow, deny)) = &reference.extension {
        scope.allow.extend(allow.iter().cloned());
        scope.deny.extend(deny.iter().cloned());
    }
}

fn full_id(owner: &str, id: &str) -> String {
    if owner.is_empty() {
        id.to_owned()
    } else {
        format!("{owner}:{id}")
    }
}

/// `read_file` of plugin `fs` is `plugin:fs|read_file`; the application's keep their names.
pub(crate) fn full_name(owner: &str, command: &str) -> String {
    if owner.is_empty() || command.starts_with("plugin:") {
        command.to_owned()
    } else {
        format!("plugin:{owner}|{command}")
    }
}

/// The plugin a command belongs to (`""` for the application).
pub(crate) fn owner_of(command: &str) -> &str {
    command
        .strip_prefix("plugin:")
        .and_then(|rest| rest.split_once('|'))
        .map_or("", |(plugin, _)| plugin)
}

fn applies(cap: &Cap, target: &str, caller: &Caller) -> bool {
    let platform = cap
        .platforms
        .as_ref()
        .is_none_or(|list| list.iter().any(|p| p == target));
    let webview = caller.webview.as_deref().unwrap_or(&caller.window);
    let label = cap.windows.iter().any(|g| glob(g, &caller.window))
        || cap.webviews.iter().any(|g| glob(g, webview));
    let origin = match &caller.remote {
        None => cap.local,
        Some(url) => cap.remote.iter().any(|pattern| url_matches(pattern, url)),
    };
    platform && label && origin
}

/// `*` (any run of characters) and `?` (one character); everything else literal.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

/// Scheme, host (lower case) and explicit non-default port of a URL, or `None` for text that
/// is not an absolute URL with a host. Enough for the URLs the tests use (no IPv6, no
/// percent-encoding).
fn parse_url(url: &str) -> Option<(String, String, Option<String>)> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    if host.is_empty() || host.contains(' ') {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => "",
    };
    let port = port.filter(|p| *p != default_port).map(str::to_owned);
    Some((scheme, host.to_ascii_lowercase(), port))
}

/// The two URL patterns the generated capabilities use, checked by hand.
pub(crate) fn url_matches(pattern: &str, url: &str) -> bool {
    let Some((scheme, host, port)) = parse_url(url) else {
        return false;
    };
    let https = scheme == "https" && port.is_none();
    match pattern {
        // A non-empty subdomain (any depth) of example.com.
        "https://*.example.com" => {
            https && host.len() > ".example.com".len() && host.ends_with(".example.com")
        }
        "https://app.test" => https && host == "app.test",
        other => panic!("the interpreter knows no URL pattern `{other}`"),
    }
}
