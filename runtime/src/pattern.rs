//! Label globs and remote URL patterns, compiled once per router.

use url::Url;
use urlpattern::{UrlPattern, UrlPatternInit, UrlPatternMatchInput, UrlPatternOptions};

/// A compiled glob over caller labels (`main`, `editor-*`).
#[derive(Debug, Clone)]
pub(crate) struct LabelGlob(glob::Pattern);

impl LabelGlob {
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        glob::Pattern::new(pattern)
            .map(Self)
            .map_err(|e| e.to_string())
    }

    pub(crate) fn matches(&self, label: &str) -> bool {
        self.0.matches(label)
    }
}

/// A compiled URL pattern for remote origins (`https://*.example.com`).
#[derive(Debug)]
pub(crate) struct RemotePattern(UrlPattern);

impl RemotePattern {
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        // urlpattern 0.6 panics on some malformed patterns (an unopened `]` in the host, found
        // by fuzzing: `fuzz/regressions/acl_json/remote-url-unopened-bracket`); a pattern comes
        // from an ACL file, so its failure must be an error, never a crash of the build script.
        std::panic::catch_unwind(|| Self::parse(pattern)).unwrap_or_else(|_| {
            Err(format!(
                "`{pattern}` is not a valid URL pattern (the pattern parser failed on it)"
            ))
        })
    }

    fn parse(pattern: &str) -> Result<Self, String> {
        let mut init = UrlPatternInit::parse_constructor_string::<regex::Regex>(pattern, None)
            .map_err(|e| e.to_string())?;
        // A pattern written as an origin (`https://*.example.com`) should match every page of
        // that origin; the constructor string would otherwise pin path, query and fragment.
        if init
            .pathname
            .as_deref()
            .is_none_or(|p| p.is_empty() || p == "/")
        {
            init.pathname = Some("*".into());
        }
        if init.search.as_deref().is_none_or(str::is_empty) {
            init.search = Some("*".into());
        }
        if init.hash.as_deref().is_none_or(str::is_empty) {
            init.hash = Some("*".into());
        }
        UrlPattern::parse(init, UrlPatternOptions::default())
            .map(Self)
            .map_err(|e| e.to_string())
    }

    pub(crate) fn matches(&self, url: &Url) -> bool {
        self.0
            .test(UrlPatternMatchInput::Url(url.clone()))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    #[test]
    fn origin_patterns_match_their_origin_only() {
        let p = RemotePattern::new("https://*.example.com").expect("valid");
        assert!(p.matches(&url("https://app.example.com")));
        assert!(p.matches(&url("https://app.example.com/some/page?q=1#x")));
        assert!(!p.matches(&url("https://example.com.evil.test")));
        assert!(!p.matches(&url("http://app.example.com")));
        assert!(!p.matches(&url("https://app.example.com.evil.test")));
        assert!(!p.matches(&url("https://app.example.com:8443")));
    }

    #[test]
    fn invalid_patterns_are_errors() {
        assert!(RemotePattern::new("not a url pattern").is_err());
        // The parser panics on this one; it must be an error instead.
        assert!(RemotePattern::new("https://x]y.com").is_err());
        assert!(LabelGlob::new("main[").is_err());
    }

    #[test]
    fn label_globs() {
        let g = LabelGlob::new("editor-*").expect("valid");
        assert!(g.matches("editor-1"));
        assert!(!g.matches("editor"));
        assert!(!g.matches("main"));
    }
}
