#[gatehouse::command]
fn parse<T: serde::de::DeserializeOwned>(value: T) -> usize {
    let _ = value;
    0
}

fn main() {}
