use memo_runtime::memo;

#[memo(show_time = "yes")]
fn f(x: u32) -> u32 {
    x
}

fn main() {}
