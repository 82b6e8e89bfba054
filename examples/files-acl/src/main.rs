//! An application whose ACL comes only from files: `build.rs` compiles `permissions/` and
//! `capabilities/`, and `gatehouse::acl!()` includes the result. Run it with
//! `cargo run -p files-acl`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use gatehouse::{command, commands, CallerInfo, Router, State};

/// The notes, by title.
#[derive(Default)]
struct Notes(Mutex<BTreeMap<String, String>>);

/// Greets.
#[command]
fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}

/// Lists note titles.
#[command]
fn list_notes(notes: State<'_, Notes>) -> Result<Vec<String>, String> {
    let notes = notes.0.lock().map_err(|_| "the notes are unavailable")?;
    Ok(notes.keys().cloned().collect())
}

/// Reads a note.
#[command]
fn read_note(notes: State<'_, Notes>, title: String) -> Result<Option<String>, String> {
    let notes = notes.0.lock().map_err(|_| "the notes are unavailable")?;
    Ok(notes.get(&title).cloned())
}

/// Saves a note.
#[command]
fn save_note(notes: State<'_, Notes>, title: String, body: String) -> Result<usize, String> {
    let mut notes = notes.0.lock().map_err(|_| "the notes are unavailable")?;
    notes.insert(title, body);
    Ok(notes.len())
}

/// Deletes a note.
#[command]
fn delete_note(notes: State<'_, Notes>, title: String) -> Result<bool, String> {
    let mut notes = notes.0.lock().map_err(|_| "the notes are unavailable")?;
    Ok(notes.remove(&title).is_some())
}

/// The router, with the notes folder `$NOTES` at `notes_dir`.
fn router(notes_dir: &std::path::Path) -> Result<Router, gatehouse::BuildError> {
    Router::builder(gatehouse::acl!())
        .commands(commands![
            greet,
            list_notes,
            read_note,
            save_note,
            delete_note
        ])
        .commands(gatehouse_plugin_fs::commands())
        .manage(Notes::default())
        .manage(gatehouse::BaseDirs::new().with("NOTES", notes_dir))
        .build()
}

/// A fresh notes folder with a `shared/` and a `private/` subfolder.
fn notes_dir() -> std::io::Result<std::path::PathBuf> {
    // One folder per call: the tests run in parallel in one process, and each removes its own.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("files-acl-notes-{}-{n}", std::process::id()));
    std::fs::create_dir_all(dir.join("shared"))?;
    std::fs::create_dir_all(dir.join("private"))?;
    std::fs::write(dir.join("shared/welcome.txt"), "hello")?;
    std::fs::write(dir.join("private/diary.txt"), "secret")?;
    Ok(dir)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let notes = notes_dir()?;
    let router = router(&notes)?;
    let n = notes.display();
    for label in ["main", "viewer-1", "stranger"] {
        let caller = router.caller(CallerInfo::local(label));
        let may: Vec<&str> = router
            .acl()
            .commands()
            .iter()
            .map(|c| c.as_ref())
            .filter(|c| router.check(&caller, c))
            .collect();
        println!(
            "\n`{label}` may call: {}",
            if may.is_empty() {
                "nothing".to_owned()
            } else {
                may.join(", ")
            }
        );
        for request in [
            r#"{"jsonrpc":"2.0","id":1,"method":"save_note","params":{"title":"todo","body":"milk"}}"#.to_owned(),
            r#"{"jsonrpc":"2.0","id":2,"method":"read_note","params":{"title":"todo"}}"#.to_owned(),
            r#"{"jsonrpc":"2.0","id":3,"method":"delete_note","params":{"title":"todo"}}"#.to_owned(),
            format!(r#"{{"jsonrpc":"2.0","id":4,"method":"plugin:fs|read_file","params":{{"path":"{n}/shared/welcome.txt"}}}}"#),
            format!(r#"{{"jsonrpc":"2.0","id":5,"method":"plugin:fs|read_file","params":{{"path":"{n}/private/diary.txt"}}}}"#),
            format!(r#"{{"jsonrpc":"2.0","id":6,"method":"plugin:fs|read_file","params":{{"path":"{n}/shared/../private/diary.txt"}}}}"#),
        ] {
            let reply = router
                .handle(&caller, request.as_bytes())
                .await
                .unwrap_or_default();
            println!("  → {request}\n  ← {}", String::from_utf8_lossy(&reply));
        }
    }
    std::fs::remove_dir_all(&notes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_come_from_the_files() {
        let notes = notes_dir().expect("temp dir");
        let router = router(&notes).expect("the compiled ACL fits the commands");
        let main = router.caller(CallerInfo::local("main"));
        let viewer = router.caller(CallerInfo::local("viewer-2"));
        let stranger = router.caller(CallerInfo::local("stranger"));
        for command in [
            "greet",
            "list_notes",
            "read_note",
            "save_note",
            "delete_note",
        ] {
            assert!(router.check(&main, command), "main may call {command}");
            assert!(
                !router.check(&stranger, command),
                "stranger may not call {command}"
            );
        }
        for (command, allowed) in [
            ("greet", true),
            ("list_notes", true),
            ("read_note", true),
            ("save_note", false),
            ("delete_note", false),
        ] {
            assert_eq!(
                router.check(&viewer, command),
                allowed,
                "viewer and {command}"
            );
        }
    }
}

#[cfg(test)]
mod plugin_tests {
    use super::*;
    use serde_json::{json, Value};

    async fn read(router: &Router, label: &str, path: &str) -> Value {
        let caller = router.caller(CallerInfo::local(label));
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "plugin:fs|read_file", "params": {"path": path}});
        let reply = router
            .handle(&caller, request.to_string().as_bytes())
            .await
            .unwrap_or_default();
        serde_json::from_slice(&reply).unwrap_or_default()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_plugin_is_confined_to_the_granted_paths() {
        let notes = notes_dir().expect("temp dir");
        let router = router(&notes).expect("router");
        let n = notes.display();
        assert_eq!(
            read(&router, "main", &format!("{n}/shared/welcome.txt")).await["result"],
            "hello"
        );
        for (label, path) in [
            ("main", format!("{n}/private/diary.txt")),
            ("main", format!("{n}/shared/../private/diary.txt")),
            ("main", "/etc/hostname".to_owned()),
            (
                "viewer-1",
                format!(
                    "{n}/../{}/private/diary.txt",
                    notes
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ),
            ),
        ] {
            let v = read(&router, label, &path).await;
            assert_eq!(
                v["error"]["data"]["kind"], "outsideScope",
                "{label} {path}: {v}"
            );
        }
        assert_eq!(
            read(&router, "viewer-1", &format!("{n}/shared/welcome.txt")).await["result"],
            "hello"
        );
        let v = read(&router, "stranger", &format!("{n}/shared/welcome.txt")).await;
        assert_eq!(v["error"]["code"], -32001);
        std::fs::remove_dir_all(&notes).expect("cleanup");
    }
}
