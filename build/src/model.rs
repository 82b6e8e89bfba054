//! The file formats: permission files and capability files, as Tauri 2 writes them.
//!
//! These types are what a file says, before anything is checked; `schemars` derives the JSON
//! Schemas editors use from them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A permission file: `permissions/*.toml` or `*.json`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionFile {
    /// The JSON Schema of this file, for editors. Ignored.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The set used when a capability names just `<plugin>:default` (or `default` for the
    /// application's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<DefaultSet>,
    /// Permissions: commands allowed or denied, and scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permission: Vec<Permission>,
    /// Named sets of permissions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<PermissionSet>,
}

/// The default set of a permission file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultSet {
    /// What the default grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Permissions and sets in it.
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// One permission.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    /// The identifier, unique within its file's owner (the application or a plugin).
    pub identifier: String,
    /// What the permission allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Commands it allows and denies.
    #[serde(default)]
    pub commands: Commands,
    /// Scope values handed to the commands it allows (or, for a permission without commands,
    /// the plugin's global scope).
    #[serde(default)]
    pub scope: Scopes,
    /// The platforms it applies to; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
}

/// `commands.allow` and `commands.deny`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    /// Commands allowed.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Commands denied, whatever else allows them.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `scope.allow` and `scope.deny`: any values; the command's scope type gives them meaning.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scopes {
    /// Values allowed.
    #[serde(default)]
    pub allow: Vec<serde_json::Value>,
    /// Values denied.
    #[serde(default)]
    pub deny: Vec<serde_json::Value>,
}

/// A named set of permissions.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionSet {
    /// The identifier.
    pub identifier: String,
    /// What the set grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Permissions and sets in it.
    pub permissions: Vec<String>,
}

/// A capability file: one capability, or several.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CapabilityFile {
    /// `{"capabilities": [ … ]}` (or `[[capabilities]]` in TOML).
    Many {
        /// The capabilities.
        capabilities: Vec<Capability>,
    },
    /// A JSON array of capabilities.
    List(Vec<Capability>),
    /// One capability.
    One(Box<Capability>),
}

impl CapabilityFile {
    /// The capabilities in the file.
    pub fn into_capabilities(self) -> Vec<Capability> {
        match self {
            CapabilityFile::Many { capabilities } | CapabilityFile::List(capabilities) => {
                capabilities
            }
            CapabilityFile::One(c) => vec![*c],
        }
    }
}

/// A capability: which callers get which permissions.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capability {
    /// The JSON Schema of this file, for editors. Ignored.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The identifier, unique across the application.
    pub identifier: String,
    /// What the capability is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it applies to local frontends (default `true`).
    #[serde(default = "yes")]
    pub local: bool,
    /// Remote origins it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Remote>,
    /// Globs over window labels.
    #[serde(default)]
    pub windows: Vec<String>,
    /// Globs over webview labels (either list may match).
    #[serde(default)]
    pub webviews: Vec<String>,
    /// The permissions granted.
    pub permissions: Vec<PermissionRef>,
    /// The platforms it applies to; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// `remote = { urls = [ … ] }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Remote {
    /// URL patterns (the browser `URLPattern` syntax).
    pub urls: Vec<String>,
}

/// A permission named in a capability: an identifier, or an identifier with extra scope.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum PermissionRef {
    /// `"notes:default"`.
    Name(String),
    /// `{ identifier = "fs:allow-read", allow = [ … ], deny = [ … ] }`.
    Extended {
        /// The permission.
        identifier: String,
        /// Scope values added to the permission's allow list, for this capability only.
        #[serde(default)]
        allow: Vec<serde_json::Value>,
        /// Scope values added to its deny list, for this capability only.
        #[serde(default)]
        deny: Vec<serde_json::Value>,
    },
}

impl PermissionRef {
    /// The permission's identifier.
    pub fn identifier(&self) -> &str {
        match self {
            PermissionRef::Name(id) | PermissionRef::Extended { identifier: id, .. } => id,
        }
    }
}

/// Every platform name the files may use.
pub const PLATFORMS: &[&str] = &["linux", "macOS", "windows", "android", "iOS"];
