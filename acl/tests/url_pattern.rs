//! URL patterns agree with the `urlpattern` crate (the browser `URLPattern`, which Tauri 2 reads
//! `remote.urls` with, and which the runtime used before) on every pattern Gatehouse reads and
//! every URL as a browser serialises it; Gatehouse refuses what it does not read.

use gatehouse_acl::UrlPattern;
use proptest::prelude::*;
use urlpattern::{UrlPatternInit, UrlPatternMatchInput, UrlPatternOptions};

/// The pattern as the runtime compiled it with `urlpattern` before: an origin alone matches
/// every page of it, and query and fragment always match.
fn reference(pattern: &str) -> Option<urlpattern::UrlPattern> {
    std::panic::catch_unwind(|| {
        let mut init =
            UrlPatternInit::parse_constructor_string::<regex::Regex>(pattern, None).ok()?;
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
        urlpattern::UrlPattern::parse(init, UrlPatternOptions::default()).ok()
    })
    .ok()
    .flatten()
}

fn reference_matches(pattern: &urlpattern::UrlPattern, url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| pattern.test(UrlPatternMatchInput::Url(u)).unwrap_or(false))
}

fn pattern() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        Just("http"),
        Just("https"),
        Just("ws"),
        Just("tauri"),
        Just("*"),
        Just("http*")
    ];
    let label = prop_oneof![
        Just("a"),
        Just("app"),
        Just("example"),
        Just("com"),
        Just("localhost"),
        Just("*"),
        Just("x-y"),
        Just("APP"),
        Just("a*b"),
    ];
    let host = prop_oneof![
        proptest::collection::vec(label, 1..4).prop_map(|l| l.join(".")),
        Just("127.0.0.1".to_owned()),
        Just("192.168.*".to_owned()),
    ];
    let port = prop_oneof![
        Just(""),
        Just(":*"),
        Just(":80"),
        Just(":443"),
        Just(":8080"),
        Just(":1420")
    ];
    let path = prop_oneof![
        Just(""),
        Just("/"),
        Just("/app"),
        Just("/app/"),
        Just("/app/*"),
        Just("/*"),
        Just("/a*b"),
        Just("/%20x"),
        Just("/x/*/y"),
    ];
    (scheme, host, port, path).prop_map(|(s, h, p, path)| format!("{s}://{h}{p}{path}"))
}

/// URLs as browsers serialise them.
fn url() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![Just("http"), Just("https"), Just("ws"), Just("tauri")];
    let label = prop_oneof![
        Just("a"),
        Just("app"),
        Just("example"),
        Just("com"),
        Just("localhost"),
        Just("x-y"),
        Just("ab"),
        Just("axb"),
    ];
    let host = prop_oneof![
        proptest::collection::vec(label, 1..4).prop_map(|l| l.join(".")),
        Just("127.0.0.1".to_owned()),
        Just("192.168.0.1".to_owned()),
    ];
    let port = prop_oneof![
        Just(""),
        Just(":80"),
        Just(":443"),
        Just(":8080"),
        Just(":1420")
    ];
    let path = prop_oneof![
        Just(""),
        Just("/"),
        Just("/app"),
        Just("/app/"),
        Just("/app/x"),
        Just("/x/app/y"),
        Just("/axb"),
        Just("/%20x"),
        Just("/x/z/y"),
    ];
    let tail = prop_oneof![Just(""), Just("?q=1"), Just("#f"), Just("?q#f")];
    (scheme, host, port, path, tail)
        .prop_map(|(s, h, p, path, t)| format!("{s}://{h}{p}{path}{t}"))
        // Only the URL exactly as the URL parser writes it back (a default port dropped, an
        // empty path of a special scheme as `/`), as a browser would send it.
        .prop_map(|u| url::Url::parse(&u).map_or(u, |parsed| parsed.to_string()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn url_patterns_match_as_urlpattern_does(pattern in pattern(), urls in proptest::collection::vec(url(), 8)) {
        let ours = UrlPattern::new(pattern.clone());
        let theirs = reference(&pattern);
        if let Ok(ours) = &ours {
            let theirs = theirs.as_ref();
            prop_assert!(theirs.is_some(), "{:?} is read by Gatehouse but refused by urlpattern", pattern);
            let theirs = theirs.expect("checked");
            for url in &urls {
                prop_assert_eq!(
                    ours.matches(url),
                    reference_matches(theirs, url),
                    "{:?} on {:?}", pattern, url
                );
            }
        }
    }
}

#[test]
fn every_generated_pattern_shape_is_read() {
    // The generator's patterns are all in what Gatehouse reads, so the property above compares
    // every one of them (none is skipped as refused).
    for pattern in [
        "https://*.example.com",
        "http://localhost:*",
        "https://APP.example.com:443/app/*",
        "*://a*b.com/x/*/y",
        "http*://127.0.0.1:8080/%20x",
    ] {
        UrlPattern::new(pattern).expect(pattern);
    }
}

#[test]
fn non_canonical_urls_match_nothing() {
    let any = UrlPattern::new("*://*:*/*").expect("valid");
    assert!(any.matches("https://app.example.com/x"));
    for url in [
        "https://user:pw@app.example.com",
        "https://app.example.com/a/../b",
        "https://app.example.com/a/%2e%2E/b",
        "http://127.1",
        "http://0x7f.0.0.1",
        "https://app example.com",
        "https://app.example.com\\x",
        "https://bücher.example",
        "https://%61pp.example.com",
        "no scheme",
        "data:text/plain,x",
    ] {
        assert!(!any.matches(url), "{url}");
    }
}
