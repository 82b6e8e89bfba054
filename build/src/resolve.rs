//! Resolution: permission identifiers to permissions, sets expanded, each capability (for the
//! target platform) to allowed and denied commands with their scopes. The checks of
//! `validate.rs` run along the way; every problem is collected, none stops the others.
//!
//! What a capability for the target reaches is held to every rule (an error fails the build);
//! what nothing reaches — a set no capability names, a capability for another platform — is
//! only warned about, as Tauri 2 does not look at it at all.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use gatehouse_acl::{closest, LabelGlob, UrlPattern};
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Severity, Source};
use crate::model::{Capability, Permission, PermissionFile, PermissionRef};

/// Whose permissions an [`Owner`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnerKind {
    /// The application: bare identifiers.
    App,
    /// A plugin: `<plugin>:<id>`.
    Plugin,
    /// Tauri's built-ins (`core`, `core:<plugin>`), from [`crate::tauri_core`].
    Core,
}

/// The application or a plugin: whose permissions and commands these are.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    /// `None` for the application, the plugin's name otherwise.
    pub(crate) plugin: Option<String>,
    /// Command names as the owner writes them (`read_file`, not `plugin:fs|read_file`).
    pub(crate) commands: Vec<String>,
    /// Whether `commands` is the complete list (enables the unknown-command check).
    pub(crate) commands_known: bool,
    pub(crate) files: Vec<(Source, PermissionFile)>,
}

impl Owner {
    pub(crate) fn prefix(&self) -> String {
        self.plugin
            .as_ref()
            .map_or_else(String::new, |p| format!("{p}:"))
    }

    /// Whose permissions these are, from the name: `core` and `core:<plugin>` are Tauri's.
    pub(crate) fn kind(&self) -> OwnerKind {
        match self.plugin.as_deref() {
            None => OwnerKind::App,
            Some(p) if p == "core" || p.starts_with("core:") => OwnerKind::Core,
            Some(_) => OwnerKind::Plugin,
        }
    }

    /// The full name of a command as the router knows it (`core:event`'s `listen` is
    /// `plugin:event|listen`, as in Tauri).
    pub(crate) fn command_name(&self, command: &str) -> String {
        match &self.plugin {
            Some(p) if !command.starts_with("plugin:") => {
                let p = p.strip_prefix("core:").unwrap_or(p);
                format!("plugin:{p}|{command}")
            }
            _ => command.to_owned(),
        }
    }

    /// Whether the runtime serves this owner's command (everything but the Tauri built-ins
    /// Gatehouse does not provide).
    fn serves(&self, full_name: &str) -> bool {
        self.kind() != OwnerKind::Core || crate::tauri_core::served(full_name)
    }
}

/// The built-in owners (`core`, `core:event`, `core:path`, …), added after the application and
/// its plugins.
pub(crate) fn core_owners() -> Vec<Owner> {
    crate::tauri_core::owners()
}

/// The scope values a grant carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScopeValues {
    /// Allowed values.
    pub allow: Vec<serde_json::Value>,
    /// Denied values.
    pub deny: Vec<serde_json::Value>,
}

/// One capability, resolved for the target platform.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResolvedCapability {
    /// The identifier.
    pub identifier: String,
    /// What it is for.
    pub description: String,
    /// Globs over window labels, parsed.
    pub windows: Vec<LabelGlob>,
    /// Globs over webview labels, parsed.
    pub webviews: Vec<LabelGlob>,
    /// Whether it applies to local frontends.
    pub local: bool,
    /// Remote URL patterns, parsed.
    pub remote: Vec<UrlPattern>,
    /// Commands allowed.
    pub allow: BTreeSet<String>,
    /// Commands denied.
    pub deny: BTreeSet<String>,
    /// Scope values per command.
    pub scopes: BTreeMap<String, ScopeValues>,
    /// Global scope values per plugin (`""` for the application).
    pub global_scopes: BTreeMap<String, ScopeValues>,
}

/// The resolved ACL: what the generated tables encode.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResolvedAcl {
    /// The target platform it was resolved for.
    pub target: String,
    /// Every command, sorted: a command's id is its index.
    pub commands: Vec<String>,
    /// The capabilities that apply on the target, in file order.
    pub capabilities: Vec<ResolvedCapability>,
}

/// A permission, set or default in the index, with where it was written.
pub(crate) enum Entry<'a> {
    Permission {
        owner: usize,
        permission: std::borrow::Cow<'a, Permission>,
    },
    Set {
        owner: usize,
        members: &'a [String],
        file: usize,
        id: &'a str,
    },
    /// `<plugin>:default` of a plugin whose files define no default set: an empty grant, as in
    /// Tauri 2 (whose CLI writes `<plugin>:default` into capabilities for every plugin it adds).
    MissingDefault { owner: usize },
}

