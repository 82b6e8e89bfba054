#[gatehouse::command]
fn greet(name: String) -> String {
    name
}

#[gatehouse::command]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {
    let _ = gatehouse::commands![greet, add, greet];
}
