//! Resolution: permission identifiers to permissions, sets expanded, each capability (for the
//! target platform) to allowed and denied commands with their scopes. The checks of
//! `validate.rs` run along the way; every problem is collected, none stops the others.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gatehouse_runtime::__private::closest;
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Severity, Source};
use crate::model::{Capability, Permission, PermissionFile, PermissionRef};

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
}

/// Gatehouse's own permissions, as Tauri names them: `core:event:allow-listen`, … and
/// `core:event:default`, all served by the runtime's built-in event commands.
const CORE_EVENT_PERMISSIONS: &str = r#"
[default]
description = "Allows listening to, and emitting, events."
permissions = ["allow-listen", "allow-unlisten", "allow-emit", "allow-emit-to"]
"#;

/// The members of `core:default`.
static CORE_DEFAULT: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| vec!["core:event:default".to_owned()]);

/// The built-in owners (`core:event`), added after the application and its plugins.
pub(crate) fn core_owners() -> Vec<Owner> {
    let source = Source {
        path: "<gatehouse core:event>".into(),
        text: CORE_EVENT_PERMISSIONS.to_owned(),
    };
    let files = match crate::parse::permission_file(&source) {
        Ok(file) => vec![(source, file)],
        // The text above is fixed; a unit test keeps it parsing.
        Err(_) => Vec::new(),
    };
    vec![Owner {
        plugin: Some("core:event".to_owned()),
        commands: ["emit", "emit_to", "listen", "unlisten"]
            .map(String::from)
            .to_vec(),
        commands_known: true,
        files,
    }]
}

impl Owner {
    /// Gatehouse's own owners, whose commands join an ACL only when a capability names them.
    fn is_core(&self) -> bool {
        self.plugin
            .as_deref()
            .is_some_and(|p| p.starts_with("core:"))
    }
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
    /// Globs over window labels.
    pub windows: Vec<String>,
    /// Globs over webview labels.
    pub webviews: Vec<String>,
    /// Whether it applies to local frontends.
    pub local: bool,
    /// Remote URL patterns.
    pub remote: Vec<String>,
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
}

/// Validates and resolves. Returns the ACL with every diagnostic (warnings included); the ACL
/// is meaningful only when no diagnostic is an error.
pub(crate) fn resolve(
    owners: &[Owner],
    capability_files: &[(Source, Vec<Capability>)],
    target: &str,
) -> (ResolvedAcl, Vec<Diagnostic>) {
    let known_commands = owners
        .iter()
        .map(|o| o.commands.iter().map(|c| o.command_name(c)).collect())
        .collect();
    let mut r = Resolver {
        owners,
        diagnostics: Vec::new(),
        index: HashMap::new(),
        known_commands,
    };
    r.index_permissions();
    r.check_sets();
    let acl = r.capabilities(capability_files, target);
    (acl, r.diagnostics)
}