/// Why a reference means nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LookupError {
    /// `x:…` where no plugin `x` is loaded.
    UnknownPlugin { message: String, help: String },
    /// No permission, set or default of that name.
    UnknownPermission {
        message: String,
        help: Option<String>,
    },
}

impl LookupError {
    /// The diagnostic for it, at `name` in `source` (searched inside the item `within`).
    pub(crate) fn diagnostic(
        &self,
        severity: Severity,
        source: &Source,
        within: Option<&str>,
        name: &str,
    ) -> Diagnostic {
        let span = source.find_in(within, name);
        let (message, help) = match self {
            LookupError::UnknownPlugin { message, help } => (message, Some(help)),
            LookupError::UnknownPermission { message, help } => (message, help.as_ref()),
        };
        let d = Diagnostic {
            severity,
            ..Diagnostic::error(source, span, message.clone())
        };
        match help {
            Some(h) => d.help(h.clone()),
            None => d,
        }
    }
}

/// How strictly to resolve.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The platform to resolve for.
    pub(crate) target: String,
    /// How bad a permission naming a command no code defines is (the code–ACL tie).
    pub(crate) unknown_command: Severity,
    /// A plugin checked alone (`export_plugin`): all of its sets count as reached, and
    /// references to other plugins, which are not loaded, are not checked.
    pub(crate) plugin_alone: bool,
}

impl Options {
    /// For `target`, the tie an error.
    pub(crate) fn new(target: &str) -> Self {
        Self {
            target: target.to_owned(),
            unknown_command: Severity::Error,
            plugin_alone: false,
        }
    }
}

/// Validates and resolves. Returns the ACL with every diagnostic (warnings included); the ACL
/// is meaningful only when no diagnostic is an error.
pub(crate) fn resolve(
    owners: &[Owner],
    capability_files: &[(Source, Vec<Capability>)],
    target: &str,
) -> (ResolvedAcl, Vec<Diagnostic>) {
    resolve_with(owners, capability_files, &Options::new(target))
}

/// [`resolve`] with every option.
pub(crate) fn resolve_with(
    owners: &[Owner],
    capability_files: &[(Source, Vec<Capability>)],
    options: &Options,
) -> (ResolvedAcl, Vec<Diagnostic>) {
    let known_commands = owners
        .iter()
        .map(|o| o.commands.iter().map(|c| o.command_name(c)).collect())
        .collect();
    let mut r = Resolver {
        owners,
        options,
        diagnostics: Vec::new(),
        index: HashMap::new(),
        known_commands,
    };
    r.index_permissions();
    let active = r.check_capabilities(capability_files);
    let reached = r.reached(&active);
    r.check_sets(&reached);
    let acl = r.capabilities(active);
    (acl, r.diagnostics)
}

pub(crate) struct Resolver<'a> {
    pub(crate) owners: &'a [Owner],
    pub(crate) options: &'a Options,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) index: HashMap<String, Entry<'a>>,
    /// Every owner's commands by full name, built once (checking permissions against a list
    /// rebuilt per permission was quadratic).
    pub(crate) known_commands: Vec<HashSet<String>>,
}

/// A capability for the target, with the file it is in and the callers it selects.
pub(crate) type Active<'a> = Vec<(&'a Source, &'a Capability, Selectors)>;

