#[gatehouse::command]
struct Config {
    name: String,
}

fn main() {}
