use memo_runtime::memo;

#[memo(show_spinner = 5)]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