/// A capability's label globs and URL patterns, parsed once (those that do not parse are
/// reported, and left out).
#[derive(Debug, Default)]
pub(crate) struct Selectors {
    pub(crate) windows: Vec<LabelGlob>,
    pub(crate) webviews: Vec<LabelGlob>,
    pub(crate) remote: Vec<UrlPattern>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn source(&self, owner: usize, file: usize) -> &'a Source {
        &self.owners[owner].files[file].0
    }

    /// Builds the index: autogenerated `allow-`/`deny-` per command, then what the files say
    /// (which may override the generated ones, never each other), then an empty default for
    /// each plugin that defines none.
    fn index_permissions(&mut self) {
        for (o, owner) in self.owners.iter().enumerate() {
            let prefix = owner.prefix();
            for command in &owner.commands {
                let kebab = command.replace('_', "-");
                let full = owner.command_name(command);
                for (verb, allow) in [("allow", true), ("deny", false)] {
                    let mut p = Permission {
                        identifier: format!("{verb}-{kebab}"),
                        description: Some(format!(
                            "{}s the `{command}` command.",
                            if allow { "Allow" } else { "Denie" }
                        )),
                        ..Permission::default()
                    };
                    if allow {
                        p.commands.allow.push(full.clone());
                    } else {
                        p.commands.deny.push(full.clone());
                    }
                    self.index.insert(
                        format!("{prefix}{}", p.identifier),
                        Entry::Permission {
                            owner: o,
                            permission: std::borrow::Cow::Owned(p),
                        },
                    );
                }
            }
            self.index_files(o, owner, &prefix);
            if owner.kind() == OwnerKind::Plugin {
                self.index
                    .entry(format!("{prefix}default"))
                    .or_insert(Entry::MissingDefault { owner: o });
            }
        }
    }

    fn index_files(&mut self, o: usize, owner: &'a Owner, prefix: &str) {
        let mut explicit: HashMap<String, usize> = HashMap::new();
        for (f, (source, file)) in owner.files.iter().enumerate() {
            let mut add = |this: &mut Self, id: &'a str, entry: Entry<'a>| {
                let full = format!("{prefix}{id}");
                if let Some(first_file) = explicit.get(&full) {
                    let first = &owner.files[*first_file].0;
                    // Point at this definition, not at the first one when both are in one file.
                    let after = if *first_file == f {
                        source.find(id, 0).map_or(0, |s| s.end)
                    } else {
                        0
                    };
                    this.diagnostics.push(
                        Diagnostic::error(
                            source,
                            source.find(id, after),
                            format!("duplicate identifier `{full}`"),
                        )
                        .help(format!("it is already defined in {}", first.path.display())),
                    );
                    return;
                }
                explicit.insert(full.clone(), f);
                this.index.insert(full, entry);
            };
            if let Some(default) = &file.default {
                add(
                    self,
                    "default",
                    Entry::Set {
                        owner: o,
                        members: &default.permissions,
                        file: f,
                        id: "default",
                    },
                );
            }
            for permission in &file.permission {
                self.check_permission(o, source, permission);
                add(
                    self,
                    &permission.identifier,
                    Entry::Permission {
                        owner: o,
                        permission: std::borrow::Cow::Borrowed(permission),
                    },
                );
            }
            for set in &file.set {
                add(
                    self,
                    &set.identifier,
                    Entry::Set {
                        owner: o,
                        members: &set.permissions,
                        file: f,
                        id: &set.identifier,
                    },
                );
            }
        }
    }

    /// The plugins a reference may name, for suggestions: every loaded one but Tauri's.
    fn plugin_names(&self) -> Vec<&'a str> {
        self.owners
            .iter()
            .filter(|o| o.kind() == OwnerKind::Plugin)
            .filter_map(|o| o.plugin.as_deref())
            .collect()
    }

    /// The full identifier a reference means, written in the files of `owner` (or in a
    /// capability, `None`), or why it means nothing.
    pub(crate) fn lookup(
        &self,
        owner: Option<usize>,
        reference: &str,
    ) -> Result<String, LookupError> {
        let full = match (reference.split_once(':'), owner) {
            (Some((plugin, _)), _) => {
                let known = self
                    .owners
                    .iter()
                    .any(|o| o.plugin.as_deref() == Some(plugin));
                if !known {
                    let plugins = self.plugin_names();
                    let help = match closest(plugin, plugins.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if plugins.is_empty() => {
                            "this application depends on no plugin that exports permissions".into()
                        }
                        None => format!("known plugins: {}", plugins.join(", ")),
                    };
                    return Err(LookupError::UnknownPlugin {
                        message: format!("unknown plugin `{plugin}` in `{reference}`"),
                        help,
                    });
                }
                reference.to_owned()
            }
            (None, Some(o)) => format!("{}{reference}", self.owners[o].prefix()),
            (None, None) => reference.to_owned(),
        };
        if self.index.contains_key(&full) {
            return Ok(full);
        }
        let help = closest(&full, self.index.keys().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"));
        Err(LookupError::UnknownPermission {
            message: format!("unknown permission `{reference}`"),
            help,
        })
    }

    /// Every permission a reference stands for (sets expanded), with its owner.
    ///
    /// `path` holds the sets being expanded, only to stop at a cycle (reported by validation):
    /// a permission reached twice through different sets counts twice, as it would listed twice.
    fn expand<'s>(
        &'s self,
        full: &str,
        path: &mut BTreeSet<String>,
        out: &mut Vec<(usize, &'s Permission)>,
    ) {
        if !path.insert(full.to_owned()) {
            return;
        }
        match self.index.get(full) {
            Some(Entry::Permission {
                owner, permission, ..
            }) => out.push((*owner, permission.as_ref())),
            Some(Entry::Set { owner, members, .. }) => {
                for member in members.iter() {
                    if let Ok(m) = self.lookup(Some(*owner), member) {
                        self.expand(&m, path, out);
                    }
                }
            }
            Some(Entry::MissingDefault { .. }) | None => {}
        }
        path.remove(full);
    }

    /// Every index entry (full identifier) that a capability for the target reaches, through
    /// any depth of sets. A plugin checked alone reaches all of its own entries.
    fn reached(&self, active: &Active<'a>) -> HashSet<String> {
        let mut reached = HashSet::new();
        let mut todo: Vec<String> = active
            .iter()
            .flat_map(|(_, cap, _)| &cap.permissions)
            .filter_map(|r| self.lookup(None, r.identifier()).ok())
            .collect();
        if self.options.plugin_alone {
            todo.extend(self.index.keys().cloned());
        }
        while let Some(full) = todo.pop() {
            if !reached.insert(full.clone()) {
                continue;
            }
            if let Some(Entry::Set { owner, members, .. }) = self.index.get(&full) {
                todo.extend(
                    members
                        .iter()
                        .filter_map(|m| self.lookup(Some(*owner), m).ok()),
                );
            }
        }
        reached
    }

    /// Checks every capability; returns those for the target. A capability for another
    /// platform is checked too, but its problems are warnings, and its references to plugins
    /// that are not linked on this target are expected (a mobile-only plugin).
    fn check_capabilities(&mut self, files: &'a [(Source, Vec<Capability>)]) -> Active<'a> {
        let mut seen_ids: HashMap<&str, &Source> = HashMap::new();
        let mut active = Vec::new();
        for (source, capabilities) in files {
            for cap in capabilities {
                let id = cap.identifier.as_str();
                if let Some(first) = seen_ids.insert(id, source) {
                    self.diagnostics.push(
                        Diagnostic::error(
                            source,
                            source.find(id, 0),
                            format!("duplicate capability identifier `{id}`"),
                        )
                        .help(format!("it is already defined in {}", first.path.display())),
                    );
                }
                let applies = cap
                    .platforms
                    .as_ref()
                    .is_none_or(|p| p.contains(&self.options.target));
                if applies {
                    let selectors = self.check_capability(source, cap, Severity::Error);
                    active.push((source, cap, selectors));
                } else {
                    // Nothing of it is resolved: its parsed selectors are not needed.
                    let _ = self.check_capability(source, cap, Severity::Warning);
                }
            }
        }
        active
    }

    fn capabilities(&mut self, active: Active<'a>) -> ResolvedAcl {
        let mut universe: BTreeSet<String> = BTreeSet::new();
        for owner in self.owners.iter().filter(|o| o.kind() != OwnerKind::Core) {
            universe.extend(owner.commands.iter().map(|c| owner.command_name(c)));
        }
        let mut resolved = Vec::new();
        for (source, cap, selectors) in active {
            let (out, unserved) = self.resolve_capability(cap, selectors);
            if let Some(d) = unserved_warning(source, cap, &unserved) {
                self.diagnostics.push(d);
            }
            resolved.push(out);
        }
        // Commands named only by permissions (when commands are not all known), and the
        // built-in commands a capability reaches, join the universe.
        for cap in &resolved {
            universe.extend(cap.allow.iter().cloned());
            universe.extend(cap.deny.iter().cloned());
        }
        ResolvedAcl {
            target: self.options.target.clone(),
            commands: universe.into_iter().collect(),
            capabilities: resolved,
        }
    }

    /// The capability's grants, and for each of its references that names Tauri built-ins
    /// Gatehouse does not serve, the reference and how many such commands it names.
    fn resolve_capability(
        &self,
        cap: &Capability,
        selectors: Selectors,
    ) -> (ResolvedCapability, Vec<(String, usize)>) {
        let target = self.options.target.as_str();
        let mut out = ResolvedCapability {
            identifier: cap.identifier.clone(),
            description: cap.description.clone().unwrap_or_default(),
            windows: selectors.windows,
            webviews: selectors.webviews,
            local: cap.local,
            remote: selectors.remote,
            ..ResolvedCapability::default()
        };
        let mut unserved: Vec<(String, usize)> = Vec::new();
        for reference in &cap.permissions {
            let Ok(full) = self.lookup(None, reference.identifier()) else {
                continue;
            };
            let mut permissions = Vec::new();
            self.expand(&full, &mut BTreeSet::new(), &mut permissions);
            let (extra_allow, extra_deny) = match reference {
                PermissionRef::Extended { allow, deny, .. } => (allow.as_slice(), deny.as_slice()),
                PermissionRef::Name(_) => (&[][..], &[][..]),
            };
            let mut not_served: BTreeSet<String> = BTreeSet::new();
            for (o, permission) in permissions {
                let owner = &self.owners[o];
                if permission
                    .platforms
                    .as_ref()
                    .is_some_and(|p| !p.iter().any(|p| p == target))
                {
                    continue;
                }
                let mut names = |list: &[String]| -> Vec<String> {
                    let mut kept = Vec::new();
                    for full in list.iter().map(|c| owner.command_name(c)) {
                        if owner.serves(&full) {
                            kept.push(full);
                        } else {
                            not_served.insert(full);
                        }
                    }
                    kept
                };
                let allow = names(&permission.commands.allow);
                let deny = names(&permission.commands.deny);
                let mut scope = ScopeValues {
                    allow: permission.scope.allow.clone(),
                    deny: permission.scope.deny.clone(),
                };
                scope.allow.extend_from_slice(extra_allow);
                scope.deny.extend_from_slice(extra_deny);
                let has_scope = !scope.allow.is_empty() || !scope.deny.is_empty();
                let commandless =
                    permission.commands.allow.is_empty() && permission.commands.deny.is_empty();
                if commandless {
                    if has_scope {
                        let global = out
                            .global_scopes
                            .entry(owner.plugin.clone().unwrap_or_default())
                            .or_default();
                        global.allow.extend(scope.allow);
                        global.deny.extend(scope.deny);
                    }
                    continue;
                }
                for command in &allow {
                    if has_scope {
                        let entry = out.scopes.entry(command.clone()).or_default();
                        entry.allow.extend(scope.allow.iter().cloned());
                        entry.deny.extend(scope.deny.iter().cloned());
                    }
                }
                out.allow.extend(allow);
                out.deny.extend(deny);
            }
            if !not_served.is_empty() {
                unserved.push((reference.identifier().to_owned(), not_served.len()));
            }
        }
        (out, unserved)
    }
}

/// One warning per capability naming Tauri built-ins that Gatehouse does not provide.
fn unserved_warning(
    source: &Source,
    cap: &Capability,
    unserved: &[(String, usize)],
) -> Option<Diagnostic> {
    if unserved.is_empty() {
        return None;
    }
    let list: Vec<String> = unserved
        .iter()
        .map(|(reference, n)| match n {
            1 => format!("`{reference}`"),
            n => format!("`{reference}` ({n} commands)"),
        })
        .collect();
    Some(
        Diagnostic::warning(
            source,
            source.find(&cap.identifier, 0),
            format!(
                "capability `{}` names Tauri built-ins not provided by Gatehouse, which grant nothing here: {}",
                cap.identifier,
                list.join(", ")
            ),
        )
        .help(
            "Gatehouse serves `core:event`, `core:path` and `core:app`'s `name`, `version` and `identifier`; window, webview, menu, tray and image commands need Tauri's webview runtime",
        )
        .kind(crate::diagnostic::Kind::UnservedBuiltin),
    )
}

/// Whether any diagnostic is an error.
pub(crate) fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}

