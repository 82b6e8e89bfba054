struct Note {
    title: String,
}

#[gatehouse::command]
fn load(title: String) -> Note {
    Note { title }
}

fn main() {}
