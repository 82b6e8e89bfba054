//! Label globs agree with the `glob` crate's `Pattern` (default options), which Tauri 2 matches
//! window and webview labels with: the same patterns are refused, and the others match the same
//! labels.

use gatehouse_acl::LabelGlob;
use proptest::prelude::*;

/// Patterns over the characters that mean something to a glob, and a few that do not.
fn pattern() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("-"),
            Just("/"),
            Just("é"),
            Just("*"),
            Just("**"),
            Just("?"),
            Just("["),
            Just("]"),
            Just("!"),
            Just("[a-c]"),
            Just("[!a]"),
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

fn label() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("c"),
            Just("-"),
            Just("/"),
            Just("é"),
            Just("]"),
            Just("!")
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn label_globs_match_as_the_glob_crate_does(pattern in pattern(), labels in proptest::collection::vec(label(), 8)) {
        let ours = LabelGlob::new(pattern.clone());
        let theirs = glob::Pattern::new(&pattern);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?}: {:?} / {:?}", pattern, ours.err(), theirs.err());
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            for label in &labels {
                prop_assert_eq!(ours.matches(label), theirs.matches(label), "{:?} on {:?}", pattern, label);
            }
        }
    }
}

#[test]
fn what_tauri_users_write() {
    for (pattern, label, expected) in [
        ("main", "main", true),
        ("main", "Main", false),
        ("editor-*", "editor-12", true),
        ("editor-*", "editor", false),
        ("*", "anything", true),
        ("settings-?", "settings-1", true),
        ("settings-?", "settings-12", false),
    ] {
        let glob = LabelGlob::new(pattern).expect("valid");
        assert_eq!(glob.matches(label), expected, "{pattern} on {label}");
        assert_eq!(
            glob::Pattern::new(pattern).expect("valid").matches(label),
            expected
        );
    }
}
