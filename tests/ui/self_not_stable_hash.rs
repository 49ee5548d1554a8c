use memo_runtime::memo;

struct Db;

impl Db {
    #[memo]
    fn count(&self, table: &str) -> usize {
        table.len()
    }
}

fn main() {}
