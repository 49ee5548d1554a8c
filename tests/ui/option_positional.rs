use memo_runtime::memo;

#[memo("1s")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
