use memo_runtime::memo;

#[memo(ttl = "5 fortnights")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
