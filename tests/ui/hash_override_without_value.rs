use memo_runtime::memo;

#[memo(hash(conn))]
fn f(conn: &u32) -> u32 {
    *conn
}

fn main() {}
