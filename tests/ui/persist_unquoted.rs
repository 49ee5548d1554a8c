use memo_runtime::memo;

#[memo(persist = disk)]
fn f(x: u32) -> u32 {
    x
}

#[memo(persist = file)]
fn g(x: u32) -> u32 {
    x
}

fn main() {}
