//! The access-control list: a sorted command universe and one rule per capability.
//!
//! This is the data model that `gatehouse-build` generates from permission and capability files
//! as `static` tables; [`Acl::builder`] builds the same model in code. Either way the ACL holds
//! only data: strings, bit sets, and label globs and URL patterns already parsed (by the build
//! step for generated tables, by [`AclBuilder::build`] in code), which nothing parses again.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::bitset::{Bits, CommandId};
use crate::glob::LabelGlob;
use crate::problem::{closest, AclError, AclProblem};
use crate::url_pattern::UrlPattern;

/// A string that generated code can borrow for `'static` and builders can own.
pub type Text = Cow<'static, str>;
/// A list that generated code can borrow for `'static` and builders can own.
pub type List<T> = Cow<'static, [T]>;

/// An access-control list: which callers may call which commands.
///
/// Commands are identified by their index in the sorted list of command names (the *universe*).
/// Each [`Capability`] applies to callers whose label matches its globs and whose origin it
/// accepts, and carries an allow set and a deny set over that universe. A caller may call a
/// command when some capability that applies to it allows the command and no capability that
/// applies to it denies it: **deny wins**, but only for the callers the denying capability
/// applies to.
///
/// An empty ACL allows nothing; there is no allow-all default.
#[derive(Clone, Debug, Default)]
pub struct Acl {
    commands: List<Text>,
    capabilities: List<Capability>,
}

impl Acl {
    /// Starts an ACL in code. See [`AclBuilder`].
    pub fn builder() -> AclBuilder {
        AclBuilder::default()
    }

    /// An ACL over `'static` tables, as `gatehouse-build` generates it. `commands` must be
    /// sorted and without duplicates, and every capability's bit sets must index into it; the
    /// router checks both when it is built ([`Acl::validate`]).
    pub const fn from_static(
        commands: &'static [Text],
        capabilities: &'static [Capability],
    ) -> Self {
        Self {
            commands: Cow::Borrowed(commands),
            capabilities: Cow::Borrowed(capabilities),
        }
    }

    /// The sorted command universe; a command's [`CommandId`] is its index here.
    pub fn commands(&self) -> &[Text] {
        &self.commands
    }

    /// The capabilities, in the order they were declared.
    pub fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }

    /// The id of `name` in this ACL, by binary search. The router uses a faster table.
    pub fn command_id(&self, name: &str) -> Option<CommandId> {
        self.commands
            .binary_search_by(|c| c.as_ref().cmp(name))
            .ok()
            .map(|i| CommandId::new(i as u32))
    }

    /// The name of the command with id `id`.
    pub fn command_name(&self, id: CommandId) -> Option<&str> {
        self.commands.get(id.index()).map(|c| c.as_ref())
    }

    /// Checks what `from_static` cannot: sorted unique commands, bit sets within the universe,
    /// distinct capability identifiers, and scopes for known commands. (Globs and patterns are
    /// parsed values: there is nothing left to check in them.)
    ///
    /// # Errors
    ///
    /// Every problem found, together.
    pub fn validate(&self) -> Result<(), AclError> {
        let mut problems = Vec::new();
        if let Some(w) = self.commands.windows(2).find(|w| w[0] >= w[1]) {
            problems.push(AclProblem::UnsortedCommands {
                first: w[0].to_string(),
                second: w[1].to_string(),
            });
        }
        let len = self.commands.len();
        let mut seen = BTreeSet::new();
        for cap in self.capabilities.iter() {
            if !seen.insert(cap.identifier.as_ref()) {
                problems.push(AclProblem::DuplicateCapability {
                    capability: cap.identifier.to_string(),
                });
            }
            for bits in [&cap.allow, &cap.deny] {
                if let Some(id) = bits.iter().find(|id| id.index() >= len) {
                    problems.push(AclProblem::IdOutOfRange {
                        capability: cap.identifier.to_string(),
                        id: id.index(),
                        len,
                    });
                }
            }
            for scope in cap.scopes.iter() {
                if self.command_id(&scope.target).is_none() {
                    problems.push(AclProblem::UnknownCommand {
                        capability: cap.identifier.to_string(),
                        command: scope.target.to_string(),
                        suggestion: closest(
                            &scope.target,
                            self.commands.iter().map(|c| c.as_ref()),
                        ),
                    });
                }
            }
        }
        AclError::check(problems)
    }
}

