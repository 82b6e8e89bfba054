#[derive(Debug)]
struct NotSerialize;

#[gatehouse::command]
fn count(n: u32) -> Result<u32, NotSerialize> {
    if n == 0 {
        Err(NotSerialize)
    } else {
        Ok(n)
    }
}

fn main() {}
