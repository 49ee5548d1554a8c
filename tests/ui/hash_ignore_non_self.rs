use memo_runtime::memo;

#[memo(hash(x = ignore))]
fn f(x: u32, y: u32) -> u32 {
    x + y
}

fn main() {}
