//! Scopes: the allow and deny values a command's grants carry (paths, URLs, anything), handed
//! to the command to enforce. Built once per caller and command, then shared.

use std::any::{Any, TypeId};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::{ErrorCode, RpcError};
use crate::extract::Requirements;
use crate::extract::{FromInvoke, Invocation};

/// The raw values a call's grants carry, as JSON text, from every capability that applies to the
/// caller.
#[derive(Debug, Clone, Default)]
pub struct ScopeValues<'v> {
    /// Allowed values.
    pub allow: Vec<&'v str>,
    /// Denied values.
    pub deny: Vec<&'v str>,
}

impl<'v> ScopeValues<'v> {
    /// The values of the call's command (what [`CommandScope`] is built from).
    pub fn command(invocation: &Invocation<'v>) -> Self {
        Self::collect(invocation, false)
    }

    /// The global values of the call's plugin, or of the application for its own commands
    /// (what [`GlobalScope`] is built from). A plugin whose commands honour both, as Tauri's
    /// fs plugin does, adds these to the command's values in its own [`Scope`]:
    ///
    /// ```
    /// # use gatehouse_runtime::{Invocation, PathScope, RpcError, Scope, ScopeValues, BaseDirs};
    /// struct Files(PathScope);
    ///
    /// impl Scope for Files {
    ///     fn from_values(values: &ScopeValues<'_>, invocation: &Invocation<'_>) -> Result<Self, RpcError> {
    ///         let mut all = values.clone();
    ///         all.extend(ScopeValues::global(invocation));
    ///         let scope = PathScope::from_scope_values(&all, &BaseDirs::from_env())
    ///             .map_err(|e| RpcError::new(gatehouse_runtime::ErrorCode::Internal, e.to_string()))?;
    ///         Ok(Files(scope))
    ///     }
    /// }
    /// ```
    pub fn global(invocation: &Invocation<'v>) -> Self {
        Self::collect(invocation, true)
    }

    /// Adds `other`'s allowed and denied values to these.
    pub fn extend(&mut self, other: ScopeValues<'v>) {
        self.allow.extend(other.allow);
        self.deny.extend(other.deny);
    }

    fn collect(invocation: &Invocation<'v>, global: bool) -> Self {
        let target = if global {
            plugin_of(invocation.command())
        } else {
            invocation.command()
        };
        let capabilities = invocation.acl.capabilities();
        let mut values = ScopeValues::default();
        for &index in invocation.caller().capability_indexes() {
            let Some(cap) = capabilities.get(index) else {
                continue;
            };
            let entries = if global {
                cap.global_scopes()
            } else {
                cap.scopes()
            };
            for entry in entries.iter().filter(|e| e.target() == target) {
                values
                    .allow
                    .extend(entry.allow().iter().map(|t| t.as_ref()));
                values.deny.extend(entry.deny().iter().map(|t| t.as_ref()));
            }
        }
        values
    }
}

/// A type a command can receive as [`CommandScope<T>`] or [`GlobalScope<T>`]: built from the
/// scope values once per caller and command.
pub trait Scope: Sized + Send + Sync + 'static {
    /// Builds the scope.
    ///
    /// # Errors
    ///
    /// A value that does not fit; the call is answered with the error and the command does not
    /// run.
    fn from_values(values: &ScopeValues<'_>, invocation: &Invocation<'_>)
        -> Result<Self, RpcError>;
}

/// The scope values deserialised into `T`, allow and deny lists as written.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeList<T> {
    /// Allowed values.
    pub allow: Vec<T>,
    /// Denied values.
    pub deny: Vec<T>,
}

impl<T: DeserializeOwned + Send + Sync + 'static> Scope for ScopeList<T> {
    fn from_values(
        values: &ScopeValues<'_>,
        invocation: &Invocation<'_>,
    ) -> Result<Self, RpcError> {
        let parse = |text: &&str| {
            serde_json::from_str::<T>(text).map_err(|e| {
                tracing::error!(command = invocation.command(), value = *text, error = %e, "invalid scope value");
                RpcError::new(
                    ErrorCode::Internal,
                    format!("a scope value of command `{}` does not fit its scope type", invocation.command()),
                )
            })
        };
        Ok(ScopeList {
            allow: values.allow.iter().map(parse).collect::<Result<_, _>>()?,
            deny: values.deny.iter().map(parse).collect::<Result<_, _>>()?,
        })
    }
}

/// The scope a call's grants give its command: inject it as an argument, for example
/// `scope: CommandScope<ScopeList<Url>>`, and check the request against `scope.allow` and
/// `scope.deny` before acting (`tests/scopes.rs` shows it end to end). For files,
/// `files: CommandScope<PathScope>` gives a scope that opens them (the notes example and the
/// `fs` plugin use it).
pub struct CommandScope<T: Scope>(Arc<T>);

/// The scope a call's grants give every command of its plugin (or of the application).
pub struct GlobalScope<T: Scope>(Arc<T>);

macro_rules! scope_extractor {
    ($name:ident, $global:expr) => {
        impl<T: Scope> Deref for $name<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<T: Scope> Clone for $name<T> {
            fn clone(&self) -> Self {
                Self(Arc::clone(&self.0))
            }
        }

        impl<T: Scope + fmt::Debug> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl<'a, T: Scope> FromInvoke<'a> for $name<T> {
            fn from_invoke(invocation: &Invocation<'a>) -> Result<Self, RpcError> {
                scope_for::<T>(invocation, $global).map($name)
            }

            fn requirements(_requirements: &mut Requirements) {}
        }
    };
}

scope_extractor!(CommandScope, false);
scope_extractor!(GlobalScope, true);

/// The plugin a command belongs to: `fs` for `plugin:fs|read`, `""` for the application.
fn plugin_of(command: &str) -> &str {
    command
        .strip_prefix("plugin:")
        .and_then(|rest| rest.split_once('|'))
        .map_or("", |(plugin, _)| plugin)
}

/// The scope of type `T` for this call, from the caller's cache or built now.
fn scope_for<T: Scope>(invocation: &Invocation<'_>, global: bool) -> Result<Arc<T>, RpcError> {
    let caller = invocation.caller();
    let key = (
        invocation.command_id().index() as u32,
        TypeId::of::<T>(),
        global,
    );
    if let Some(hit) = caller.cached_scope(&key) {
        if let Ok(scope) = hit.downcast::<T>() {
            return Ok(scope);
        }
    }
    let values = ScopeValues::collect(invocation, global);
    let scope = Arc::new(T::from_values(&values, invocation)?);
    caller.cache_scope(key, Arc::clone(&scope) as Arc<dyn Any + Send + Sync>);
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::plugin_of;

    #[test]
    fn plugins_of_commands() {
        assert_eq!(plugin_of("plugin:fs|read_file"), "fs");
        assert_eq!(plugin_of("read_file"), "");
        assert_eq!(plugin_of("plugin:broken"), "");
    }
}