impl ResolvedAcl {
    /// The same ACL as the generated static tables, built in memory: for tools and tests that
    /// need a router over files without compiling the generated code.
    ///
    /// # Errors
    ///
    /// What `gatehouse-acl` finds wrong (a capability identifier used twice, which
    /// `Builder::check` reports first).
    pub fn to_acl(&self) -> Result<gatehouse_acl::Acl, gatehouse_acl::AclError> {
        let text = |s: &str| gatehouse_acl::Text::Owned(s.to_owned());
        let mut builder = gatehouse_acl::Acl::builder().commands(self.commands.iter().cloned());
        for cap in &self.capabilities {
            let mut c = gatehouse_acl::Capability::builder(cap.identifier.clone())
                .description(cap.description.clone())
                .windows(cap.windows.iter().map(|g| text(g.as_str())))
                .webviews(cap.webviews.iter().map(|g| text(g.as_str())))
                .local(cap.local)
                .remote(cap.remote.iter().map(|p| text(p.as_str())))
                .allow(cap.allow.iter().cloned())
                .deny(cap.deny.iter().cloned());
            for (command, values) in &cap.scopes {
                c = c.scope(command.clone(), values.allow.iter(), values.deny.iter());
            }
            for (plugin, values) in &cap.global_scopes {
                c = c.global_scope(plugin.clone(), values.allow.iter(), values.deny.iter());
            }
            builder = builder.capability(c);
        }
        builder.build()
    }
}
