//! A local process races the core: while a thread swaps a file or folder the scope allows for a
//! symbolic link out of it, each operation of `PathScope` runs 10 000 times and never reads,
//! lists, stats, creates or writes anything outside (issue #10). The same attack on a
//! check-then-open command escapes within a few dozen tries (the ignored control test at the
//! end shows the harness catches it: `cargo test --test scope_race -- --ignored`).

#![cfg(unix)]

#[path = "scope_support/racer.rs"]
mod racer;

use std::fs;
use std::io::Read;

use gatehouse::{BaseDirs, PathScope, PathScopeError};
use racer::{names, Racer, Sandbox, ITERATIONS};

const SECRET: &str = "OUTSIDE SECRET";

/// How long the control tests try to escape; on a loaded 2-core machine the racer and the
/// core rarely run at the same instant, so an escape may take tens of thousands of tries.
const CONTROL_TRIES: usize = 20 * ITERATIONS;
const INSIDE: &str = "inside";

/// `S/scope/{victim.md, folder/note.md}` holding [`INSIDE`], `S/outside/{secret.md, note.md}`
/// holding [`SECRET`], and a scope allowing `S/scope/**`.
fn setup(what: &str) -> (Sandbox, PathScope) {
    let sandbox = Sandbox::new(what);
    fs::create_dir_all(sandbox.join("scope/folder")).expect("mkdir");
    fs::create_dir_all(sandbox.join("outside")).expect("mkdir");
    fs::write(sandbox.join("scope/victim.md"), INSIDE).expect("write");
    fs::write(sandbox.join("scope/folder/note.md"), INSIDE).expect("write");
    fs::write(sandbox.join("outside/secret.md"), SECRET).expect("write");
    fs::write(sandbox.join("outside/note.md"), SECRET).expect("write");
    let dirs = BaseDirs::new().with("N", sandbox.join("scope"));
    let scope = PathScope::new(["$N/**"], [], &dirs).expect("valid scope");
    (sandbox, scope)
}

/// The outside folder is exactly as [`setup`] left it.
fn assert_outside_untouched(sandbox: &Sandbox) {
    assert_eq!(names(&sandbox.join("outside")), ["note.md", "secret.md"]);
    for name in ["note.md", "secret.md"] {
        assert_eq!(
            fs::read_to_string(sandbox.join("outside").join(name)).expect("read"),
            SECRET,
            "{name} was written through the scope"
        );
    }
}

fn read(scope: &PathScope, path: &std::path::Path) -> Result<String, PathScopeError> {
    let mut text = String::new();
    let _ = scope.open(path)?.read_to_string(&mut text);
    Ok(text)
}

/// Counts outcomes, so a failure says how hard the race was run.
#[derive(Debug, Default)]
struct Tally {
    done: usize,
    refused: usize,
    failed: usize,
}

impl Tally {
    fn add<T>(&mut self, outcome: &Result<T, PathScopeError>) {
        match outcome {
            Ok(_) => self.done += 1,
            Err(error) if error.is_refusal() => self.refused += 1,
            Err(_) => self.failed += 1,
        }
    }
}

#[test]
fn reading_a_file_swapped_for_a_link_out_never_reads_outside() {
    let (sandbox, scope) = setup("read-file");
    let victim = sandbox.join("scope/victim.md");
    let racer = Racer::file(&victim, &sandbox.join("outside/secret.md"), INSIDE);
    let mut tally = Tally::default();
    for i in 0..ITERATIONS {
        let outcome = read(&scope, &victim);
        if let Ok(text) = &outcome {
            assert_ne!(text, SECRET, "read outside at iteration {i}: {tally:?}");
        }
        tally.add(&outcome);
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} swaps");
}

#[test]
fn reading_in_a_folder_swapped_for_a_link_out_never_reads_outside() {
    let (sandbox, scope) = setup("read-folder");
    let note = sandbox.join("scope/folder/note.md");
    let racer = Racer::folder(&sandbox.join("scope/folder"), &sandbox.join("outside"));
    let mut tally = Tally::default();
    for i in 0..ITERATIONS {
        let outcome = read(&scope, &note);
        if let Ok(text) = &outcome {
            assert_ne!(text, SECRET, "read outside at iteration {i}: {tally:?}");
        }
        tally.add(&outcome);
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} swaps");
}

