use memo_runtime::StableHash;

#[derive(StableHash)]
#[stable_hash(krate = "memo_runtime")]
struct Misspelled {
    a: u32,
}

#[derive(StableHash)]
struct OnField {
    #[stable_hash(crate = "memo_runtime")]
    a: u32,
}

fn main() {}
