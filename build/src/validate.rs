//! Validation: the checks on permissions, sets and capabilities, each reporting every problem
//! it finds as a diagnostic with its position. Resolution (`resolve.rs`) calls them as it goes.

use gatehouse_acl::{closest, LabelGlob, UrlPattern};

use std::collections::HashSet;

use crate::diagnostic::{Diagnostic, Kind, Severity, Source};
use crate::model::{Capability, Permission, PLATFORMS};
use crate::resolve::{Entry, LookupError, OwnerKind, Resolver, Selectors};

impl<'a> Resolver<'a> {
    /// A permission's own checks: platforms, and commands that exist.
    pub(crate) fn check_permission(&mut self, o: usize, source: &Source, permission: &Permission) {
        let owner = &self.owners[o];
        self.check_platforms(
            source,
            Some(&permission.identifier),
            permission.platforms.as_deref(),
        );
        if !owner.commands_known {
            return;
        }
        let known = &self.known_commands[o];
        for command in permission
            .commands
            .allow
            .iter()
            .chain(&permission.commands.deny)
        {
            let full = owner.command_name(command);
            if !known.contains(&full) {
                let suggestion = closest(command, owner.commands.iter().map(String::as_str));
                let mut d = Diagnostic {
                    severity: self.options.unknown_command,
                    ..Diagnostic::error(
                        source,
                        source.find_in(Some(&permission.identifier), command),
                        format!(
                            "permission `{}` names command `{command}`, which no code defines",
                            permission.identifier
                        ),
                    )
                };
                d = d.help(match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "define it with `#[gatehouse::command]`, or remove it from the permission"
                            .into()
                    }
                });
                self.diagnostics.push(d);
            }
        }
    }

    pub(crate) fn check_platforms(
        &mut self,
        source: &Source,
        owner: Option<&str>,
        platforms: Option<&[String]>,
    ) {
        for platform in platforms.unwrap_or_default() {
            if !PLATFORMS.contains(&platform.as_str()) {
                let suggestion = closest(platform, PLATFORMS.iter().copied());
                self.diagnostics.push(
                    Diagnostic::error(
                        source,
                        source.find_in(owner, platform),
                        format!("unknown platform `{platform}`"),
                    )
                    .help(match suggestion {
                        Some(s) => {
                            format!("did you mean `{s}`? platforms are {}", PLATFORMS.join(", "))
                        }
                        None => format!("platforms are {}", PLATFORMS.join(", ")),
                    }),
                );
            }
        }
    }

    /// Checks every set's members and reports cycles: errors in what a capability for the
    /// target reaches, warnings in what nothing reaches (Tauri does not read those at all, and
    /// a plugin's unused set must not break the applications that load it).
    pub(crate) fn check_sets(&mut self, reached: &HashSet<String>) {
        let mut sets: Vec<(String, usize, usize, &'a [String], &'a str)> = self
            .index
            .iter()
            .filter_map(|(full, e)| match e {
                Entry::Set {
                    owner,
                    members,
                    file,
                    id,
                } if self.owners[*owner].kind() != OwnerKind::Core => {
                    Some((full.clone(), *owner, *file, *members, *id))
                }
                _ => None,
            })
            .collect();
        sets.sort();
        for (full, owner, file, members, id) in &sets {
            let source = self.source(*owner, *file);
            let (severity, unreached) = if reached.contains(full) {
                (Severity::Error, None)
            } else {
                (
                    Severity::Warning,
                    Some(format!(
                        "no capability for `{}` reaches `{full}`, so this is a warning; it becomes an error when one does",
                        self.options.target
                    )),
                )
            };
            let with_note = |d: Diagnostic| match (&unreached, &d.help) {
                (None, _) => d,
                (Some(note), Some(help)) => {
                    let help = format!("{help}; {note}");
                    d.help(help).kind(Kind::Unreached)
                }
                (Some(note), None) => d.help(note.clone()).kind(Kind::Unreached),
            };
            for member in members.iter() {
                match self.lookup(Some(*owner), member) {
                    Err(LookupError::UnknownPlugin { .. }) if self.options.plugin_alone => {}
                    Err(e) => {
                        let d = e.diagnostic(severity, source, Some(id), member);
                        self.diagnostics.push(with_note(d));
                    }
                    Ok(m) if unreached.is_none() => {
                        if let Some(d) = self.missing_default(&m, source, Some(id), member) {
                            self.diagnostics.push(d);
                        }
                    }
                    Ok(_) => {}
                }
            }
            let mut path = vec![full.clone()];
            if let Some(cycle) = self.find_cycle(*owner, members, &mut path) {
                // Report each cycle once, at the set that sorts first in it.
                if cycle.iter().min() == Some(full) {
                    let d = Diagnostic {
                        severity,
                        ..Diagnostic::error(
                            source,
                            source.find(id, 0),
                            format!("permission sets form a cycle: {}", cycle.join(" → ")),
                        )
                    }
                    .help("a set may contain other sets, but not itself through them");
                    self.diagnostics.push(with_note(d));
                }
            }
        }
    }

    /// The warning for a reference to `<plugin>:default` of a plugin that defines none.
    pub(crate) fn missing_default(
        &self,
        full: &str,
        source: &Source,
        within: Option<&str>,
        reference: &str,
    ) -> Option<Diagnostic> {
        let Some(Entry::MissingDefault { owner }) = self.index.get(full) else {
            return None;
        };
        let plugin = self.owners[*owner].plugin.as_deref().unwrap_or_default();
        Some(
            Diagnostic::warning(
                source,
                source.find_in(within, reference),
                format!("plugin `{plugin}` has no default set: `{reference}` grants nothing"),
            )
            .help(format!(
                "Tauri 2 treats a missing default the same way; name the permissions of `{plugin}` that this needs"
            ))
            .kind(Kind::MissingDefault),
        )
    }

    pub(crate) fn find_cycle(
        &self,
        owner: usize,
        members: &[String],
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        for member in members {
            let Ok(full) = self.lookup(Some(owner), member) else {
                continue;
            };
            if let Some(at) = path.iter().position(|p| *p == full) {
                let mut cycle = path[at..].to_vec();
                cycle.push(full);
                return Some(cycle);
            }
            if let Some(Entry::Set { owner, members, .. }) = self.index.get(&full) {
                path.push(full.clone());
                let found = self.find_cycle(*owner, members, path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
        }
        None
    }

    /// A capability's own checks, and its references; returns its label globs and URL
    /// patterns, parsed (the ones that do not parse are reported here). `severity` is
    /// `Warning` for a capability for another platform: Tauri skips those, and the plugins
    /// they name may not be linked on this target at all (those references are not reported).
    pub(crate) fn check_capability(
        &mut self,
        source: &Source,
        cap: &Capability,
        severity: Severity,
    ) -> Selectors {
        let first = self.diagnostics.len();
        let id = Some(cap.identifier.as_str());
        self.check_platforms(source, id, cap.platforms.as_deref());
        let mut selectors = Selectors::default();
        for (globs, parsed) in [
            (&cap.windows, &mut selectors.windows),
            (&cap.webviews, &mut selectors.webviews),
        ] {
            for glob in globs {
                match LabelGlob::new(glob.clone()) {
                    Ok(g) => parsed.push(g),
                    Err(e) => self.diagnostics.push(Diagnostic::error(
                        source,
                        source.find_in(id, glob),
                        format!("invalid label glob `{glob}`: {e}"),
                    )),
                }
            }
        }
        for url in cap.remote.iter().flat_map(|r| &r.urls) {
            match UrlPattern::new(url.clone()) {
                Ok(p) => selectors.remote.push(p),
                Err(e) => self.diagnostics.push(
                    Diagnostic::error(
                        source,
                        source.find_in(id, url),
                        format!("invalid URL pattern `{url}`: {e}"),
                    )
                    .help("a pattern is a scheme, a host, an optional port and path, with `*` for any run of characters: `https://*.example.com`, `http://localhost:*`"),
                ),
            }
        }
        let remote = cap.remote.as_ref().is_some_and(|r| !r.urls.is_empty());
        if cap.windows.is_empty() && cap.webviews.is_empty() {
            self.diagnostics.push(
                Diagnostic::warning(source, source.find(&cap.identifier, 0), format!("capability `{}` applies to no caller: it lists no `windows` and no `webviews`", cap.identifier))
                    .help("add `windows = [\"main\"]` (globs such as `\"*\"` work too)"),
            );
        } else if !cap.local && !remote {
            self.diagnostics.push(Diagnostic::warning(
                source,
                source.find(&cap.identifier, 0),
                format!(
                    "capability `{}` applies to no caller: `local = false` and no `remote.urls`",
                    cap.identifier
                ),
            ));
        }
        if !cap.windows.is_empty() && !cap.webviews.is_empty() {
            self.diagnostics.push(
                Diagnostic::warning(
                    source,
                    source.find_in(id, "webviews"),
                    format!(
                        "capability `{}` lists both `windows` and `webviews`",
                        cap.identifier
                    ),
                )
                .help(
                    "the two lists combine with OR: a caller matching either gets the capability",
                ),
            );
        }
        for reference in &cap.permissions {
            let name = reference.identifier();
            match self.lookup(None, name) {
                Err(LookupError::UnknownPlugin { .. }) if severity == Severity::Warning => {}
                Err(e) => {
                    let d = e.diagnostic(Severity::Error, source, id, name);
                    self.diagnostics.push(d);
                }
                Ok(full) if severity == Severity::Error => {
                    if let Some(d) = self.missing_default(&full, source, id, name) {
                        self.diagnostics.push(d);
                    }
                }
                Ok(_) => {}
            }
        }
        if severity == Severity::Warning {
            let platforms = cap.platforms.as_deref().unwrap_or_default().join(", ");
            let note = format!(
                "capability `{}` is for {platforms} only, so its problems are warnings on `{}`",
                cap.identifier, self.options.target
            );
            for d in &mut self.diagnostics[first..] {
                if d.severity == Severity::Error {
                    d.severity = Severity::Warning;
                    d.kind = Some(Kind::Unreached);
                    d.help = Some(match d.help.take() {
                        Some(help) => format!("{help}; {note}"),
                        None => note.clone(),
                    });
                }
            }
        }
        selectors
    }
}
