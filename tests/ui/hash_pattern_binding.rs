use memo_runtime::memo;

struct Conn;

#[memo(hash(conn = ptr))]
fn query((conn, id): (&Conn, u32), table: &str) -> u32 {
    let _ = (conn, table);
    id
}

fn main() {}
