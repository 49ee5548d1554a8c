use memo_runtime::memo;

#[memo(ttl)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