/// One capability, compiled: which callers it applies to and which commands it allows and denies.
#[derive(Clone, Debug)]
pub struct Capability {
    identifier: Text,
    description: Text,
    windows: List<LabelGlob>,
    webviews: List<LabelGlob>,
    local: bool,
    remote: List<UrlPattern>,
    allow: Bits,
    deny: Bits,
    scopes: List<ScopeEntry>,
    global_scopes: List<ScopeEntry>,
}

/// Scope values a capability hands to one command (or, as a global scope, to every command of
/// one plugin), as the JSON text of each value.
#[derive(Clone, Debug)]
pub struct ScopeEntry {
    target: Text,
    allow: List<Text>,
    deny: List<Text>,
}

impl ScopeEntry {
    /// An entry over `'static` data, as `gatehouse-build` generates it.
    pub const fn from_static(
        target: &'static str,
        allow: &'static [Text],
        deny: &'static [Text],
    ) -> Self {
        Self {
            target: Cow::Borrowed(target),
            allow: Cow::Borrowed(allow),
            deny: Cow::Borrowed(deny),
        }
    }

    /// The command (for a command scope) or the plugin (for a global scope; `""` for the
    /// application).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Allowed values, as JSON.
    pub fn allow(&self) -> &[Text] {
        &self.allow
    }

    /// Denied values, as JSON.
    pub fn deny(&self) -> &[Text] {
        &self.deny
    }
}

impl Capability {
    /// Starts a capability in code; add it to an ACL with [`AclBuilder::capability`].
    pub fn builder(identifier: impl Into<Text>) -> CapabilityBuilder {
        CapabilityBuilder {
            identifier: identifier.into(),
            description: Text::Borrowed(""),
            windows: Vec::new(),
            webviews: Vec::new(),
            local: true,
            remote: Vec::new(),
            allow: Vec::new(),
            deny: Vec::new(),
            scopes: Vec::new(),
            global_scopes: Vec::new(),
        }
    }

    /// A capability over `'static` tables, as `gatehouse-build` generates it.
    #[allow(clippy::too_many_arguments)]
    pub const fn from_static(
        identifier: &'static str,
        description: &'static str,
        windows: &'static [LabelGlob],
        webviews: &'static [LabelGlob],
        local: bool,
        remote: &'static [UrlPattern],
        allow: &'static [u64],
        deny: &'static [u64],
        scopes: &'static [ScopeEntry],
        global_scopes: &'static [ScopeEntry],
    ) -> Self {
        Self {
            identifier: Cow::Borrowed(identifier),
            description: Cow::Borrowed(description),
            windows: Cow::Borrowed(windows),
            webviews: Cow::Borrowed(webviews),
            local,
            remote: Cow::Borrowed(remote),
            allow: Bits::from_static(allow),
            deny: Bits::from_static(deny),
            scopes: Cow::Borrowed(scopes),
            global_scopes: Cow::Borrowed(global_scopes),
        }
    }

    /// Scope values per command.
    pub fn scopes(&self) -> &[ScopeEntry] {
        &self.scopes
    }

    /// Global scope values per plugin (`""` for the application).
    pub fn global_scopes(&self) -> &[ScopeEntry] {
        &self.global_scopes
    }

    /// The capability's identifier.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// What the capability is for.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Globs over window labels this capability applies to.
    pub fn windows(&self) -> &[LabelGlob] {
        &self.windows
    }

    /// Globs over webview labels this capability applies to (either list may match).
    pub fn webviews(&self) -> &[LabelGlob] {
        &self.webviews
    }

    /// Whether the capability applies to local frontends.
    pub fn local(&self) -> bool {
        self.local
    }

    /// URL patterns of the remote origins the capability applies to.
    pub fn remote(&self) -> &[UrlPattern] {
        &self.remote
    }

    /// The commands this capability allows.
    pub fn allow(&self) -> &Bits {
        &self.allow
    }

    /// The commands this capability denies to the callers it applies to.
    pub fn deny(&self) -> &Bits {
        &self.deny
    }
}

/// Builds an [`Acl`] in code.
///
/// ```
/// use gatehouse_acl::{Acl, Capability};
///
/// let acl = Acl::builder()
///     .commands(["add", "delete_note", "read_note"])
///     .capability(Capability::builder("main").windows(["main"]).allow(["add", "read_note", "delete_note"]))
///     .capability(Capability::builder("viewer").windows(["viewer-*"]).allow(["read_note"]))
///     .build()?;
/// assert_eq!(acl.commands().len(), 3);
/// # Ok::<(), gatehouse_acl::AclError>(())
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct AclBuilder {
    commands: BTreeSet<Text>,
    capabilities: Vec<CapabilityBuilder>,
}

