use memo_runtime::memo;

#[derive(memo_runtime::StableHash)]
struct Counter {
    n: u32,
}

impl Counter {
    #[memo]
    fn bump(self: &mut Self) -> u32 {
        self.n += 1;
        self.n
    }

    #[memo(hash(self = ignore))]
    fn bump_boxed(self: &mut Box<Self>) -> u32 {
        self.n += 1;
        self.n
    }

    #[memo(hash(self = ignore))]
    fn bump_pinned(self: std::pin::Pin<&'_ mut Self>) -> u32 {
        self.n
    }
}

fn main() {}
