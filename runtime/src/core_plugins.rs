//! Tauri's built-in `app` and `path` plugins, as far as they make sense without a webview: the
//! commands behind `core:app:…` and `core:path:…`, with the names and argument shapes that
//! `@tauri-apps/api`'s `app` and `path` modules send, so a Tauri frontend calls them unchanged.
//!
//! - `plugin:app|name`, `plugin:app|version`, `plugin:app|identifier` answer from the
//!   [`AppInfo`] the router manages (`.manage(AppInfo::new(…))`).
//! - `plugin:path|resolve_directory` `{directory, path?}` resolves a [`BaseDirectory`] (numbered
//!   as `@tauri-apps/api/path`'s `BaseDirectory`), optionally joined with `path`;
//!   `plugin:path|resolve` `{paths}`, `join` `{paths}`, `normalize`, `dirname`, `extname`,
//!   `is_absolute` `{path}` and `basename` `{path, ext?}` work on path text, as Node's `path`
//!   module does.
//!
//! They only compute strings; none opens a file. Like every command, they run only for callers
//! whose capabilities grant them (`core:app:default`, `core:path:default`, or `core:default`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf, MAIN_SEPARATOR, MAIN_SEPARATOR_STR};

use serde::{Deserialize, Serialize};

use crate::command::{CommandEntry, CommandInfo, Handled, Reply};
use crate::error::{ErrorCode, RpcError};
use crate::extract::Invocation;
use crate::extract::Requirements;

/// What `core:app` tells a frontend about the application, and where its directories are.
///
/// ```
/// use gatehouse_runtime::{AppInfo, BaseDirectory};
///
/// let info = AppInfo::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), "com.example.notes")
///     .dir(BaseDirectory::AppData, "/var/lib/notes");
/// assert_eq!(info.resolve(BaseDirectory::AppData), Some("/var/lib/notes".into()));
/// ```
#[derive(Debug, Clone)]
pub struct AppInfo {
    name: String,
    version: String,
    identifier: String,
    dirs: BTreeMap<BaseDirectory, PathBuf>,
}

impl AppInfo {
    /// The application's name, version and reverse-domain identifier (Tauri's
    /// `tauri.conf.json > identifier`, which also names its `App…` directories).
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        identifier: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            identifier: identifier.into(),
            dirs: BTreeMap::new(),
        }
    }

    /// Sets where a base directory is, instead of the platform's convention (a portable
    /// installation, a test). [`BaseDirectory::Resource`] has no convention here: set it to
    /// make it resolvable.
    #[must_use]
    pub fn dir(mut self, base: BaseDirectory, path: impl Into<PathBuf>) -> Self {
        self.dirs.insert(base, path.into());
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The identifier.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// Where `base` is: what [`AppInfo::dir`] set, else the platform's convention (the
    /// directories Tauri resolves, with the `App…` ones under the identifier), or `None` when
    /// the platform has no such directory.
    pub fn resolve(&self, base: BaseDirectory) -> Option<PathBuf> {
        if let Some(dir) = self.dirs.get(&base) {
            return Some(dir.clone());
        }
        let under_identifier = |dir: Option<PathBuf>| dir.map(|d| d.join(&self.identifier));
        match base {
            BaseDirectory::Audio => dirs::audio_dir(),
            BaseDirectory::Cache => dirs::cache_dir(),
            BaseDirectory::Config => dirs::config_dir(),
            BaseDirectory::Data => dirs::data_dir(),
            BaseDirectory::LocalData => dirs::data_local_dir(),
            BaseDirectory::Document => dirs::document_dir(),
            BaseDirectory::Download => dirs::download_dir(),
            BaseDirectory::Picture => dirs::picture_dir(),
            BaseDirectory::Public => dirs::public_dir(),
            BaseDirectory::Video => dirs::video_dir(),
            BaseDirectory::Resource => None,
            BaseDirectory::Temp => Some(std::env::temp_dir()),
            BaseDirectory::AppConfig => under_identifier(dirs::config_dir()),
            BaseDirectory::AppData => under_identifier(dirs::data_dir()),
            BaseDirectory::AppLocalData => under_identifier(dirs::data_local_dir()),
            BaseDirectory::AppCache => under_identifier(dirs::cache_dir()),
            BaseDirectory::AppLog => {
                if cfg!(target_os = "macos") {
                    dirs::home_dir().map(|h| h.join("Library/Logs").join(&self.identifier))
                } else {
                    under_identifier(dirs::data_local_dir()).map(|d| d.join("logs"))
                }
            }
            BaseDirectory::Desktop => dirs::desktop_dir(),
            BaseDirectory::Executable => dirs::executable_dir(),
            BaseDirectory::Font => dirs::font_dir(),
            BaseDirectory::Home => dirs::home_dir(),
            BaseDirectory::Runtime => dirs::runtime_dir(),
            BaseDirectory::Template => dirs::template_dir(),
        }
    }
}

