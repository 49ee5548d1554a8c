use memo_runtime::memo;

const LIMIT: u32 = 100;

#[memo(max_entries = LIMIT)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
