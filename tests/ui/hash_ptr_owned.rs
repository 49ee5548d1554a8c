use memo_runtime::memo;

#[memo(hash(x = ptr))]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
