//! A local process races the notes core (issue #10): while a thread swaps a note, or the whole
//! notes folder, for a symbolic link out of it, or plants links at temporary names, 10 000
//! calls through `Router::handle` never read or write outside the folder.

#![cfg(unix)]

#[path = "../../../tests/scope_support/racer.rs"]
mod racer;

use std::fs;
use std::sync::Arc;

use gatehouse::{Caller, CallerInfo, Router};
use racer::{names, Racer, Sandbox, ITERATIONS};
use serde_json::{json, Value};

const SECRET: &str = "OUTSIDE SECRET";

/// `S/data` (the notes, with `note.md`) and `S/outside/{note.md, secret.md}`.
fn setup(what: &str) -> (Sandbox, Arc<Router>, Caller) {
    let sandbox = Sandbox::new(what);
    let router = notes::router(&sandbox.join("data")).expect("router");
    fs::write(sandbox.join("data/note.md"), "inside").expect("write");
    fs::create_dir_all(sandbox.join("outside")).expect("mkdir");
    for name in ["note.md", "secret.md"] {
        fs::write(sandbox.join("outside").join(name), SECRET).expect("write");
    }
    let main = router.caller(CallerInfo::local("main"));
    (sandbox, router, main)
}

async fn call(router: &Router, caller: &Caller, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply = router
        .handle(caller, request.to_string().as_bytes())
        .await
        .expect("a reply");
    serde_json::from_slice(&reply).expect("JSON")
}

fn assert_outside_untouched(sandbox: &Sandbox) {
    assert_eq!(names(&sandbox.join("outside")), ["note.md", "secret.md"]);
    for name in ["note.md", "secret.md"] {
        assert_eq!(
            fs::read_to_string(sandbox.join("outside").join(name)).expect("read"),
            SECRET,
            "{name} was written"
        );
    }
}

/// Fails if any part of a reply carries the outside file's text.
fn assert_no_secret(i: usize, reply: &Value) {
    assert!(
        !reply.to_string().contains(SECRET),
        "#{i} read outside: {reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_swapped_for_a_link_out_is_never_read_or_written_outside() {
    let (sandbox, router, main) = setup("note");
    let racer = Racer::file(
        &sandbox.join("data/note.md"),
        &sandbox.join("outside/secret.md"),
        "inside",
    );
    let mut ok = 0;
    for i in 0..ITERATIONS {
        let reply = if i % 2 == 0 {
            call(&router, &main, "read_note", json!({"name": "note"})).await
        } else {
            call(
                &router,
                &main,
                "write_note",
                json!({"name": "note", "body": format!("v{i}")}),
            )
            .await
        };
        assert_no_secret(i, &reply);
        ok += usize::from(reply.get("result").is_some());
    }
    eprintln!("{ok} of {ITERATIONS} calls done, {} swaps", racer.stop());
    assert_outside_untouched(&sandbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notes_folder_swapped_for_a_link_out_is_not_followed() {
    let (sandbox, router, main) = setup("folder");
    // The scope of each command opens the notes folder when it is first built for the caller.
    for (method, params) in [
        ("read_note", json!({"name": "note"})),
        ("write_note", json!({"name": "note", "body": "v0"})),
        ("list_notes", json!({})),
    ] {
        let reply = call(&router, &main, method, params).await;
        assert!(reply.get("result").is_some(), "{reply}");
    }
    let racer = Racer::folder(&sandbox.join("data"), &sandbox.join("outside"));
    let mut ok = 0;
    let mut main = main;
    for i in 0..ITERATIONS {
        if i % 100 == 99 {
            // A caller that comes now gets scopes built now: they share the folder's handle,
            // opened when the application started.
            main = router.caller(CallerInfo::local("main"));
        }
        let reply = match i % 3 {
            0 => call(&router, &main, "read_note", json!({"name": "note"})).await,
            1 => {
                call(
                    &router,
                    &main,
                    "write_note",
                    json!({"name": "secret", "body": format!("v{i}")}),
                )
                .await
            }
            _ => call(&router, &main, "list_notes", json!({})).await,
        };
        assert_no_secret(i, &reply);
        ok += usize::from(reply.get("result").is_some());
    }
    eprintln!("{ok} of {ITERATIONS} calls done, {} swaps", racer.stop());
    assert_outside_untouched(&sandbox);
    // Everything went to the real folder, through its handle, swapped or not.
    assert!(sandbox.join("data/secret.md").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_planted_at_temporary_names_are_never_written_through() {
    let (sandbox, router, main) = setup("plant");
    let data = sandbox.join("data");
    let outside = sandbox.join("outside/secret.md");
    // The names writes used before issue #10 (`.write-<pid>-<n>.tmp.md`), planted ahead of
    // the counter again and again, and any temporary file seen swapped for a link out.
    let (folder, target) = (data.clone(), outside.clone());
    let pid = std::process::id();
    let mut next = 0u32;
    let racer = Racer::spawn(move || {
        for n in next..next + 8 {
            let _ = std::os::unix::fs::symlink(
                &target,
                folder.join(format!(".write-{pid}-{n}.tmp.md")),
            );
        }
        next = (next + 1) % (4 * ITERATIONS as u32);
        let Ok(entries) = fs::read_dir(&folder) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".gatehouse-") && !entry.path().is_symlink() {
                let link = folder.join(format!("{name}.racer"));
                let _ = std::os::unix::fs::symlink(&target, &link);
                let _ = fs::rename(&link, entry.path());
            }
        }
    });
    let mut ok = 0;
    for i in 0..ITERATIONS {
        let reply = call(
            &router,
            &main,
            "write_note",
            json!({"name": "note", "body": format!("v{i}")}),
        )
        .await;
        if reply.get("result").is_some() {
            ok += 1;
        } else {
            // A swapped temporary file was renamed onto the note as a link out: the scope
            // refuses to follow it; the note's owner puts a file back.
            let _ = fs::remove_file(data.join("note.md"));
        }
    }
    eprintln!("{ok} of {ITERATIONS} writes done, {} sweeps", racer.stop());
    assert_outside_untouched(&sandbox);
}
