#[allow(non_snake_case)]
#[gatehouse::command]
fn open(file_path: String, filePath: String) -> String {
    file_path + &filePath
}

fn main() {}