#[test]
fn writing_a_file_swapped_for_a_link_out_never_writes_outside() {
    let (sandbox, scope) = setup("write-file");
    let victim = sandbox.join("scope/victim.md");
    let racer = Racer::file(&victim, &sandbox.join("outside/secret.md"), INSIDE);
    let mut tally = Tally::default();
    for i in 0..ITERATIONS {
        let outcome = scope.write_atomic(&victim, format!("payload {i}"));
        tally.add(&outcome);
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} swaps");
    assert_outside_untouched(&sandbox);
}

#[test]
fn writing_in_a_folder_swapped_for_a_link_out_never_writes_outside() {
    let (sandbox, scope) = setup("write-folder");
    let note = sandbox.join("scope/folder/note.md");
    let racer = Racer::folder(&sandbox.join("scope/folder"), &sandbox.join("outside"));
    let mut tally = Tally::default();
    for i in 0..ITERATIONS {
        tally.add(&scope.write_atomic(&note, format!("payload {i}")));
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} swaps");
    assert_outside_untouched(&sandbox);
}

#[test]
fn creating_in_a_folder_swapped_for_a_link_out_never_creates_outside() {
    let (sandbox, scope) = setup("create-folder");
    let folder = sandbox.join("scope/folder");
    let racer = Racer::folder(&folder, &sandbox.join("outside"));
    let mut tally = Tally::default();
    for i in 0..ITERATIONS {
        let outcome = scope.create(folder.join(format!("new-{i}.md")));
        tally.add(&outcome);
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} swaps");
    assert_outside_untouched(&sandbox);
}

#[test]
fn listing_a_folder_swapped_for_a_link_out_never_lists_outside() {
    let (sandbox, scope) = setup("list-folder");
    let folder = sandbox.join("scope/folder");
    let racer = Racer::folder(&folder, &sandbox.join("outside"));
    let mut tally = Tally::default();
    for i in 0..ITERATIONS {
        let outcome = scope.read_dir(&folder).map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        });
        if let Ok(listed) = &outcome {
            assert!(
                !listed.iter().any(|name| name == "secret.md"),
                "listed outside at iteration {i}: {listed:?}"
            );
        }
        tally.add(&outcome);
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} swaps");
}

#[test]
fn the_metadata_of_a_file_swapped_for_a_link_out_is_never_the_outside_file() {
    let (sandbox, scope) = setup("metadata-file");
    let victim = sandbox.join("scope/victim.md");
    let racer = Racer::file(&victim, &sandbox.join("outside/secret.md"), INSIDE);
    let mut tally = Tally::default();
    for i in 0..ITERATIONS {
        let outcome = scope.metadata(&victim);
        if let Ok(meta) = &outcome {
            assert_eq!(meta.len(), INSIDE.len() as u64, "outside at iteration {i}");
        }
        tally.add(&outcome);
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} swaps");
}

#[test]
fn planting_links_at_temporary_names_never_writes_outside() {
    let (sandbox, scope) = setup("plant");
    let folder = sandbox.join("scope");
    let outside = sandbox.join("outside/secret.md");
    // Links out at guessable names: a counter's, a pid's, the notes example's old scheme.
    for n in 0..256u32 {
        for name in [
            format!(".write-{}-{n}.tmp.md", std::process::id()),
            format!(".gatehouse-{n:016x}.tmp"),
            format!("victim.md.{n}.tmp"),
        ] {
            std::os::unix::fs::symlink(&outside, folder.join(name)).expect("plant");
        }
    }
    // And a watcher that swaps every temporary file it sees for a link out, hoping to catch
    // one between its creation and the write or the rename.
    let (watched, target) = (folder.clone(), outside.clone());
    let racer = Racer::spawn(move || {
        let Ok(entries) = fs::read_dir(&watched) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".gatehouse-") && !entry.path().is_symlink() {
                let link = watched.join(format!("{name}.racer"));
                let _ = std::os::unix::fs::symlink(&target, &link);
                let _ = fs::rename(&link, entry.path());
            }
        }
    });
    let victim = folder.join("victim.md");
    let mut tally = Tally::default();
    for i in 0..ITERATIONS {
        let outcome = scope.write_atomic(&victim, format!("payload {i}"));
        if outcome.is_err() {
            // The watcher's link was renamed onto the note: the scope refuses to follow it out;
            // put a file back, as the note's owner would.
            let _ = fs::remove_file(&victim);
        }
        tally.add(&outcome);
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} sweeps");
    assert_outside_untouched(&sandbox);
}

