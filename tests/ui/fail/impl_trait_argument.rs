#[gatehouse::command]
fn greet(name: impl Into<String>) -> String {
    name.into()
}

fn main() {}
