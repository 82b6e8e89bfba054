#[gatehouse::command(rename = "greet", rename = "hello")]
fn greet(name: String) -> String {
    name
}

fn main() {}
