use memo_runtime::{memo, singleton};

#[memo(tll = "1s")]
fn f(x: u32) -> u32 {
    x
}

#[singleton(max_entires = 3)]
fn g() -> String {
    String::new()
}

fn main() {
    f(1);
    g();
}
