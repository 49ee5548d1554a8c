use memo_runtime::memo;

#[memo(hash(self = ignore))]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
