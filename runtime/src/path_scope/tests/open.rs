//! The operations: each refuses what `check` refuses, opens beneath the scope's handles, and
//! does not follow a link where it acts on the entry itself.

use std::fs;
use std::io::Read;

use super::*;

fn read(scope: &PathScope, path: impl AsRef<Path>) -> Result<String, PathScopeError> {
    let mut text = String::new();
    scope
        .open(path)?
        .read_to_string(&mut text)
        .expect("read the opened file");
    Ok(text)
}

fn kind<T: std::fmt::Debug>(result: Result<T, PathScopeError>) -> std::io::ErrorKind {
    match result {
        Err(PathScopeError::Io { source, .. }) => source.kind(),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// The names in a folder, sorted, read without the scope.
#[cfg(unix)]
fn names(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(path)
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("Unicode")
        })
        .collect();
    names.sort();
    names
}

#[test]
fn open_reads_inside_and_refuses_what_check_refuses() {
    let dir = fixture();
    fs::write(dir.join("allowed/a.txt"), "inside").expect("write");
    let scope = scope(&dir);
    assert_eq!(
        read(&scope, dir.join("allowed/a.txt")).expect("inside"),
        "inside"
    );
    assert_eq!(
        read(&scope, text(&dir, "/allowed/sub/../a.txt")).expect("inside"),
        "inside"
    );
    assert_not_allowed(scope.open(text(&dir, "/allowed/../secret")));
    assert_denied(scope.open(dir.join("allowed/private/secret.txt")));
    assert!(matches!(
        scope.open("allowed/a.txt"),
        Err(PathScopeError::Relative { .. })
    ));
    assert_eq!(
        kind(scope.open(dir.join("allowed/missing.txt"))),
        std::io::ErrorKind::NotFound
    );
    // A root of the scope is a folder, not a file.
    let tree = PathScope::new(["$D/**"], [], &dir.dirs()).expect("valid");
    assert_eq!(
        kind(tree.open(dir.path())),
        std::io::ErrorKind::IsADirectory
    );
}

#[cfg(unix)]
#[test]
fn open_follows_links_only_while_they_stay_inside() {
    let dir = fixture();
    fs::write(dir.join("allowed/sub/b.txt"), "b").expect("write");
    dir.symlink("allowed/to-sub", "allowed/sub")
        .symlink("allowed/to-b", "allowed/sub/b.txt");
    // A relative link, resolved against the link's own folder.
    std::os::unix::fs::symlink("../sub/b.txt", dir.join("allowed/sub/rel-b")).expect("symlink");
    let scope = scope(&dir);
    for request in ["allowed/to-sub/b.txt", "allowed/to-b", "allowed/sub/rel-b"] {
        assert_eq!(read(&scope, dir.join(request)).expect(request), "b");
    }
    assert_not_allowed(scope.open(dir.join("allowed/escape/secret.txt")));
    assert_not_allowed(scope.open(dir.join("allowed/to-secret-file")));
    assert_denied(scope.open(dir.join("allowed/to-private/secret.txt")));
    assert_not_allowed(scope.open(dir.join("allowed/dangling")));

    // A cycle of links ends with an error, not a hang.
    dir.symlink("allowed/loop-a", "allowed/loop-b")
        .symlink("allowed/loop-b", "allowed/loop-a");
    assert!(matches!(
        scope.open(dir.join("allowed/loop-a")),
        Err(PathScopeError::Io { .. })
    ));
}

#[cfg(unix)]
#[test]
fn a_path_beneath_no_root_is_resolved_only_to_pick_one() {
    let dir = fixture();
    fs::write(dir.join("allowed/a.txt"), "inside").expect("write");
    dir.symlink("alias", "allowed");
    let scope = scope(&dir);
    assert_eq!(
        read(&scope, dir.join("alias/a.txt")).expect("through the alias"),
        "inside"
    );
    assert_denied(scope.open(dir.join("alias/private/secret.txt")));
    assert_not_allowed(scope.open(dir.join("outside/secret.txt")));
}

#[cfg(unix)]
#[test]
fn create_is_exclusive_and_never_follows_a_link() {
    use std::io::Write;

    let dir = fixture();
    let scope = scope(&dir);
    let mut file = scope.create(dir.join("allowed/new.txt")).expect("created");
    file.write_all(b"new").expect("write");
    drop(file);
    assert_eq!(
        fs::read_to_string(dir.join("allowed/new.txt")).expect("read"),
        "new"
    );

    for existing in [
        "allowed/new.txt",
        "allowed/to-secret-file",
        "allowed/dangling",
    ] {
        assert_eq!(
            kind(scope.create(dir.join(existing))),
            std::io::ErrorKind::AlreadyExists,
            "{existing}"
        );
    }
    assert_eq!(
        fs::read(dir.join("outside/secret.txt")).expect("read"),
        b"x"
    );
    assert!(
        !dir.join("outside/missing").exists(),
        "not created through the dangling link"
    );

    assert_denied(scope.create(dir.join("allowed/private/new.txt")));
    assert_not_allowed(scope.create(dir.join("allowed/escape/new.txt")));
    assert!(!dir.join("outside/new.txt").exists());
    assert_eq!(
        kind(scope.create(dir.join("allowed/no-such-folder/new.txt"))),
        std::io::ErrorKind::NotFound
    );
}

