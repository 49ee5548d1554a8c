use memo_runtime::memo;

const ZERO: usize = 0;

#[memo(max_entries = ZERO)]
fn f(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
}
