//! The decision, [`PathScope::check`]: each attack on a path scope's check.

use std::fs;
use std::path::{Component, Path};

use super::*;

#[test]
fn parent_segments_cannot_leave_the_scope() {
    let dir = fixture();
    let scope = scope(&dir);
    assert_not_allowed(scope.check(text(&dir, "/allowed/../secret")));
    assert_not_allowed(scope.check(text(&dir, "/allowed/../outside/secret.txt")));
    assert_not_allowed(scope.check(text(&dir, "/allowed/sub/../..")));
    assert_not_allowed(scope.check(text(&dir, "/allowed/../../../../../../etc/passwd")));
    assert_denied(scope.check(text(&dir, "/allowed/sub/../private/secret.txt")));
    // `..` that stays inside is fine, and the returned path has none.
    assert_eq!(
        scope
            .check(text(&dir, "/allowed/sub/../a.txt"))
            .expect("inside"),
        dir.join("allowed/a.txt")
    );
    assert_eq!(
        scope
            .check(text(&dir, "/secret/../allowed/./a.txt"))
            .expect("inside"),
        dir.join("allowed/a.txt")
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_folder_inside_the_scope_cannot_escape_it() {
    let dir = fixture();
    let scope = scope(&dir);
    let escaped = scope.check(dir.join("allowed/escape/secret.txt"));
    match &escaped {
        Err(PathScopeError::NotAllowed { resolved, .. }) => {
            assert_eq!(resolved, &dir.join("outside/secret.txt"));
        }
        other => panic!("expected NotAllowed, got {other:?}"),
    }
    // The message is safe to send back: it does not say where the link leads.
    let message = escaped.expect_err("refused").to_string();
    let target = dir.join("outside/secret.txt");
    assert!(
        !message.contains(target.to_str().expect("Unicode")),
        "{message}"
    );

    assert_not_allowed(scope.check(dir.join("allowed/escape")));
    assert_not_allowed(scope.check(dir.join("allowed/to-secret-file")));
    assert_not_allowed(scope.check(dir.join("allowed/escape/sub/../secret.txt")));
}

#[cfg(unix)]
#[test]
fn a_symlink_into_a_denied_folder_is_denied() {
    let dir = fixture();
    let scope = scope(&dir);
    assert_denied(scope.check(dir.join("allowed/to-private/secret.txt")));
    assert_denied(scope.check(dir.join("allowed/to-private")));
    assert_denied(scope.check(dir.join("allowed/to-private/not-yet.txt")));
}

#[cfg(unix)]
#[test]
fn a_deny_pattern_matching_the_lexical_path_is_enough() {
    // The deny's prefix `$D` is no symlink, so only the request's lexical path goes through
    // `escape`; the real path `$D/outside/secret.txt` is allowed by `$D/**`.
    let dir = fixture();
    let scope = PathScope::new(["$D/**"], ["$D/*/escape/**"], &dir.dirs()).expect("valid");
    assert_denied(scope.check(dir.join("allowed/escape/secret.txt")));
    assert!(scope.is_allowed(dir.join("outside/secret.txt")));
}

#[test]
fn deny_wins_over_allow() {
    let dir = fixture();
    let scope = scope(&dir);
    assert_denied(scope.check(dir.join("allowed/private/secret.txt")));
    assert_denied(scope.check(dir.join("allowed/private/not-yet/created.txt")));
    // `/**` also covers the folder itself: a denied tree cannot be listed or removed whole.
    assert_denied(scope.check(dir.join("allowed/private")));

    let files =
        PathScope::new(["$D/allowed/a.txt"], ["$D/allowed/*.txt"], &dir.dirs()).expect("valid");
    assert_denied(files.check(dir.join("allowed/a.txt")));
}

#[test]
fn the_folder_itself_matches_a_double_star_pattern_only() {
    let dir = fixture();
    let tree = scope(&dir);
    assert_eq!(
        tree.check(dir.join("allowed")).expect("the folder itself"),
        dir.join("allowed")
    );
    let children = PathScope::new(["$D/allowed/*"], [], &dir.dirs()).expect("valid");
    assert_not_allowed(children.check(dir.join("allowed")));
}

#[test]
fn a_single_star_does_not_match_in_subfolders() {
    let dir = fixture();
    let dirs = dir.dirs();
    let children = PathScope::new(["$D/allowed/*"], [], &dirs).expect("valid");
    assert!(children.is_allowed(dir.join("allowed/a.txt")));
    assert!(children.is_allowed(dir.join("allowed/sub")));
    assert_not_allowed(children.check(dir.join("allowed/sub/b.txt")));
    assert_not_allowed(children.check(dir.join("allowed/sub/new/c.txt")));

    // `?` and `[…]` do not match a separator either.
    let question = PathScope::new(["$D/allowed?sub/*"], [], &dirs).expect("valid");
    assert_not_allowed(question.check(dir.join("allowed/sub/b.txt")));
    let class = PathScope::new(["$D/allowed[!x]sub/*"], [], &dirs).expect("valid");
    assert_not_allowed(class.check(dir.join("allowed/sub/b.txt")));

    let tree = PathScope::new(["$D/allowed/**"], [], &dirs).expect("valid");
    assert!(tree.is_allowed(dir.join("allowed/a.txt")));
    assert!(tree.is_allowed(dir.join("allowed/sub/b.txt")));
    assert!(tree.is_allowed(dir.join("allowed/sub/new/c.txt")));
}

#[test]
fn glob_metacharacters_in_the_request_match_only_themselves() {
    let dir = TempDir::new();
    for name in ["[ab]", "*", "?", "a*", "a", "b", "secret[1]"] {
        dir.touch(&format!("files/{name}"));
    }
    let dirs = dir.dirs();
    let scope = PathScope::new(["$D/files/a*"], ["$D/files/secret*"], &dirs).expect("valid");
    // Read as patterns, `[ab]`, `*` and `?` would match `a`; read literally, they do not start
    // with `a`.
    assert_not_allowed(scope.check(dir.join("files/[ab]")));
    assert_not_allowed(scope.check(dir.join("files/*")));
    assert_not_allowed(scope.check(dir.join("files/?")));
    assert_not_allowed(scope.check(dir.join("*/a")));
    assert!(scope.is_allowed(dir.join("files/a*")));
    assert!(scope.is_allowed(dir.join("files/a")));
    // A metacharacter cannot dodge a deny either.
    assert_denied(scope.check(dir.join("files/secret[1]")));

    // The author's `[ab]` is a class: it allows `a` and `b`, not a file named `[ab]`.
    let class = PathScope::new(["$D/files/[ab]"], [], &dirs).expect("valid");
    assert!(class.is_allowed(dir.join("files/a")));
    assert!(class.is_allowed(dir.join("files/b")));
    assert_not_allowed(class.check(dir.join("files/[ab]")));
}

#[test]
fn metacharacters_in_a_base_dir_are_literal() {
    let dir = TempDir::new();
    dir.touch("[x]/a.txt").touch("x/a.txt");
    let dirs = BaseDirs::new().with("V", dir.join("[x]"));
    let scope = PathScope::new(["$V/**"], [], &dirs).expect("valid");
    assert!(scope.is_allowed(dir.join("[x]/a.txt")));
    assert_not_allowed(scope.check(dir.join("x/a.txt")));
}

#[test]
fn trailing_and_repeated_separators_do_not_change_the_outcome() {
    let dir = fixture();
    let scope = scope(&dir);
    let a = dir.join("allowed/a.txt");
    for request in [
        "//allowed///a.txt/",
        "/allowed/a.txt//",
        "/./allowed/./a.txt/.",
    ] {
        assert_eq!(scope.check(text(&dir, request)).expect(request), a);
    }
    assert_eq!(
        scope.check(text(&dir, "//allowed//")).expect("folder"),
        dir.join("allowed")
    );
    assert_denied(scope.check(text(&dir, "//allowed//private//secret.txt//")));
    assert_denied(scope.check(text(&dir, "/allowed/private/")));
    assert_not_allowed(scope.check(text(&dir, "//secret/")));

    // Nor in patterns.
    let messy = PathScope::new(
        ["$D//allowed///**/"],
        ["$D/allowed/./private//**"],
        &dir.dirs(),
    )
    .expect("valid");
    assert!(messy.is_allowed(&a));
    assert_denied(messy.check(dir.join("allowed/private/secret.txt")));
}

#[cfg(unix)]
#[test]
fn non_utf8_names_are_refused_and_never_read_lossily() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let dir = fixture();
    let latin1 = OsStr::from_bytes(b"caf\xe9");
    let requested = dir.join("allowed").join(latin1);
    assert!(matches!(
        scope(&dir).check(&requested),
        Err(PathScopeError::NotUnicode { .. })
    ));
    // Read lossily, `caf\xe9` would be the allowed `caf\u{fffd}`.
    let exact = PathScope::new(["$D/allowed/caf\u{fffd}"], [], &dir.dirs()).expect("valid");
    assert!(exact.is_allowed(dir.join("allowed/caf\u{fffd}")));
    assert!(!exact.is_allowed(&requested));
    // Nor can a non-Unicode name dodge a deny.
    let deny = PathScope::new(["$D/**"], ["$D/allowed/caf*"], &dir.dirs()).expect("valid");
    assert!(!deny.is_allowed(&requested));

    // A symlink whose target is not Unicode is refused too (where the file system allows
    // such names at all).
    if fs::create_dir(dir.path().join(latin1)).is_ok() {
        std::os::unix::fs::symlink(dir.path().join(latin1), dir.join("allowed/latin1"))
            .expect("create a symlink");
        let tree = PathScope::new(["$D/**"], [], &dir.dirs()).expect("valid");
        assert!(matches!(
            tree.check(dir.join("allowed/latin1/x")),
            Err(PathScopeError::NotUnicode { .. })
        ));
    }

    // A base directory that is not Unicode cannot be used.
    let dirs = BaseDirs::new().with("L", dir.path().join(latin1));
    assert!(matches!(
        PathScope::new(["$L/**"], [], &dirs),
        Err(PathScopeError::InvalidBaseDir { .. })
    ));
}

#[test]
fn relative_paths_are_refused() {
    let dir = fixture();
    let scope = scope(&dir);
    for request in ["allowed/a.txt", "./a.txt", "../a.txt", "", "a.txt"] {
        assert!(
            matches!(scope.check(request), Err(PathScopeError::Relative { .. })),
            "{request:?}"
        );
    }
}

/// An absolute directory on any platform, as text; pattern errors never touch it.
fn absolute() -> String {
    std::env::temp_dir()
        .join("srv")
        .to_str()
        .expect("a Unicode temporary directory")
        .to_owned()
}

#[test]
fn an_unknown_variable_is_an_error() {
    let dirs = BaseDirs::new().with("D", absolute());
    for (pattern, name) in [
        ("$NOPE/**", "NOPE"),
        ("$d/**", "d"),
        ("$D.bak/x", "D.bak"),
        ("$", ""),
    ] {
        match PathScope::new([pattern], [], &dirs) {
            Err(error @ PathScopeError::UnknownVariable { .. }) => {
                let PathScopeError::UnknownVariable { name: found, .. } = &error else {
                    unreachable!()
                };
                assert_eq!(found, name);
                assert!(error.to_string().contains(pattern), "{error}");
            }
            other => panic!("{pattern}: expected UnknownVariable, got {other:?}"),
        }
    }
    // In a deny list too.
    assert!(matches!(
        PathScope::new(["$D/**"], ["$NOPE/x"], &dirs),
        Err(PathScopeError::UnknownVariable { .. })
    ));
}

#[test]
fn parent_segments_in_a_pattern_are_an_error() {
    let srv = absolute();
    let dirs = BaseDirs::new().with("D", &srv);
    let patterns = [
        "$D/../etc/**".to_owned(),
        format!("{srv}/a/../b"),
        "$D/a/..".to_owned(),
        format!("{srv}/.."),
    ];
    for pattern in &patterns {
        let error = PathScope::new([pattern.as_str()], [], &dirs).expect_err(pattern);
        assert!(
            matches!(error, PathScopeError::ParentInPattern { .. }),
            "{pattern}: {error:?}"
        );
        assert!(error.to_string().contains(pattern.as_str()), "{error}");
    }
    let parent_base = BaseDirs::new().with("P", format!("{srv}/../etc"));
    assert!(matches!(
        PathScope::new(["$P/**"], [], &parent_base),
        Err(PathScopeError::InvalidBaseDir { .. })
    ));
}

#[test]
fn other_invalid_patterns_are_errors() {
    let srv = absolute();
    let dirs = BaseDirs::new().with("D", &srv).with("R", "relative/dir");
    let build = |pattern| PathScope::new([pattern], [], &dirs);
    for pattern in ["docs/**", "", "~/docs", "*/docs"] {
        let error = build(pattern).expect_err(pattern);
        assert!(
            matches!(error, PathScopeError::RelativePattern { .. }),
            "{pattern}: {error:?}"
        );
    }
    let literal = format!("{srv}/**b");
    for pattern in ["$D/a**", "$D/[a/b]", "$D/***", &literal] {
        let error = build(pattern).expect_err(pattern);
        assert!(
            matches!(error, PathScopeError::InvalidGlob { .. }),
            "{pattern}: {error:?}"
        );
    }
    assert!(matches!(
        build("$R/**"),
        Err(PathScopeError::InvalidBaseDir { .. })
    ));
}

#[test]
fn an_empty_allow_list_allows_nothing() {
    let dir = fixture();
    let nothing = PathScope::new([], [], &dir.dirs()).expect("valid");
    for path in [
        dir.join("allowed/a.txt"),
        dir.path().to_owned(),
        dir.path().ancestors().last().expect("a root").to_owned(),
    ] {
        assert_not_allowed(nothing.check(&path));
    }
    let deny_only = PathScope::new([], ["$D/secret"], &dir.dirs()).expect("valid");
    assert_not_allowed(deny_only.check(dir.join("allowed/a.txt")));
}

#[test]
fn a_file_not_yet_created_is_checked_where_it_will_be() {
    let dir = fixture();
    let scope = scope(&dir);
    assert_eq!(
        scope.check(dir.join("allowed/new.txt")).expect("allowed"),
        dir.join("allowed/new.txt")
    );
    assert_eq!(
        scope
            .check(dir.join("allowed/new/deeper/c.txt"))
            .expect("allowed"),
        dir.join("allowed/new/deeper/c.txt")
    );
    // Below a file: the file system says "not a directory".
    assert!(matches!(
        scope.check(dir.join("allowed/a.txt/x")),
        Err(PathScopeError::Io { .. })
    ));
    // A NUL byte is an I/O error, not a panic.
    assert!(matches!(
        scope.check(dir.join("allowed/a\0b")),
        Err(PathScopeError::Io { .. })
    ));
}

#[cfg(unix)]
#[test]
fn a_file_not_yet_created_behind_an_escaping_symlink_is_refused() {
    let dir = fixture();
    let scope = scope(&dir);
    match scope.check(dir.join("allowed/escape/new.txt")) {
        Err(PathScopeError::NotAllowed { resolved, .. }) => {
            assert_eq!(resolved, dir.join("outside/new.txt"));
        }
        other => panic!("expected NotAllowed, got {other:?}"),
    }
    assert_not_allowed(scope.check(dir.join("allowed/escape/new/deeper.txt")));
    // A dangling link that leads out is refused.
    for request in ["allowed/dangling", "allowed/dangling/x.txt"] {
        let refused = scope.check(dir.join(request));
        assert!(
            refused.as_ref().is_err_and(PathScopeError::is_refusal),
            "{request}: {refused:?}"
        );
    }
    // Creating through a dangling link would create its target, even inside the scope.
    dir.symlink("allowed/dangling-inside", "allowed/missing");
    for request in ["allowed/dangling-inside", "allowed/dangling-inside/x.txt"] {
        match scope.check(dir.join(request)) {
            Err(PathScopeError::DanglingSymlink { link, .. }) => {
                assert_eq!(link, dir.join("allowed/dangling-inside"));
            }
            other => panic!("{request}: expected DanglingSymlink, got {other:?}"),
        }
    }
    // What comes after a link's target may be missing: that is a new file, not a dangling link.
    dir.symlink("allowed/to-sub", "allowed/sub");
    assert_eq!(
        scope
            .check(dir.join("allowed/to-sub/new.txt"))
            .expect("allowed"),
        dir.join("allowed/sub/new.txt")
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_base_dir_matches_its_real_location() {
    let dir = TempDir::new();
    dir.touch("real/a.txt").touch("real/private/b.txt");
    dir.symlink("link", "real");
    let dirs = BaseDirs::new().with("L", dir.join("link"));
    let scope = PathScope::new(["$L/**"], ["$L/private/**"], &dirs).expect("valid");
    assert_eq!(
        scope
            .check(dir.join("link/a.txt"))
            .expect("through the link"),
        dir.join("real/a.txt")
    );
    assert!(scope.is_allowed(dir.join("real/a.txt")));
    assert!(scope.is_allowed(dir.join("link/new.txt")));
    assert_denied(scope.check(dir.join("real/private/x")));
    assert_denied(scope.check(dir.join("link/private/x")));
    assert_denied(scope.check(dir.join("link/private")));
}

#[test]
fn entries_read_as_strings_or_objects() {
    let entries: Vec<PathEntry> =
        serde_json::from_str(r#"["$HOME/a/**", {"path": "$HOME/b"}]"#).expect("valid entries");
    assert_eq!(
        entries,
        [
            PathEntry::Path("$HOME/a/**".into()),
            PathEntry::Object {
                path: "$HOME/b".into()
            }
        ]
    );
    let paths: Vec<&str> = entries.iter().map(PathEntry::path).collect();
    assert_eq!(paths, ["$HOME/a/**", "$HOME/b"]);
    assert_eq!(
        serde_json::to_string(&entries).expect("serialisable"),
        r#"["$HOME/a/**",{"path":"$HOME/b"}]"#
    );
    // A misspelt or unexpected key is an error, not an entry that silently means something else.
    assert!(serde_json::from_str::<PathEntry>(r#"{"path": "/a", "deny": true}"#).is_err());
    assert!(serde_json::from_str::<PathEntry>(r#"{"pth": "/a"}"#).is_err());
}

#[test]
fn base_dirs_from_the_environment_are_absolute() {
    let dirs = BaseDirs::from_env();
    assert!(dirs.get("TEMP").is_some_and(Path::is_absolute));
    for name in ["HOME", "TEMP", "CWD"] {
        assert!(dirs.get(name).is_none_or(Path::is_absolute), "{name}");
    }
    assert_eq!(
        BaseDirs::new().with("$X", "/x").get("X"),
        Some(Path::new("/x"))
    );
}

/// Random mixes of `..`, `.`, names, symlinks and separators, from inside or beside the allowed
/// root: whatever `check` accepts is inside the root, outside the denied folder, and a real path
/// (nothing in its existing part is a symlink, no `.` or `..`). Trailing and doubled separators
/// never change the outcome.
#[test]
fn random_paths_never_leave_the_allowed_root() {
    use proptest::prelude::*;
    use proptest::sample::select;
    use proptest::test_runner::{Config, TestRunner};

    const SEGMENTS: &[&str] = &[
        "..",
        ".",
        "",
        "a.txt",
        "sub",
        "b.txt",
        "private",
        "secret.txt",
        "allowed",
        "outside",
        "secret",
        "escape",
        "to-private",
        "to-secret-file",
        "new",
        "*",
        "[ab]",
    ];

    let dir = fixture();
    let scope = scope(&dir);
    let root = dir.join("allowed");
    let private = dir.join("allowed/private");

    let strategy = (
        any::<bool>(),
        proptest::collection::vec((select(SEGMENTS), select(&["/", "//"][..])), 0..10),
    );
    let mut runner = TestRunner::new(Config {
        cases: 1024,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(from_root, segments)| {
            let mut request = String::from(if from_root { "/allowed" } else { "" });
            for (segment, separator) in &segments {
                request.push_str(separator);
                request.push_str(segment);
            }
            let outcome = scope.check(text(&dir, &request));
            if let Ok(real) = &outcome {
                prop_assert!(real.starts_with(&root), "{request} -> {real:?}");
                prop_assert!(!real.starts_with(&private), "{request} -> {real:?}");
                prop_assert!(
                    real.components().all(|c| matches!(
                        c,
                        Component::Prefix(_) | Component::RootDir | Component::Normal(_)
                    )),
                    "{request} -> {real:?}"
                );
                let existing = real
                    .ancestors()
                    .find(|path| path.exists())
                    .expect("the root exists");
                prop_assert_eq!(
                    fs::canonicalize(existing).expect("exists"),
                    existing.to_owned()
                );
            }
            let variants = [
                format!("{request}/"),
                format!("{request}//."),
                request.replace('/', "//"),
            ];
            for variant in variants {
                let again = scope.check(text(&dir, &variant));
                prop_assert_eq!(
                    again.as_ref().ok(),
                    outcome.as_ref().ok(),
                    "{} vs {}",
                    request,
                    variant
                );
            }
            Ok(())
        })
        .expect("no path outside the allowed root is allowed");
}

#[cfg(unix)]
#[test]
fn a_link_after_the_variable_is_walked_not_trusted() {
    let dir = fixture();
    // `$D/linked` leads out; the pattern names it, but only the variable's directory is taken
    // as the author wrote it: the link is walked, and its target is beneath no allowed path.
    dir.symlink("linked", "outside");
    let scope = PathScope::new(["$D/linked/**"], [], &dir.dirs()).expect("valid");
    assert_not_allowed(scope.check(dir.join("linked/secret.txt")));
    assert_not_allowed(scope.open(dir.join("linked/secret.txt")));
    // A variable of its own makes the linked folder a root, and allows it.
    let dirs = BaseDirs::new().with("L", dir.join("linked"));
    let scope = PathScope::new(["$L/**"], [], &dirs).expect("valid");
    assert!(scope.open(dir.join("linked/secret.txt")).is_ok());
    assert!(scope.open(dir.join("outside/secret.txt")).is_ok());
}