/// A base directory, numbered as `@tauri-apps/api/path`'s `BaseDirectory` numbers them on the
/// wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u16)]
#[non_exhaustive]
pub enum BaseDirectory {
    /// The user's audio directory.
    Audio = 1,
    /// The user's cache directory.
    Cache = 2,
    /// The user's config directory.
    Config = 3,
    /// The user's data directory.
    Data = 4,
    /// The user's local data directory.
    LocalData = 5,
    /// The user's document directory.
    Document = 6,
    /// The user's download directory.
    Download = 7,
    /// The user's picture directory.
    Picture = 8,
    /// The user's public directory.
    Public = 9,
    /// The user's video directory.
    Video = 10,
    /// The application's resources (set it with [`AppInfo::dir`]).
    Resource = 11,
    /// The temporary directory.
    Temp = 12,
    /// The application's config directory: `Config` / identifier.
    AppConfig = 13,
    /// The application's data directory: `Data` / identifier.
    AppData = 14,
    /// The application's local data directory: `LocalData` / identifier.
    AppLocalData = 15,
    /// The application's cache directory: `Cache` / identifier.
    AppCache = 16,
    /// The application's log directory.
    AppLog = 17,
    /// The user's desktop directory.
    Desktop = 18,
    /// The user's executable directory.
    Executable = 19,
    /// The user's font directory.
    Font = 20,
    /// The user's home directory.
    Home = 21,
    /// The user's runtime directory.
    Runtime = 22,
    /// The user's template directory.
    Template = 23,
}

impl BaseDirectory {
    const ALL: [BaseDirectory; 23] = [
        BaseDirectory::Audio,
        BaseDirectory::Cache,
        BaseDirectory::Config,
        BaseDirectory::Data,
        BaseDirectory::LocalData,
        BaseDirectory::Document,
        BaseDirectory::Download,
        BaseDirectory::Picture,
        BaseDirectory::Public,
        BaseDirectory::Video,
        BaseDirectory::Resource,
        BaseDirectory::Temp,
        BaseDirectory::AppConfig,
        BaseDirectory::AppData,
        BaseDirectory::AppLocalData,
        BaseDirectory::AppCache,
        BaseDirectory::AppLog,
        BaseDirectory::Desktop,
        BaseDirectory::Executable,
        BaseDirectory::Font,
        BaseDirectory::Home,
        BaseDirectory::Runtime,
        BaseDirectory::Template,
    ];

    /// The directory of a wire number, if it names one.
    pub fn from_number(n: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|d| *d as u64 == n)
    }
}

impl<'de> Deserialize<'de> for BaseDirectory {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(deserializer)?;
        Self::from_number(n).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "unknown base directory {n}, expected 1 to 23 (`BaseDirectory` of @tauri-apps/api/path)"
            ))
        })
    }
}

/// The built-in commands' names.
const APP_NAME: &str = "plugin:app|name";
const APP_VERSION: &str = "plugin:app|version";
const APP_IDENTIFIER: &str = "plugin:app|identifier";
const PATH_RESOLVE_DIRECTORY: &str = "plugin:path|resolve_directory";
const PATH_RESOLVE: &str = "plugin:path|resolve";
const PATH_NORMALIZE: &str = "plugin:path|normalize";
const PATH_JOIN: &str = "plugin:path|join";
const PATH_DIRNAME: &str = "plugin:path|dirname";
const PATH_EXTNAME: &str = "plugin:path|extname";
const PATH_BASENAME: &str = "plugin:path|basename";
const PATH_IS_ABSOLUTE: &str = "plugin:path|is_absolute";

fn params<'a, T: Deserialize<'a>>(invocation: &Invocation<'a>) -> Result<T, RpcError> {
    serde_json::from_str(invocation.params().unwrap_or("{}"))
        .map_err(|e| RpcError::invalid_params(None, &e.to_string()))
}

fn to_reply<T: Serialize + ?Sized>(value: &T) -> Reply {
    serde_json::to_vec(value).map_err(|e| RpcError::internal(e.to_string()))
}

