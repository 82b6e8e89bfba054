#[gatehouse::command(blocking)]
async fn fetch(url: String) -> String {
    url
}

fn main() {}
