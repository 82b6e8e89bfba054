//! `gatehouse diff OLD NEW`: what each caller gained or lost between two versions of the ACL
//! files, per command and scope, with privilege gains flagged — so that an ACL change is
//! reviewed as the security change it is.
//!
//! Callers are described by the capabilities that select them (window and webview globs,
//! local, remote URL patterns): a capability is compared with the capability of the same
//! identifier in the other version. Gains: a capability added, a window or webview glob that
//! matches labels the old ones did not, local frontends or a remote URL pattern newly
//! accepted, a command newly allowed, a deny removed, scope values newly allowed or a scope
//! deny removed. Losses are the reverse.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use gatehouse_build::{ResolvedAcl, ResolvedCapability, ScopeValues};
use serde_json::{json, Value};

/// One change to one capability.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Change {
    /// The capability.
    pub(crate) capability: String,
    /// What changed.
    pub(crate) what: What,
    /// The command, glob, pattern, plugin or scope value concerned.
    pub(crate) subject: String,
    /// The platforms it changed on (all the compared ones when it is on every one).
    pub(crate) platforms: Vec<String>,
}

/// The kinds of change, each a gain or a loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum What {
    CapabilityAdded,
    CapabilityRemoved,
    WindowGlobWidened,
    WindowGlobNarrowed,
    LocalAdded,
    LocalRemoved,
    RemoteAdded,
    RemoteRemoved,
    CommandAllowed,
    CommandNoLongerAllowed,
    DenyRemoved,
    DenyAdded,
    ScopeWidened,
    ScopeNarrowed,
    ScopeDenyRemoved,
    ScopeDenyAdded,
}

impl What {
    /// Whether callers gain privileges.
    pub(crate) fn is_gain(self) -> bool {
        matches!(
            self,
            What::CapabilityAdded
                | What::WindowGlobWidened
                | What::LocalAdded
                | What::RemoteAdded
                | What::CommandAllowed
                | What::DenyRemoved
                | What::ScopeWidened
                | What::ScopeDenyRemoved
        )
    }

    fn describe(self) -> &'static str {
        match self {
            What::CapabilityAdded => "new capability",
            What::CapabilityRemoved => "capability removed",
            What::WindowGlobWidened => "widened window glob",
            What::WindowGlobNarrowed => "narrowed window glob",
            What::LocalAdded => "now applies to local frontends",
            What::LocalRemoved => "no longer applies to local frontends",
            What::RemoteAdded => "new remote grant",
            What::RemoteRemoved => "remote grant removed",
            What::CommandAllowed => "command allowed",
            What::CommandNoLongerAllowed => "command no longer allowed",
            What::DenyRemoved => "removed deny",
            What::DenyAdded => "new deny",
            What::ScopeWidened => "widened scope",
            What::ScopeNarrowed => "narrowed scope",
            What::ScopeDenyRemoved => "removed scope deny",
            What::ScopeDenyAdded => "new scope deny",
        }
    }

    fn key(self) -> &'static str {
        match self {
            What::CapabilityAdded => "capability-added",
            What::CapabilityRemoved => "capability-removed",
            What::WindowGlobWidened => "window-glob-widened",
            What::WindowGlobNarrowed => "window-glob-narrowed",
            What::LocalAdded => "local-added",
            What::LocalRemoved => "local-removed",
            What::RemoteAdded => "remote-added",
            What::RemoteRemoved => "remote-removed",
            What::CommandAllowed => "command-allowed",
            What::CommandNoLongerAllowed => "command-no-longer-allowed",
            What::DenyRemoved => "deny-removed",
            What::DenyAdded => "deny-added",
            What::ScopeWidened => "scope-widened",
            What::ScopeNarrowed => "scope-narrowed",
            What::ScopeDenyRemoved => "scope-deny-removed",
            What::ScopeDenyAdded => "scope-deny-added",
        }
    }
}

/// The changes from `old` to `new` resolved for one platform.
fn changes(old: &ResolvedAcl, new: &ResolvedAcl) -> Vec<(String, What, String)> {
    let mut out = Vec::new();
    let by_id = |acl: &ResolvedAcl| -> BTreeMap<String, ResolvedCapability> {
        acl.capabilities
            .iter()
            .map(|c| (c.identifier.clone(), c.clone()))
            .collect()
    };
    let (old, new) = (by_id(old), by_id(new));
    let empty = ResolvedCapability::default();
    for id in old.keys().chain(new.keys()).collect::<BTreeSet<_>>() {
        let mut push = |what: What, subject: String| out.push((id.clone(), what, subject));
        let (before, after) = match (old.get(id), new.get(id)) {
            (None, Some(after)) => {
                push(What::CapabilityAdded, selector(after));
                (&empty, after)
            }
            (Some(before), None) => {
                push(What::CapabilityRemoved, selector(before));
                (before, &empty)
            }
            (Some(before), Some(after)) => {
                selectors(before, after, &mut push);
                (before, after)
            }
            (None, None) => continue,
        };
        grants(before, after, &mut push);
    }
    out
}

