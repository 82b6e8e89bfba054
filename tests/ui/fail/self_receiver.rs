struct Notes;

impl Notes {
    #[gatehouse::command]
    fn count(&self) -> usize {
        0
    }
}

fn main() {}
