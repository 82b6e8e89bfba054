//! Telling every window that a note changed.

use gatehouse::Emitter;
use serde::Serialize;

/// The event sent when a note is written or deleted.
pub const NOTE_CHANGED: &str = "note-changed";

/// The payload of [`NOTE_CHANGED`]: `{"name": "todo", "kind": "written", "by": "main"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NoteChanged {
    /// The note.
    pub name: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The label of the window that changed it.
    pub by: String,
}

/// What happened to a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    /// Created or replaced.
    Written,
    /// Removed.
    Deleted,
}

/// Sends [`NOTE_CHANGED`] to every window allowed to listen. A failure is logged, never
/// returned: the note has changed either way.
pub(crate) fn announce(emitter: &Emitter, change: &NoteChanged) {
    match emitter.emit(NOTE_CHANGED, change) {
        Ok(listeners) => tracing::debug!(?change, listeners, "note changed"),
        Err(e) => tracing::warn!(?change, error = %e.message(), "`{NOTE_CHANGED}` not sent"),
    }
}
