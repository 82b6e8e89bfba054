//! Who is calling: the identity a transport establishes, and the grants it resolves to.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::bitset::{self, CommandId};
use crate::outbound::Outbound;

/// Where a caller's frontend was loaded from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Content the application ships itself (its own pages, a child process it spawned).
    Local,
    /// A page from another origin, as a URL (`https://app.example.com`). It matches only
    /// capabilities whose `remote` URL patterns accept it.
    Remote(String),
}

/// The identity of a caller, as the core established it (never as the frontend claims it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallerInfo {
    /// The window label.
    pub window: String,
    /// The webview label, where a window holds several webviews.
    pub webview: Option<String>,
    /// Where the frontend was loaded from.
    pub origin: Origin,
}

impl CallerInfo {
    /// A local caller with a window label.
    pub fn local(window: impl Into<String>) -> Self {
        Self {
            window: window.into(),
            webview: None,
            origin: Origin::Local,
        }
    }

    /// A remote caller with a window label, loaded from `url`.
    pub fn remote(window: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            window: window.into(),
            webview: None,
            origin: Origin::Remote(url.into()),
        }
    }

    /// Sets the webview label.
    #[must_use]
    pub fn with_webview(mut self, webview: impl Into<String>) -> Self {
        self.webview = Some(webview.into());
        self
    }
}

/// The commands a caller may call: the union of the allow sets of the capabilities that apply to
/// it, minus the union of their deny sets.
#[derive(Clone, PartialEq, Eq)]
pub struct GrantSet {
    words: Box<[u64]>,
}

impl GrantSet {
    pub(crate) fn new(words: Box<[u64]>) -> Self {
        Self { words }
    }

    /// Whether the caller may call `id`: one bit test, no allocation, no lock.
    #[inline(always)]
    pub fn allows(&self, id: CommandId) -> bool {
        bitset::contains(&self.words, id)
    }

    /// The allowed ids, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = CommandId> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            (0..64u32)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| CommandId::new(w as u32 * 64 + bit))
        })
    }
}

impl fmt::Debug for GrantSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(CommandId::index))
            .finish()
    }
}

/// A resolved caller: its identity and its grant set, shared cheaply (an `Arc`).
///
/// Made by [`Router::caller`](crate::Router::caller) once per window, connection or child process;
/// every request of that caller then costs one bit test. A command can take `Caller` as an
/// argument to learn who called it.
#[derive(Clone)]
pub struct Caller {
    inner: Arc<CallerInner>,
}

struct CallerInner {
    router: u64,
    info: CallerInfo,
    grants: GrantSet,
    capabilities: Box<[usize]>,
    /// Where channel messages and events for this caller go, when it came through a transport.
    outbound: Option<Outbound>,
    /// Scopes built for this caller, by (command, scope type, global). Only scoped commands
    /// touch it, never the check.
    scopes: Mutex<HashMap<ScopeKey, Arc<dyn Any + Send + Sync>>>,
}

pub(crate) type ScopeKey = (u32, TypeId, bool);

impl Caller {
    pub(crate) fn new(
        router: u64,
        info: CallerInfo,
        grants: GrantSet,
        capabilities: Box<[usize]>,
        outbound: Option<Outbound>,
    ) -> Self {
        Self {
            inner: Arc::new(CallerInner {
                router,
                info,
                grants,
                capabilities,
                outbound,
                scopes: Mutex::default(),
            }),
        }
    }

    /// The window label.
    pub fn label(&self) -> &str {
        &self.inner.info.window
    }

    /// The webview label, if any.
    pub fn webview(&self) -> Option<&str> {
        self.inner.info.webview.as_deref()
    }

    /// Where the caller's frontend was loaded from.
    pub fn origin(&self) -> &Origin {
        &self.inner.info.origin
    }

    /// The whole identity.
    pub fn info(&self) -> &CallerInfo {
        &self.inner.info
    }

    /// The grant set.
    pub fn grants(&self) -> &GrantSet {
        &self.inner.grants
    }

    /// Whether the caller may call `id`: one bit test.
    #[inline(always)]
    pub fn allows(&self, id: CommandId) -> bool {
        self.inner.grants.allows(id)
    }

    /// The caller's connection, for channel messages and events; `None` for a caller made
    /// with [`Router::caller`](crate::Router::caller) rather than
    /// [`Router::connect`](crate::Router::connect).
    pub fn outbound(&self) -> Option<&Outbound> {
        self.inner.outbound.as_ref()
    }

    /// Indexes into the ACL's capabilities of those that apply to this caller.
    pub fn capability_indexes(&self) -> &[usize] {
        &self.inner.capabilities
    }

    pub(crate) fn cached_scope(&self, key: &ScopeKey) -> Option<Arc<dyn Any + Send + Sync>> {
        let cache = self.inner.scopes.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key).cloned()
    }

    pub(crate) fn cache_scope(&self, key: ScopeKey, scope: Arc<dyn Any + Send + Sync>) {
        let mut cache = self.inner.scopes.lock().unwrap_or_else(|e| e.into_inner());
        cache.entry(key).or_insert(scope);
    }

    pub(crate) fn router_id(&self) -> u64 {
        self.inner.router
    }
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("info", &self.inner.info)
            .field("grants", &self.inner.grants)
            .finish()
    }
}
