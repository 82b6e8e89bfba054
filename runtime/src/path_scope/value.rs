//! A path scope from a grant's scope values: `CommandScope<PathScope>` in a command.

use crate::error::{ErrorCode, RpcError};
use crate::extract::Invocation;
use crate::scope::{Scope, ScopeValues};

use super::{BaseDirs, PathEntry, PathScope, PathScopeError};

impl PathScope {
    /// Builds a scope from a grant's scope values, each a [`PathEntry`] as JSON
    /// (`"$HOME/docs/**"` or `{ "path": "$HOME/docs/**" }`), expanding the variables in `dirs`.
    ///
    /// For a [`Scope`] type of your own that wraps a path scope; a command can also take
    /// `CommandScope<PathScope>` directly.
    ///
    /// # Errors
    ///
    /// A value that is not a path entry, or what [`PathScope::new`] refuses.
    pub fn from_scope_values(
        values: &ScopeValues<'_>,
        dirs: &BaseDirs,
    ) -> Result<Self, PathScopeError> {
        let parse = |text: &&str| {
            serde_json::from_str::<PathEntry>(text).map_err(|error| PathScopeError::InvalidEntry {
                value: (*text).to_owned(),
                message: error.to_string(),
            })
        };
        let allow = values
            .allow
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        let deny = values
            .deny
            .iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(
            allow.iter().map(PathEntry::path),
            deny.iter().map(PathEntry::path),
            dirs,
        )
    }
}

/// `CommandScope<PathScope>` / `GlobalScope<PathScope>`: the variables come from the managed
/// [`BaseDirs`], or from the environment ([`BaseDirs::from_env`]) when the application manages
/// none; a leading dot needs a literal `.`.
impl Scope for PathScope {
    fn from_values(
        values: &ScopeValues<'_>,
        invocation: &Invocation<'_>,
    ) -> Result<Self, RpcError> {
        let from_env;
        let dirs = match invocation.state::<BaseDirs>() {
            Some(dirs) => dirs,
            None => {
                from_env = BaseDirs::from_env();
                &from_env
            }
        };
        Self::from_scope_values(values, dirs).map_err(|error| {
            tracing::error!(command = invocation.command(), %error, "unusable path scope");
            RpcError::new(
                ErrorCode::Internal,
                format!(
                    "the path scope of `{}` is misconfigured",
                    invocation.command()
                ),
            )
        })
    }
}
