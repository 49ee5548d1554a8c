use memo_runtime::memo;

#[memo(hash_funcs = "Conn")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
