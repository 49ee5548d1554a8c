use memo_runtime::memo;

#[memo(ttl = "0s")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
