use memo_runtime::memo;

#[memo(max_entries = -1)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
