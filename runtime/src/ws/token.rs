//! Per-window secret tokens: made from the OS's random source, compared in constant time.

use std::fmt;
use std::sync::{Arc, RwLock};

use subtle::{ConditionallySelectable, ConstantTimeEq};

/// Random bytes per token (256 bits).
const TOKEN_BYTES: usize = 32;
/// Characters of a token in hex.
const TOKEN_LEN: usize = TOKEN_BYTES * 2;

/// The windows a server knows: which token stands for which label.
#[derive(Default)]
pub(crate) struct Tokens {
    entries: RwLock<Vec<Entry>>,
}

struct Entry {
    token: [u8; TOKEN_LEN],
    label: Arc<str>,
}

impl Tokens {
    /// Registers `label` under a fresh token and returns the token (hex).
    pub(crate) fn register(&self, label: Arc<str>) -> String {
        let token = fresh_token();
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.push(Entry { token, label });
        // The token is ASCII hex by construction.
        token.iter().map(|&b| char::from(b)).collect()
    }

    /// The label whose token is `candidate`. Compares against every registered token in
    /// constant time, without stopping at a match, so timing tells nothing about which token
    /// (or how much of one) matched.
    pub(crate) fn find(&self, candidate: &[u8]) -> Option<Arc<str>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        // 0: no match; i + 1: entry i.
        let mut found = 0u32;
        for (i, entry) in entries.iter().enumerate() {
            let hit = entry.token[..].ct_eq(candidate);
            found.conditional_assign(&(i as u32 + 1), hit);
        }
        let index = usize::try_from(found).ok()?.checked_sub(1)?;
        entries.get(index).map(|e| e.label.clone())
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

/// A window registered with a [`Server`](super::Server): its label, its secret token and the
/// URL that opens it.
///
/// The token is in the URL's fragment (`#token=…`), which browsers never send in HTTP
/// requests; the JavaScript client moves it into `sessionStorage` and removes it from the
/// address bar. Anyone who has the token connects as this window, so hand the URL only to the
/// browser or webview that should be it. `Debug` does not show the token.
#[derive(Clone)]
pub struct Window {
    label: Arc<str>,
    token: String,
    origin: Arc<str>,
}

impl Window {
    pub(crate) fn new(label: Arc<str>, token: String, origin: Arc<str>) -> Self {
        Self {
            label,
            token,
            origin,
        }
    }

    /// The window label the core chose; every connection with this token is this caller.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The secret token (64 hex characters).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The URL to open: `http://127.0.0.1:PORT/#token=…`.
    pub fn url(&self) -> String {
        self.page_url("")
    }

    /// The URL of another page of the frontend for this window: `page_url("viewer.html")` is
    /// `http://127.0.0.1:PORT/viewer.html#token=…`.
    pub fn page_url(&self, page: &str) -> String {
        let page = page.trim_start_matches('/');
        format!("{}/{page}#token={}", self.origin, self.token)
    }
}

impl fmt::Debug for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Window")
            .field("label", &self.label)
            .field("origin", &self.origin)
            .field("token", &"<secret>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_hex_and_distinct() {
        let tokens = Tokens::default();
        let a = tokens.register("a".into());
        let b = tokens.register("b".into());
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn each_token_finds_its_own_label() {
        let tokens = Tokens::default();
        let main = tokens.register("main".into());
        let viewer = tokens.register("viewer".into());
        let second_main = tokens.register("main".into());
        assert_eq!(tokens.find(main.as_bytes()).as_deref(), Some("main"));
        assert_eq!(tokens.find(viewer.as_bytes()).as_deref(), Some("viewer"));
        assert_eq!(tokens.find(second_main.as_bytes()).as_deref(), Some("main"));
        assert_eq!(tokens.find(b""), None);
        assert_eq!(tokens.find(&main.as_bytes()[..63]), None);
        assert_eq!(tokens.find(main.to_uppercase().as_bytes()), None);
        let mut longer = main.clone();
        longer.push('0');
        assert_eq!(tokens.find(longer.as_bytes()), None);
    }

    #[test]
    fn debug_hides_the_token() {
        let w = Window::new("main".into(), "abc123".into(), "http://127.0.0.1:1".into());
        assert!(!format!("{w:?}").contains("abc123"));
        assert_eq!(w.url(), "http://127.0.0.1:1/#token=abc123");
        assert_eq!(
            w.page_url("/viewer.html"),
            "http://127.0.0.1:1/viewer.html#token=abc123"
        );
    }
}
