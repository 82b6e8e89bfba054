//! Validation: the checks on permissions, sets and capabilities, each reporting every problem
//! it finds as a diagnostic with its position. Resolution (`resolve.rs`) calls them as it goes.

use gatehouse_runtime::__private::{check_label_glob, check_remote_pattern, closest};

use crate::diagnostic::{Diagnostic, Source};
use crate::model::{Capability, Permission, PLATFORMS};
use crate::resolve::{Entry, Resolver};

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
                let mut d = Diagnostic::error(
                    source,
                    source.find_in(Some(&permission.identifier), command),
                    format!(
                        "permission `{}` names command `{command}`, which no code defines",
                        permission.identifier
                    ),
                );
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

    /// Checks every set's members and reports cycles.
    pub(crate) fn check_sets(&mut self) {
        let mut sets: Vec<(String, usize, usize, &'a [String], &'a str)> = self
            .index
            .iter()
            .filter_map(|(full, e)| match e {
                Entry::Set {
                    owner,
                    members,
                    file,
                    id,
                } if *owner != usize::MAX => Some((full.clone(), *owner, *file, *members, *id)),
                _ => None,
            })
            .collect();
        sets.sort();
        for (full, owner, file, members, id) in &sets {
            let source = self.source(*owner, *file);
            for member in members.iter() {
                if let Err((message, help)) = self.lookup(Some(*owner), member) {
                    let mut d =
                        Diagnostic::error(source, source.find_in(Some(id), member), message);
                    if let Some(h) = help {
                        d = d.help(h);
                    }
                    self.diagnostics.push(d);
                }
            }
            let mut path = vec![full.clone()];
            if let Some(cycle) = self.find_cycle(*owner, members, &mut path) {
                // Report each cycle once, at the set that sorts first in it.
                if cycle.iter().min() == Some(full) {
                    self.diagnostics.push(
                        Diagnostic::error(
                            source,
                            source.find(id, 0),
                            format!("permission sets form a cycle: {}", cycle.join(" → ")),
                        )
                        .help("a set may contain other sets, but not itself through them"),
                    );
                }
            }
        }
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

    pub(crate) fn check_capability(&mut self, source: &Source, cap: &Capability) {
        let id = Some(cap.identifier.as_str());
        self.check_platforms(source, id, cap.platforms.as_deref());
        for glob in cap.windows.iter().chain(&cap.webviews) {
            if let Err(e) = check_label_glob(glob) {
                self.diagnostics.push(Diagnostic::error(
                    source,
                    source.find_in(id, glob),
                    format!("invalid label glob `{glob}`: {e}"),
                ));
            }
        }
        for url in cap.remote.iter().flat_map(|r| &r.urls) {
            if let Err(e) = check_remote_pattern(url) {
                self.diagnostics.push(
                    Diagnostic::error(
                        source,
                        source.find_in(id, url),
                        format!("invalid URL pattern `{url}`: {e}"),
                    )
                    .help("write a URL pattern such as `https://*.example.com`"),
                );
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
            if let Err((message, help)) = self.lookup(None, name) {
                let mut d = Diagnostic::error(source, source.find_in(id, name), message);
                if let Some(h) = help {
                    d = d.help(h);
                }
                self.diagnostics.push(d);
            }
        }
    }
}