/// Who a capability selects, in one line.
fn selector(cap: &ResolvedCapability) -> String {
    let mut parts = Vec::new();
    if !cap.windows.is_empty() {
        parts.push(format!("windows {}", cap.windows.join(", ")));
    }
    if !cap.webviews.is_empty() {
        parts.push(format!("webviews {}", cap.webviews.join(", ")));
    }
    if cap.local {
        parts.push("local".to_owned());
    }
    if !cap.remote.is_empty() {
        parts.push(format!("remote {}", cap.remote.join(", ")));
    }
    parts.join("; ")
}

/// Changes to whom the capability applies.
fn selectors(
    before: &ResolvedCapability,
    after: &ResolvedCapability,
    push: &mut impl FnMut(What, String),
) {
    for (old, new, list) in [
        (&before.windows, &after.windows, "window"),
        (&before.webviews, &after.webviews, "webview"),
    ] {
        for glob in new
            .iter()
            .filter(|g| !old.iter().any(|o| covers(o.as_str(), g.as_str())))
        {
            push(What::WindowGlobWidened, format!("{list} `{glob}`"));
        }
        for glob in old
            .iter()
            .filter(|g| !new.iter().any(|n| covers(n.as_str(), g.as_str())))
        {
            push(What::WindowGlobNarrowed, format!("{list} `{glob}`"));
        }
    }
    match (before.local, after.local) {
        (false, true) => push(What::LocalAdded, String::new()),
        (true, false) => push(What::LocalRemoved, String::new()),
        _ => {}
    }
    for url in after.remote.iter().filter(|u| !before.remote.contains(u)) {
        push(What::RemoteAdded, format!("`{url}`"));
    }
    for url in before.remote.iter().filter(|u| !after.remote.contains(u)) {
        push(What::RemoteRemoved, format!("`{url}`"));
    }
}

/// Changes to what the capability grants.
fn grants(
    before: &ResolvedCapability,
    after: &ResolvedCapability,
    push: &mut impl FnMut(What, String),
) {
    for c in after.allow.difference(&before.allow) {
        push(What::CommandAllowed, format!("`{c}`"));
    }
    for c in before.allow.difference(&after.allow) {
        push(What::CommandNoLongerAllowed, format!("`{c}`"));
    }
    for c in before.deny.difference(&after.deny) {
        push(What::DenyRemoved, format!("`{c}`"));
    }
    for c in after.deny.difference(&before.deny) {
        push(What::DenyAdded, format!("`{c}`"));
    }
    // Scope values of commands allowed on both sides (a new command's scope comes with it).
    for (command, old, new) in pairs(&before.scopes, &after.scopes) {
        if before.allow.contains(command) && after.allow.contains(command) {
            scope_changes(&format!("`{command}`"), old, new, push);
        }
    }
    for (plugin, old, new) in pairs(&before.global_scopes, &after.global_scopes) {
        let name = if plugin.is_empty() {
            "global scope of the application".to_owned()
        } else {
            format!("global scope of `{plugin}`")
        };
        scope_changes(&name, old, new, push);
    }
}

fn pairs<'m>(
    before: &'m BTreeMap<String, ScopeValues>,
    after: &'m BTreeMap<String, ScopeValues>,
) -> Vec<(&'m String, Option<&'m ScopeValues>, Option<&'m ScopeValues>)> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .map(|k| (k, before.get(k), after.get(k)))
        .collect()
}

fn scope_changes(
    name: &str,
    old: Option<&ScopeValues>,
    new: Option<&ScopeValues>,
    push: &mut impl FnMut(What, String),
) {
    let values = |s: Option<&ScopeValues>, allow: bool| -> BTreeSet<String> {
        s.map(|s| if allow { &s.allow } else { &s.deny })
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect()
    };
    let (old_allow, new_allow) = (values(old, true), values(new, true));
    let (old_deny, new_deny) = (values(old, false), values(new, false));
    for v in new_allow.difference(&old_allow) {
        push(What::ScopeWidened, format!("{name} allows {v}"));
    }
    for v in old_allow.difference(&new_allow) {
        push(What::ScopeNarrowed, format!("{name} no longer allows {v}"));
    }
    for v in old_deny.difference(&new_deny) {
        push(
            What::ScopeDenyRemoved,
            format!("{name} no longer denies {v}"),
        );
    }
    for v in new_deny.difference(&old_deny) {
        push(What::ScopeDenyAdded, format!("{name} denies {v}"));
    }
}

