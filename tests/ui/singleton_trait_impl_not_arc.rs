use memo_runtime::singleton;

struct Pool;

trait Pools {
    fn pool(&self) -> Pool;
}

struct Csv;

impl Pools for Csv {
    #[singleton(companions = false, hash(self = ignore))]
    fn pool(&self) -> Pool {
        Pool
    }
}

fn main() {}
