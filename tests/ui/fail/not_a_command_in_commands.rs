#[gatehouse::command]
fn greet(name: String) -> String {
    name
}

fn plain() -> u32 {
    1
}

fn main() {
    let _ = gatehouse::commands![greet, plain];
}
