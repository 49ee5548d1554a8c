use memo_runtime::{memo, StableHash};

#[derive(StableHash)]
struct Csv;

trait Loader {
    fn load(&self, n: u32) -> Vec<u32>;
}

impl Loader for Csv {
    #[memo]
    fn load(&self, n: u32) -> Vec<u32> {
        vec![n]
    }
}

fn main() {}
