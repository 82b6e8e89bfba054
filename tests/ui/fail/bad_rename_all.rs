#[gatehouse::command(rename_all = "camel")]
fn greet(name: String) -> String {
    name
}

fn main() {}