#[cfg(unix)]
#[test]
fn write_atomic_replaces_in_place_and_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;

    let dir = fixture();
    let scope = scope(&dir);
    let a = dir.join("allowed/a.txt");
    fs::set_permissions(&a, fs::Permissions::from_mode(0o640)).expect("chmod");
    scope.write_atomic(&a, "replaced").expect("written");
    assert_eq!(fs::read_to_string(&a).expect("read"), "replaced");
    assert_eq!(
        fs::metadata(&a).expect("stat").permissions().mode() & 0o777,
        0o640
    );
    scope
        .write_atomic(dir.join("allowed/fresh.txt"), "fresh")
        .expect("created");
    assert_eq!(
        fs::read_to_string(dir.join("allowed/fresh.txt")).expect("read"),
        "fresh"
    );

    // Through a link that stays inside: the target is replaced, the link stays a link.
    dir.symlink("allowed/to-a", "allowed/a.txt");
    scope
        .write_atomic(dir.join("allowed/to-a"), "via link")
        .expect("written");
    assert_eq!(fs::read_to_string(&a).expect("read"), "via link");
    assert!(fs::symlink_metadata(dir.join("allowed/to-a"))
        .expect("stat")
        .file_type()
        .is_symlink());

    assert_not_allowed(scope.write_atomic(dir.join("allowed/to-secret-file"), "pwned"));
    assert_not_allowed(scope.write_atomic(dir.join("allowed/escape/secret.txt"), "pwned"));
    assert_denied(scope.write_atomic(dir.join("allowed/to-private/secret.txt"), "pwned"));
    assert_eq!(
        fs::read(dir.join("outside/secret.txt")).expect("read"),
        b"x"
    );
    dir.symlink("allowed/dangling-inside", "allowed/not-there.txt");
    assert!(matches!(
        scope.write_atomic(dir.join("allowed/dangling-inside"), "x"),
        Err(PathScopeError::DanglingSymlink { .. })
    ));
    assert!(!dir.join("allowed/not-there.txt").exists());
    assert_eq!(
        kind(scope.write_atomic(dir.join("allowed/sub"), "x")),
        std::io::ErrorKind::IsADirectory
    );

    // No temporary file is left behind, whatever happened.
    assert!(
        names(&dir.join("allowed"))
            .iter()
            .all(|name| !name.ends_with(".tmp")),
        "{:?}",
        names(&dir.join("allowed"))
    );
}

#[cfg(unix)]
#[test]
fn planted_temporary_names_are_skipped_not_followed() {
    let dir = fixture();
    let scope = scope(&dir);
    // Whatever names an attacker plants in the folder, as links out, none is written through.
    for n in 0..64 {
        std::os::unix::fs::symlink(
            dir.join("outside/secret.txt"),
            dir.join(&format!("allowed/.gatehouse-{n:016x}.tmp")),
        )
        .expect("plant");
    }
    for round in 0..64 {
        scope
            .write_atomic(dir.join("allowed/a.txt"), format!("round {round}"))
            .expect("written");
    }
    assert_eq!(
        fs::read(dir.join("outside/secret.txt")).expect("read"),
        b"x"
    );
    assert_eq!(
        fs::read_to_string(dir.join("allowed/a.txt")).expect("read"),
        "round 63"
    );
}

