use memo_runtime::memo;

#[memo(companions = "no")]
fn load(x: u32) -> u32 {
    x
}

fn main() {}
