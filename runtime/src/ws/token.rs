//! Per-window secret tokens: one live token per label, made from the OS's random source and
//! compared in constant time; the live connections of each label, counted and revocable.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use tokio::sync::watch;

/// Random bytes per token (256 bits).
const TOKEN_BYTES: usize = 32;
/// Characters of a token in hex.
const TOKEN_LEN: usize = TOKEN_BYTES * 2;

/// The windows a server knows: each label's one live token.
#[derive(Default)]
pub(crate) struct Tokens {
    entries: RwLock<Vec<Entry>>,
}

struct Entry {
    token: [u8; TOKEN_LEN],
    /// `false` once revoked (until the next rotation).
    live: bool,
    label: Arc<Label>,
}

/// One window label: its name, its open connections, and its revocations.
pub(crate) struct Label {
    name: Arc<str>,
    connections: AtomicUsize,
    /// Counts revocations; every connection of the label watches it.
    revocations: watch::Sender<u64>,
}

impl Tokens {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Entry>> {
        // Every write leaves the entries consistent; a panic cannot break them.
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Entry>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives `name` a fresh token, which replaces its previous one (if any) for new
    /// connections. Returns the label and the token (hex).
    pub(crate) fn issue(&self, name: &str) -> (Arc<Label>, String) {
        let token = fresh_token();
        let mut entries = self.write();
        let label = match entries.iter_mut().find(|e| &*e.label.name == name) {
            Some(entry) => {
                entry.token = token;
                entry.live = true;
                entry.label.clone()
            }
            None => {
                let label = Arc::new(Label {
                    name: name.into(),
                    connections: AtomicUsize::new(0),
                    revocations: watch::Sender::new(0),
                });
                entries.push(Entry {
                    token,
                    live: true,
                    label: label.clone(),
                });
                label
            }
        };
        (label, hex(&token))
    }

    /// The token `label` has now (hex), live or revoked.
    fn current(&self, label: &Label) -> String {
        let entries = self.read();
        entries
            .iter()
            .find(|e| std::ptr::eq(&*e.label, label))
            .map(|e| hex(&e.token))
            .unwrap_or_default()
    }

    /// Revokes `label`'s token: new connections with it are refused, and the open ones are
    /// told to close.
    fn revoke(&self, label: &Label) {
        let mut entries = self.write();
        if let Some(entry) = entries.iter_mut().find(|e| std::ptr::eq(&*e.label, label)) {
            entry.live = false;
        }
        // Under the lock, so that a handshake finding the token either sees it revoked or
        // watches the revocation.
        label.revocations.send_modify(|n| *n += 1);
    }

    /// The label whose live token is `candidate`, with a watch on its revocations. Compares
    /// against every token in constant time, without stopping at a match, so timing tells
    /// nothing about which token (or how much of one) matched.
    pub(crate) fn find(&self, candidate: &[u8]) -> Option<Pass> {
        let entries = self.read();
        // 0: no match; i + 1: entry i.
        let mut found = 0u32;
        for (i, entry) in entries.iter().enumerate() {
            let hit = entry.token[..].ct_eq(candidate) & Choice::from(u8::from(entry.live));
            found.conditional_assign(&(i as u32 + 1), hit);
        }
        let index = usize::try_from(found).ok()?.checked_sub(1)?;
        let label = entries.get(index)?.label.clone();
        let revoked = label.revocations.subscribe();
        Some(Pass { label, revoked })
    }
}

/// A token found at a handshake: the label it stands for.
pub(crate) struct Pass {
    label: Arc<Label>,
    revoked: watch::Receiver<u64>,
}

impl Pass {
    /// The window label.
    pub(crate) fn name(&self) -> &Arc<str> {
        &self.label.name
    }

