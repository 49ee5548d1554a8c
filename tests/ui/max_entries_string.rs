use memo_runtime::memo;

#[memo(max_entries = "10")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