/// A command's own error, as Tauri's path commands fail (`-32000`, the reason as data).
fn failure(reason: &str) -> RpcError {
    RpcError::new(ErrorCode::Command, reason.to_owned()).with_data(reason)
}

fn app_info<'a>(invocation: &Invocation<'a>) -> Result<&'a AppInfo, RpcError> {
    invocation.state::<AppInfo>().ok_or_else(|| {
        RpcError::internal(
            "`core:app` is granted but the router manages no `AppInfo`: add `.manage(AppInfo::new(name, version, identifier))`",
        )
    })
}

/// `{}` (or no params).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

fn app_field(invocation: &Invocation<'_>, field: fn(&AppInfo) -> &str) -> Reply {
    let _: NoParams = params(invocation)?;
    to_reply(field(app_info(invocation)?))
}

fn app_name(invocation: Invocation<'_>) -> Handled<'_> {
    Handled::Ready(app_field(&invocation, AppInfo::name))
}

fn app_version(invocation: Invocation<'_>) -> Handled<'_> {
    Handled::Ready(app_field(&invocation, AppInfo::version))
}

fn app_identifier(invocation: Invocation<'_>) -> Handled<'_> {
    Handled::Ready(app_field(&invocation, AppInfo::identifier))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryParams {
    directory: BaseDirectory,
    #[serde(default)]
    path: Option<String>,
}

fn resolve_directory(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: DirectoryParams = params(&invocation)?;
        let base = app_info(&invocation)?
            .resolve(p.directory)
            .ok_or_else(|| failure("unknown path: this platform has no such directory"))?;
        let resolved = match p.path {
            Some(path) => base.join(path),
            None => base,
        };
        to_reply(&text(&resolved)?)
    };
    Handled::Ready(run())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathsParams {
    paths: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathParams {
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BasenameParams {
    path: String,
    #[serde(default)]
    ext: Option<String>,
}

fn text(path: &Path) -> Result<String, RpcError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| failure("the path is not valid UTF-8"))
}

fn resolve(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: PathsParams = params(&invocation)?;
        let mut path =
            std::env::current_dir().map_err(|e| failure(&format!("no current directory: {e}")))?;
        for segment in p.paths {
            path.push(segment);
        }
        to_reply(&lexical(&text(&path)?))
    };
    Handled::Ready(run())
}

fn normalize(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: PathParams = params(&invocation)?;
        to_reply(&normalize_text(&p.path))
    };
    Handled::Ready(run())
}

fn join(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: PathsParams = params(&invocation)?;
        to_reply(&join_text(&p.paths))
    };
    Handled::Ready(run())
}

fn dirname(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: PathParams = params(&invocation)?;
        let parent = Path::new(&p.path)
            .parent()
            .ok_or_else(|| failure("the path has no parent"))?;
        to_reply(&text(parent)?)
    };
    Handled::Ready(run())
}

fn extname(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: PathParams = params(&invocation)?;
        let extension = Path::new(&p.path)
            .extension()
            .and_then(|e| e.to_str())
            .ok_or_else(|| failure("the path has no extension"))?;
        to_reply(extension)
    };
    Handled::Ready(run())
}

fn basename(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: BasenameParams = params(&invocation)?;
        let name = Path::new(&p.path)
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| failure("the path has no base name"))?;
        let name = match &p.ext {
            Some(ext) => name.strip_suffix(ext.as_str()).unwrap_or(name),
            None => name,
        };
        to_reply(name)
    };
    Handled::Ready(run())
}