/// Whether the label glob `outer` matches every label `inner` matches (`*` and `?`; a
/// character class is compared only by equality). Conservative: `false` when unsure, so a
/// widening is never missed.
pub(crate) fn covers(outer: &str, inner: &str) -> bool {
    if outer == inner {
        return true;
    }
    if outer.contains('[') || inner.contains('[') {
        return false;
    }
    let o: Vec<char> = outer.chars().collect();
    let n: Vec<char> = inner.chars().collect();
    // at[i][j]: o[i..] covers n[j..].
    let mut at = vec![vec![false; n.len() + 1]; o.len() + 1];
    at[o.len()][n.len()] = true;
    for i in (0..o.len()).rev() {
        for j in (0..=n.len()).rev() {
            at[i][j] = match o[i] {
                // A star takes nothing, or any one more token of the inner glob.
                '*' => at[i + 1][j] || (j < n.len() && at[i][j + 1]),
                // `?` takes one character, or the inner glob's `?`, never its `*`.
                '?' => j < n.len() && n[j] != '*' && at[i + 1][j + 1],
                c => j < n.len() && n[j] == c && at[i + 1][j + 1],
            };
        }
    }
    at[0][0]
}

/// Changes on several platforms, merged: one entry per change with the platforms it is on.
pub(crate) fn diff(resolved: &[(String, ResolvedAcl, ResolvedAcl)]) -> Vec<Change> {
    let mut merged: BTreeMap<(String, What, String), Vec<String>> = BTreeMap::new();
    for (platform, old, new) in resolved {
        for key in changes(old, new) {
            merged.entry(key).or_default().push(platform.clone());
        }
    }
    merged
        .into_iter()
        .map(|((capability, what, subject), platforms)| Change {
            capability,
            what,
            subject,
            platforms,
        })
        .collect()
}

fn on(change: &Change, all: usize) -> String {
    if change.platforms.len() == all {
        String::new()
    } else {
        format!(" (on {})", change.platforms.join(", "))
    }
}

fn line(change: &Change, all: usize) -> String {
    let subject = if change.subject.is_empty() {
        String::new()
    } else {
        format!(": {}", change.subject)
    };
    format!("{}{subject}{}", change.what.describe(), on(change, all))
}

/// The changes for a terminal.
pub(crate) fn text(changes: &[Change], platforms: usize) -> String {
    if changes.is_empty() {
        return "No change in what any caller may do.\n".to_owned();
    }
    let mut out = String::new();
    let mut current = "";
    for c in changes {
        if c.capability != current {
            current = &c.capability;
            let _ = writeln!(out, "capability `{current}`:");
        }
        let mark = if c.what.is_gain() { "+ GAIN" } else { "- loss" };
        let _ = writeln!(out, "  {mark}  {}", line(c, platforms));
    }
    let gains = changes.iter().filter(|c| c.what.is_gain()).count();
    let _ = writeln!(
        out,
        "\n{gains} privilege gain{}, {} loss{}",
        if gains == 1 { "" } else { "s" },
        changes.len() - gains,
        if changes.len() - gains == 1 { "" } else { "es" }
    );
    out
}

/// The changes as Markdown, for a pull-request comment.
pub(crate) fn markdown(changes: &[Change], platforms: usize) -> String {
    let gains = changes.iter().filter(|c| c.what.is_gain()).count();
    let mut out = String::from("### Gatehouse ACL diff\n\n");
    if changes.is_empty() {
        out.push_str("No change in what any caller may do.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{} — {} privilege gain{}, {} loss{}.\n",
        if gains > 0 {
            "⚠️ **Review needed**"
        } else {
            "✅ No privilege gain"
        },
        gains,
        if gains == 1 { "" } else { "s" },
        changes.len() - gains,
        if changes.len() - gains == 1 { "" } else { "es" }
    );
    out.push_str("| | Capability | Change |\n|---|---|---|\n");
    for c in changes {
        let mark = if c.what.is_gain() {
            "⚠️ gain"
        } else {
            "loss"
        };
        let _ = writeln!(
            out,
            "| {mark} | `{}` | {} |",
            c.capability,
            line(c, platforms).replace('|', "\\|")
        );
    }
    out
}

/// The changes as JSON.
pub(crate) fn json(changes: &[Change]) -> Value {
    json!({
        "gains": changes.iter().filter(|c| c.what.is_gain()).count(),
        "changes": changes.iter().map(|c| json!({
            "capability": c.capability,
            "change": c.what.key(),
            "gain": c.what.is_gain(),
            "subject": c.subject,
            "platforms": c.platforms,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_cover() {
        assert!(covers("*", "viewer-*"));
        assert!(covers("viewer-*", "viewer-1"));
        assert!(covers("viewer-*", "viewer-?"));
        assert!(covers("w?", "w1"));
        assert!(!covers("w?", "w*"));
        assert!(!covers("viewer-*", "view*"));
        assert!(!covers("main", "*"));
        assert!(!covers("a?c", "a*c"));
        assert!(covers("a*c", "a?c"));
        assert!(covers("[ab]", "[ab]"));
        assert!(!covers("*", "[ab]"));
    }
}
