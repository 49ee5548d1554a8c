use memo_runtime::memo;

struct Conn;

#[memo]
fn f((conn, n): (Conn, u32)) -> u32 {
    let _ = conn;
    n
}

fn main() {}
