//! A notes application on Gatehouse, and the crate behind `cargo run -p notes`.
//!
//! Notes are Markdown files `<name>.md` in a data folder. A web page — opened as the window
//! `main` or `viewer` — lists, reads, writes, deletes and searches them through commands sent
//! over WebSocket; the core decides what each window may do from `capabilities/` and
//! `permissions/`, and every file a command opens is checked against the path scope
//! (`$NOTES/*.md`) of the permission that granted it. Writes and deletes are announced to every
//! window with the `note-changed` event; search reports its progress over a `Channel`.
//!
//! ```no_run
//! # async fn run() -> Result<(), notes::Error> {
//! let app = notes::start(notes::Config::default()).await?;
//! println!("main:   {}", app.main_url());
//! println!("viewer: {}", app.viewer_url());
//! app.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod app;
pub mod commands;
mod config;
mod error;
mod events;
mod files;
mod name;

pub use app::{router, start, App};
pub use commands::{
    Hit, Note, NoteSummary, SearchProgress, Whoami, MAX_BODY_BYTES, MAX_QUERY_CHARS,
};
pub use config::{Cli, Config, DATA_ENV, DEFAULT_DATA_DIR, USAGE};
pub use error::{Error, NoteError};
pub use events::{ChangeKind, NoteChanged, NOTE_CHANGED};
pub use files::{NoteFiles, NotesDir, NOTES_VAR};
pub use name::{NameError, NoteName, MAX_NAME_CHARS};