pub(crate) struct Resolver<'a> {
    pub(crate) owners: &'a [Owner],
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) index: HashMap<String, Entry<'a>>,
    /// Every owner's commands by full name, built once (checking permissions against a list
    /// rebuilt per permission was quadratic).
    pub(crate) known_commands: Vec<std::collections::HashSet<String>>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn source(&self, owner: usize, file: usize) -> &'a Source {
        &self.owners[owner].files[file].0
    }

    /// Builds the index: autogenerated `allow-`/`deny-` per command, then what the files say
    /// (which may override the generated ones, never each other).
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
            let mut explicit: HashMap<String, (usize, &str)> = HashMap::new();
            for (f, (source, file)) in owner.files.iter().enumerate() {
                let mut add = |this: &mut Self, id: &'a str, entry: Entry<'a>| {
                    let full = format!("{prefix}{id}");
                    if let Some((first_file, _)) = explicit.get(&full) {
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
                    explicit.insert(full.clone(), (f, id));
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
        // Gatehouse's own permissions: `core:default` is every core default that exists.
        let core_default: &'static [String] = if self.index.contains_key(CORE_DEFAULT[0].as_str()) {
            &CORE_DEFAULT
        } else {
            &[]
        };
        self.index
            .entry("core:default".into())
            .or_insert(Entry::Set {
                owner: usize::MAX,
                members: core_default,
                file: usize::MAX,
                id: "default",
            });
    }

    /// The full identifier a reference means, written in the files of `owner` (or in a
    /// capability, `None`), or the diagnostic message and help for an unknown one.
    pub(crate) fn lookup(
        &self,
        owner: Option<usize>,
        reference: &str,
    ) -> Result<String, (String, Option<String>)> {
        let full = match (reference.split_once(':'), owner) {
            (Some((plugin, _)), _) => {
                let known = plugin == "core"
                    || self
                        .owners
                        .iter()
                        .any(|o| o.plugin.as_deref() == Some(plugin));
                if !known {
                    let plugins: Vec<&str> = self
                        .owners
                        .iter()
                        .filter(|o| !o.is_core())
                        .filter_map(|o| o.plugin.as_deref())
                        .collect();
                    let help = match closest(plugin, plugins.iter().copied()) {
                        Some(s) => Some(format!("did you mean `{s}`?")),
                        None if plugins.is_empty() => {
                            Some("this application depends on no Gatehouse plugin".into())
                        }
                        None => Some(format!("known plugins: {}", plugins.join(", "))),
                    };
                    return Err((format!("unknown plugin `{plugin}` in `{reference}`"), help));
                }
                reference.to_owned()
            }
            (None, Some(o)) if o != usize::MAX => format!("{}{reference}", self.owners[o].prefix()),
            (None, _) => reference.to_owned(),
        };
        if self.index.contains_key(&full) {
            return Ok(full);
        }
        let help = closest(&full, self.index.keys().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"));
        Err((format!("unknown permission `{reference}`"), help))
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
            None => {}
        }
        path.remove(full);
    }

    fn capabilities(&mut self, files: &[(Source, Vec<Capability>)], target: &str) -> ResolvedAcl {
        let mut universe: BTreeSet<String> = BTreeSet::new();
        for owner in self.owners.iter().filter(|o| !o.is_core()) {
            universe.extend(owner.commands.iter().map(|c| owner.command_name(c)));
        }
        let mut seen_ids: HashMap<&str, &Source> = HashMap::new();
        let mut resolved = Vec::new();
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
                self.check_capability(source, cap);
                let applies = cap
                    .platforms
                    .as_ref()
                    .is_none_or(|p| p.iter().any(|p| p == target));
                if applies {
                    resolved.push(self.resolve_capability(source, cap, target));
                }
            }
        }
        // Commands named only by permissions (when commands are not all known) join the universe.
        for cap in &resolved {
            universe.extend(cap.allow.iter().cloned());
            universe.extend(cap.deny.iter().cloned());
        }
        ResolvedAcl {
            target: target.to_owned(),
            commands: universe.into_iter().collect(),
            capabilities: resolved,
        }
    }

    fn resolve_capability(
        &self,
        _source: &Source,
        cap: &Capability,
        target: &str,
    ) -> ResolvedCapability {
        let mut out = ResolvedCapability {
            identifier: cap.identifier.clone(),
            description: cap.description.clone().unwrap_or_default(),
            windows: cap.windows.clone(),
            webviews: cap.webviews.clone(),
            local: cap.local,
            remote: cap
                .remote
                .as_ref()
                .map(|r| r.urls.clone())
                .unwrap_or_default(),
            ..ResolvedCapability::default()
        };
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
            for (o, permission) in permissions {
                let owner = &self.owners[o];
                if permission
                    .platforms
                    .as_ref()
                    .is_some_and(|p| !p.iter().any(|p| p == target))
                {
                    continue;
                }
                let allow: Vec<String> = permission
                    .commands
                    .allow
                    .iter()
                    .map(|c| owner.command_name(c))
                    .collect();
                let deny: Vec<String> = permission
                    .commands
                    .deny
                    .iter()
                    .map(|c| owner.command_name(c))
                    .collect();
                let mut scope = ScopeValues {
                    allow: permission.scope.allow.clone(),
                    deny: permission.scope.deny.clone(),
                };
                scope.allow.extend_from_slice(extra_allow);
                scope.deny.extend_from_slice(extra_deny);
                let has_scope = !scope.allow.is_empty() || !scope.deny.is_empty();
                if allow.is_empty() && deny.is_empty() {
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
        }
        out
    }
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
    /// What the runtime finds wrong (invalid patterns); `Builder::check` reports these first.
    pub fn to_acl(&self) -> Result<gatehouse_runtime::Acl, gatehouse_runtime::AclError> {
        let mut builder = gatehouse_runtime::Acl::builder().commands(self.commands.iter().cloned());
        for cap in &self.capabilities {
            let mut c = gatehouse_runtime::Capability::builder(cap.identifier.clone())
                .description(cap.description.clone())
                .windows(cap.windows.iter().cloned())
                .webviews(cap.webviews.iter().cloned())
                .local(cap.local)
                .remote(cap.remote.iter().cloned())
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
