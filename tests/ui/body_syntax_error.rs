use memo_runtime::memo;

// Only the parser's error: the fn is still a fn.
#[memo]
fn typo(x: u32) -> u32 {
    let y = x +;
    y
}

fn main() {
    typo(1);
}