#[cfg(unix)]
#[test]
fn read_dir_and_metadata_see_what_the_scope_allows() {
    let dir = fixture();
    let scope = scope(&dir);
    let mut listed: Vec<(String, bool, bool)> = scope
        .read_dir(dir.join("allowed"))
        .expect("listed")
        .map(|entry| {
            let entry = entry.expect("entry");
            assert_eq!(entry.path(), dir.join("allowed").join(entry.file_name()));
            (
                entry.file_name().to_str().expect("Unicode").to_owned(),
                entry.is_dir(),
                entry.is_symlink(),
            )
        })
        .collect();
    listed.sort();
    assert!(
        listed.contains(&("a.txt".to_owned(), false, false)),
        "{listed:?}"
    );
    assert!(
        listed.contains(&("sub".to_owned(), true, false)),
        "{listed:?}"
    );
    assert!(
        listed.contains(&("escape".to_owned(), false, true)),
        "{listed:?}"
    );

    let sub: Vec<_> = scope
        .read_dir(dir.join("allowed/sub"))
        .expect("listed")
        .map(|entry| entry.expect("entry").file_name().to_owned())
        .collect();
    assert_eq!(sub, ["b.txt"]);
    assert_not_allowed(scope.read_dir(dir.join("allowed/escape")));
    assert_denied(scope.read_dir(dir.join("allowed/private")));
    assert_denied(scope.read_dir(dir.join("allowed/to-private")));
    assert_eq!(
        kind(scope.read_dir(dir.join("allowed/a.txt"))),
        std::io::ErrorKind::NotADirectory
    );

    let meta = scope.metadata(dir.join("allowed/a.txt")).expect("stat");
    assert!(meta.is_file());
    assert_eq!(meta.len(), 1);
    assert!(scope.metadata(dir.join("allowed")).expect("stat").is_dir());
    dir.symlink("allowed/to-sub", "allowed/sub");
    assert!(scope
        .metadata(dir.join("allowed/to-sub"))
        .expect("stat")
        .is_dir());
    assert_not_allowed(scope.metadata(dir.join("allowed/to-secret-file")));
}

#[cfg(unix)]
#[test]
fn remove_rename_and_create_dir_act_on_entries() {
    let dir = fixture();
    let scope = scope(&dir);

    // Removing a link removes the link, never what it leads to.
    scope
        .remove(dir.join("allowed/to-secret-file"))
        .expect("removed");
    assert!(!dir.join("allowed/to-secret-file").exists());
    assert!(dir.join("outside/secret.txt").exists());
    scope.remove(dir.join("allowed/escape")).expect("removed");
    assert!(dir.join("outside").is_dir());

    scope.create_dir(dir.join("allowed/made")).expect("created");
    assert!(dir.join("allowed/made").is_dir());
    assert_eq!(
        kind(scope.create_dir(dir.join("allowed/made"))),
        std::io::ErrorKind::AlreadyExists
    );
    scope
        .rename(dir.join("allowed/a.txt"), dir.join("allowed/made/a.txt"))
        .expect("renamed");
    assert!(dir.join("allowed/made/a.txt").is_file());
    assert_eq!(
        kind(scope.remove(dir.join("allowed/made"))),
        std::io::ErrorKind::DirectoryNotEmpty
    );
    scope
        .remove(dir.join("allowed/made/a.txt"))
        .expect("removed");
    scope.remove(dir.join("allowed/made")).expect("removed");

    // Denied trees cannot be removed, renamed or renamed into.
    assert_denied(scope.remove(dir.join("allowed/private/secret.txt")));
    assert_denied(scope.remove(dir.join("allowed/private")));
    assert_denied(scope.rename(dir.join("allowed/private"), dir.join("allowed/public")));
    assert_denied(scope.rename(
        dir.join("allowed/sub/b.txt"),
        dir.join("allowed/private/b.txt"),
    ));
    assert_not_allowed(scope.rename(dir.join("allowed/sub/b.txt"), dir.join("outside/b.txt")));
    assert_not_allowed(scope.create_dir(dir.join("outside/made")));
    assert!(dir.join("allowed/private/secret.txt").exists());
    assert!(dir.join("allowed/sub/b.txt").exists());

    // A root of the scope cannot be removed or renamed: its parent is not the scope's.
    let tree = PathScope::new(["$D/**"], [], &dir.dirs()).expect("valid");
    assert_not_allowed(tree.remove(dir.path()));
    assert_not_allowed(tree.rename(dir.path(), dir.join("elsewhere")));
    assert!(dir.path().is_dir());
}

