//! A router with two callers that hold different grants: what each may call, and the replies
//! each gets. Run it with `cargo run --example quickstart`.

use std::sync::Mutex;

use gatehouse::{command, commands, Acl, Caller, CallerInfo, Capability, Router, State};
use serde::{Deserialize, Serialize};

/// A note, as the frontend sends it.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct Note {
    title: String,
    body: String,
}

/// The core's state: the notes, behind a lock.
#[derive(Default)]
struct Notes(Mutex<Vec<Note>>);

/// Greets someone.
#[command]
fn greet(name: &str) -> String {
    format!("Hello, {name}!")
}

/// Lists note titles.
#[command]
fn list_notes(notes: State<'_, Notes>) -> Result<Vec<String>, String> {
    let notes = notes
        .0
        .lock()
        .map_err(|_| "the note store is unavailable")?;
    Ok(notes.iter().map(|n| n.title.clone()).collect())
}

/// Saves a note; returns how many there are.
#[command]
async fn save_note(notes: State<'_, Notes>, note: Note) -> Result<usize, String> {
    if note.title.trim().is_empty() {
        return Err("a note needs a title".into());
    }
    let mut notes = notes
        .0
        .lock()
        .map_err(|_| "the note store is unavailable")?;
    notes.push(note);
    Ok(notes.len())
}

/// Deletes every note.
#[command]
fn clear_notes(notes: State<'_, Notes>, caller: Caller) -> Result<String, String> {
    let mut notes = notes
        .0
        .lock()
        .map_err(|_| "the note store is unavailable")?;
    let n = notes.len();
    notes.clear();
    Ok(format!("{} deleted {n} notes", caller.label()))
}

const COMMANDS: [&str; 4] = ["clear_notes", "greet", "list_notes", "save_note"];

fn build_router() -> Result<Router, Box<dyn std::error::Error>> {
    let acl = Acl::builder()
        .commands(COMMANDS)
        .capability(
            Capability::builder("editor")
                .description("The main window reads and writes notes.")
                .windows(["main"])
                .allow(["greet", "list_notes", "save_note", "clear_notes"]),
        )
        .capability(
            Capability::builder("viewer")
                .description("Viewer windows only read.")
                .windows(["viewer-*"])
                .allow(["greet", "list_notes"]),
        )
        .build()?;
    Ok(Router::builder(acl)
        .commands(commands![greet, list_notes, save_note, clear_notes])
        .manage(Notes::default())
        .build()?)
}

async fn send(router: &Router, caller: &Caller, request: &str) {
    println!("  → {request}");
    match router.handle(caller, request.as_bytes()).await {
        Some(reply) => println!("  ← {}", String::from_utf8_lossy(&reply)),
        None => println!("  ← (no reply: notification)"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let router = build_router()?;
    let callers = [
        router.caller(CallerInfo::local("main")),
        router.caller(CallerInfo::local("viewer-1")),
    ];
    for caller in &callers {
        let may: Vec<&str> = COMMANDS
            .iter()
            .copied()
            .filter(|c| router.check(caller, c))
            .collect();
        println!("\n`{}` may call: {}", caller.label(), may.join(", "));
        send(
            &router,
            caller,
            r#"{"jsonrpc":"2.0","id":1,"method":"greet","params":{"name":"Ada"}}"#,
        )
        .await;
        send(
            &router,
            caller,
            r#"{"jsonrpc":"2.0","id":2,"method":"save_note","params":{"note":{"title":"Groceries","body":"eggs"}}}"#,
        )
        .await;
        send(
            &router,
            caller,
            r#"{"jsonrpc":"2.0","id":3,"method":"list_notes"}"#,
        )
        .await;
        send(&router, caller, r#"{"jsonrpc":"2.0","id":4,"method":"save_note","params":{"note":{"title":" ","body":""}}}"#).await;
        send(
            &router,
            caller,
            r#"{"jsonrpc":"2.0","id":5,"method":"greet","params":{"name":42}}"#,
        )
        .await;
        send(&router, caller, r#"[{"jsonrpc":"2.0","id":6,"method":"clear_notes"},{"jsonrpc":"2.0","method":"list_notes"}]"#).await;
    }
    Ok(())
}