impl AclBuilder {
    /// Adds a command name to the universe.
    pub fn command(mut self, name: impl Into<Text>) -> Self {
        self.commands.insert(name.into());
        self
    }

    /// Adds command names to the universe.
    pub fn commands<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Text>,
    {
        self.commands.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds a capability.
    pub fn capability(mut self, capability: CapabilityBuilder) -> Self {
        self.capabilities.push(capability);
        self
    }

    /// Resolves names to ids and checks the whole ACL.
    ///
    /// # Errors
    ///
    /// Every problem found, together: a capability that allows or denies a command outside the
    /// universe (with the closest known name), duplicate capability identifiers, invalid label
    /// globs and invalid URL patterns.
    pub fn build(self) -> Result<Acl, AclError> {
        let commands: Vec<Text> = self.commands.into_iter().collect();
        let index: BTreeMap<&str, CommandId> = commands
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_ref(), CommandId::new(i as u32)))
            .collect();
        let mut problems = Vec::new();
        let mut capabilities = Vec::with_capacity(self.capabilities.len());
        for cap in self.capabilities {
            let mut resolve = |names: &[Text]| -> Bits {
                let mut bits = Bits::with_len(commands.len());
                for name in names {
                    match index.get(name.as_ref()) {
                        Some(&id) => bits.insert(id),
                        None => problems.push(AclProblem::UnknownCommand {
                            capability: cap.identifier.to_string(),
                            command: name.to_string(),
                            suggestion: closest(name, commands.iter().map(|c| c.as_ref())),
                        }),
                    }
                }
                bits
            };
            let allow = resolve(&cap.allow);
            let deny = resolve(&cap.deny);
            let mut globs = |list: Vec<Text>| -> Vec<LabelGlob> {
                let mut parsed = Vec::with_capacity(list.len());
                for glob in list {
                    match LabelGlob::new(glob.clone()) {
                        Ok(g) => parsed.push(g),
                        Err(e) => problems.push(AclProblem::InvalidGlob {
                            capability: cap.identifier.to_string(),
                            pattern: glob.into_owned(),
                            message: e.message().to_owned(),
                        }),
                    }
                }
                parsed
            };
            let windows = globs(cap.windows);
            let webviews = globs(cap.webviews);
            let mut remote = Vec::with_capacity(cap.remote.len());
            for pattern in cap.remote {
                match UrlPattern::new(pattern.clone()) {
                    Ok(p) => remote.push(p),
                    Err(e) => problems.push(AclProblem::InvalidUrlPattern {
                        capability: cap.identifier.to_string(),
                        pattern: pattern.into_owned(),
                        message: e.message().to_owned(),
                    }),
                }
            }
            capabilities.push(Capability {
                identifier: cap.identifier,
                description: cap.description,
                windows: windows.into(),
                webviews: webviews.into(),
                local: cap.local,
                remote: remote.into(),
                allow,
                deny,
                scopes: cap.scopes.into(),
                global_scopes: cap.global_scopes.into(),
            });
        }
        let acl = Acl {
            commands: commands.into(),
            capabilities: capabilities.into(),
        };
        if let Err(mut more) = acl.validate() {
            problems.append(&mut more.problems);
        }
        AclError::check(problems)?;
        Ok(acl)
    }
}

/// Builds one [`Capability`] in code, naming commands; see [`AclBuilder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CapabilityBuilder {
    identifier: Text,
    description: Text,
    windows: Vec<Text>,
    webviews: Vec<Text>,
    local: bool,
    remote: Vec<Text>,
    allow: Vec<Text>,
    deny: Vec<Text>,
    scopes: Vec<ScopeEntry>,
    global_scopes: Vec<ScopeEntry>,
}

impl CapabilityBuilder {
    /// Hands scope values to `command` when this capability applies to its caller: what a
    /// command's `CommandScope<T>` reads.
    pub fn scope<A, D>(mut self, command: impl Into<Text>, allow: A, deny: D) -> Self
    where
        A: IntoIterator,
        A::Item: serde::Serialize,
        D: IntoIterator,
        D::Item: serde::Serialize,
    {
        self.scopes.push(entry(command.into(), allow, deny));
        self
    }

    /// Hands scope values to every command of `plugin` (`""` for the application): what
    /// `GlobalScope<T>` reads.
    pub fn global_scope<A, D>(mut self, plugin: impl Into<Text>, allow: A, deny: D) -> Self
    where
        A: IntoIterator,
        A::Item: serde::Serialize,
        D: IntoIterator,
        D::Item: serde::Serialize,
    {
        self.global_scopes.push(entry(plugin.into(), allow, deny));
        self
    }

