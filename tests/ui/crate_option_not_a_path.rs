use memo_runtime::memo;

#[memo(crate = "memo runtime")]
fn spaced(x: u32) -> u32 {
    x
}

#[memo(crate = 5)]
fn number(x: u32) -> u32 {
    x
}

fn main() {}
