use memo_runtime::memo;

struct Conn {
    id: u64,
}

struct Id(u64);

#[memo(hash(conn = |c: &Conn| Id(c.id)))]
fn rows(conn: &Conn) -> u64 {
    conn.id
}

fn main() {}