    /// Says what the capability is for.
    pub fn description(mut self, description: impl Into<Text>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds globs over window labels (`"main"`, `"editor-*"`).
    pub fn windows<I: IntoIterator<Item = S>, S: Into<Text>>(mut self, globs: I) -> Self {
        self.windows.extend(globs.into_iter().map(Into::into));
        self
    }

    /// Adds globs over webview labels. A caller matches when its window *or* its webview matches.
    pub fn webviews<I: IntoIterator<Item = S>, S: Into<Text>>(mut self, globs: I) -> Self {
        self.webviews.extend(globs.into_iter().map(Into::into));
        self
    }

    /// Whether the capability applies to local frontends (default `true`).
    pub fn local(mut self, local: bool) -> Self {
        self.local = local;
        self
    }

    /// Adds URL patterns of remote origins the capability applies to (`https://*.example.com`;
    /// see [`UrlPattern`] for what is read).
    pub fn remote<I: IntoIterator<Item = S>, S: Into<Text>>(mut self, patterns: I) -> Self {
        self.remote.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Allows these commands.
    pub fn allow<I: IntoIterator<Item = S>, S: Into<Text>>(mut self, commands: I) -> Self {
        self.allow.extend(commands.into_iter().map(Into::into));
        self
    }

    /// Denies these commands to the callers this capability applies to, whatever else allows them.
    pub fn deny<I: IntoIterator<Item = S>, S: Into<Text>>(mut self, commands: I) -> Self {
        self.deny.extend(commands.into_iter().map(Into::into));
        self
    }
}

fn entry<A, D>(target: Text, allow: A, deny: D) -> ScopeEntry
where
    A: IntoIterator,
    A::Item: serde::Serialize,
    D: IntoIterator,
    D::Item: serde::Serialize,
{
    // A value that cannot be serialised as JSON becomes `null`, which no scope type accepts.
    let json = |v: &dyn erased::Json| Text::Owned(v.json());
    ScopeEntry {
        target,
        allow: allow
            .into_iter()
            .map(|v| json(&v))
            .collect::<Vec<_>>()
            .into(),
        deny: deny
            .into_iter()
            .map(|v| json(&v))
            .collect::<Vec<_>>()
            .into(),
    }
}

mod erased {
    pub(super) trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "null".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_resolves_names_to_sorted_ids() {
        let acl = Acl::builder()
            .commands(["zeta", "alpha", "mid"])
            .capability(
                Capability::builder("c")
                    .windows(["main"])
                    .allow(["zeta"])
                    .deny(["alpha"]),
            )
            .build()
            .expect("valid");
        assert_eq!(acl.commands(), ["alpha", "mid", "zeta"]);
        let cap = &acl.capabilities()[0];
        assert!(cap.allow().contains(CommandId::new(2)));
        assert!(cap.deny().contains(CommandId::new(0)));
        assert_eq!(acl.command_id("mid"), Some(CommandId::new(1)));
        assert_eq!(acl.command_name(CommandId::new(2)), Some("zeta"));
    }

    #[test]
    fn all_problems_are_reported_together() {
        let err = Acl::builder()
            .commands(["read_note"])
            .capability(
                Capability::builder("a")
                    .windows(["main["])
                    .allow(["reed_note"]),
            )
            .capability(
                Capability::builder("a")
                    .remote(["::::"])
                    .deny(["nothing_like_it"]),
            )
            .build()
            .expect_err("invalid");
        assert_eq!(err.problems.len(), 5, "{err}");
        assert!(err.problems.contains(&AclProblem::UnknownCommand {
            capability: "a".into(),
            command: "reed_note".into(),
            suggestion: Some("read_note".into()),
        }));
        let text = err.to_string();
        assert!(text.contains("did you mean `read_note`"), "{text}");
        assert!(text.contains("used twice"), "{text}");
        assert!(text.contains("invalid label glob `main[`"), "{text}");
        assert!(text.contains("invalid URL pattern `::::`"), "{text}");
    }

    #[test]
    fn static_acl_is_validated() {
        static COMMANDS: [Text; 2] = [Text::Borrowed("b"), Text::Borrowed("a")];
        static CAPS: [Capability; 1] = [Capability::from_static(
            "c",
            "",
            &[],
            &[],
            true,
            &[],
            &[1 << 5],
            &[],
            &[],
            &[],
        )];
        let err = Acl::from_static(&COMMANDS, &CAPS)
            .validate()
            .expect_err("invalid");
        assert_eq!(err.problems.len(), 2, "{err}");
    }
}
