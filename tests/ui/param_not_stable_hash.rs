use memo_runtime::memo;

struct Conn;

#[memo]
fn rows(conn: &Conn, table: &str) -> Vec<String> {
    let _ = conn;
    vec![table.to_string()]
}

fn main() {}
