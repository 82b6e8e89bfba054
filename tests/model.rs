//! The router's compiled decisions agree with an obviously-correct reference interpreter of the
//! access semantics, on random ACLs and callers.

use gatehouse::{Acl, CallerInfo, Capability, Router};
use proptest::prelude::*;

const GLOBS: &[&str] = &["main", "viewer-*", "editor", "*", "tool?", "nomatch"];
const LABELS: &[&str] = &[
    "main",
    "viewer-1",
    "viewer-22",
    "editor",
    "tools",
    "tool",
    "x",
];
const PATTERNS: &[&str] = &["https://*.example.com", "https://app.test"];
const URLS: &[&str] = &[
    "https://a.example.com",
    "https://app.test",
    "https://evil.test",
    "https://a.example.com.evil.test",
    "http://a.example.com",
];

#[derive(Debug, Clone)]
struct Cap {
    windows: Vec<usize>,
    webviews: Vec<usize>,
    local: bool,
    remote: Vec<usize>,
    allow: Vec<usize>,
    deny: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Who {
    window: usize,
    webview: Option<usize>,
    /// `None`: local; `Some(i)`: remote from `URLS[i]`.
    remote: Option<usize>,
}

/// `*` matches any run of characters, `?` exactly one; nothing else is special.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// The two URL patterns, by hand.
fn remote_matches(pattern: usize, url: &str) -> bool {
    let Some(host) = url.strip_prefix("https://") else {
        return false;
    };
    match PATTERNS[pattern] {
        "https://*.example.com" => {
            host.len() > ".example.com".len() && host.ends_with(".example.com")
        }
        "https://app.test" => host == "app.test",
        other => unreachable!("{other}"),
    }
}

fn applies(cap: &Cap, who: &Who) -> bool {
    let window = LABELS[who.window];
    let webview = who.webview.map_or(window, |w| LABELS[w]);
    let label = cap
        .windows
        .iter()
        .any(|&g| glob(GLOBS[g].as_bytes(), window.as_bytes()))
        || cap
            .webviews
            .iter()
            .any(|&g| glob(GLOBS[g].as_bytes(), webview.as_bytes()));
    let origin = match who.remote {
        None => cap.local,
        Some(u) => cap.remote.iter().any(|&p| remote_matches(p, URLS[u])),
    };
    label && origin
}

fn model_allows(caps: &[Cap], who: &Who, command: usize) -> bool {
    let applying: Vec<&Cap> = caps.iter().filter(|c| applies(c, who)).collect();
    applying.iter().any(|c| c.allow.contains(&command))
        && !applying.iter().any(|c| c.deny.contains(&command))
}

fn subset(max: usize, len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..max, 0..=len)
}

fn cap(commands: usize) -> impl Strategy<Value = Cap> {
    (
        subset(GLOBS.len(), 2),
        subset(GLOBS.len(), 1),
        any::<bool>(),
        subset(PATTERNS.len(), 2),
        subset(commands, commands),
        subset(commands, 3),
    )
        .prop_map(|(windows, webviews, local, remote, allow, deny)| Cap {
            windows,
            webviews,
            local,
            remote,
            allow,
            deny,
        })
}

fn who() -> impl Strategy<Value = Who> {
    (
        0..LABELS.len(),
        proptest::option::of(0..LABELS.len()),
        proptest::option::of(0..URLS.len()),
    )
        .prop_map(|(window, webview, remote)| Who {
            window,
            webview,
            remote,
        })
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Cap>, Vec<Who>)> {
    (1usize..100).prop_flat_map(|commands| {
        (
            Just(commands),
            proptest::collection::vec(cap(commands), 0..6),
            proptest::collection::vec(who(), 1..8),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn router_agrees_with_the_reference_model((commands, caps, callers) in scenario()) {
        let names: Vec<String> = (0..commands).map(|i| format!("cmd_{i:03}")).collect();
        let mut acl = Acl::builder().commands(names.iter().cloned());
        for (i, c) in caps.iter().enumerate() {
            acl = acl.capability(
                Capability::builder(format!("cap-{i}"))
                    .windows(c.windows.iter().map(|&g| GLOBS[g]))
                    .webviews(c.webviews.iter().map(|&g| GLOBS[g]))
                    .local(c.local)
                    .remote(c.remote.iter().map(|&p| PATTERNS[p]))
                    .allow(c.allow.iter().map(|&n| names[n].clone()))
                    .deny(c.deny.iter().map(|&n| names[n].clone())),
            );
        }
        let router = Router::builder(acl.build().expect("valid ACL"))
            .allow_unserved_commands(true)
            .build()
            .expect("valid router");
        for who in &callers {
            let mut info = match who.remote {
                None => CallerInfo::local(LABELS[who.window]),
                Some(u) => CallerInfo::remote(LABELS[who.window], URLS[u]),
            };
            if let Some(w) = who.webview {
                info = info.with_webview(LABELS[w]);
            }
            let caller = router.caller(info);
            for (i, name) in names.iter().enumerate() {
                prop_assert_eq!(
                    router.check(&caller, name),
                    model_allows(&caps, who, i),
                    "command {} for {:?}", name, who
                );
            }
        }
    }
}
