#[gatehouse::command(rnme = "x")]
fn greet(name: String) -> String {
    name
}

fn main() {}
