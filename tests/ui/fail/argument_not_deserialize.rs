struct Note {
    title: String,
}

#[gatehouse::command]
fn save(note: Note) -> String {
    note.title
}

fn main() {}
