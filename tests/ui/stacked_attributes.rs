use memo_runtime::{memo, singleton};

#[memo]
#[singleton]
fn f(x: u32) -> u32 {
    x
}

fn main() {
    f(1);
}