#[test]
fn a_root_that_does_not_exist_yet_is_a_clear_error_until_it_does() {
    let dir = TempDir::new();
    let dirs = BaseDirs::new().with("NOTES", dir.join("notes"));
    let scope = PathScope::new(["$NOTES/*.md"], [], &dirs).expect("valid");
    let note = dir.join("notes/todo.md");
    // Deciding needs no folder.
    assert_eq!(scope.check(&note).expect("allowed"), note);
    match scope.open(&note) {
        Err(error @ PathScopeError::RootUnavailable { .. }) => {
            let PathScopeError::RootUnavailable { root, source, .. } = &error else {
                unreachable!()
            };
            assert_eq!(root, &dir.join("notes"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert!(error.to_string().contains("cannot be opened"), "{error}");
            assert!(!error.to_string().contains("notes/\""), "{error}");
        }
        other => panic!("expected RootUnavailable, got {other:?}"),
    }
    assert!(matches!(
        scope.write_atomic(&note, "x"),
        Err(PathScopeError::RootUnavailable { .. })
    ));
    fs::create_dir(dir.join("notes")).expect("mkdir");
    scope
        .write_atomic(&note, "call Ann")
        .expect("written once the folder exists");
    assert_eq!(read(&scope, &note).expect("read"), "call Ann");
}

#[cfg(unix)]
#[test]
fn a_base_dir_swapped_after_it_was_opened_is_not_followed() {
    let dir = fixture();
    fs::write(dir.join("allowed/a.txt"), "original").expect("write");
    fs::write(dir.join("outside/a.txt"), "outside").expect("write");
    let dirs = BaseDirs::new().with("N", dir.join("allowed"));
    let scope = PathScope::new(["$N/**"], [], &dirs).expect("valid");
    let deeper = PathScope::new(["$D/allowed/**"], [], &dir.dirs()).expect("valid");
    // The folder is moved away and a link to the outside takes its name.
    fs::rename(dir.join("allowed"), dir.join("moved")).expect("move");
    dir.symlink("allowed", "outside");
    assert_eq!(
        read(&scope, dir.join("allowed/a.txt")).expect("through the handle"),
        "original"
    );
    scope
        .write_atomic(dir.join("allowed/a.txt"), "new")
        .expect("written");
    assert_eq!(
        fs::read_to_string(dir.join("outside/a.txt")).expect("read"),
        "outside"
    );
    assert_eq!(
        fs::read_to_string(dir.join("moved/a.txt")).expect("read"),
        "new"
    );
    // A scope built later from the same `BaseDirs` shares the handle opened first.
    let later = PathScope::new(["$N/*.txt"], [], &dirs).expect("valid");
    assert_eq!(
        read(&later, dir.join("allowed/a.txt")).expect("shared handle"),
        "new"
    );
    // A folder below the variable, swapped the same way after the scope was built, is walked,
    // so the link is refused.
    assert_not_allowed(deeper.open(dir.join("allowed/a.txt")));
}

#[test]
fn a_scope_built_from_grant_values_reads_entries_in_both_forms() {
    let dir = fixture();
    let allow = format!(r#"{{"path": "{}/allowed/**"}}"#, dir.path().display());
    let values = crate::ScopeValues {
        allow: vec![&allow],
        deny: vec![r#""$D/allowed/private/**""#],
    };
    let scope = PathScope::from_scope_values(&values, &dir.dirs()).expect("valid");
    assert!(scope.is_allowed(dir.join("allowed/a.txt")));
    assert_denied(scope.check(dir.join("allowed/private/secret.txt")));
    let bad = crate::ScopeValues {
        allow: vec![r#"{"pth": "/x"}"#],
        deny: vec![],
    };
    assert!(matches!(
        PathScope::from_scope_values(&bad, &dir.dirs()),
        Err(PathScopeError::InvalidEntry { .. })
    ));
}

#[test]
fn read_and_read_to_string_read_whole_files() {
    let dir = fixture();
    let text = "x".repeat(10_000);
    fs::write(dir.join("allowed/big.txt"), &text).expect("write");
    fs::write(dir.join("allowed/latin1.txt"), b"caf\xe9").expect("write");
    let scope = scope(&dir);
    assert_eq!(
        scope.read(dir.join("allowed/big.txt")).expect("read"),
        text.as_bytes()
    );
    assert_eq!(
        scope
            .read_to_string(dir.join("allowed/big.txt"))
            .expect("read"),
        text
    );
    assert_eq!(
        kind(scope.read_to_string(dir.join("allowed/latin1.txt"))),
        std::io::ErrorKind::InvalidData
    );
    assert_eq!(
        scope.read(dir.join("allowed/sub/b.txt")).expect("read"),
        b"x"
    );
    assert_denied(scope.read(dir.join("allowed/private/secret.txt")));
    assert_not_allowed(scope.read(text_path(&dir)));
}

/// A request that is not lexically normal (`//`, `.`, `..`, a trailing `/`) reads the same
/// file as its normal form, through the link-free fast path or the walk.
fn text_path(dir: &TempDir) -> PathBuf {
    text(dir, "/allowed/./sub/..//../secret")
}

#[test]
fn requests_that_are_not_lexically_normal_read_the_same_file() {
    let dir = fixture();
    fs::write(dir.join("allowed/sub/b.txt"), "b").expect("write");
    let scope = scope(&dir);
    for request in [
        "/allowed/sub/b.txt",
        "//allowed//sub/b.txt",
        "/allowed/./sub/b.txt",
        "/allowed/sub/../sub/b.txt",
        "/allowed/sub/b.txt/",
        "/allowed/sub/b.txt/.",
    ] {
        assert_eq!(read(&scope, text(&dir, request)).expect(request), "b");
    }
}
