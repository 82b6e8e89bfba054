//! `*`, `**`, `?` and `[…]` do not match a leading dot unless the scope says so (Tauri's
//! `requireLiteralLeadingDot`; GHSA-6mv3-wm7j-h4w5).

use super::*;

/// `D/shared/{notes.md, .env, .ssh/id_ed25519, sub/.git/config, a.b}`.
fn shared() -> TempDir {
    let dir = TempDir::new();
    dir.touch("shared/notes.md")
        .touch("shared/.env")
        .touch("shared/.ssh/id_ed25519")
        .touch("shared/sub/.git/config")
        .touch("shared/a.b");
    dir
}

const DOT_FILES: &[&str] = &[
    "shared/.env",
    "shared/.ssh/id_ed25519",
    "shared/.ssh",
    "shared/sub/.git/config",
];

#[test]
fn wildcards_do_not_match_a_leading_dot() {
    let dir = shared();
    let dirs = dir.dirs();
    let tree = PathScope::new(["$D/shared/**"], [], &dirs).expect("valid");
    for path in DOT_FILES {
        assert_not_allowed(tree.check(dir.join(path)));
        assert_not_allowed(tree.open(dir.join(path)));
    }
    assert!(tree.is_allowed(dir.join("shared/notes.md")));
    assert!(
        tree.is_allowed(dir.join("shared/a.b")),
        "a dot inside a name is not leading"
    );
    assert!(tree.is_allowed(dir.join("shared/sub")));

    for pattern in [
        "$D/shared/*",
        "$D/shared/?env",
        "$D/shared/[.]env",
        "$D/shared/[!a]env",
        "$D/shared/[.e]env",
        "$D/shared/*/id_ed25519",
        "$D/shared/**/config",
    ] {
        let scope = PathScope::new([pattern], [], &dirs).expect(pattern);
        for path in DOT_FILES {
            assert!(
                !scope.is_allowed(dir.join(path)),
                "{pattern} allowed {path}"
            );
        }
    }
}

#[test]
fn a_literal_dot_matches() {
    let dir = shared();
    let dirs = dir.dirs();
    for (pattern, path) in [
        ("$D/shared/.env", "shared/.env"),
        ("$D/shared/.*", "shared/.env"),
        ("$D/shared/.ssh/*", "shared/.ssh/id_ed25519"),
        ("$D/shared/.ssh/**", "shared/.ssh/id_ed25519"),
        ("$D/shared/*/.git/*", "shared/sub/.git/config"),
    ] {
        let scope = PathScope::new([pattern], [], &dirs).expect(pattern);
        assert!(scope.is_allowed(dir.join(path)), "{pattern} refused {path}");
    }
    // A base directory with dots in it is literal.
    let dotted = BaseDirs::new().with("C", dir.join("shared/.ssh"));
    let scope = PathScope::new(["$C/*"], [], &dotted).expect("valid");
    assert!(scope.is_allowed(dir.join("shared/.ssh/id_ed25519")));
}

#[test]
fn the_scope_can_opt_out() {
    let dir = shared();
    let dirs = dir.dirs();
    for pattern in [
        "$D/shared/**",
        "$D/shared/?env",
        "$D/shared/[.]env",
        "$D/shared/[!a]env",
    ] {
        let scope = PathScope::new([pattern], [], &dirs)
            .expect(pattern)
            .require_literal_leading_dot(false);
        assert!(scope.is_allowed(dir.join("shared/.env")), "{pattern}");
    }
    let tree = PathScope::new(["$D/shared/**"], [], &dirs)
        .expect("valid")
        .require_literal_leading_dot(false);
    for path in DOT_FILES {
        assert!(tree.is_allowed(dir.join(path)), "{path}");
    }
    assert!(tree.open(dir.join("shared/.ssh/id_ed25519")).is_ok());
}

#[test]
fn a_deny_is_never_narrowed_by_a_leading_dot() {
    let dir = shared();
    let dirs = dir.dirs();
    let scope = PathScope::new(
        ["$D/shared/.ssh/id_ed25519", "$D/shared/.env"],
        ["$D/shared/**"],
        &dirs,
    )
    .expect("valid");
    assert_denied(scope.check(dir.join("shared/.ssh/id_ed25519")));
    assert_denied(scope.check(dir.join("shared/.env")));
    let keys = PathScope::new(["$D/shared/.ssh/*"], ["$D/**/id_*"], &dirs).expect("valid");
    assert_denied(keys.check(dir.join("shared/.ssh/id_ed25519")));
}
