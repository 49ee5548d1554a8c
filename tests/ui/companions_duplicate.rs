use memo_runtime::memo;

#[memo(companions = false, ttl = "1m", companions = false)]
fn load(x: u32) -> u32 {
    x
}

fn main() {}
