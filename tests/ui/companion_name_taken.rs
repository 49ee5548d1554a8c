use memo_runtime::memo;

fn load_clear() {}

#[memo]
fn load(n: u32) -> Vec<u32> {
    vec![n]
}

fn main() {
    load_clear();
    let _ = load(1);
}
