use memo_runtime::memo;

#[memo(persist = "memory")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
