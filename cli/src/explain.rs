//! `gatehouse explain`: the resolved ACL as a table for people, or as JSON by command.

use std::collections::BTreeMap;
use std::fmt::Write;

use gatehouse_build::{ResolvedAcl, ResolvedCapability, ScopeValues};
use serde_json::{json, Value};

/// The resolved ACL by command:
///
/// ```text
/// {"target": "linux",
///  "commands": {"<command>": [{"capability", "effect": "allow"|"deny", "windows", "webviews",
///                              "local", "remote", "scope": {"allow", "deny"} | null}, …], …},
///  "globalScopes": {"<plugin>": [{"capability", "allow", "deny"}, …], …}}
/// ```
///
/// Every command of the ACL appears, with an empty list when no capability names it; entries
/// are in capability file order (a capability that both allows and denies a command gives two
/// entries, allow first). The application's own global scope is under the plugin name `""`.
pub(crate) fn json(acl: &ResolvedAcl) -> Value {
    let mut commands: BTreeMap<&str, Vec<Value>> = acl
        .commands
        .iter()
        .map(|c| (c.as_str(), Vec::new()))
        .collect();
    let mut global: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for cap in &acl.capabilities {
        let entry = |effect: &str, scope: Option<&ScopeValues>| {
            json!({
                "capability": cap.identifier,
                "effect": effect,
                "windows": cap.windows,
                "webviews": cap.webviews,
                "local": cap.local,
                "remote": cap.remote,
                "scope": scope.map(|s| json!({"allow": s.allow, "deny": s.deny})),
            })
        };
        for command in &cap.allow {
            commands
                .entry(command)
                .or_default()
                .push(entry("allow", cap.scopes.get(command)));
        }
        for command in &cap.deny {
            commands
                .entry(command)
                .or_default()
                .push(entry("deny", None));
        }
        for (plugin, scope) in &cap.global_scopes {
            global.entry(plugin).or_default().push(json!({
                "capability": cap.identifier,
                "allow": scope.allow,
                "deny": scope.deny,
            }));
        }
    }
    json!({
        "target": acl.target,
        "commands": commands,
        "globalScopes": global,
    })
}

/// One block per capability: its callers, then one row per command it allows or denies, with
/// the scope values; then the commands no capability allows.
pub(crate) fn table(acl: &ResolvedAcl) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "target {}: {} {}, {} {}",
        acl.target,
        acl.capabilities.len(),
        if acl.capabilities.len() == 1 {
            "capability"
        } else {
            "capabilities"
        },
        acl.commands.len(),
        if acl.commands.len() == 1 {
            "command"
        } else {
            "commands"
        },
    );
    let _ = writeln!(
        out,
        "A caller gets a capability when one of its labels matches and its origin is listed;\n\
         a deny wins over any allow, for the callers of the capability that denies."
    );
    for cap in &acl.capabilities {
        out.push('\n');
        block(&mut out, cap);
    }
    let nobody: Vec<&str> = acl
        .commands
        .iter()
        .filter(|c| !acl.capabilities.iter().any(|cap| cap.allow.contains(*c)))
        .map(String::as_str)
        .collect();
    if !nobody.is_empty() {
        let _ = writeln!(out, "\nallowed by no capability: {}", nobody.join(", "));
    }
    out
}

fn block(out: &mut String, cap: &ResolvedCapability) {
    let _ = write!(out, "capability {}", cap.identifier);
    if !cap.description.is_empty() {
        let _ = write!(out, " — {}", cap.description);
    }
    out.push('\n');

    // Who: a caller whose label matches one of these globs, from one of these origins.
    if !cap.windows.is_empty() {
        let _ = writeln!(out, "  windows   {}", cap.windows.join(", "));
    }
    if !cap.webviews.is_empty() {
        let _ = writeln!(out, "  webviews  {}", cap.webviews.join(", "));
    }
    if cap.windows.is_empty() && cap.webviews.is_empty() {
        let _ = writeln!(out, "  windows   none: applies to no caller");
    }
    let mut origins = Vec::new();
    if cap.local {
        origins.push("local".to_owned());
    }
    origins.extend(cap.remote.iter().map(|u| format!("remote {u}")));
    let origins = match (origins.is_empty(), cap.local) {
        (true, _) => "none: applies to no caller".to_owned(),
        (false, false) => format!("{} (not local)", origins.join(", ")),
        (false, true) => origins.join(", "),
    };
    let _ = writeln!(out, "  origins   {origins}");

    // What: one row per command, allow before deny.
    let mut rows: Vec<(&str, &str)> = cap
        .allow
        .iter()
        .map(|c| (c.as_str(), "allow"))
        .chain(cap.deny.iter().map(|c| (c.as_str(), "deny")))
        .collect();
    rows.sort();
    if rows.is_empty() {
        let _ = writeln!(out, "  commands  none");
    }
    let width = rows
        .iter()
        .map(|(c, _)| c.chars().count())
        .max()
        .unwrap_or(0);
    for (command, effect) in rows {
        let scope = match cap.scopes.get(command) {
            Some(s) if effect == "allow" => format!("scope {}", scope_text(s)),
            _ => String::new(),
        };
        let line = format!("  {effect:<8}  {command:<width$}  {scope}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for (plugin, scope) in &cap.global_scopes {
        let owner = if plugin.is_empty() {
            "every command of the application".to_owned()
        } else {
            format!("every command of plugin {plugin}")
        };
        let _ = writeln!(out, "  scope     {owner}: {}", scope_text(scope));
    }
}

/// `allow [..] deny [..]`, compact JSON, leaving out an empty side.
fn scope_text(scope: &ScopeValues) -> String {
    let mut parts = Vec::new();
    for (word, values) in [("allow", &scope.allow), ("deny", &scope.deny)] {
        if !values.is_empty() {
            parts.push(format!("{word} {}", Value::from(values.clone())));
        }
    }
    parts.join("  ")
}
