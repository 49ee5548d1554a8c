use memo_runtime::memo;

#[memo(frobnicate = true)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
