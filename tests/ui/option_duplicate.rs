use memo_runtime::memo;

#[memo(ttl = "1s", max_entries = 2, ttl = "2s")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
