use memo_runtime::{memo, StableHash};

trait Loader: StableHash {
    #[memo]
    fn load(&self, n: u32) -> Vec<u32> {
        vec![n]
    }
}

#[derive(StableHash)]
struct Csv;

impl Loader for Csv {}

fn main() {
    let sources: Vec<Box<dyn Loader>> = vec![Box::new(Csv)];
    let _ = sources[0].load(1);
}
