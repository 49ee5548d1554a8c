use memo_runtime::memo;

#[memo(ttl = "abc")]
fn f(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
}
