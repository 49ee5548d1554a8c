use memo_runtime::memo;

#[memo(ttl = 60)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
