use memo_runtime::memo;

#[memo(hash(conn = prt))]
fn f(conn: &u32) -> u32 {
    *conn
}

struct Db;

impl Db {
    #[memo(hash(self = ingore))]
    fn count(&self, table: &str) -> usize {
        table.len()
    }
}

fn main() {}
