//! The commands the pages call. Each one touches files only through its [`NoteFiles`] scope,
//! which opens them itself.

use std::io::Read;
use std::time::UNIX_EPOCH;

use gatehouse::{command, Caller, Channel, CommandScope, Emitter, Origin, RpcError, State};
use serde::Serialize;

use crate::error::NoteError;
use crate::events::{announce, ChangeKind, NoteChanged};
use crate::files::{NoteFiles, NotesDir};
use crate::name::NoteName;

/// The largest note, in bytes of UTF-8.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The longest search query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// How much of a note `list_notes` reads for its title and preview.
const SUMMARY_BYTES: u64 = 2048;

/// A note in the list: enough to show it without reading it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NoteSummary {
    /// Its name.
    pub name: String,
    /// Its first line, without Markdown heading marks (may be empty).
    pub title: String,
    /// The start of the text after the title.
    pub preview: String,
    /// When it last changed, in milliseconds since the Unix epoch.
    pub modified: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// A whole note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Note {
    /// Its name.
    pub name: String,
    /// Its text (Markdown).
    pub body: String,
    /// When it last changed, in milliseconds since the Unix epoch.
    pub modified: u64,
}

/// One step of a search, sent over its channel: `scanned` of `total` notes done, the last one
/// being `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SearchProgress {
    /// Notes searched so far.
    pub scanned: usize,
    /// Notes to search.
    pub total: usize,
    /// The note just searched (absent in the first message).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
}

/// A note that contains the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Hit {
    /// The note.
    pub name: String,
    /// How many times the query occurs in it.
    pub matches: usize,
    /// The first line that contains it (1-based).
    pub line: usize,
    /// That line, shortened around the match.
    pub snippet: String,
}

/// Who the calling window is, for the page's title bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Whoami {
    /// The window label the core gave the page's connection.
    pub label: String,
    /// `"local"`, or the remote page's origin.
    pub origin: String,
    /// The commands this window may call.
    pub commands: Vec<String>,
}

