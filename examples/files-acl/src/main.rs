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

fn router() -> Result<Router, gatehouse::BuildError> {
    Router::builder(gatehouse::acl!())
        .commands(commands![
            greet,
            list_notes,
            read_note,
            save_note,
            delete_note
        ])
        .manage(Notes::default())
        .build()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router = router()?;
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
            r#"{"jsonrpc":"2.0","id":1,"method":"save_note","params":{"title":"todo","body":"milk"}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"read_note","params":{"title":"todo"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"delete_note","params":{"title":"todo"}}"#,
        ] {
            let reply = router
                .handle(&caller, request.as_bytes())
                .await
                .unwrap_or_default();
            println!("  → {request}\n  ← {}", String::from_utf8_lossy(&reply));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_come_from_the_files() {
        let router = router().expect("the compiled ACL fits the commands");
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
