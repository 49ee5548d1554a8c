use memo_runtime::StableHash;

struct Conn;

#[derive(StableHash)]
struct Query {
    conn: Conn,
    table: String,
}

fn main() {}
