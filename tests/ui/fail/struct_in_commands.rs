#[gatehouse::command]
fn greet(name: String) -> String {
    name
}

struct Config {}

fn main() {
    let _ = Config {};
    let _ = gatehouse::commands![greet, Config];
}
