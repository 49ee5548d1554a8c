use memo_runtime::memo;

#[derive(memo_runtime::StableHash)]
struct Counter {
    n: u32,
}

impl Counter {
    #[memo]
    fn bump(&mut self) -> u32 {
        self.n += 1;
        self.n
    }
}

fn main() {
    Counter { n: 0 }.bump();
}