fn is_absolute(invocation: Invocation<'_>) -> Handled<'_> {
    let run = || -> Reply {
        let p: PathParams = params(&invocation)?;
        to_reply(&Path::new(&p.path).is_absolute())
    };
    Handled::Ready(run())
}

/// `path.normalize` as Node answers it: `.` and `..` removed lexically (a `..` that climbs
/// above a relative start is kept, one above the root is dropped), separators made the
/// platform's, `"."` for nothing left, a trailing separator kept.
pub(crate) fn normalize_text(path: &str) -> String {
    let mut out = lexical(path);
    if out == "." {
        return out;
    }
    if path.ends_with(SEPARATORS) && !out.ends_with(SEPARATORS) {
        out.push(MAIN_SEPARATOR);
    }
    out
}

/// `path.join`: the non-empty segments joined with the separator, then normalised; `"."` for
/// nothing. An absolute segment does not discard the ones before it (`join("a", "/b")` is
/// `a/b`, as in Node and Tauri).
pub(crate) fn join_text(paths: &[String]) -> String {
    let mut joined = String::new();
    for segment in paths.iter().filter(|s| !s.is_empty()) {
        if !joined.is_empty() && !joined.ends_with(SEPARATORS) {
            joined.push(MAIN_SEPARATOR);
        }
        joined.push_str(segment);
    }
    lexical(&joined)
}

/// What separates path segments: `/`, and on Windows the backslash too (elsewhere it is part
/// of a name, as Node's POSIX `path` treats it).
const SEPARATORS: &[char] = if cfg!(windows) { &['/', '\\'] } else { &['/'] };

/// The lexical normalisation both share.
fn lexical(path: &str) -> String {
    let absolute = path.starts_with(SEPARATORS);
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(SEPARATORS) {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let body = parts.join(MAIN_SEPARATOR_STR);
    match (absolute, body.is_empty()) {
        (true, _) => format!("{MAIN_SEPARATOR}{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

fn no_requirements(_: &mut Requirements) {}

macro_rules! builtin {
    ($name:expr, $args:expr, $invoke:expr) => {
        CommandEntry::new(
            &CommandInfo {
                name: $name,
                args: $args,
                file: file!(),
                line: line!(),
            },
            $invoke,
            None,
            no_requirements,
        )
    };
}

/// The built-in `app` and `path` commands; the router serves those its ACL names.
pub(crate) static BUILTINS: [CommandEntry; 11] = [
    builtin!(APP_NAME, &[], app_name),
    builtin!(APP_VERSION, &[], app_version),
    builtin!(APP_IDENTIFIER, &[], app_identifier),
    builtin!(
        PATH_RESOLVE_DIRECTORY,
        &["directory", "path"],
        resolve_directory
    ),
    builtin!(PATH_RESOLVE, &["paths"], resolve),
    builtin!(PATH_NORMALIZE, &["path"], normalize),
    builtin!(PATH_JOIN, &["paths"], join),
    builtin!(PATH_DIRNAME, &["path"], dirname),
    builtin!(PATH_EXTNAME, &["path"], extname),
    builtin!(PATH_BASENAME, &["path", "ext"], basename),
    builtin!(PATH_IS_ABSOLUTE, &["path"], is_absolute),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A router whose ACL grants every built-in of this file to the window `main`.
    fn router(info: Option<AppInfo>) -> (crate::Router, crate::Caller) {
        let names: Vec<&str> = BUILTINS.iter().map(CommandEntry::name).collect();
        let acl = crate::Acl::builder()
            .commands(names.iter().copied())
            .capability(
                crate::Capability::builder("main")
                    .windows(["main"])
                    .allow(names.iter().copied()),
            )
            .build()
            .expect("valid ACL");
        let mut builder = crate::Router::builder(acl);
        if let Some(info) = info {
            builder = builder.manage(info);
        }
        // Nothing is served but the built-ins the ACL names.
        let router = builder.build().expect("the built-ins are served");
        let caller = router.caller(crate::CallerInfo::local("main"));
        (router, caller)
    }

    fn call(
        router: &crate::Router,
        caller: &crate::Caller,
        method: &str,
        params: &str,
    ) -> serde_json::Value {
        let request =
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let reply = runtime
            .block_on(router.handle(caller, request.as_bytes()))
            .expect("a reply");
        serde_json::from_slice(&reply).expect("JSON")
    }

    #[test]
    fn the_built_ins_answer_what_tauri_api_sends() {
        let info = AppInfo::new("notes", "1.2.3", "com.example.notes")
            .dir(BaseDirectory::AppData, "/data/notes");
        let (router, main) = router(Some(info));
        let result =
            |method: &str, params: &str| call(&router, &main, method, params)["result"].clone();
        assert_eq!(result("plugin:app|name", "{}"), "notes");
        assert_eq!(result("plugin:app|version", "{}"), "1.2.3");
        assert_eq!(result("plugin:app|identifier", "{}"), "com.example.notes");
        // `appDataDir()` and `resolveResource`-style calls: `{directory, path?}`.
        assert_eq!(
            result("plugin:path|resolve_directory", r#"{"directory":14}"#),
            "/data/notes"
        );
        assert_eq!(
            result(
                "plugin:path|resolve_directory",
                r#"{"directory":14,"path":"db/notes.sqlite"}"#
            ),
            "/data/notes/db/notes.sqlite"
        );
        assert_eq!(
            result(
                "plugin:path|basename",
                r#"{"path":"/a/b/c.json","ext":".json"}"#
            ),
            "c"
        );
        assert_eq!(
            result("plugin:path|basename", r#"{"path":"/a/b/c.json"}"#),
            "c.json"
        );
        assert_eq!(
            result("plugin:path|extname", r#"{"path":"/a/b/c.json"}"#),
            "json"
        );
        assert_eq!(
            result("plugin:path|is_absolute", r#"{"path":"a/b"}"#),
            false
        );
        if cfg!(unix) {
            assert_eq!(
                result("plugin:path|join", r#"{"paths":["a","../b","c"]}"#),
                "b/c"
            );
            assert_eq!(
                result("plugin:path|normalize", r#"{"path":"/a/./b/.."}"#),
                "/a"
            );
            assert_eq!(
                result("plugin:path|dirname", r#"{"path":"/a/b/c"}"#),
                "/a/b"
            );
        }
        // A directory the platform has not, an unknown number, a wrong argument.
        let error = |method: &str, params: &str| {
            call(&router, &main, method, params)["error"]["code"].clone()
        };
        assert_eq!(
            error("plugin:path|resolve_directory", r#"{"directory":11}"#),
            -32000
        );
        assert_eq!(
            error("plugin:path|resolve_directory", r#"{"directory":99}"#),
            -32602
        );
        assert_eq!(error("plugin:path|join", r#"{"path":"a"}"#), -32602);
        assert_eq!(error("plugin:path|extname", r#"{"path":"/a/b"}"#), -32000);
    }

    #[test]
    fn core_app_without_app_info_says_what_is_missing() {
        let (router, main) = router(None);
        let reply = call(&router, &main, "plugin:app|name", "{}");
        assert_eq!(reply["error"]["code"], -32603);
        assert!(
            reply["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("AppInfo")),
            "{reply}"
        );
    }

    #[test]
    fn base_directories_are_numbered_as_tauri_numbers_them() {
        assert_eq!(BaseDirectory::from_number(1), Some(BaseDirectory::Audio));
        assert_eq!(BaseDirectory::from_number(14), Some(BaseDirectory::AppData));
        assert_eq!(BaseDirectory::from_number(21), Some(BaseDirectory::Home));
        assert_eq!(
            BaseDirectory::from_number(23),
            Some(BaseDirectory::Template)
        );
        assert_eq!(BaseDirectory::from_number(0), None);
        assert_eq!(BaseDirectory::from_number(24), None);
        for (i, d) in BaseDirectory::ALL.iter().enumerate() {
            assert_eq!(*d as usize, i + 1);
        }
    }

    #[test]
    fn app_directories_live_under_the_identifier() {
        let info = AppInfo::new("notes", "1.2.3", "com.example.notes")
            .dir(BaseDirectory::Resource, "/opt/notes");
        assert_eq!(
            info.resolve(BaseDirectory::Resource),
            Some(PathBuf::from("/opt/notes"))
        );
        if let Some(config) = dirs::config_dir() {
            assert_eq!(
                info.resolve(BaseDirectory::AppConfig),
                Some(config.join("com.example.notes"))
            );
        }
        assert_eq!(
            AppInfo::new("a", "b", "c").resolve(BaseDirectory::Resource),
            None
        );
    }

    #[cfg(unix)]
    #[test]
    fn path_text_as_node_answers_it() {
        let join =
            |parts: &[&str]| join_text(&parts.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>());
        assert_eq!(join(&[""]), ".");
        assert_eq!(join(&["", ""]), ".");
        assert_eq!(join(&["a"]), "a");
        assert_eq!(join(&["", "a"]), "a");
        assert_eq!(join(&["a", "b"]), "a/b");
        assert_eq!(join(&["a", "", "b"]), "a/b");
        assert_eq!(join(&["a", "/b", "c"]), "a/b/c");
        assert_eq!(join(&["a", "b/c", "d"]), "a/b/c/d");
        assert_eq!(join(&["a/", "b"]), "a/b");
        assert_eq!(join(&["/x", "y", "..", "z"]), "/x/z");
        assert_eq!(join(&["..", "a"]), "../a");
        assert_eq!(join(&["/", ".."]), "/");
        assert_eq!(normalize_text("/a/./b/../c"), "/a/c");
        assert_eq!(normalize_text(".."), "..");
        assert_eq!(normalize_text("../a/../../b"), "../../b");
        assert_eq!(normalize_text("/../a"), "/a");
        assert_eq!(normalize_text("."), ".");
        assert_eq!(normalize_text(""), ".");
        assert_eq!(normalize_text("a/b/"), "a/b/");
    }
}
