use memo_runtime::memo;

#[memo(ttl: "1s")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
