//! A model of Tauri 2's runtime authority, the reference the check benchmarks compare with:
//! resolved commands by name, each glob-matched against the caller's labels and context, the
//! matches cloned out, as `RuntimeAuthority::resolve_access` does. Shared by `benches/check.rs`
//! and `build/benches/compile.rs`.

use std::collections::BTreeMap;

/// Where a Tauri command may be called from.
#[derive(Clone, PartialEq)]
pub(crate) enum ExecutionContext {
    /// The application's own pages.
    Local,
    /// A remote page, by URL.
    #[allow(dead_code)]
    Remote(String),
}

/// A command as Tauri's resolved ACL holds it: one entry per capability granting (or denying) it.
#[derive(Clone)]
pub(crate) struct ResolvedCommand {
    /// The context it is granted for.
    pub(crate) context: ExecutionContext,
    /// Window label globs.
    pub(crate) windows: Vec<glob::Pattern>,
    /// Webview label globs.
    pub(crate) webviews: Vec<glob::Pattern>,
    /// The scope the entry carries, if any.
    #[allow(dead_code)]
    pub(crate) scope_id: Option<u64>,
}

impl ResolvedCommand {
    fn matches(&self, window: &str, webview: &str, origin: &ExecutionContext) -> bool {
        self.context == *origin
            && (self.webviews.iter().any(|w| w.matches(webview))
                || self.windows.iter().any(|w| w.matches(window)))
    }
}

/// The shape of Tauri 2's `RuntimeAuthority`: resolved commands by name.
pub(crate) struct TauriAuthority {
    /// Allow entries by command name.
    pub(crate) allowed_commands: BTreeMap<String, Vec<ResolvedCommand>>,
    /// Deny entries by command name.
    pub(crate) denied_commands: BTreeMap<String, Vec<ResolvedCommand>>,
}

impl TauriAuthority {
    /// The steps of Tauri's `resolve_access`: a matching deny entry refuses; otherwise the
    /// matching allow entries are cloned and returned.
    pub(crate) fn resolve_access(
        &self,
        command: &str,
        window: &str,
        webview: &str,
        origin: &ExecutionContext,
    ) -> Option<Vec<ResolvedCommand>> {
        if self
            .denied_commands
            .get(command)
            .is_some_and(|d| d.iter().any(|cmd| cmd.matches(window, webview, origin)))
        {
            return None;
        }
        let resolved = self.allowed_commands.get(command)?;
        let matching: Vec<ResolvedCommand> = resolved
            .iter()
            .filter(|cmd| cmd.matches(window, webview, origin))
            .cloned()
            .collect();
        (!matching.is_empty()).then_some(matching)
    }
}