/// The control: the same race against what commands did before issue #10 (check, then open
/// the checked path) reads the outside file. Ignored because it races by design.
#[test]
#[ignore = "shows the harness catches a check-then-open escape; racy by design"]
fn control_check_then_open_escapes() {
    let (sandbox, scope) = setup("control");
    let victim = sandbox.join("scope/victim.md");
    let racer = Racer::file(&victim, &sandbox.join("outside/secret.md"), INSIDE);
    let mut escaped = None;
    for i in 0..CONTROL_TRIES {
        if let Ok(real) = scope.check(&victim) {
            if fs::read_to_string(real).is_ok_and(|text| text == SECRET) {
                escaped = Some(i);
                break;
            }
        }
    }
    racer.stop();
    assert!(escaped.is_some(), "no escape in {CONTROL_TRIES} tries");
    eprintln!("check-then-open read outside at iteration {escaped:?}");
}

/// The control for writes: check, then `std::fs::write` the checked path (what the fs plugin's
/// `write_file` did) writes the outside file.
#[test]
#[ignore = "shows the harness catches a check-then-write escape; racy by design"]
fn control_check_then_write_escapes() {
    let (sandbox, scope) = setup("control-write");
    let victim = sandbox.join("scope/victim.md");
    let outside = sandbox.join("outside/secret.md");
    let racer = Racer::file(&victim, &outside, INSIDE);
    let mut escaped = None;
    for i in 0..CONTROL_TRIES {
        if let Ok(real) = scope.check(&victim) {
            let _ = fs::write(real, "payload");
            if fs::read_to_string(&outside).is_ok_and(|text| text != SECRET) {
                escaped = Some(i);
                break;
            }
        }
    }
    racer.stop();
    assert!(escaped.is_some(), "no escape in {CONTROL_TRIES} tries");
    eprintln!("check-then-write wrote outside at iteration {escaped:?}");
}

/// Scopes built while a racing process swaps their base directory for a link out: every scope
/// shares the directory's handle, opened before, so none of them reads or writes outside.
#[test]
fn scopes_built_while_their_base_dir_is_swapped_never_leave_it() {
    let (sandbox, _) = setup("rebuild");
    let base = sandbox.join("scope");
    fs::write(base.join("secret.md"), INSIDE).expect("write");
    let dirs = BaseDirs::new().with("N", &base);
    dirs.open().expect("open the base directory");
    let racer = Racer::folder(&base, &sandbox.join("outside"));
    let mut tally = Tally::default();
    for i in 0..ITERATIONS / 4 {
        let scope = PathScope::new(["$N", "$N/*.md"], [], &dirs).expect("valid scope");
        let listed = scope.read_dir(&base).map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_owned())
                .collect::<Vec<_>>()
        });
        for name in listed.iter().flatten() {
            let outcome = read(&scope, &base.join(name));
            if let Ok(text) = &outcome {
                assert_ne!(text, SECRET, "read outside at iteration {i}: {scope:#?}");
            }
            tally.add(&outcome);
        }
        tally.add(&listed);
        tally.add(&scope.write_atomic(base.join("secret.md"), format!("payload {i}")));
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} swaps");
    assert_outside_untouched(&sandbox);
}

/// Scopes built while a racing process swaps a folder named in their patterns, below the
/// variable (`$N/folder/**`), for a link out: the folder is walked, never resolved when the
/// scope is built, so no scope built during the race widens to the outside.
#[test]
fn scopes_built_while_a_folder_in_their_patterns_is_swapped_never_leave_it() {
    let (sandbox, _) = setup("rebuild-folder");
    let dirs = BaseDirs::new().with("N", sandbox.join("scope"));
    dirs.open().expect("open the base directory");
    let folder = sandbox.join("scope/folder");
    let racer = Racer::folder(&folder, &sandbox.join("outside"));
    let mut tally = Tally::default();
    for i in 0..ITERATIONS / 4 {
        let scope = PathScope::new(["$N/folder/**"], [], &dirs).expect("valid scope");
        for path in [folder.join("note.md"), sandbox.join("outside/secret.md")] {
            let outcome = read(&scope, &path);
            if let Ok(text) = &outcome {
                assert_ne!(text, SECRET, "read outside at iteration {i}: {scope:#?}");
            }
            tally.add(&outcome);
        }
        tally.add(&scope.write_atomic(folder.join("note.md"), format!("payload {i}")));
    }
    let swaps = racer.stop();
    eprintln!("{tally:?}, {swaps} swaps");
    assert_outside_untouched(&sandbox);
}
