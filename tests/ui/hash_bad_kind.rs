use memo_runtime::memo;

#[memo(hash(x = pointer))]
fn f(x: &u32) -> u32 {
    *x
}

fn main() {}
