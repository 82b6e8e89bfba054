//! Commands named by path and through `use … as …`, attribute options, and a renamed dependency.

use gatehouse as gh;

mod notes {
    #[gatehouse::command(rename = "notes.read", rename_all = "snake_case")]
    pub fn read(note_id: u64) -> String {
        note_id.to_string()
    }

    #[gatehouse::command]
    pub(crate) fn count() -> usize {
        0
    }
}

use notes::count as note_count;

#[gh::command(crate = ::gatehouse)]
fn through_renamed(x: u8) -> u8 {
    x
}

#[gatehouse::command(crate = ::gatehouse)]
fn explicit_crate() {}

fn main() {
    let _ = gatehouse::commands![notes::read, note_count];
    let _ = gh::commands![crate = ::gatehouse; through_renamed, explicit_crate];
    // Still plain functions.
    assert_eq!(notes::read(7), "7");
    assert_eq!(through_renamed(3), 3);
}
