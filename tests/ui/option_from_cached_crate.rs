use memo_runtime::memo;

#[memo(max_size = 10)]
fn f(x: u32) -> u32 {
    x
}

#[memo(ttl_secs = 5)]
fn g(x: u32) -> u32 {
    x
}

fn main() {}
