use memo_runtime::memo;

#[memo(companion = false)]
fn load(x: u32) -> u32 {
    x
}

fn main() {}