fn millis(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The title and preview of a note, from its first bytes.
fn summarize(head: &str) -> (String, String) {
    let mut lines = head.lines().map(str::trim).filter(|l| !l.is_empty());
    let title = lines
        .next()
        .map(|l| l.trim_start_matches('#').trim())
        .unwrap_or_default();
    let preview: String = lines.collect::<Vec<_>>().join(" ");
    (shorten(title, 80), shorten(&preview, 140))
}

/// At most `max` characters of `text`, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    let text = text.trim_end_matches('\u{fffd}');
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Lists the notes, most recently changed first.
///
/// # Errors
///
/// The folder cannot be read.
#[command(blocking)]
pub fn list_notes(
    dir: State<'_, NotesDir>,
    files: CommandScope<NoteFiles>,
) -> Result<Vec<NoteSummary>, RpcError> {
    let mut list = Vec::new();
    for name in files.names(&dir)? {
        // Deleted since, or refused by the scope (a symlink that leads out): not listed.
        let Ok(file) = files.open(&dir, &name) else {
            continue;
        };
        let meta = file
            .metadata()
            .map_err(|e| NoteError::io(name.as_str(), "read", &e))?;
        if !meta.is_file() {
            continue;
        }
        let mut head = Vec::new();
        file.take(SUMMARY_BYTES)
            .read_to_end(&mut head)
            .map_err(|e| NoteError::io(name.as_str(), "read", &e))?;
        let (title, preview) = summarize(&String::from_utf8_lossy(&head));
        list.push(NoteSummary {
            name: name.into(),
            title,
            preview,
            modified: millis(&meta),
            size: meta.len(),
        });
    }
    list.sort_by(|a, b| {
        b.modified
            .cmp(&a.modified)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(list)
}

/// Reads a note.
///
/// # Errors
///
/// The note does not exist, is outside the caller's scope, or cannot be read.
#[command(blocking)]
pub fn read_note(
    dir: State<'_, NotesDir>,
    files: CommandScope<NoteFiles>,
    name: NoteName,
) -> Result<Note, RpcError> {
    let mut file = files.open(&dir, &name)?;
    let failed = |e: std::io::Error| NoteError::io(name.as_str(), "read", &e);
    let modified = file.metadata().map(|m| millis(&m)).map_err(failed)?;
    let mut body = String::new();
    file.read_to_string(&mut body).map_err(failed)?;
    Ok(Note {
        name: name.into(),
        body,
        modified,
    })
}

/// Creates or replaces a note, and tells every window (`note-changed`, kind `written`).
///
/// The text is written to a temporary file with a random name, created exclusively beside the
/// note, that then replaces it, so a reader never sees half a note.
///
/// # Errors
///
/// The note is outside the caller's scope, too large, or cannot be written.
#[command(blocking)]
pub fn write_note(
    dir: State<'_, NotesDir>,
    files: CommandScope<NoteFiles>,
    events: Emitter,
    caller: Caller,
    name: NoteName,
    body: String,
) -> Result<(), RpcError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(NoteError::TooLarge {
            size: body.len(),
            max: MAX_BODY_BYTES,
        }
        .into());
    }
    files.write(&dir, &name, &body)?;
    announce(
        &events,
        &NoteChanged {
            name: name.into(),
            kind: ChangeKind::Written,
            by: caller.label().to_owned(),
        },
    );
    Ok(())
}

/// Deletes a note, and tells every window (`note-changed`, kind `deleted`).
///
/// # Errors
///
/// The note does not exist, is outside the caller's scope, or cannot be removed.
#[command(blocking)]
pub fn delete_note(
    dir: State<'_, NotesDir>,
    files: CommandScope<NoteFiles>,
    events: Emitter,
    caller: Caller,
    name: NoteName,
) -> Result<(), RpcError> {
    files.remove(&dir, &name)?;
    announce(
        &events,
        &NoteChanged {
            name: name.into(),
            kind: ChangeKind::Deleted,
            by: caller.label().to_owned(),
        },
    );
    Ok(())
}

/// Where `needle` (lowercase) occurs in `text`: the count, and the first line with it.
fn find(text: &str, needle: &str) -> Option<(usize, usize, String)> {
    let mut matches = 0;
    let mut first = None;
    for (i, line) in text.lines().enumerate() {
        let lower = line.to_lowercase();
        let here = lower.matches(needle).count();
        if here > 0 {
            matches += here;
            if first.is_none() {
                let at = lower.find(needle).map_or(0, |b| lower[..b].chars().count());
                first = Some((i + 1, snippet(line, at)));
            }
        }
    }
    first.map(|(line, snippet)| (matches, line, snippet))
}

/// `line` shortened to about 120 characters around character `at`.
fn snippet(line: &str, at: usize) -> String {
    const WIDTH: usize = 120;
    let chars: Vec<char> = line.trim_end().chars().collect();
    let start = at.saturating_sub(40).min(chars.len().saturating_sub(WIDTH));
    let end = (start + WIDTH).min(chars.len());
    let mut out: String = chars[start..end].iter().collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    out.trim().to_owned()
}

/// Searches every note for `query` (case-insensitive), reporting progress on `progress` after
/// each note: `{scanned, total, name}`. Returns the notes that contain it, most matches first.
///
/// # Errors
///
/// The query is too long, the folder cannot be read, or the page went away mid-search.
#[command]
pub async fn search(
    dir: State<'_, NotesDir>,
    files: CommandScope<NoteFiles>,
    query: String,
    progress: Channel<SearchProgress>,
) -> Result<Vec<Hit>, RpcError> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(NoteError::QueryTooLong {
            max: MAX_QUERY_CHARS,
        }
        .into());
    }
    let needle = query.trim().to_lowercase();
    let notes = if needle.is_empty() {
        Vec::new()
    } else {
        let (dir, files) = (dir.inner().clone(), files.clone());
        tokio::task::spawn_blocking(move || files.names(&dir))
            .await
            .map_err(|e| NoteError::io("", "listed", &std::io::Error::other(e)))??
    };
    let total = notes.len();
    let abandoned = |_| NoteError::Abandoned;
    progress
        .send_async(SearchProgress {
            scanned: 0,
            total,
            name: None,
        })
        .await
        .map_err(abandoned)?;
    let mut hits = Vec::new();
    for (i, name) in notes.into_iter().enumerate() {
        // A note deleted, unreadable or refused by the scope since the listing is skipped,
        // not an error.
        let (dir, files, note) = (dir.inner().clone(), files.clone(), name.clone());
        let text = tokio::task::spawn_blocking(move || {
            let mut text = String::new();
            files
                .open(&dir, &note)
                .ok()?
                .read_to_string(&mut text)
                .ok()?;
            Some(text)
        })
        .await
        .ok()
        .flatten();
        if let Some(text) = text {
            if let Some((matches, line, snippet)) = find(&text, &needle) {
                hits.push(Hit {
                    name: name.to_string(),
                    matches,
                    line,
                    snippet,
                });
            }
        }
        progress
            .send_async(SearchProgress {
                scanned: i + 1,
                total,
                name: Some(name.into()),
            })
            .await
            .map_err(abandoned)?;
    }
    hits.sort_by(|a, b| b.matches.cmp(&a.matches).then_with(|| a.name.cmp(&b.name)));
    Ok(hits)
}

/// Who the calling window is and what it may call, so the page can say so.
#[command]
pub fn whoami(caller: Caller, invocation: gatehouse::Invocation<'_>) -> Whoami {
    let commands = invocation.allowed_commands().map(str::to_owned).collect();
    Whoami {
        label: caller.label().to_owned(),
        origin: match caller.origin() {
            Origin::Local => "local".to_owned(),
            Origin::Remote(url) => url.clone(),
        },
        commands,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(
            summarize("# Groceries\n\n- milk\n- eggs\n"),
            ("Groceries".to_owned(), "- milk - eggs".to_owned())
        );
        assert_eq!(summarize(""), (String::new(), String::new()));
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("abc\u{fffd}", 3), "abc");
    }

    #[test]
    fn finding() {
        let text = "Shopping\nMilk and MILK\nno\nmilk";
        assert_eq!(find(text, "milk"), Some((3, 2, "Milk and MILK".to_owned())));
        assert_eq!(find(text, "bread"), None);
        let long = format!("{}needle{}", "a".repeat(200), "b".repeat(200));
        let s = snippet(&long, 200);
        assert!(
            s.starts_with('…') && s.ends_with('…') && s.contains("needle"),
            "{s}"
        );
    }
}