    /// Takes one of the label's `max` connections; `None` when it has them all.
    pub(crate) fn enter(self, max: usize) -> Option<Seat> {
        self.label
            .connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(Seat {
            label: self.label,
            revoked: self.revoked,
        })
    }
}

/// One of a label's connections, counted until dropped.
pub(crate) struct Seat {
    label: Arc<Label>,
    revoked: watch::Receiver<u64>,
}

impl Seat {
    /// Resolves when the label's token is revoked (at once if it was since the handshake).
    pub(crate) async fn revoked(&mut self) {
        if self.revoked.changed().await.is_err() {
            // The label lives as long as this seat, and with it the sender.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.label.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// 256 bits from the operating system, as lowercase hex.
fn fresh_token() -> [u8; TOKEN_LEN] {
    let mut bytes = [0u8; TOKEN_BYTES];
    // Without an OS random source there is no safe token to hand out; no fallback.
    getrandom::fill(&mut bytes).expect("gatehouse: the operating system's random source failed");
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut token = [0u8; TOKEN_LEN];
    for (i, b) in bytes.iter().enumerate() {
        token[2 * i] = HEX[usize::from(b >> 4)];
        token[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    token
}

fn hex(token: &[u8; TOKEN_LEN]) -> String {
    // ASCII hex by construction.
    token.iter().map(|&b| char::from(b)).collect()
}

/// A window of a [`Server`](super::Server): its label, its secret token, the URL that opens
/// it, and the means to rotate or revoke the token.
///
/// A label has one live token at a time. Every handle of a label (clones, and the handles that
/// later calls of [`Server::window`](super::Server::window) return for it) shows the label's
/// current token.
///
/// - [`rotate`](Self::rotate) (or `Server::window` with the same label again) gives the label a
///   fresh token: the old one is refused for new connections from then on, while connections
///   already open with it **stay open** — the page keeps working, and the core can hand it the
///   new URL over that connection. To end them too, [`revoke`](Self::revoke) first.
/// - [`revoke`](Self::revoke) refuses the token for new connections and closes every open
///   connection of the label with WebSocket close code 1008 and the reason "window revoked".
///   The label stays without a live token until the next rotation.
///
/// The token is in the URL's fragment (`#token=…`), which browsers never send in HTTP
/// requests; the JavaScript client moves it into `sessionStorage` and removes it from the
/// address bar. Anyone who has the token connects as this window, so hand the URL only to the
/// browser or webview that should be it. `Debug` does not show the token.
#[derive(Clone)]
pub struct Window {
    tokens: Arc<Tokens>,
    label: Arc<Label>,
    origin: Arc<str>,
}

impl Window {
    /// Gives `label` a fresh token (replacing its previous one) and returns its handle.
    pub(crate) fn issue(tokens: &Arc<Tokens>, label: &str, origin: Arc<str>) -> Self {
        let (label, _token) = tokens.issue(label);
        Self {
            tokens: tokens.clone(),
            label,
            origin,
        }
    }

    /// The window label the core chose; every connection with this window's token is this
    /// caller.
    pub fn label(&self) -> &str {
        &self.label.name
    }

    /// The label's current secret token (64 hex characters); after [`revoke`](Self::revoke),
    /// the revoked one, which no longer connects.
    pub fn token(&self) -> String {
        self.tokens.current(&self.label)
    }

    /// The URL to open: `http://127.0.0.1:PORT/#token=…`.
    pub fn url(&self) -> String {
        self.page_url("")
    }

    /// The URL of another page of the frontend for this window: `page_url("viewer.html")` is
    /// `http://127.0.0.1:PORT/viewer.html#token=…`.
    pub fn page_url(&self, page: &str) -> String {
        let page = page.trim_start_matches('/');
        format!("{}/{page}#token={}", self.origin, self.token())
    }

    /// Gives the label a fresh token and returns its URL. The previous token is refused for new
    /// connections; connections already open with it stay open (see the type's docs).
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails: there is no safe token without it.
    pub fn rotate(&self) -> String {
        self.tokens.issue(&self.label.name);
        self.url()
    }

    /// Revokes the label's token: new connections with it are refused (HTTP 403), and every
    /// open connection of the label is closed with code 1008, "window revoked". [`rotate`]
    /// gives the label a working token again.
    ///
    /// [`rotate`]: Self::rotate
    pub fn revoke(&self) {
        self.tokens.revoke(&self.label);
    }

    /// How many connections of this label are open.
    pub fn connections(&self) -> usize {
        self.label.connections.load(Ordering::Acquire)
    }
}

impl fmt::Debug for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Window")
            .field("label", &self.label.name)
            .field("origin", &self.origin)
            .field("token", &"<secret>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(tokens: &Tokens, token: &str) -> Option<String> {
        tokens.find(token.as_bytes()).map(|p| p.name().to_string())
    }

    #[test]
    fn tokens_are_long_hex_and_distinct() {
        let tokens = Tokens::default();
        let (_, a) = tokens.issue("a");
        let (_, b) = tokens.issue("b");
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn each_token_finds_its_own_label() {
        let tokens = Tokens::default();
        let (_, main) = tokens.issue("main");
        let (_, viewer) = tokens.issue("viewer");
        assert_eq!(found(&tokens, &main).as_deref(), Some("main"));
        assert_eq!(found(&tokens, &viewer).as_deref(), Some("viewer"));
        assert_eq!(found(&tokens, ""), None);
        assert_eq!(found(&tokens, &main[..63]), None);
        assert_eq!(found(&tokens, &main.to_uppercase()), None);
        assert_eq!(found(&tokens, &format!("{main}0")), None);
    }

    #[test]
    fn a_label_has_one_live_token() {
        let tokens = Tokens::default();
        let (first_label, first) = tokens.issue("main");
        let (second_label, second) = tokens.issue("main");
        assert!(Arc::ptr_eq(&first_label, &second_label));
        assert_ne!(first, second);
        assert_eq!(found(&tokens, &first), None);
        assert_eq!(found(&tokens, &second).as_deref(), Some("main"));
        assert_eq!(tokens.read().len(), 1);
    }

    #[test]
    fn a_revoked_token_is_refused_until_the_next_rotation() {
        let tokens = Arc::new(Tokens::default());
        let window = Window::issue(&tokens, "main", "http://127.0.0.1:1".into());
        let token = window.token();
        let pass = tokens.find(token.as_bytes()).expect("live");
        let mut seat = pass.enter(1).expect("a seat");
        window.revoke();
        assert_eq!(found(&tokens, &token), None);
        // The open connection hears of it.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(1), seat.revoked())
                .await
                .expect("revoked")
        });
        let url = window.rotate();
        let fresh = window.token();
        assert!(url.ends_with(&fresh));
        assert_eq!(found(&tokens, &fresh).as_deref(), Some("main"));
        assert_eq!(found(&tokens, &token), None);
    }

    #[test]
    fn seats_are_counted_per_label() {
        let tokens = Arc::new(Tokens::default());
        let window = Window::issue(&tokens, "main", "http://127.0.0.1:1".into());
        let token = window.token();
        let a = tokens.find(token.as_bytes()).and_then(|p| p.enter(2));
        let b = tokens.find(token.as_bytes()).and_then(|p| p.enter(2));
        assert!(a.is_some() && b.is_some());
        assert!(tokens
            .find(token.as_bytes())
            .and_then(|p| p.enter(2))
            .is_none());
        assert_eq!(window.connections(), 2);
        drop(a);
        assert_eq!(window.connections(), 1);
        assert!(tokens
            .find(token.as_bytes())
            .and_then(|p| p.enter(2))
            .is_some());
    }

    #[test]
    fn debug_hides_the_token() {
        let tokens = Arc::new(Tokens::default());
        let w = Window::issue(&tokens, "main", "http://127.0.0.1:1".into());
        let token = w.token();
        assert!(!format!("{w:?}").contains(&token));
        assert_eq!(w.url(), format!("http://127.0.0.1:1/#token={token}"));
        assert_eq!(
            w.page_url("/viewer.html"),
            format!("http://127.0.0.1:1/viewer.html#token={token}")
        );
    }
}
